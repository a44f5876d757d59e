"""``/me``: the signed-in member, their plan and the persons their certificate covers."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router
from claims_models import MeOut
from member_context import load_member, me_view

from portal_common.api import answer, problems, request_language
from portal_common.identity import caller_from_event

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
