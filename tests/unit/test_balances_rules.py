"""``GET /v1/me/balances`` as pure rules: periods, rolling windows and the next eligible date agree
with the processor's own rules (``claim_adjudication``)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from claim_adjudication import DatedUsage, PersonYear, Usage, rolling_count_allows
from hypothesis import given
from hypothesis import strategies as st
from member_balances import balance_keys, balances_view, benefit_year_bounds, next_eligible

from portal_common.plans import Frequency, Plan

ROOT = Path(__file__).resolve().parents[2]


def plan(name: str) -> Plan:
    return Plan.model_validate(json.loads((ROOT / "data" / "plans" / f"{name}.json").read_text()))


def test_benefit_year_bounds_follow_the_start_month() -> None:
    assert benefit_year_bounds(plan("PLAN-ESSENTIEL"), "2026") == (date(2026, 1, 1), date(2026, 12, 31))
    assert benefit_year_bounds(plan("PLAN-PLUS"), "2025") == (date(2025, 7, 1), date(2026, 6, 30))


def test_keys_name_every_record_a_balance_reads() -> None:
    keys = balance_keys(plan("PLAN-PLUS"), "p1", "2026")
    assert keys.person_years == {("p1", "2026")}
    assert keys.family_years == {"2026"}
    assert ("p1", "SHARED#VISION_CARE") in keys.dated
    assert ("p1", "FREQUENCY#EYE_EXAM") in keys.dated


def test_next_eligible_date() -> None:
    yearly = Frequency(count=1, months=12)
    assert next_eligible({}, date(2026, 4, 20), yearly) is None
    assert next_eligible({"2026-01-12": 1}, date(2026, 4, 20), yearly) == date(2027, 1, 12)
    twice = Frequency(count=2, months=12)
    assert next_eligible({"2026-01-12": 1}, date(2026, 4, 20), twice) is None
    assert next_eligible({"2025-09-01": 1, "2026-01-12": 1}, date(2026, 4, 20), twice) == date(2026, 9, 1)
    # A later service already paid: one more on asOf would push that later window over the limit.
    assert next_eligible({"2026-06-01": 1}, date(2026, 3, 1), yearly) == date(2027, 6, 1)


@given(
    days=st.lists(st.integers(min_value=-800, max_value=0), max_size=6),
    count=st.integers(min_value=1, max_value=3),
    months=st.sampled_from([6, 12, 24, 36]),
)
def test_next_eligible_is_the_first_day_the_processor_admits(days: list[int], count: int, months: int) -> None:
    as_of = date(2026, 5, 15)
    counts: dict[str, int] = {}
    for offset in days:
        day = (as_of + timedelta(days=offset)).isoformat()
        counts[day] = counts.get(day, 0) + 1
    frequency = Frequency(count=count, months=months)
    found = next_eligible(counts, as_of, frequency)
    first = as_of if found is None else found
    assert rolling_count_allows(counts, first, months, count)
    day = as_of
    while day < first:  # no earlier day is admitted
        assert not rolling_count_allows(counts, day, months, count)
        day += timedelta(days=1)


def test_view_uses_the_year_and_the_rolling_window_of_asof() -> None:
    essentiel = plan("PLAN-ESSENTIEL")
    usage = Usage()
    usage.person_years[("p1", "2026")] = PersonYear(
        "p1", "2026", benefits={"PHYSIOTHERAPY": Decimal("120.00")}, shared={"PARAMEDICAL_COMBINED": Decimal("150.00")}
    )
    usage.person_years[("p1", "2026")].deductible = Decimal("25.00")
    usage.dated[("p1", "SHARED#VISION_CARE")] = DatedUsage(
        "p1", "SHARED#VISION_CARE", amounts={"2024-03-10": Decimal("100.00"), "2024-03-11": Decimal("50.00")}
    )
    view = balances_view(essentiel, "p1", date(2026, 3, 10), "en-CA", usage)
    items = {i.code: i for i in view.items}
    assert (items["PHYSIOTHERAPY"].used, items["PHYSIOTHERAPY"].remaining) == ("120.00", "380.00")
    assert (items["PARAMEDICAL_COMBINED"].used, items["PARAMEDICAL_COMBINED"].remaining) == ("150.00", "850.00")
    # (2024-03-10, 2026-03-10]: the 2024-03-10 payment has left the window, the next day's has not.
    vision = items["VISION_CARE"]
    assert (vision.period_start, vision.period_end, vision.used) == ("2024-03-11", "2026-03-10", "50.00")
    assert vision.name == "Vision care maximum"
    assert view.deductible is not None
    assert view.deductible.per_person.remaining == "0.00"
    assert view.deductible.per_family is not None
    assert view.deductible.per_family.used == "0.00"  # the family record is its own


def test_the_claims_function_runs_the_processors_adjudication_from_the_layer_and_loads_it_lazily() -> None:
    """As in Lambda (the claims code folder and the layer, nothing else): the estimate and balance
    modules import, and the function's cold start (``import claims_api``) does not load them."""
    import os
    import subprocess
    import sys

    from local.cfn import Stack

    environment = {**os.environ, **Stack().functions()["ClaimsApiFunction"].environment}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions" / "claims"), str(ROOT / "layers" / "common")])
    script = (
        "import sys, claims_api; lazy = {'claim_adjudication', 'adjudication_inputs', 'claim_estimate', "
        "'member_balances'}; print(sorted(lazy & set(sys.modules))); import claim_estimate, member_balances; "
        "print(claim_estimate.adjudicate_claim.__module__, sys.modules['claim_adjudication'].__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded, origin = done.stdout.strip().splitlines()[-2:]
    assert loaded == "[]"
    assert origin.startswith("adjudication_inputs ")
    assert origin.endswith(str(Path("layers") / "common" / "claim_adjudication.py"))
