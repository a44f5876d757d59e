"""Eligibility files and who is covered on a date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from portal_common.members import Member, Person, age_on, eligibility_on
from portal_common.plans import Plan
from portal_common.roster import COLUMNS, parse_roster

ROOT = Path(__file__).resolve().parents[2]
HEADER = ",".join(COLUMNS) + "\n"
TODAY = date(2026, 11, 27)


def plan(plan_id: str = "PLAN-ESSENTIEL") -> Plan:
    return Plan.model_validate_json((ROOT / "data" / "plans" / f"{plan_id}.json").read_text(encoding="utf-8"))


def test_demo_plans_are_valid_and_distinct() -> None:
    essential, plus = plan("PLAN-ESSENTIEL"), plan("PLAN-PLUS")
    assert essential.drugs.generic_substitution
    assert not plus.drugs.generic_substitution
    assert plus.benefit_year(date(2026, 6, 30)) == "2025"
    assert plus.benefit_year(date(2026, 7, 1)) == "2026"
    assert essential.benefit_year(date(2026, 6, 30)) == "2026"


def test_demo_roster_parses_cleanly() -> None:
    text = (ROOT / "data" / "roster" / "demo-roster.csv").read_text(encoding="utf-8")
    parsed = parse_roster(text, known_plans={"PLAN-ESSENTIEL", "PLAN-PLUS"}, today=TODAY)
    assert parsed.errors == []
    assert len(parsed.rows) == 14
    assert len({r.person_id for r in parsed.rows}) == 14


def test_bad_rows_are_reported_by_line_and_skipped() -> None:
    text = HEADER + "\n".join(
        [
            "G1,1,SELF,Ann,Roy,1980-01-01,PLAN-PLUS,2020-01-01,,N,N,fr",  # line 2 ok
            "G1,1,CHILD,Bob,Roy,2030-01-01,PLAN-PLUS,2020-01-01,,N,N,fr",  # 3 born in the future
            "G1,1,COUSIN,Cy,Roy,2010-01-01,PLAN-PLUS,2020-01-01,,N,N,fr",  # 4 bad relationship
            "G1,1,CHILD,Di,Roy,2010-02-30,PLAN-PLUS,2020-01-01,,N,N,fr",  # 5 bad date
            "G1,1,CHILD,Ed,Roy,2010-01-01,NOPE,2020-01-01,,N,N,fr",  # 6 unknown plan
            "G1,1,CHILD,Fay,Roy,2010-01-01,PLAN-PLUS,2020-01-01,2019-01-01,X,N,de",  # 7 three problems
            "G1,2,CHILD,Gus,Roy,2010-01-01,PLAN-PLUS,2020-01-01,,N,N,fr",  # 8 no SELF for participant 2
            "G1,1,SELF,Ann,Roy,1980-01-01,PLAN-PLUS,2020-01-01,,N,N,fr",  # 9 duplicate of line 2
            "G1,1,CHILD,Hal,Roy,2012-01-01,PLAN-PLUS,2020-01-01,,N,N,fr,extra",  # 10 too many fields
            "G1,1,CHILD,Ivy,Roy,2012-01-01,PLAN-PLUS,2020-01-01,,Y,N,en",  # 11 ok
        ]
    )
    parsed = parse_roster(text, known_plans={"PLAN-PLUS"}, today=TODAY)
    assert [r.line for r in parsed.rows] == [2, 11]
    assert [e.line for e in parsed.errors] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert len(parsed.errors[4].reasons) == 3
    assert all("Roy" not in reason for e in parsed.errors for reason in e.reasons)


def test_missing_columns_reject_the_file() -> None:
    parsed = parse_roster("contract_number,participant_number\nG1,1\n")
    assert parsed.rows == []
    assert parsed.errors[0].line == 1


def _person(
    relationship: str, dob: date, *, student: bool = False, disabled: bool = False, end: date | None = None
) -> Person:
    return Person("p", relationship, "A", "B", dob, date(2020, 1, 1), end, student, disabled)  # type: ignore[arg-type]


def _member(end: date | None = None) -> Member:
    return Member("G1", "1", "PLAN-ESSENTIEL", "A", "B", date(1980, 1, 1), date(2020, 1, 1), end, "fr")


@pytest.mark.parametrize(
    ("person", "on", "eligible", "reason"),
    [
        (_person("SELF", date(1980, 1, 1)), TODAY, True, None),
        (_person("SPOUSE", date(1980, 1, 1)), TODAY, True, None),
        (_person("CHILD", date(2005, 11, 28)), TODAY, True, None),  # 20, turns 21 tomorrow
        (_person("CHILD", date(2005, 11, 27)), TODAY, False, "CHILD_OVER_AGE"),  # 21 today
        (_person("CHILD", date(2002, 1, 1), student=True), TODAY, True, None),  # 24, student
        (_person("CHILD", date(2001, 1, 1), student=True), TODAY, False, "STUDENT_OVER_AGE"),
        (_person("CHILD", date(1990, 1, 1), disabled=True), TODAY, True, None),
        (_person("SELF", date(1980, 1, 1)), date(2019, 12, 31), False, "COVERAGE_NOT_STARTED"),
        (_person("SELF", date(1980, 1, 1), end=date(2025, 6, 30)), TODAY, False, "COVERAGE_ENDED"),
        (_person("SELF", date(1980, 1, 1), end=date(2025, 6, 30)), date(2025, 6, 30), True, None),
    ],
)
def test_eligibility_rules(person: Person, on: date, eligible: bool, reason: str | None) -> None:
    result = eligibility_on(person, _member(), plan(), on)
    assert (result.eligible, result.reason) == (eligible, reason)


def test_member_termination_ends_dependants_too() -> None:
    result = eligibility_on(_person("CHILD", date(2015, 1, 1)), _member(end=date(2025, 6, 30)), plan(), TODAY)
    assert result.reason == "COVERAGE_ENDED"


def test_age_on_leap_day() -> None:
    assert age_on(date(2004, 2, 29), date(2025, 2, 28)) == 20
    assert age_on(date(2004, 2, 29), date(2025, 3, 1)) == 21
