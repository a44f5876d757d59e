"""Writes a parsed eligibility file and the plans into the members table.

Used by the S3-triggered import function, the ``make import-roster`` command and the local stack,
so all three behave the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.dynamo import batch_write, query_all, to_attr
from portal_common.identity import member_key
from portal_common.plans import Plan, plan_item
from portal_common.roster import ParsedRoster, RowError, group_by_certificate, person_item, profile_fields


@dataclass
class ImportReport:
    """What an import did: counts, and the skipped lines with their reasons."""

    certificates: int = 0
    persons: int = 0
    removed_persons: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no personal data: line numbers and field names only)."""
        return {
            "certificates": self.certificates,
            "persons": self.persons,
            "removedPersons": self.removed_persons,
            "skippedLines": [{"line": e.line, "reasons": list(e.reasons)} for e in self.errors],
        }


def _update_profile(table: str, key: str, fields: dict[str, Any]) -> None:
    sets = [k for k, v in fields.items() if v is not None]
    removes = [k for k, v in fields.items() if v is None]
    names = {f"#{k}": k for k in fields}
    expression = "SET " + ", ".join(f"#{k} = :{k}" for k in sets)
    if removes:
        expression += " REMOVE " + ", ".join(f"#{k}" for k in removes)
    client("dynamodb").update_item(
        TableName=table,
        Key={"PK": to_attr(key), "SK": to_attr("PROFILE")},
        UpdateExpression=expression,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{k}": to_attr(fields[k]) for k in sets},
    )


def write_roster(parsed: ParsedRoster) -> ImportReport:
    """Upsert every certificate of ``parsed``; persons of those certificates absent from the file
    are kept but marked out of the roster (so their past claims still resolve)."""
    table = get_settings().members_table
    report = ImportReport(errors=list(parsed.errors))
    for (contract, participant), rows in group_by_certificate(parsed.rows).items():
        key = member_key(contract, participant)
        holder = next(r for r in rows if r.relationship == "SELF")
        _update_profile(table, key, profile_fields(holder))
        new_items = [person_item(r) for r in rows]
        present = {item["SK"] for item in new_items}
        stale = [
            {**item, "inRoster": False}
            for item in query_all(
                table,
                key_condition="PK = :pk AND begins_with(SK, :person)",
                values={":pk": key, ":person": "PERSON#"},
            )
            if item["SK"] not in present and item.get("inRoster", True)
        ]
        batch_write(table, puts=new_items + stale)
        report.certificates += 1
        report.persons += len(new_items)
        report.removed_persons += len(stale)
    return report


def write_plans(plans: list[Plan]) -> int:
    """Store plans (a plan is replaced only by a higher version)."""
    table = get_settings().members_table
    written = 0
    for plan in plans:
        item = plan_item(plan)
        try:
            client("dynamodb").put_item(
                TableName=table,
                Item={k: to_attr(v) for k, v in item.items()},
                ConditionExpression="attribute_not_exists(PK) OR version <= :v",
                ExpressionAttributeValues={":v": to_attr(plan.version)},
            )
            written += 1
        except client("dynamodb").exceptions.ConditionalCheckFailedException:
            continue
    return written
