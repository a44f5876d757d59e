"""Members (certificates), their covered persons, and eligibility on a date.

Storage (members table), one partition per certificate, read with one ``Query``:

- ``PK=MEMBER#<contract>#<participant>``, ``SK=PROFILE``: the member (SELF) with plan, coverage
  dates, language, and the account fields owned by the identity function (``accountSub``,
  ``email``, ``preferredLanguage``: the member's choice, which wins over the roster's ``language``);
- ``PK=MEMBER#...``, ``SK=PERSON#<personId>``: each covered person, the member included.

``personId`` is derived from stable roster fields so that re-importing a file updates persons in
place instead of duplicating them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from portal_common.config import get_settings
from portal_common.dynamo import query
from portal_common.identity import member_key
from portal_common.text import normalized

if TYPE_CHECKING:  # the plan model (pydantic) is loaded by whoever reads a plan, not by members
    from portal_common.plans import Plan

Relationship = Literal["SELF", "SPOUSE", "CHILD"]


def plan_key(plan_id: str) -> dict[str, str]:
    """Key of a plan item in the members table (``portal_common.plans`` reads and writes it; the
    PreSignUp trigger checks it exists without loading the plan model)."""
    return {"PK": f"PLAN#{plan_id}", "SK": "PLAN"}


@dataclass(frozen=True)
class Person:
    """One covered person of a certificate."""

    person_id: str
    relationship: Relationship
    first_name: str
    last_name: str
    date_of_birth: date
    coverage_start: date
    coverage_end: date | None
    student: bool = False
    disabled: bool = False
    in_roster: bool = True

    def __repr__(self) -> str:  # no names or dates of birth in logs
        return f"Person(person_id={self.person_id!r}, relationship={self.relationship!r})"


@dataclass(frozen=True)
class Member:
    """A certificate: the member and everyone covered under it."""

    contract_number: str
    participant_number: str
    plan_id: str
    first_name: str
    last_name: str
    date_of_birth: date
    coverage_start: date
    coverage_end: date | None
    language: str
    email: str | None = None
    account_sub: str | None = None
    persons: tuple[Person, ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        """Partition key of the certificate."""
        return member_key(self.contract_number, self.participant_number)

    @property
    def self_person(self) -> Person | None:
        """The member as a covered person."""
        return next((p for p in self.persons if p.relationship == "SELF"), None)

    def person(self, person_id: str) -> Person | None:
        """A person of this certificate by id (``None`` for anyone else's)."""
        return next((p for p in self.persons if p.person_id == person_id), None)

    def __repr__(self) -> str:
        return f"Member(plan_id={self.plan_id!r}, persons={len(self.persons)})"


def person_id_for(contract: str, participant: str, relationship: str, first_name: str, date_of_birth: date) -> str:
    """Stable id of a covered person (opaque; the same roster row always gives the same id)."""
    basis = "|".join([contract, participant, relationship, normalized(first_name), date_of_birth.isoformat()])
    return "p_" + hashlib.sha256(basis.encode()).hexdigest()[:16]


def age_on(birth: date, on: date) -> int:
    """Completed years of age on ``on``."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class Eligibility:
    """Whether a person is covered on a date, with the reason code when not."""

    eligible: bool
    reason: str | None = None


def coverage_on(person: Person, member: Member, on: date) -> Eligibility:
    """The roster part of :func:`eligibility_on`: in the roster, and ``on`` within both the
    person's and the certificate's coverage dates. It is the whole rule for the member (SELF),
    whom the plan's dependant rules never concern, so it needs no plan."""
    if not person.in_roster:
        return Eligibility(False, "NOT_IN_ROSTER")
    start = max(person.coverage_start, member.coverage_start)
    ends = [d for d in (person.coverage_end, member.coverage_end) if d is not None]
    end = min(ends) if ends else None
    if on < start:
        return Eligibility(False, "COVERAGE_NOT_STARTED")
    if end is not None and on > end:
        return Eligibility(False, "COVERAGE_ENDED")
    return Eligibility(True)


def eligibility_on(person: Person, member: Member, plan: Plan, on: date) -> Eligibility:
    """Eligibility rules: coverage dates, then dependant rules of the plan.

    Children are covered until their ``childMaxAge`` birthday (21), full-time students until their
    ``studentMaxAge`` birthday (25), and children with a disability at any age. Spouses are
    covered when the plan covers spouses.
    """
    covered = coverage_on(person, member, on)
    if not covered.eligible:
        return covered
    rules = plan.dependants
    if person.relationship == "SPOUSE" and not rules.spouse_covered:
        return Eligibility(False, "SPOUSE_NOT_COVERED")
    if person.relationship == "CHILD":
        if not rules.children_covered:
            return Eligibility(False, "CHILD_NOT_COVERED")
        age = age_on(person.date_of_birth, on)
        if age < rules.child_max_age:
            return Eligibility(True)
        if person.disabled and rules.disabled_child_any_age:
            return Eligibility(True)
        if person.student:
            if age < rules.student_max_age:
                return Eligibility(True)
            return Eligibility(False, "STUDENT_OVER_AGE")
        return Eligibility(False, "CHILD_OVER_AGE")
    return Eligibility(True)


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def _person_from_item(item: dict[str, Any]) -> Person:
    return Person(
        person_id=str(item["personId"]),
        relationship=item["relationship"],
        first_name=str(item["firstName"]),
        last_name=str(item["lastName"]),
        date_of_birth=date.fromisoformat(str(item["dateOfBirth"])),
        coverage_start=date.fromisoformat(str(item["coverageStart"])),
        coverage_end=_date(item.get("coverageEnd")),
        student=bool(item.get("student", False)),
        disabled=bool(item.get("disabled", False)),
        in_roster=bool(item.get("inRoster", True)),
    )


def member_from_items(items: list[dict[str, Any]]) -> Member | None:
    """Build a :class:`Member` from the items of its partition (profile + persons)."""
    profile = next((i for i in items if i.get("SK") == "PROFILE"), None)
    if profile is None:
        return None
    persons = tuple(
        sorted(
            (_person_from_item(i) for i in items if str(i.get("SK", "")).startswith("PERSON#")),
            key=lambda p: ({"SELF": 0, "SPOUSE": 1, "CHILD": 2}[p.relationship], p.date_of_birth, p.person_id),
        )
    )
    return Member(
        contract_number=str(profile["contractNumber"]),
        participant_number=str(profile["participantNumber"]),
        plan_id=str(profile["planId"]),
        first_name=str(profile["firstName"]),
        last_name=str(profile["lastName"]),
        date_of_birth=date.fromisoformat(str(profile["dateOfBirth"])),
        coverage_start=date.fromisoformat(str(profile["coverageStart"])),
        coverage_end=_date(profile.get("coverageEnd")),
        # The member's own choice (registration, PATCH /v1/me) wins over the roster's language.
        language=str(profile.get("preferredLanguage") or profile.get("language", "fr")),
        email=profile.get("email"),
        account_sub=profile.get("accountSub"),
        persons=persons,
    )


def get_member(contract_number: str, participant_number: str) -> Member | None:
    """The certificate with its persons: one ``Query`` on its partition (a few items)."""
    items, _ = query(
        get_settings().members_table,
        key_condition="PK = :pk",
        values={":pk": member_key(contract_number, participant_number)},
    )
    return member_from_items(items)
