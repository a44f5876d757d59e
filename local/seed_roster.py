"""Seed: the plans of ``data/plans`` and the demo roster, plus ``--roster FILE.csv`` when given.

The extra roster goes through the same parser and writer as the S3-triggered import and
``make import-roster``: bad lines are reported by number (field names only) and skipped.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portal_common.plans import Plan

ORDER = 10
TITLE = "Plans and roster"
BACKGROUND = False

ROOT = Path(__file__).resolve().parent.parent
PLANS_DIR = ROOT / "data" / "plans"
DEMO_ROSTER = ROOT / "data" / "roster" / "demo-roster.csv"
EXTRA_ROSTER_ENV = "PORTAL_LOCAL_ROSTER"


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig")


def load_plans_from_repo() -> list[Plan]:
    """Every plan under ``data/plans`` (validated)."""
    from portal_common.plans import Plan

    return [Plan.model_validate_json(p.read_text(encoding="utf-8")) for p in sorted(PLANS_DIR.glob("*.json"))]


def read_demo_roster() -> str:
    """The demo roster's CSV text."""
    return _read(DEMO_ROSTER)


def seed(progress: Callable[[int, int], None]) -> str:
    """Write the plans, the demo roster and the optional extra roster."""
    from portal_common.roster import ParsedRoster, group_by_certificate, parse_roster
    from portal_common.roster_store import write_plans, write_roster

    plans = load_plans_from_repo()
    known = {p.plan_id for p in plans}
    sources: list[tuple[str, ParsedRoster]] = [("demo roster", parse_roster(read_demo_roster(), known_plans=known))]
    extra = os.environ.get(EXTRA_ROSTER_ENV)
    if extra:
        sources.append((Path(extra).name, parse_roster(_read(Path(extra)), known_plans=known)))
    groups = [(label, rows) for label, parsed in sources for rows in group_by_certificate(parsed.rows).values()]
    total = len(groups) + 1
    progress(0, total)
    write_plans(plans)
    progress(1, total)
    certificates = persons = 0
    for index, (_label, rows) in enumerate(groups, start=2):
        report = write_roster(ParsedRoster(rows=list(rows), errors=[]))
        certificates += report.certificates
        persons += report.persons
        progress(index, total)
    parts = [f"{len(plans)} plans, {certificates} certificates, {persons} persons"]
    for label, parsed in sources:
        if parsed.errors:
            skipped = "; ".join(f"line {e.line} ({', '.join(e.reasons)})" for e in parsed.errors)
            count = len(parsed.errors)
            parts.append(f"{label}: {count} line{'s' if count > 1 else ''} skipped: {skipped}")
    return " | ".join(parts)


def describe() -> list[str]:
    """The demo certificates: who can register, with which numbers and date of birth."""
    from portal_common.roster import parse_roster

    parsed = parse_roster(read_demo_roster())
    today = dt.date.today()
    lines = ["Demo roster (register with contract + participant number + date of birth):"]
    lines.append(f"  {'contract':<9}{'participant':<13}{'name':<20}{'date of birth':<15}{'plan':<16}status")
    for row in parsed.rows:
        if row.relationship != "SELF":
            continue
        ended = row.coverage_end is not None and row.coverage_end < today
        status = f"terminated {row.coverage_end.isoformat()}" if ended and row.coverage_end else "active"
        dependants = sum(
            1
            for other in parsed.rows
            if other.relationship != "SELF"
            and (other.contract_number, other.participant_number) == (row.contract_number, row.participant_number)
        )
        name = f"{row.first_name} {row.last_name}"
        lines.append(
            f"  {row.contract_number:<9}{row.participant_number:<13}{name:<20}"
            f"{row.date_of_birth.isoformat():<15}{row.plan_id:<16}{status}, {dependants} dependant(s)"
        )
    return lines
