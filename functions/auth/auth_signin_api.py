"""``/auth/login*``: sign-in with the password, then the emailed code (and a new code on request)."""

from __future__ import annotations

import auth_service
from auth_http import TAGS, source_ip
from auth_models import CodeSentResponse, LoginRequest, ResendLoginRequest, TokensResponse, VerifyRequest
from aws_lambda_powertools.event_handler.api_gateway import Router

from portal_common.api import answer, problems

router = Router()


@router.post(
    "/auth/login",
    tags=TAGS,
    summary="Sign in: password, then a code is emailed",
    responses={
        **answer(CodeSentResponse),
        **problems(401, 403, 429, d401="INVALID_CREDENTIALS", d403="ACCOUNT_NOT_CONFIRMED"),
    },
)
def login(body: LoginRequest) -> CodeSentResponse:
    return auth_service.login(body.email, body.password, source_ip(router))


@router.post(
    "/auth/login/verify",
    tags=TAGS,
    summary="Sign in: the emailed code gives the tokens",
    responses={
        **answer(TokensResponse),
        **problems(
            401, 429, d401="CODE_INVALID (with attemptsRemaining and a fresh session), CHALLENGE_FAILED, CODE_EXPIRED"
        ),
    },
)
def verify(body: VerifyRequest) -> TokensResponse:
    return auth_service.verify_login(body.email, body.session, body.code, source_ip(router))


@router.post(
    "/auth/login/resend",
    tags=TAGS,
    summary="Email a new sign-in code (the previous one stops working)",
    responses={**answer(CodeSentResponse), **problems(401, 429, d401="CHALLENGE_FAILED")},
)
def resend_login(body: ResendLoginRequest) -> CodeSentResponse:
    return auth_service.resend_login_code(body.email, body.session, source_ip(router))
