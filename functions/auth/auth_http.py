"""The HTTP side shared by the ``/auth/*`` routers: their OpenAPI tag, and what they read from the
API Gateway request besides their pydantic body."""

from __future__ import annotations

from typing import Any

from auth_models import LogoutRequest
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import ValidationError

from portal_common.api import field_errors_from_pydantic
from portal_common.problems import Unauthorized, ValidationFailed

TAGS = ["Authentication"]


def source_ip(router: Router) -> str | None:
    """The caller's address (``requestContext.identity.sourceIp``), for the per-IP throttles."""
    context = router.current_event.raw_event.get("requestContext") or {}
    return (context.get("identity") or {}).get("sourceIp")


def cognito_username(router: Router) -> str:
    """The signed-in caller's Cognito user name, from the authorizer's claims (``401`` without one)."""
    claims = ((router.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    username = claims.get("cognito:username") or claims.get("sub")
    if not username:
        raise Unauthorized()
    return str(username)


def logout_body(router: Router) -> LogoutRequest:
    """Logout's body is optional: none (or blank) is an empty request; anything else is validated."""
    # create_app screened the body already (UTF-8, media type, JSON within bounds) and cached it.
    data: Any = router.current_event.json_body
    if data is None:
        return LogoutRequest()
    try:
        return LogoutRequest.model_validate(data if isinstance(data, dict) else {"_": data})
    except ValidationError as error:
        raise ValidationFailed(errors=field_errors_from_pydantic([dict(e) for e in error.errors()])) from None
