"""``/auth/password/*``: the forgotten password (a code by email) and its reset."""

from __future__ import annotations

import auth_service
from auth_http import TAGS, source_ip
from auth_models import ForgotRequest, ResetRequest, StatusResponse
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from portal_common.api import answer, problems, respond

router = Router()


@router.post(
    "/auth/password/forgot",
    tags=TAGS,
    summary="Forgotten password (always 202)",
    responses={**answer(StatusResponse, 202, "Accepted"), **problems(429)},
)
def forgot(body: ForgotRequest) -> Response[str]:
    accepted = auth_service.forgot_password(body.email, body.participant_number, source_ip(router))
    return respond(accepted, 202)


@router.post(
    "/auth/password/reset",
    tags=TAGS,
    summary="Reset the password with the emailed code",
    responses={
        **answer(StatusResponse),
        **problems(400, 429, d400="VALIDATION_FAILED (password policy included), CODE_INVALID or CODE_EXPIRED"),
    },
)
def reset(body: ResetRequest) -> StatusResponse:
    return auth_service.reset_password(body.email, body.code, body.new_password, source_ip(router))
