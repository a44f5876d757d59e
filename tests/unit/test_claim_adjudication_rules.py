"""Adjudication rules (pure): examples per rule, and properties over any sequence of claims."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from adjudication_store import adjudication_record
from claim_adjudication import (
    ZERO,
    ClaimToAdjudicate,
    DrugDetails,
    DrugRuling,
    Treatment,
    Usage,
    add_months,
    adjudicate,
    money_text,
    rolling_available,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal_common.i18n import ENGLISH, FRENCH, keys
from portal_common.members import Member, Person
from portal_common.plans import Plan

ROOT = Path(__file__).resolve().parents[2]
AT = "2026-03-02T15:00:00Z"
PLANS = {
    name: Plan.model_validate(json.loads((ROOT / "data" / "plans" / f"{name}.json").read_text()))
    for name in ("PLAN-ESSENTIEL", "PLAN-PLUS")
}


def member(plan_id: str = "PLAN-ESSENTIEL", coverage_end: date | None = None) -> Member:
    persons = (
        Person("self", "SELF", "Marie", "T", date(1984, 3, 12), date(2020, 1, 1), coverage_end),
        Person("spouse", "SPOUSE", "Jean", "T", date(1982, 11, 5), date(2020, 1, 1), coverage_end),
        Person("kid", "CHILD", "Léa", "T", date(2015, 6, 20), date(2020, 1, 1), coverage_end),
        Person("adult", "CHILD", "Lucas", "T", date(2000, 1, 1), date(2020, 1, 1), coverage_end),
    )
    return Member(
        "G1", "1", plan_id, "Marie", "T", date(1984, 3, 12), date(2020, 1, 1), coverage_end, "fr", persons=persons
    )


def claim(
    claim_type: str,
    lines: list[tuple[str, str]],
    *,
    patient: str = "self",
    submitted: str | None = None,
    answers: dict[str, object] | None = None,
    drug: DrugDetails | None = None,
) -> ClaimToAdjudicate:
    treatments = tuple(Treatment(i, date.fromisoformat(d), Decimal(a)) for i, (d, a) in enumerate(lines))
    submitted_on = date.fromisoformat(submitted) if submitted else max(t.date_of_service for t in treatments)
    return ClaimToAdjudicate("c", claim_type, patient, submitted_on, treatments, answers or {}, drug)


def codes(result_lines: list) -> list[str]:  # type: ignore[type-arg]
    return [line.reason_code for line in sorted(result_lines, key=lambda line: line.treatment_index)]


# ----------------------------------------------------------------------------- one rule at a time


def test_deductible_person_then_family_cap() -> None:
    plan, usage = PLANS["PLAN-ESSENTIEL"], Usage()
    first = adjudicate(plan, member(), claim("DIAGNOSTIC_TESTS", [("2026-01-10", "20.00")]), usage)
    assert (first.lines[0].deductible, first.lines[0].paid, first.status) == (Decimal("20.00"), ZERO, "DENIED")
    assert first.lines[0].reason_code == "DEDUCTIBLE_APPLIED"
    usage = first.usage
    second = adjudicate(plan, member(), claim("DIAGNOSTIC_TESTS", [("2026-01-11", "100.00")]), usage)
    assert second.lines[0].deductible == Decimal("5.00")  # person maximum 25.00
    assert second.lines[0].paid == Decimal("76.00")  # 80 % of 95.00
    usage = second.usage
    spouse = adjudicate(plan, member(), claim("DIAGNOSTIC_TESTS", [("2026-02-01", "100.00")], patient="spouse"), usage)
    assert spouse.lines[0].deductible == Decimal("25.00")  # family total now 50.00
    kid = adjudicate(plan, member(), claim("DIAGNOSTIC_TESTS", [("2026-02-01", "100.00")], patient="kid"), spouse.usage)
    assert kid.lines[0].deductible == ZERO  # family deductible met
    assert kid.lines[0].paid == Decimal("80.00")
    next_year = adjudicate(
        plan, member(), claim("DIAGNOSTIC_TESTS", [("2027-01-02", "100.00")], patient="kid"), kid.usage
    )
    assert next_year.lines[0].deductible == Decimal("25.00")


def test_annual_and_shared_maximums() -> None:
    plan = PLANS["PLAN-ESSENTIEL"]
    usage = Usage()
    usage.person_year("self", "2026").benefits["PHYSIOTHERAPY"] = Decimal("480.00")
    usage.person_year("self", "2026").deductible = Decimal("25.00")
    result = adjudicate(
        plan, member(), claim("PHYSIOTHERAPY", [("2026-03-01", "60.00"), ("2026-03-08", "60.00")]), usage
    )
    assert [line.paid for line in result.lines] == [Decimal("20.00"), ZERO]
    assert codes(result.lines) == ["ANNUAL_MAXIMUM_REACHED", "ANNUAL_MAXIMUM_REACHED"]
    assert result.status == "PARTIALLY_PAID"
    usage = Usage()
    usage.person_year("self", "2026").shared["PARAMEDICAL_COMBINED"] = Decimal("990.00")
    usage.person_year("self", "2026").deductible = Decimal("25.00")
    result = adjudicate(plan, member(), claim("OSTEOPATHY", [("2026-03-01", "50.00")]), usage)
    assert result.lines[0].paid == Decimal("10.00")
    assert result.lines[0].reason_code == "SHARED_MAXIMUM_REACHED"
    assert "Maximum combiné" in result.lines[0].explanation(FRENCH)
    assert "Combined paramedical" in result.lines[0].explanation(ENGLISH)


def test_rolling_vision_maximum_across_benefit_years() -> None:
    plan = PLANS["PLAN-ESSENTIEL"]
    first = adjudicate(plan, member(), claim("EYEWEAR", [("2025-11-01", "150.00")]), Usage())
    assert first.lines[0].paid == Decimal("150.00")
    # A new benefit year does not reset a 24-month maximum: 50.00 left.
    second = adjudicate(plan, member(), claim("EYEWEAR", [("2026-12-01", "150.00")]), first.usage)
    assert second.lines[0].paid == Decimal("50.00")
    assert second.lines[0].reason_code == "SHARED_MAXIMUM_REACHED"
    # 24 months after the first purchase the window no longer holds it.
    third = adjudicate(plan, member(), claim("EYEWEAR", [("2027-11-02", "180.00")]), second.usage)
    assert third.lines[0].paid == Decimal("150.00")  # 200.00 - the 50.00 paid on 2026-12-01


def test_late_claim_cannot_push_a_later_window_over_the_maximum() -> None:
    plan = PLANS["PLAN-ESSENTIEL"]
    later = adjudicate(plan, member(), claim("EYEWEAR", [("2026-06-01", "200.00")]), Usage())
    # Filed later, for an earlier date: any window ending on 2026-06-01 already holds 200.00.
    earlier = adjudicate(
        plan, member(), claim("EYEWEAR", [("2026-01-15", "100.00")], submitted="2026-07-01"), later.usage
    )
    assert earlier.lines[0].paid == ZERO


def test_frequency_limit_eye_exam_every_24_months() -> None:
    plan = PLANS["PLAN-ESSENTIEL"]
    first = adjudicate(plan, member(), claim("EYE_EXAM", [("2025-03-01", "95.00")]), Usage())
    assert first.lines[0].paid == Decimal("90.00")
    assert first.lines[0].reason_code == "REASONABLE_AND_CUSTOMARY"
    again = adjudicate(plan, member(), claim("EYE_EXAM", [("2026-03-01", "80.00")]), first.usage)
    assert again.lines[0].reason_code == "FREQUENCY_LIMIT_REACHED"
    assert again.status == "DENIED"
    assert "24" in again.lines[0].explanation(FRENCH)
    later = adjudicate(plan, member(), claim("EYE_EXAM", [("2027-03-02", "80.00")]), first.usage)
    assert later.lines[0].paid == Decimal("80.00")
    # Two exams on one claim: the second one is refused.
    both = adjudicate(plan, member(), claim("EYE_EXAM", [("2026-05-01", "80.00"), ("2026-04-01", "80.00")]), Usage())
    assert codes(both.lines) == ["FREQUENCY_LIMIT_REACHED", "PAID_IN_FULL"]


def test_eligibility_filing_limit_referral_and_coverage() -> None:
    plan = PLANS["PLAN-ESSENTIEL"]
    result = adjudicate(plan, member(), claim("MASSAGE_THERAPY", [("2026-02-01", "50.00")]), Usage())
    assert codes(result.lines) == ["REFERRAL_REQUIRED"]
    ok = adjudicate(
        plan, member(), claim("MASSAGE_THERAPY", [("2026-02-01", "50.00")], answers={"referral": True}), Usage()
    )
    assert ok.lines[0].paid == Decimal("20.00")  # 50 - 25 deductible, 80 %
    late = adjudicate(
        plan, member(), claim("PHYSIOTHERAPY", [("2025-01-01", "50.00")], submitted="2026-02-01"), Usage()
    )
    assert codes(late.lines) == ["FILING_LIMIT_EXCEEDED"]
    not_in_plan = adjudicate(plan, member(), claim("ACUPUNCTURE", [("2026-02-01", "50.00")]), Usage())
    assert codes(not_in_plan.lines) == ["SERVICE_NOT_COVERED"]
    adult_child = adjudicate(
        plan, member(), claim("PHYSIOTHERAPY", [("2026-02-01", "50.00")], patient="adult"), Usage()
    )
    assert codes(adult_child.lines) == ["PATIENT_NOT_COVERED"]
    stranger = adjudicate(plan, member(), claim("PHYSIOTHERAPY", [("2026-02-01", "50.00")], patient="x"), Usage())
    assert codes(stranger.lines) == ["UNKNOWN_PATIENT"]
    gone = adjudicate(plan, None, claim("PHYSIOTHERAPY", [("2026-02-01", "50.00")]), Usage())
    assert codes(gone.lines) == ["UNKNOWN_PATIENT"]
    ended = member(coverage_end=date(2025, 12, 31))
    within = adjudicate(plan, ended, claim("PHYSIOTHERAPY", [("2025-12-01", "50.00")], submitted="2026-03-01"), Usage())
    assert within.lines[0].paid > ZERO
    after = adjudicate(plan, ended, claim("PHYSIOTHERAPY", [("2025-12-01", "50.00")], submitted="2026-04-15"), Usage())
    assert codes(after.lines) == ["POST_TERMINATION_FILING_LIMIT_EXCEEDED"]


def test_drug_rules() -> None:
    plan = PLANS["PLAN-ESSENTIEL"]
    details = DrugDetails(din="02242705", quantity=Decimal("30"), dispensing_fee=Decimal("12.00"))
    drug_claim = claim("DRUG", [("2026-02-01", "62.00")], drug=details)
    # LCA 1.00/unit -> drug cost 50.00 becomes 30.00; fee 12.00 capped at 8.00; 80 % of 38.00.
    result = adjudicate(plan, member(), drug_claim, Usage(), DrugRuling(lowest_cost_unit_price=Decimal("1.00")))
    line = result.lines[0]
    assert (line.eligible, line.paid) == (Decimal("38.00"), Decimal("30.40"))
    assert [s.code for s in line.steps] == ["LOWEST_COST_ALTERNATIVE", "DISPENSING_FEE_CAP", "COINSURANCE"]
    pa = adjudicate(plan, member(), drug_claim, Usage(), DrugRuling(prior_authorization_required=True))
    assert codes(pa.lines) == ["PRIOR_AUTHORIZATION_REQUIRED"]
    approved = claim("DRUG", [("2026-02-01", "62.00")], drug=details, answers={"priorAuthorizationNumber": "PA-1"})
    assert (
        adjudicate(plan, member(), approved, Usage(), DrugRuling(prior_authorization_required=True)).lines[0].paid > 0
    )
    for denial in ("DRUG_EXCLUDED", "DRUG_SCHEDULE_NOT_COVERED", "DRUG_NOT_IDENTIFIED"):
        assert codes(adjudicate(plan, member(), drug_claim, Usage(), DrugRuling(denial=denial)).lines) == [denial]
    assert codes(adjudicate(plan, member(), drug_claim, Usage(), None).lines) == ["DRUG_NOT_IDENTIFIED"]


def test_money_text_and_catalogues() -> None:
    assert money_text(Decimal("1234.5"), FRENCH) == "1\u00a0234,50\u00a0$"
    assert money_text(Decimal("1234.5"), ENGLISH) == "$1,234.50"
    assert {k for k in keys(FRENCH) if k.startswith("adjudication.")} == {
        k for k in keys(ENGLISH) if k.startswith("adjudication.")
    }


def test_rolling_window_edges() -> None:
    entries = {"2024-03-15": Decimal("100.00")}
    assert rolling_available(entries, date(2026, 3, 14), 24, Decimal("200")) == Decimal("100.00")
    assert rolling_available(entries, date(2026, 3, 15), 24, Decimal("200")) == Decimal("200")
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


# ----------------------------------------------------------------------------- properties

PERSONS = ["self", "spouse", "kid", "adult"]
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("900.00"), places=2)


@st.composite
def claims(draw: st.DrawFn, plan: Plan) -> ClaimToAdjudicate:
    claim_type = draw(st.sampled_from([*sorted(plan.benefits), "DRUG", "UNKNOWN_TYPE"]))
    start = date(2024, 1, 1)
    rows = draw(
        st.lists(st.tuples(st.integers(0, 1000), amounts), min_size=1, max_size=5),
    )
    treatments = tuple(Treatment(i, start + timedelta(days=d), a) for i, (d, a) in enumerate(rows))
    delay = draw(st.integers(0, 400))
    drug = None
    if claim_type == "DRUG":
        drug = DrugDetails(din="02242705", quantity=Decimal(draw(st.integers(1, 90))), dispensing_fee=draw(amounts))
    return ClaimToAdjudicate(
        claim_id="c",
        claim_type=claim_type,
        patient_id=draw(st.sampled_from(PERSONS)),
        submitted_on=max(t.date_of_service for t in treatments) + timedelta(days=delay),
        treatments=treatments,
        answers={"referral": draw(st.booleans())},
        drug=drug,
    )


def assert_within_plan(plan: Plan, usage: Usage, paid: dict[tuple[str, str, str], Decimal]) -> None:
    for (person, year), record in usage.person_years.items():
        assert record.deductible <= plan.deductible.per_person
        for code, amount in record.benefits.items():
            rule = plan.benefits[code]
            if rule.annual_max is not None:
                assert amount <= rule.annual_max
            assert amount == paid.get((person, year, code), ZERO)
        for name, amount in record.shared.items():
            assert amount <= plan.shared_maximums[name].amount
    for family in usage.family_years.values():
        if plan.deductible.per_family > ZERO:
            assert family.deductible <= plan.deductible.per_family
    for (_person, scope), record in usage.dated.items():
        kind, _, name = scope.partition("#")
        for day in sorted(set(record.amounts) | set(record.counts)):
            end = date.fromisoformat(day)
            if kind == "SHARED":
                start = add_months(end, -24).isoformat()
                total = sum((v for d, v in record.amounts.items() if start < d <= day), ZERO)
                assert total <= plan.shared_maximums[name].amount
            else:
                frequency = plan.benefits[name].frequency
                assert frequency is not None
                start = add_months(end, -frequency.months).isoformat()
                assert sum(v for d, v in record.counts.items() if start < d <= day) <= frequency.count


@pytest.mark.parametrize("plan_id", sorted(PLANS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_sequence_of_claims_stays_within_the_plan(plan_id: str, data: st.DataObject) -> None:
    plan = PLANS[plan_id]
    usage = Usage()
    paid: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    for _ in range(data.draw(st.integers(1, 25))):
        one = data.draw(claims(plan))
        ruling = data.draw(
            st.sampled_from(
                [
                    DrugRuling(),
                    DrugRuling(lowest_cost_unit_price=Decimal("0.25")),
                    DrugRuling(denial="DRUG_EXCLUDED"),
                    DrugRuling(prior_authorization_required=True),
                ]
            )
        )
        result = adjudicate(plan, member(plan_id), one, usage, ruling)
        for line in result.lines:
            assert ZERO <= line.paid <= line.eligible <= line.claimed
            assert line.paid == line.paid.quantize(Decimal("0.01"))
            assert line.eligible == line.eligible.quantize(Decimal("0.01"))
            if line.denied:
                assert line.paid == ZERO
                assert line.eligible == ZERO
            if one.claim_type != "DRUG" and line.paid > ZERO:
                paid[(one.patient_id, plan.benefit_year(line.date_of_service), one.claim_type)] += line.paid
        assert result.total_paid <= result.total_claimed
        assert (result.status == "DENIED") == (result.total_paid == ZERO)
        usage = result.usage
        assert_within_plan(plan, usage, paid)


@settings(max_examples=40, deadline=None)
@given(one=claims(PLANS["PLAN-ESSENTIEL"]))
def test_adjudication_is_deterministic_and_does_not_touch_its_input(one: ClaimToAdjudicate) -> None:
    plan = PLANS["PLAN-ESSENTIEL"]
    usage = Usage()
    first = adjudicate(plan, member(), one, usage, DrugRuling())
    assert usage == Usage()
    second = adjudicate(plan, member(), one, usage, DrugRuling())
    assert adjudication_record(first, AT) == adjudication_record(second, AT)
    for line in adjudication_record(first, AT).lines:
        assert isinstance(line.explanation, dict)
        assert line.explanation["fr"]
        assert line.explanation["en"]
        assert "adjudication." not in line.explanation["fr"] + line.explanation["en"]
