"""Eligibility (roster) files: parsing, validation by line, and the items they become.

Format (CSV, header row, UTF-8 with or without BOM)::

    contract_number,participant_number,relationship,first_name,last_name,date_of_birth,plan_id,
    coverage_start,coverage_end,student,disabled,language

Dependants share their member's participant number. Bad rows are reported with their line number
and skipped; good rows are imported. Re-importing updates in place: items are keyed by contract,
participant and a stable person id, and the account link written at registration is preserved.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from portal_common import clock
from portal_common.identity import member_key
from portal_common.members import person_id_for
from portal_common.patterns import DATE_PATTERN

COLUMNS = (
    "contract_number",
    "participant_number",
    "relationship",
    "first_name",
    "last_name",
    "date_of_birth",
    "plan_id",
    "coverage_start",
    "coverage_end",
    "student",
    "disabled",
    "language",
)
_NUMBER = re.compile(r"^[A-Za-z0-9-]{1,20}$")
_PLAN = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")
_NAME = re.compile(r"^[^\x00-\x1f<>{}\[\]|\\^~`\"]{1,60}$")


@dataclass(frozen=True)
class RosterRow:
    """One valid line of an eligibility file."""

    line: int
    contract_number: str
    participant_number: str
    relationship: str
    first_name: str
    last_name: str
    date_of_birth: date
    plan_id: str
    coverage_start: date
    coverage_end: date | None
    student: bool
    disabled: bool
    language: str

    @property
    def person_id(self) -> str:
        """Stable person id of this row."""
        return person_id_for(
            self.contract_number, self.participant_number, self.relationship, self.first_name, self.date_of_birth
        )

    def __repr__(self) -> str:
        return f"RosterRow(line={self.line})"


@dataclass(frozen=True)
class RowError:
    """Why a line was skipped (field names, never the values: they are personal data)."""

    line: int
    reasons: tuple[str, ...]


@dataclass
class ParsedRoster:
    """Valid rows and the lines that were skipped."""

    rows: list[RosterRow]
    errors: list[RowError]


def _parse_date(value: str) -> date | None:
    if not DATE_PATTERN.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _flag(value: str) -> bool | None:
    upper = value.strip().upper()
    if upper in ("Y", "O", "YES", "OUI", "TRUE", "1"):
        return True
    if upper in ("N", "NO", "NON", "FALSE", "0", ""):
        return False
    return None


def _validate(line: int, raw: dict[str, str], known_plans: set[str] | None, today: date) -> RosterRow | RowError:
    value = {k: (raw.get(k) or "").strip() for k in COLUMNS}
    reasons: list[str] = []
    for name in ("contract_number", "participant_number"):
        if not _NUMBER.match(value[name]):
            reasons.append(f"{name}: invalid")
    relationship = value["relationship"].upper()
    if relationship not in ("SELF", "SPOUSE", "CHILD"):
        reasons.append("relationship: must be SELF, SPOUSE or CHILD")
    for name in ("first_name", "last_name"):
        if not _NAME.match(value[name]):
            reasons.append(f"{name}: invalid")
    dob = _parse_date(value["date_of_birth"])
    if dob is None:
        reasons.append("date_of_birth: must be YYYY-MM-DD")
    elif dob > today or dob.year < 1900:
        reasons.append("date_of_birth: out of range")
    plan_id = value["plan_id"].upper()
    if not _PLAN.match(plan_id):
        reasons.append("plan_id: invalid")
    elif known_plans is not None and plan_id not in known_plans:
        reasons.append("plan_id: unknown plan")
    start = _parse_date(value["coverage_start"])
    if start is None:
        reasons.append("coverage_start: must be YYYY-MM-DD")
    end: date | None = None
    if value["coverage_end"]:
        end = _parse_date(value["coverage_end"])
        if end is None:
            reasons.append("coverage_end: must be YYYY-MM-DD or empty")
        elif start is not None and end < start:
            reasons.append("coverage_end: before coverage_start")
    student = _flag(value["student"])
    disabled = _flag(value["disabled"])
    if student is None:
        reasons.append("student: must be Y or N")
    if disabled is None:
        reasons.append("disabled: must be Y or N")
    language = value["language"].lower() or "fr"
    if language not in ("fr", "en"):
        reasons.append("language: must be fr or en")
    if reasons:
        return RowError(line, tuple(reasons))
    assert dob is not None
    assert start is not None
    assert student is not None
    assert disabled is not None
    return RosterRow(
        line=line,
        contract_number=value["contract_number"],
        participant_number=value["participant_number"],
        relationship=relationship,
        first_name=value["first_name"],
        last_name=value["last_name"],
        date_of_birth=dob,
        plan_id=plan_id,
        coverage_start=start,
        coverage_end=end,
        student=student,
        disabled=disabled,
        language=language,
    )


def parse_roster(text: str, known_plans: set[str] | None = None, today: date | None = None) -> ParsedRoster:
    """Parse an eligibility file. Line numbers are those of the file (the header is line 1)."""
    today = today or clock.today()
    rows: list[RosterRow] = []
    errors: list[RowError] = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return ParsedRoster([], [RowError(1, tuple(f"{c}: missing column" for c in missing))])
    reader.fieldnames = header
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        if not any((v or "").strip() for k, v in raw.items() if k is not None):
            continue
        if None in raw:
            errors.append(RowError(line, ("row: too many fields",)))
            continue
        result = _validate(line, raw, known_plans, today)
        if isinstance(result, RowError):
            errors.append(result)
            continue
        if result.person_id in seen:
            errors.append(RowError(line, (f"row: duplicate of line {seen[result.person_id]}",)))
            continue
        seen[result.person_id] = line
        rows.append(result)
    # A certificate needs its member: dependants whose SELF row is absent or invalid are skipped.
    holders = {(r.contract_number, r.participant_number) for r in rows if r.relationship == "SELF"}
    kept: list[RosterRow] = []
    for row in rows:
        if (row.contract_number, row.participant_number) in holders:
            kept.append(row)
        else:
            errors.append(RowError(row.line, ("participant_number: no valid SELF row for this participant",)))
    selfs: dict[tuple[str, str], int] = {}
    final: list[RosterRow] = []
    for row in kept:
        if row.relationship == "SELF":
            key = (row.contract_number, row.participant_number)
            if key in selfs:
                errors.append(
                    RowError(row.line, (f"relationship: second SELF for this participant (line {selfs[key]})",))
                )
                continue
            selfs[key] = row.line
        final.append(row)
    errors.sort(key=lambda e: e.line)
    return ParsedRoster(final, errors)


def person_item(row: RosterRow) -> dict[str, Any]:
    """The ``PERSON#`` item of a row."""
    return {
        "PK": member_key(row.contract_number, row.participant_number),
        "SK": f"PERSON#{row.person_id}",
        "entityType": "PERSON",
        "personId": row.person_id,
        "relationship": row.relationship,
        "firstName": row.first_name,
        "lastName": row.last_name,
        "dateOfBirth": row.date_of_birth.isoformat(),
        "coverageStart": row.coverage_start.isoformat(),
        "coverageEnd": row.coverage_end.isoformat() if row.coverage_end else None,
        "student": row.student,
        "disabled": row.disabled,
        "inRoster": True,
    }


def profile_fields(row: RosterRow) -> dict[str, Any]:
    """Fields of the ``PROFILE`` item that the roster owns (the account link is not among them)."""
    return {
        "entityType": "MEMBER",
        "contractNumber": row.contract_number,
        "participantNumber": row.participant_number,
        "planId": row.plan_id,
        "firstName": row.first_name,
        "lastName": row.last_name,
        "dateOfBirth": row.date_of_birth.isoformat(),
        "coverageStart": row.coverage_start.isoformat(),
        "coverageEnd": row.coverage_end.isoformat() if row.coverage_end else None,
        "language": row.language,
    }


def group_by_certificate(rows: Iterable[RosterRow]) -> dict[tuple[str, str], list[RosterRow]]:
    """Rows per (contract, participant)."""
    groups: dict[tuple[str, str], list[RosterRow]] = {}
    for row in rows:
        groups.setdefault((row.contract_number, row.participant_number), []).append(row)
    return groups
