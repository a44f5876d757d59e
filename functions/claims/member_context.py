"""The caller's certificate and plan, and the ``GET /v1/me`` view of them."""

from __future__ import annotations

from datetime import date

from claims_models import MeOut, PersonOut, PlanRef

from portal_common import clock
from portal_common.i18n import translate
from portal_common.identity import Caller
from portal_common.members import Member, eligibility_on, get_member
from portal_common.plans import Plan, get_plan
from portal_common.problems import NotFound


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
    """The contract's ``GET /v1/me`` body: profile, plan, and each person's eligibility today."""
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
        preferred_language="en-CA" if member.language.startswith("en") else "fr-CA",
        plan=PlanRef(plan_id=plan.plan_id, name=plan.name.get(lang)),
        persons=persons,
    )
