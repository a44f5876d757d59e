"""``/v1/auth/*``: the backend-for-frontend over Cognito (HTTP shape only; rules in ``auth_service``)."""

from __future__ import annotations

import json
from typing import Any

import auth_service
from auth_models import (
    CodeSentResponse,
    ConfirmRequest,
    EmailRequest,
    ForgotRequest,
    LoginRequest,
    LogoutRequest,
    RefreshedTokensResponse,
    RefreshRequest,
    RegisterRequest,
    RegistrationResponse,
    ResendLoginRequest,
    ResetRequest,
    StatusResponse,
    TokensResponse,
    VerifyRequest,
)
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from portal_common.api import create_app, field_errors_from_pydantic, json_response
from portal_common.log import get_logger
from portal_common.models import dump
from portal_common.problems import Unauthorized, ValidationFailed

logger = get_logger("auth")
app = create_app(logger, requires=("user_pool_id", "user_pool_client_id"))
TAGS = ["Authentication"]


def _source_ip() -> str | None:
    context = app.current_event.raw_event.get("requestContext") or {}
    return (context.get("identity") or {}).get("sourceIp")


@app.post(
    "/auth/register",
    tags=TAGS,
    summary="Register (roster identity + email + password)",
    responses={202: {"description": "Verification code emailed"}},
)
def register(body: RegisterRequest) -> Response[str]:
    result = auth_service.register(
        body.contract_number,
        body.participant_number,
        body.date_of_birth,
        body.email,
        body.password,
        body.preferred_language,
        _source_ip(),
    )
    return json_response(dump(RegistrationResponse(**result)), status=202)


@app.post("/auth/register/confirm", tags=TAGS, summary="Confirm the registration with the emailed code")
def confirm(body: ConfirmRequest) -> StatusResponse:
    return StatusResponse(**auth_service.confirm_registration(body.email, body.code, _source_ip()))


@app.post(
    "/auth/register/resend",
    tags=TAGS,
    summary="Send the registration code again (always 202)",
    responses={202: {"description": "Accepted"}},
)
def resend_registration(body: EmailRequest) -> Response[str]:
    auth_service.resend_registration(body.email, _source_ip())
    return json_response({"status": "ACCEPTED"}, status=202)


@app.post("/auth/login", tags=TAGS, summary="Sign in: password, then a code is emailed")
def login(body: LoginRequest) -> CodeSentResponse:
    return CodeSentResponse(**auth_service.login(body.email, body.password, _source_ip()))


@app.post("/auth/login/verify", tags=TAGS, summary="Sign in: the emailed code gives the tokens")
def verify(body: VerifyRequest) -> TokensResponse:
    return TokensResponse(**auth_service.verify_login(body.email, body.session, body.code, _source_ip()))


@app.post("/auth/login/resend", tags=TAGS, summary="Email a new sign-in code (the previous one stops working)")
def resend_login(body: ResendLoginRequest) -> CodeSentResponse:
    return CodeSentResponse(**auth_service.resend_login_code(body.email, body.session, _source_ip()))


@app.post(
    "/auth/password/forgot",
    tags=TAGS,
    summary="Forgotten password (always 202)",
    responses={202: {"description": "Accepted"}},
)
def forgot(body: ForgotRequest) -> Response[str]:
    auth_service.forgot_password(body.email, body.participant_number, _source_ip())
    return json_response({"status": "ACCEPTED"}, status=202)


@app.post("/auth/password/reset", tags=TAGS, summary="Reset the password with the emailed code")
def reset(body: ResetRequest) -> StatusResponse:
    return StatusResponse(**auth_service.reset_password(body.email, body.code, body.new_password, _source_ip()))


@app.post("/auth/token/refresh", tags=TAGS, summary="New ID and access tokens from the refresh token")
def refresh(body: RefreshRequest) -> RefreshedTokensResponse:
    return RefreshedTokensResponse(**auth_service.refresh_tokens(body.refresh_token))


@app.post(
    "/auth/logout",
    tags=TAGS,
    summary="Sign out: the refresh token stops working",
    responses={204: {"description": "Signed out"}},
)
def logout() -> Response[str]:
    claims = ((app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    username = claims.get("cognito:username") or claims.get("sub")
    if not username:
        raise Unauthorized()
    refresh_token = _logout_body().refresh_token
    auth_service.logout(str(username), refresh_token)
    return Response(status_code=204, body="", headers={})


def _logout_body() -> LogoutRequest:
    raw = app.current_event.body
    if not raw or not raw.strip():
        return LogoutRequest()
    try:
        data: Any = json.loads(raw)
        return LogoutRequest.model_validate(data if isinstance(data, dict) else {"_": data})
    except json.JSONDecodeError:
        raise ValidationFailed(
            errors=field_errors_from_pydantic([{"type": "json_invalid", "loc": ("body",)}])
        ) from None
    except ValidationError as error:
        raise ValidationFailed(errors=field_errors_from_pydantic([dict(e) for e in error.errors()])) from None


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway entry point."""
    return app.resolve(event, context)
