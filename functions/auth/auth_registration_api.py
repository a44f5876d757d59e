"""``/auth/register*``: registration with the roster identity, its emailed code, and resending it."""

from __future__ import annotations

import auth_service
from auth_http import TAGS, source_ip
from auth_models import ConfirmRequest, EmailRequest, RegisterRequest, RegistrationResponse, StatusResponse
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from portal_common.api import answer, problems, respond

router = Router()


@router.post(
    "/auth/register",
    tags=TAGS,
    summary="Register (roster identity + email + password)",
    responses={
        **answer(RegistrationResponse, 202, "Verification code emailed"),
        **problems(409, 429, d400="VALIDATION_FAILED (password policy included) or IDENTITY_NOT_VERIFIED"),
    },
)
def register(body: RegisterRequest) -> Response[str]:
    registration = auth_service.register(
        body.contract_number,
        body.participant_number,
        body.date_of_birth,
        body.email,
        body.password,
        body.preferred_language,
        source_ip(router),
    )
    return respond(registration, 202)


@router.post(
    "/auth/register/confirm",
    tags=TAGS,
    summary="Confirm the registration with the emailed code",
    responses={**answer(StatusResponse), **problems(400, 429, d400="VALIDATION_FAILED, CODE_INVALID or CODE_EXPIRED")},
)
def confirm(body: ConfirmRequest) -> StatusResponse:
    return auth_service.confirm_registration(body.email, body.code, source_ip(router))


@router.post(
    "/auth/register/resend",
    tags=TAGS,
    summary="Send the registration code again (always 202)",
    responses={**answer(StatusResponse, 202, "Accepted"), **problems(429)},
)
def resend_registration(body: EmailRequest) -> Response[str]:
    return respond(auth_service.resend_registration(body.email, source_ip(router)), 202)
