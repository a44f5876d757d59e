"""Who may register: one roster participant (SELF) matching contract, participant and date of birth,
with coverage active today. Shared by the backend-for-frontend and the PreSignUp trigger.

A terminated participant gets the same ``IDENTITY_NOT_VERIFIED`` answer as a wrong field, so the
answer never tells a stranger that the three fields matched someone.
"""

from __future__ import annotations

from datetime import date

from portal_common.members import Member, eligibility_on
from portal_common.plans import get_plan
from portal_common.problems import DomainError


def identity_error() -> DomainError:
    """One answer whichever identity field is wrong (and for coverage that is not active)."""
    return DomainError("IDENTITY_NOT_VERIFIED", status=400)


def verify_identity(member: Member | None, date_of_birth: date, on: date) -> Member:
    """The certificate whose SELF person matches ``date_of_birth`` and is covered on ``on``."""
    if member is None:
        raise identity_error()
    person = member.self_person
    plan = get_plan(member.plan_id)
    if person is None or plan is None or person.date_of_birth != date_of_birth:
        raise identity_error()
    if not eligibility_on(person, member, plan, on).eligible:
        raise identity_error()
    return member
