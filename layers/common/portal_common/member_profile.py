"""The signed-in member as the contract's ``Me`` shows them (``GET /v1/me``, and the account
settings routes of the identity function that answer ``Me`` too): one builder for both functions."""

from __future__ import annotations

from datetime import date
from typing import Literal

from portal_common import clock
from portal_common.i18n import translate
from portal_common.identity import Caller
from portal_common.members import Member, eligibility_on, get_member
from portal_common.models import OutputModel
from portal_common.plans import Plan, get_plan
from portal_common.problems import NotFound


class PlanRef(OutputModel):
    plan_id: str
    name: str


class PersonOut(OutputModel):
    person_id: str
    first_name: str
    last_name: str
    relationship: Literal["SELF", "SPOUSE", "CHILD"]
    date_of_birth: str
    eligible: bool
    ineligible_reason: str | None = None
    ineligible_reason_code: str | None = None


class MeOut(OutputModel):
    participant_number: str
    contract_number: str
    first_name: str
    last_name: str
    email: str | None = None
    preferred_language: Literal["fr", "en"]
    plan: PlanRef
    persons: list[PersonOut]


def load_member(caller: Caller) -> tuple[Member, Plan]:
    """The caller's certificate (one ``Query``) and plan (cached ``GetItem``), or ``404``."""
    member = get_member(caller.contract_number, caller.participant_number)
    if member is None:
        raise NotFound("MEMBER_NOT_FOUND")
    plan = get_plan(member.plan_id)
    if plan is None:
        raise NotFound("MEMBER_NOT_FOUND")
    return member, plan


def me_view(member: Member, plan: Plan, caller: Caller, lang: str, today: date | None = None) -> MeOut:
    """The contract's ``Me`` body: profile, plan, and each person's eligibility today.

    ``preferredLanguage`` is the member's choice (registration or ``PATCH /v1/me``), else the
    roster's, as the registration codes ``fr``/``en``.
    """
    on = today or clock.today()
    persons = []
    for person in member.persons:
        if not person.in_roster:
            continue
        verdict = eligibility_on(person, member, plan, on)
        reason = verdict.reason if not verdict.eligible and verdict.reason else None
        persons.append(
            PersonOut(
                person_id=person.person_id,
                first_name=person.first_name,
                last_name=person.last_name,
                relationship=person.relationship,
                date_of_birth=person.date_of_birth.isoformat(),
                eligible=verdict.eligible,
                ineligible_reason=translate(f"coverage.reason.{reason}", lang) if reason else None,
                ineligible_reason_code=reason,
            )
        )
    return MeOut(
        participant_number=member.participant_number,
        contract_number=member.contract_number,
        first_name=member.first_name,
        last_name=member.last_name,
        email=member.email or caller.email or None,
        preferred_language="en" if member.language.startswith("en") else "fr",
        plan=PlanRef(plan_id=plan.plan_id, name=plan.name.get(lang)),
        persons=persons,
    )
