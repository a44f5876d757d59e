"""Coordination of benefits (pure): payer order (CLHIA), allocation, and the second payer's payment."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from claim_adjudication import ZERO, ClaimToAdjudicate, DrugDetails, DrugRuling, Treatment, Usage, adjudicate
from claim_coordination import OTHER_PLAN, THIS_PLAN, allocate_other_payments, first_payer, statement_required
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal_common.i18n import ENGLISH, FRENCH
from portal_common.members import Member, Person
from portal_common.plans import Plan

ROOT = Path(__file__).resolve().parents[2]
PLANS = {
    name: Plan.model_validate(json.loads((ROOT / "data" / "plans" / f"{name}.json").read_text()))
    for name in ("PLAN-ESSENTIEL", "PLAN-PLUS")
}
START = date(2020, 1, 1)


def certificate(
    own: tuple[str, date] = ("Marie", date(1984, 3, 12)),
    spouse: tuple[str, date] | None = ("Jean", date(1982, 11, 5)),
    plan_id: str = "PLAN-ESSENTIEL",
) -> Member:
    persons = [Person("self", "SELF", own[0], "T", own[1], START, None)]
    if spouse is not None:
        persons.append(Person("spouse", "SPOUSE", spouse[0], "T", spouse[1], START, None))
    persons.append(Person("kid", "CHILD", "Léa", "T", date(2015, 6, 20), START, None))
    return Member("G1", "1", plan_id, own[0], "T", own[1], START, None, "fr", persons=tuple(persons))


def claim(lines: list[tuple[str, str]], answers: dict[str, object], patient: str = "self") -> ClaimToAdjudicate:
    treatments = tuple(Treatment(i, date.fromisoformat(d), Decimal(a)) for i, (d, a) in enumerate(lines))
    return ClaimToAdjudicate(
        "c", "PHYSIOTHERAPY", patient, max(t.date_of_service for t in treatments), treatments, answers
    )


OTHER_COVERAGE_NOT_BILLED = {"otherCoverage": True, "otherInsurerName": "X", "otherInsurerFirst": False}


# ----------------------------------------------------------------------------- payer order


def test_own_plan_first_for_the_member_and_for_a_spouse_with_her_own_plan() -> None:
    marie = certificate()
    assert first_payer(marie, "self", OTHER_COVERAGE_NOT_BILLED) == THIS_PLAN
    assert first_payer(marie, "spouse", OTHER_COVERAGE_NOT_BILLED) == OTHER_PLAN
    assert first_payer(marie, "spouse", {"otherCoverage": False}) == THIS_PLAN  # no other plan
    assert first_payer(None, "spouse", OTHER_COVERAGE_NOT_BILLED) == THIS_PLAN  # certificate gone: denied anyway
    assert statement_required(marie, "spouse", OTHER_COVERAGE_NOT_BILLED)
    assert not statement_required(marie, "spouse", {**OTHER_COVERAGE_NOT_BILLED, "otherInsurerFirst": True})
    assert not statement_required(marie, "self", OTHER_COVERAGE_NOT_BILLED)


@pytest.mark.parametrize(
    ("own", "spouse", "expected"),
    [
        # Month and day decide, never the year: March 12 comes before November 5.
        (("Marie", date(1984, 3, 12)), ("Jean", date(1982, 11, 5)), THIS_PLAN),
        (("David", date(1978, 7, 30)), ("Priya", date(1980, 2, 14)), OTHER_PLAN),
        (("Ana", date(1999, 1, 31)), ("Bo", date(1950, 2, 1)), THIS_PLAN),
        (("Ana", date(1950, 12, 31)), ("Bo", date(1999, 1, 1)), OTHER_PLAN),
        # Same birthday: the given name first in alphabetical order (accents and case ignored).
        (("Élise", date(1980, 5, 5)), ("emma", date(1985, 5, 5)), THIS_PLAN),
        (("Zoé", date(1980, 5, 5)), ("Adam", date(1985, 5, 5)), OTHER_PLAN),
        (("Ève", date(1980, 5, 5)), ("Eva", date(1985, 5, 5)), OTHER_PLAN),
    ],
)
def test_birthday_rule_for_a_child(own: tuple[str, date], spouse: tuple[str, date], expected: str) -> None:
    assert first_payer(certificate(own, spouse), "kid", OTHER_COVERAGE_NOT_BILLED) == expected
    # Swapping the parents swaps the answer (the rule is an order, not a preference for one side).
    swapped = OTHER_PLAN if expected == THIS_PLAN else THIS_PLAN
    assert first_payer(certificate(spouse, own), "kid", OTHER_COVERAGE_NOT_BILLED) == swapped


def test_child_without_a_spouse_on_the_certificate_this_plan_is_first() -> None:
    assert first_payer(certificate(spouse=None), "kid", OTHER_COVERAGE_NOT_BILLED) == THIS_PLAN


# ----------------------------------------------------------------------------- amounts


def test_allocation_in_treatment_order_never_more_than_a_line() -> None:
    answers = {
        "provincialPlanFirst": True,
        "provincialPlanPaid": "50.00",
        "otherInsurerFirst": True,
        "otherInsurerPaid": "40.00",
    }
    got = allocate_other_payments([(0, Decimal("30.00")), (1, Decimal("45.00")), (2, Decimal("100.00"))], answers)
    assert [(got[i].provincial, got[i].other_insurer) for i in range(3)] == [
        (Decimal("30.00"), ZERO),
        (Decimal("20.00"), Decimal("25.00")),
        (ZERO, Decimal("15.00")),
    ]
    # Amounts said without "first" are not counted; junk and negative amounts count as nothing.
    assert allocate_other_payments([(0, Decimal("10"))], {"otherInsurerPaid": "5.00"})[0].total == ZERO
    assert (
        allocate_other_payments([(0, Decimal("10"))], {"otherInsurerFirst": True, "otherInsurerPaid": "-5"})[0].total
        == ZERO
    )
    assert (
        allocate_other_payments([(0, Decimal("10"))], {"otherInsurerFirst": True, "otherInsurerPaid": "NaN"})[0].total
        == ZERO
    )


def test_second_payer_pays_the_lesser_of_its_payment_and_the_rest() -> None:
    plan = PLANS["PLAN-ESSENTIEL"]
    answers = {**OTHER_COVERAGE_NOT_BILLED, "otherInsurerFirst": True, "otherInsurerPaid": "40.00"}
    # Physio 60.00 (per-visit maximum 60), deductible 25 then 80 %: first payer would pay 28.00;
    # the rest after the other insurer is 60 - 40 = 20.00, so this plan pays 20.00.
    result = adjudicate(plan, certificate(), claim([("2026-02-10", "60.00")], answers, "spouse"), Usage())
    line = result.lines[0]
    assert (line.eligible, line.paid, line.reason_code) == (Decimal("60.00"), Decimal("20.00"), "COORDINATION_BALANCE")
    assert "40,00\u00a0$" in line.explanation(FRENCH)
    assert "ce régime paie le reste" in line.explanation(FRENCH)
    assert "$40.00" in line.explanation(ENGLISH)
    assert "this plan pays the rest" in line.explanation(ENGLISH)
    assert result.usage.person_year("spouse", "2026").benefits["PHYSIOTHERAPY"] == Decimal("20.00")  # only ours counts
    # A small first payment: this plan pays what it would have paid as first payer (28.00), no more.
    small = adjudicate(
        plan,
        certificate(),
        claim([("2026-02-10", "60.00")], {**answers, "otherInsurerPaid": "10.00"}, "spouse"),
        Usage(),
    )
    assert small.lines[0].paid == Decimal("28.00")
    assert small.lines[0].reason_code == "OTHER_INSURER_PAID"


def test_held_when_this_plan_is_second_and_the_first_payer_was_not_billed() -> None:
    plan = PLANS["PLAN-ESSENTIEL"]
    usage = Usage()
    held = adjudicate(plan, certificate(), claim([("2026-02-10", "60.00")], OTHER_COVERAGE_NOT_BILLED, "spouse"), usage)
    assert held.status == "PENDING_INFORMATION"
    assert held.information_needed == ("OTHER_PAYER_STATEMENT_REQUIRED",)
    assert held.total_paid == ZERO
    assert held.changed.person_years == frozenset()
    assert held.usage == Usage()
    assert "relevé" in held.lines[0].explanation(FRENCH)
    # The child of David (July 30) and Priya (February 14): Priya's plan first, so held too.
    chen = certificate(("David", date(1978, 7, 30)), ("Priya", date(1980, 2, 14)))
    child = claim([("2026-02-10", "60.00")], OTHER_COVERAGE_NOT_BILLED, "kid")
    assert adjudicate(plan, chen, child, usage).status == "PENDING_INFORMATION"
    # Marie's child: Marie's plan (this one) is first, paid as usual.
    assert adjudicate(plan, certificate(), child, usage).total_paid == Decimal("28.00")


# ----------------------------------------------------------------------------- property

PERSONS = ["self", "spouse", "kid"]
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("900.00"), places=2)


@st.composite
def coordinated_claims(draw: st.DrawFn, plan: Plan) -> ClaimToAdjudicate:
    claim_type = draw(st.sampled_from([*sorted(plan.benefits), "DRUG"]))
    rows = draw(st.lists(st.tuples(st.integers(0, 300), money), min_size=1, max_size=5))
    start = date(2025, 6, 1)
    treatments = tuple(Treatment(i, start + timedelta(days=d), a) for i, (d, a) in enumerate(rows))
    answers: dict[str, object] = {"referral": draw(st.booleans()), "otherCoverage": draw(st.booleans())}
    if draw(st.booleans()):
        answers.update(provincialPlanFirst=True, provincialPlanPaid=str(draw(money)))
    if answers["otherCoverage"]:
        first = draw(st.booleans())
        answers["otherInsurerFirst"] = first
        if first:
            answers["otherInsurerPaid"] = str(draw(money))
    drug = None
    if claim_type == "DRUG":
        drug = DrugDetails(din="02242705", quantity=Decimal(draw(st.integers(1, 90))), dispensing_fee=draw(money))
    return ClaimToAdjudicate(
        "c",
        claim_type,
        draw(st.sampled_from(PERSONS)),
        max(t.date_of_service for t in treatments) + timedelta(days=draw(st.integers(0, 30))),
        treatments,
        answers,
        drug,
    )


@pytest.mark.parametrize("plan_id", sorted(PLANS))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_this_plan_plus_the_others_never_exceed_what_was_claimed(plan_id: str, data: st.DataObject) -> None:
    plan = PLANS[plan_id]
    marie = certificate(plan_id=plan_id)
    usage = Usage()
    for _ in range(data.draw(st.integers(1, 6))):
        one = data.draw(coordinated_claims(plan))
        result = adjudicate(plan, marie, one, usage, DrugRuling())
        others = allocate_other_payments([(t.index, t.amount) for t in one.treatments], one.answers)
        as_first = {"referral": one.answers["referral"]}  # the same claim with no other payer
        alone = adjudicate(plan, marie, ClaimToAdjudicate(**{**one.__dict__, "answers": as_first}), usage, DrugRuling())
        for line in result.lines:
            assert ZERO <= line.paid <= line.eligible <= line.claimed
            assert line.paid + others[line.treatment_index].total <= line.claimed
            assert line.paid <= max(line.eligible - others[line.treatment_index].total, ZERO)
        # Never more than as first payer (per claim: a line the others paid leaves room under a
        # maximum for a later line, which then gets what it would have had anyway, no more).
        assert result.total_paid <= alone.total_paid
        if result.status == "PENDING_INFORMATION":
            assert result.total_paid == ZERO
            assert result.usage == usage
        usage = result.usage
