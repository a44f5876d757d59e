"""Claims-table access for the claim processor: the claim, its receipts, and the running totals.

Running totals live in the member's partition of the claims table, next to the claims they count:

| SK | what |
| --- | --- |
| ``TOTALS#<personId>#<benefitYear>`` | paid per benefit, per benefit-year shared maximum, for drugs; deductible met |
| ``TOTALS#FAMILY#<benefitYear>`` | deductible met by the whole certificate |
| ``USAGE#<personId>#SHARED#<name>`` | rolling shared maximum: amounts paid by date of service |
| ``USAGE#<personId>#FREQUENCY#<claimType>`` | frequency limit: services by date of service |

Every record has a ``version``. The claim result and every changed record are written in one
``TransactWriteItems``: the claim only if it is still ``IN_REVIEW`` at the version that was
adjudicated, each record only if its version is the one that was read (or it does not exist yet).
Two claims adjudicated at once against the same totals cannot both commit: the second one fails,
re-reads and is adjudicated again.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError
from claim_adjudication import (
    Adjudication,
    ClaimToAdjudicate,
    DatedUsage,
    DrugDetails,
    FamilyYear,
    PersonYear,
    Treatment,
    Usage,
    UsageKeys,
)

from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.dynamo import cancellation_reasons, from_item, is_conditional_failure, to_attr, to_item

FINAL_STATUSES = frozenset({"PAID", "PARTIALLY_PAID", "DENIED"})


class ConcurrentUpdate(Exception):
    """A conditional write lost a race (the claim or a running total changed since it was read)."""


def _table() -> str:
    return get_settings().claims_table


def claim_key(pk: str, claim_id: str) -> dict[str, str]:
    """Key of a claim item."""
    return {"PK": pk, "SK": f"CLAIM#{claim_id}"}


def status_index_pk(pk: str, status: str) -> str:
    """``GSI1PK`` of a claim with ``status`` (the member's claims by status)."""
    return f"{pk}#STATUS#{status}"


def load_claim(pk: str, claim_id: str) -> dict[str, Any] | None:
    """The claim item (strongly consistent read)."""
    response = client("dynamodb").get_item(
        TableName=_table(), Key=to_item(claim_key(pk, claim_id)), ConsistentRead=True
    )
    return from_item(response.get("Item"))


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


def claim_from_item(item: dict[str, Any]) -> ClaimToAdjudicate:
    """The adjudication view of a claim item (``ValueError``/``KeyError`` on a malformed item)."""
    treatments = tuple(
        Treatment(
            index=i, date_of_service=date.fromisoformat(str(t["dateOfService"])), amount=Decimal(str(t["amount"]))
        )
        for i, t in enumerate(item["treatments"])
    )
    drug_map = item.get("drug") or None
    drug = None
    if isinstance(drug_map, dict):
        drug = DrugDetails(
            din=str(drug_map["din"]) if drug_map.get("din") else None,
            quantity=_decimal(drug_map.get("quantity")),
            dispensing_fee=_decimal(drug_map.get("dispensingFee")),
        )
    submitted = datetime.fromisoformat(str(item["submittedAt"]).replace("Z", "+00:00"))
    return ClaimToAdjudicate(
        claim_id=str(item["claimId"]),
        claim_type=str(item["claimType"]),
        patient_id=str(item["patientId"]),
        submitted_on=submitted.date(),
        treatments=treatments,
        answers=dict(item.get("answers") or {}),
        drug=drug,
    )


def receipt_statuses(pk: str, receipt_ids: list[str]) -> dict[str, str]:
    """Status of each receipt of the claim (``PK=RECEIPT#<id>``, ``SK=RECEIPT``, owned by
    ``receipt_store``); ``MISSING`` when the receipt is not there or belongs to another member."""
    if not receipt_ids:
        return {}
    items = _batch_get_consistent([{"PK": f"RECEIPT#{rid}", "SK": "RECEIPT"} for rid in receipt_ids])
    found = {str(i["PK"]).removeprefix("RECEIPT#"): str(i.get("status", "")) for i in items if i.get("memberKey") == pk}
    return {rid: found.get(rid, "MISSING") for rid in receipt_ids}


def _batch_get_consistent(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Strongly consistent ``BatchGetItem`` (at most a few dozen keys here), retrying unprocessed keys."""
    found: list[dict[str, Any]] = []
    table = _table()
    for start in range(0, len(keys), 100):
        pending: dict[str, Any] = {
            table: {"Keys": [to_item(k) for k in keys[start : start + 100]], "ConsistentRead": True}
        }
        for _ in range(8):
            response = client("dynamodb").batch_get_item(RequestItems=pending)
            found.extend(from_item(i) or {} for i in response.get("Responses", {}).get(table, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                break
        else:
            raise RuntimeError("BatchGetItem left unprocessed keys")
    return found


# ----------------------------------------------------------------------------- running totals


def _person_year_sk(person_id: str, year: str) -> str:
    return f"TOTALS#{person_id}#{year}"


def _family_year_sk(year: str) -> str:
    return f"TOTALS#FAMILY#{year}"


def _dated_sk(person_id: str, scope: str) -> str:
    return f"USAGE#{person_id}#{scope}"


def _money_map(value: Any) -> dict[str, Decimal]:
    return {str(k): Decimal(str(v)) for k, v in (value or {}).items()}


def read_usage(pk: str, keys: UsageKeys) -> Usage:
    """The running-total records ``keys`` names (absent records start empty at version 0)."""
    usage = Usage()
    wanted = (
        [_person_year_sk(p, y) for p, y in keys.person_years]
        + [_family_year_sk(y) for y in keys.family_years]
        + [_dated_sk(p, s) for p, s in keys.dated]
    )
    items = {str(i["SK"]): i for i in _batch_get_consistent([{"PK": pk, "SK": sk} for sk in wanted])} if wanted else {}
    for person_id, year in keys.person_years:
        item = items.get(_person_year_sk(person_id, year))
        usage.person_years[(person_id, year)] = (
            PersonYear(
                person_id,
                year,
                benefits=_money_map(item.get("benefits")),
                shared=_money_map(item.get("shared")),
                drugs=Decimal(str(item.get("drugs", "0"))),
                deductible=Decimal(str(item.get("deductible", "0"))),
                version=int(item["version"]),
            )
            if item
            else PersonYear(person_id, year)
        )
    for year in keys.family_years:
        item = items.get(_family_year_sk(year))
        usage.family_years[year] = (
            FamilyYear(year, deductible=Decimal(str(item.get("deductible", "0"))), version=int(item["version"]))
            if item
            else FamilyYear(year)
        )
    for person_id, scope in keys.dated:
        item = items.get(_dated_sk(person_id, scope))
        usage.dated[(person_id, scope)] = (
            DatedUsage(
                person_id,
                scope,
                amounts=_money_map(item.get("amounts")),
                counts={str(k): int(v) for k, v in (item.get("counts") or {}).items()},
                version=int(item["version"]),
            )
            if item
            else DatedUsage(person_id, scope)
        )
    return usage


def _versioned_put(pk: str, sk: str, entity: str, version: int, fields: dict[str, Any], now: str) -> dict[str, Any]:
    item = {"PK": pk, "SK": sk, "entityType": entity, "version": version + 1, "updatedAt": now, **fields}
    put: dict[str, Any] = {"TableName": _table(), "Item": to_item(item)}
    if version == 0:
        put["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        put["ConditionExpression"] = "version = :v"
        put["ExpressionAttributeValues"] = {":v": to_attr(version)}
    return {"Put": put}


def _usage_writes(pk: str, usage: Usage, changed: UsageKeys, now: str) -> list[dict[str, Any]]:
    writes = []
    for key in sorted(changed.person_years):
        record = usage.person_years[key]
        fields = {
            "personId": record.person_id,
            "benefitYear": record.year,
            "benefits": record.benefits,
            "shared": record.shared,
            "drugs": record.drugs,
            "deductible": record.deductible,
        }
        writes.append(_versioned_put(pk, _person_year_sk(*key), "PERSON_TOTALS", record.version, fields, now))
    for year in sorted(changed.family_years):
        family = usage.family_years[year]
        fields = {"benefitYear": year, "deductible": family.deductible}
        writes.append(_versioned_put(pk, _family_year_sk(year), "FAMILY_TOTALS", family.version, fields, now))
    for key in sorted(changed.dated):
        dated = usage.dated[key]
        fields = {"personId": dated.person_id, "scope": dated.scope, "amounts": dated.amounts, "counts": dated.counts}
        writes.append(_versioned_put(pk, _dated_sk(*key), "DATED_USAGE", dated.version, fields, now))
    return writes


# ----------------------------------------------------------------------------- claim transitions


def _transition_update(
    item: dict[str, Any], new_status: str, at: str, extra_sets: dict[str, Any], remove: tuple[str, ...] = ()
) -> dict[str, Any]:
    """An ``Update`` moving the claim from its current status and version to ``new_status``."""
    pk, claim_id = str(item["PK"]), str(item["claimId"])
    values: dict[str, Any] = {
        ":from": item["status"],
        ":v": int(item.get("version", 0)),
        ":v1": int(item.get("version", 0)) + 1,
        ":to": new_status,
        ":gsi": status_index_pk(pk, new_status),
        ":hist": [{"status": new_status, "at": at}],
        ":empty": [],
        ":at": at,
    }
    names = {"#status": "status", "#version": "version"}
    sets = [
        "#status = :to",
        "GSI1PK = :gsi",
        "#version = :v1",
        "statusHistory = list_append(if_not_exists(statusHistory, :empty), :hist)",
        "updatedAt = :at",
    ]
    for i, (name, value) in enumerate(extra_sets.items()):
        names[f"#x{i}"] = name
        values[f":x{i}"] = value
        sets.append(f"#x{i} = :x{i}")
    expression = "SET " + ", ".join(sets)
    if remove:
        expression += " REMOVE " + ", ".join(remove)
    condition = "#status = :from AND "
    condition += "#version = :v" if "version" in item else "attribute_not_exists(#version)"
    if "version" not in item:
        values.pop(":v")
    return {
        "TableName": _table(),
        "Key": to_item(claim_key(pk, claim_id)),
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": to_item(values),
    }


def transition(item: dict[str, Any], new_status: str, at: str, **extra: Any) -> dict[str, Any]:
    """Move the claim to ``new_status`` if nobody changed it since ``item`` was read; returns the
    claim as stored now.

    Raises :class:`ConcurrentUpdate` when the claim's status or version changed meanwhile.
    """
    try:
        response = client("dynamodb").update_item(
            **_transition_update(item, new_status, at, extra), ReturnValues="ALL_NEW"
        )
    except ClientError as error:
        if is_conditional_failure(error):
            raise ConcurrentUpdate("claim changed") from error
        raise
    return from_item(response["Attributes"]) or {}


def commit_adjudication(item: dict[str, Any], result: Adjudication, at: str) -> dict[str, Any]:
    """Write the claim's result and the changed running totals in one transaction; returns the
    claim as stored now.

    Raises :class:`ConcurrentUpdate` when the claim or a running total changed since it was read.
    """
    document = {"lines": result.lines_document(), "totalPaid": result.total_paid, "processedAt": at}
    claim_update = _transition_update(
        item,
        result.status,
        at,
        {"adjudication": document, "totalPaid": result.total_paid},
        remove=("pendingReason",),
    )
    writes = [{"Update": claim_update}, *_usage_writes(str(item["PK"]), result.usage, result.changed, at)]
    try:
        client("dynamodb").transact_write_items(TransactItems=writes)
    except ClientError as error:
        reasons = set(cancellation_reasons(error))
        if is_conditional_failure(error) or "TransactionConflict" in reasons:
            raise ConcurrentUpdate("claim or totals changed") from error
        raise
    committed = {k: v for k, v in item.items() if k != "pendingReason"}
    committed.update(
        {
            "status": result.status,
            "GSI1PK": status_index_pk(str(item["PK"]), result.status),
            "version": int(item.get("version", 0)) + 1,
            "statusHistory": [*(item.get("statusHistory") or []), {"status": result.status, "at": at}],
            "updatedAt": at,
            "adjudication": document,
            "totalPaid": result.total_paid,
        }
    )
    return committed


def mark_notified(item: dict[str, Any], status: str) -> None:
    """Record that ``status`` was published and e-mailed (a replay then sends nothing again)."""
    try:
        client("dynamodb").update_item(
            TableName=_table(),
            Key=to_item(claim_key(str(item["PK"]), str(item["claimId"]))),
            UpdateExpression="SET notifiedStatus = :s",
            ConditionExpression="#status = :s",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_item({":s": status}),
        )
    except ClientError as error:
        if not is_conditional_failure(error):
            raise
