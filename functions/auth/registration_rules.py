"""Who may register: one roster participant (SELF) matching contract, participant and date of birth,
with coverage active today. Shared by the backend-for-frontend and the PreSignUp trigger.

A terminated participant gets the same ``IDENTITY_NOT_VERIFIED`` answer as a wrong field, so the
answer never tells a stranger that the three fields matched someone.
"""

from __future__ import annotations

import time
from datetime import date

from portal_common.config import get_settings
from portal_common.dynamo import get_item
from portal_common.members import Member, coverage_on, plan_key
from portal_common.problems import DomainError


def identity_error() -> DomainError:
    """One answer whichever identity field is wrong (and for coverage that is not active)."""
    return DomainError("IDENTITY_NOT_VERIFIED", status=400)


def verify_identity(member: Member | None, date_of_birth: date, on: date) -> Member:
    """The certificate whose SELF person matches ``date_of_birth`` and is covered on ``on``."""
    if member is None:
        raise identity_error()
    person = member.self_person
    on_file = plan_on_file(member.plan_id)  # read whatever the other fields say (same work, same time)
    if person is None or not on_file or person.date_of_birth != date_of_birth:
        raise identity_error()
    # The registrant is the member (SELF): the plan's dependant rules do not concern them, so the
    # plan is not parsed (its model is pydantic: the PreSignUp trigger's cold start stays light).
    if not coverage_on(person, member, on).eligible:
        raise identity_error()
    return member


# Plans change by re-import with a higher version, never in place (portal_common.plans), so a plan
# seen on file is remembered as long as ``get_plan`` keeps a plan: a warm function reads it once.
PLAN_SEEN_SECONDS = 300
_seen: dict[str, float] = {}


def plan_on_file(plan_id: str) -> bool:
    """Whether the certificate's plan is stored (one ``GetItem`` of ``portal_common.members.plan_key``,
    whose key format a test keeps this one in step with; remembered for a few minutes)."""
    now = time.monotonic()
    seen = _seen.get(plan_id)
    if seen is not None and now - seen < PLAN_SEEN_SECONDS:
        return True
    found = get_item(get_settings().members_table, plan_key(plan_id)) is not None
    if found:
        _seen[plan_id] = now
    return found


def forget_plans() -> None:
    """Forget the plans seen on file (tests: a new stack, or a plan removed)."""
    _seen.clear()
