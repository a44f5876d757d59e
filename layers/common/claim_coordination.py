"""Coordination of benefits (pure rules, no AWS): who pays first, and what the other payers paid.

Payer order follows the CLHIA coordination guidelines, with what the certificate knows:

- the member (``SELF``): this plan is their own plan, so it pays first;
- a ``SPOUSE`` who says she has other group coverage (``otherCoverage``): that coverage is her own
  plan, which pays first; this plan is second;
- a ``CHILD`` with other coverage: the birthday rule between the member and the spouse on the
  certificate: the parent whose birthday (month and day, not year) comes first in the calendar year
  pays first; on the same birthday, the parent whose given name comes first alphabetically (accents
  and case ignored). Without a spouse on the certificate there is no second parent to compare with:
  this plan is first (the member may still say the other insurer was billed first).

What the first payers paid (``provincialPlanPaid`` when ``provincialPlanFirst``, ``otherInsurerPaid``
when ``otherInsurerFirst``) is allocated to the lines in treatment order, each line taking at most
its claimed amount (the provincial plan first, then the other insurer, on what is left of the line).
Whatever the order, an amount the member says another payer already paid is taken into account:
this plan never pays what was already paid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

from portal_common.members import Member
from portal_common.text import normalized

ZERO = Decimal("0.00")
FirstPayer = Literal["THIS_PLAN", "OTHER_PLAN"]
THIS_PLAN: Final = "THIS_PLAN"
OTHER_PLAN: Final = "OTHER_PLAN"
# The information request made when this plan is second and the first payer was not billed.
OTHER_PAYER_STATEMENT_REQUIRED = "OTHER_PAYER_STATEMENT_REQUIRED"


def truthy(value: Any) -> bool:
    """A yes/no answer (booleans, and the usual words when a client sent a string)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "oui", "y", "o", "1"}
    return False


def _amount(value: Any) -> Decimal:
    """A money answer (decimal string); anything else, or a negative amount, counts as nothing."""
    try:
        amount = Decimal(str(value)) if value is not None and not isinstance(value, bool) else ZERO
    except (InvalidOperation, ValueError):
        return ZERO
    return amount if amount.is_finite() and amount > ZERO else ZERO


def _birthday_key(month_day: tuple[int, int], given_name: str) -> tuple[int, int, str]:
    return (*month_day, normalized(given_name))


def first_payer(member: Member | None, patient_id: str, answers: Mapping[str, Any]) -> FirstPayer:
    """Which plan pays the patient's claim first (``THIS_PLAN`` when there is no other coverage)."""
    if member is None or not truthy(answers.get("otherCoverage")):
        return THIS_PLAN
    patient = member.person(patient_id)
    if patient is None or patient.relationship == "SELF":
        return THIS_PLAN
    if patient.relationship == "SPOUSE":
        return OTHER_PLAN  # her own plan pays first
    spouse = next((p for p in member.persons if p.relationship == "SPOUSE" and p.in_roster), None)
    if spouse is None:
        return THIS_PLAN
    ours = _birthday_key((member.date_of_birth.month, member.date_of_birth.day), member.first_name)
    theirs = _birthday_key((spouse.date_of_birth.month, spouse.date_of_birth.day), spouse.first_name)
    return THIS_PLAN if ours <= theirs else OTHER_PLAN


def statement_required(member: Member | None, patient_id: str, answers: Mapping[str, Any]) -> bool:
    """This plan is second and the member says the first payer was not billed: hold the claim."""
    return first_payer(member, patient_id, answers) == OTHER_PLAN and not truthy(answers.get("otherInsurerFirst"))


@dataclass(frozen=True)
class OtherPayments:
    """What the other payers paid on one line (already allocated)."""

    provincial: Decimal = ZERO
    other_insurer: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.provincial + self.other_insurer


def allocate_other_payments(
    claimed: Sequence[tuple[int, Decimal]], answers: Mapping[str, Any]
) -> dict[int, OtherPayments]:
    """``{treatment index: OtherPayments}`` for ``claimed`` (``(index, amount)`` pairs): each payer's
    amount is spread over the lines in treatment order, never more than what is left of a line."""
    provincial = _amount(answers.get("provincialPlanPaid")) if truthy(answers.get("provincialPlanFirst")) else ZERO
    other = _amount(answers.get("otherInsurerPaid")) if truthy(answers.get("otherInsurerFirst")) else ZERO
    result: dict[int, OtherPayments] = {}
    for index, amount in sorted(claimed):
        left = max(amount, ZERO)
        from_provincial = min(provincial, left)
        provincial -= from_provincial
        from_other = min(other, left - from_provincial)
        other -= from_other
        result[index] = OtherPayments(from_provincial, from_other)
    return result
