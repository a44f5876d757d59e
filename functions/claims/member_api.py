"""``/me``: the signed-in member, their plan and the persons their certificate covers.

The account settings (``PATCH /me``, ``/me/password``, ``/me/email``) are the identity function's
(``functions/auth/auth_account_api.py``): they need Cognito's admin rights, this function has none.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from portal_common.api import answer, problems, request_language
from portal_common.identity import caller_from_event
from portal_common.member_profile import MeOut, load_member, me_view

router = Router()


@router.get(
    "/me",
    summary="The signed-in member, their plan and covered persons",
    tags=["Member"],
    responses={**answer(MeOut), **problems(404, d404="MEMBER_NOT_FOUND (the account has no roster entry)")},
)
def get_me() -> MeOut:
    """Profile, plan and the persons covered under the certificate with their eligibility today."""
    who = caller_from_event(router.current_event.raw_event)
    member, plan = load_member(who)
    return me_view(member, plan, who, request_language(router))
