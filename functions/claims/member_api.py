"""``/me``: the signed-in member, their plan and the persons their certificate covers; ``/me/balances``:
what is left for one of those persons (``member_balances``).

The account settings (``PATCH /me``, ``/me/password``, ``/me/email``) are the identity function's
(``functions/auth/auth_account_api.py``): they need Cognito's admin rights, this function has none.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from balance_models import Balances

from portal_common import clock
from portal_common.api import answer, problems, request_language
from portal_common.identity import caller_from_event
from portal_common.member_profile import MeOut, load_member, me_view
from portal_common.patterns import DATE_PATTERN
from portal_common.problems import NotFound, invalid_field

# How far from today ``asOf`` may be: the running totals keep every benefit year, the dated records
# what a claim can still reach; beyond this the question has no use (and dates near year 1 or 9999
# would not fit the periods).
AS_OF_RANGE_DAYS = 10 * 366

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


def _as_of(value: str | None) -> date:
    today = clock.today()
    if value is None:
        return today
    try:
        day = date.fromisoformat(value) if DATE_PATTERN.match(value) else None
    except ValueError:
        day = None
    if day is None:
        raise invalid_field("asOf", "INVALID_DATE")
    if abs((day - today).days) > AS_OF_RANGE_DAYS:
        raise invalid_field("asOf", "OUT_OF_RANGE")
    return day


@router.get(
    "/me/balances",
    summary="What is left for a person: maximums, deductible, frequency limits",
    tags=["Member"],
    responses={
        **answer(Balances),
        **problems(404, d404="PERSON_NOT_FOUND (not a person of your certificate) or MEMBER_NOT_FOUND"),
    },
)
def get_balances(
    person_id: Annotated[
        str | None,
        Query(
            alias="personId",
            min_length=1,
            max_length=64,
            description="A person of your certificate (GET /v1/me persons); default: you",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        Query(
            alias="asOf",
            max_length=10,
            description="YYYY-MM-DD, within 10 years of today; default: today",
            json_schema_extra={"format": "date"},
        ),
    ] = None,
) -> Balances:
    """Every per-benefit and shared maximum with what was paid against it in its period, the
    deductible, and frequency limits with the next eligible date, in the caller's language. Read from
    the running totals the claim processor keeps (two reads, whatever the history)."""
    from member_balances import member_balances  # the adjudication modules: only this route needs them

    member, plan = load_member(caller_from_event(router.current_event.raw_event))
    day = _as_of(as_of)
    who = person_id if person_id is not None else (member.self_person.person_id if member.self_person else None)
    if who is None:
        raise NotFound("PERSON_NOT_FOUND")
    return member_balances(member, plan, who, day, request_language(router))
