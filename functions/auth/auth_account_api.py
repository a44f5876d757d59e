"""``/me`` account settings (``PATCH /me``, ``/me/password``, ``/me/email``, ``/me/email/confirm``):
HTTP shape only, rules in ``account_settings``. Behind the Cognito authorizer; ``GET /me`` is the
claims function's, and both answer the one ``Me`` of ``portal_common.member_profile``."""

from __future__ import annotations

import account_settings
from auth_http import cognito_username, source_ip
from auth_models import (
    ChangeEmailRequest,
    ChangePasswordRequest,
    ConfirmEmailRequest,
    RegistrationResponse,
    UpdateMeRequest,
)
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from portal_common.api import answer, no_content, problems, request_language, respond
from portal_common.identity import caller_from_event
from portal_common.member_profile import MeOut

router = Router()
TAGS = ["Member"]


@router.patch(
    "/me",
    tags=TAGS,
    summary="Change the preferred language",
    responses={
        **answer(MeOut),
        **problems(404, d404="MEMBER_NOT_FOUND (the account no longer holds its roster entry)"),
    },
)
def update_me(body: UpdateMeRequest) -> MeOut:
    caller = caller_from_event(router.current_event.raw_event)
    return account_settings.update_language(
        caller, cognito_username(router), body.preferred_language, request_language(router)
    )


@router.post(
    "/me/password",
    tags=TAGS,
    summary="Change the password (current password required; every session is signed out)",
    responses={
        **no_content("Password changed"),
        **problems(
            404,
            429,
            d400="VALIDATION_FAILED (password policy, SAME_PASSWORD) or CURRENT_PASSWORD_INVALID",
            d404="MEMBER_NOT_FOUND (the account no longer holds its roster entry)",
        ),
    },
)
def change_password(body: ChangePasswordRequest) -> Response[str]:
    caller = caller_from_event(router.current_event.raw_event)
    account_settings.change_password(
        caller, cognito_username(router), body.current_password, body.new_password, source_ip(router)
    )
    return respond(None, 204)


@router.post(
    "/me/email",
    tags=TAGS,
    summary="Change the sign-in email: a code goes to the new address",
    responses={
        **answer(RegistrationResponse, 202, "Accepted"),
        **problems(
            404,
            429,
            d400="VALIDATION_FAILED (SAME_EMAIL included) or CURRENT_PASSWORD_INVALID",
            d404="MEMBER_NOT_FOUND (the account no longer holds its roster entry)",
        ),
    },
)
def change_email(body: ChangeEmailRequest) -> Response[str]:
    caller = caller_from_event(router.current_event.raw_event)
    accepted = account_settings.request_email_change(
        caller, cognito_username(router), body.new_email, body.current_password, source_ip(router)
    )
    return respond(accepted, 202)


@router.post(
    "/me/email/confirm",
    tags=TAGS,
    summary="Confirm the new sign-in email with its code",
    responses={**answer(MeOut), **problems(400, 429, d400="VALIDATION_FAILED, CODE_INVALID or CODE_EXPIRED")},
)
def confirm_email(body: ConfirmEmailRequest) -> MeOut:
    caller = caller_from_event(router.current_event.raw_event)
    return account_settings.confirm_email_change(
        caller, cognito_username(router), body.code, source_ip(router), request_language(router)
    )
