"""Builders for claim-processing tests: claim items in the conventions' layout, ClaimSubmitted
envelopes, SQS records, and moto helpers (sent e-mails, serialised DynamoDB writes)."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from portal_common.aws_clients import client
from portal_common.claim_records import ClaimRecord
from portal_common.config import get_settings
from portal_common.dynamo import get_item, to_item
from portal_common.identity import member_key
from portal_common.ids import sortable_id
from portal_common.members import get_member
from portal_common.receipt_records import ReceiptRecord
from tests.moto_isolation import serialised_dynamodb  # noqa: F401 - re-exported for the processor tests

MARIE = ("G1001", "100001")  # PLAN-ESSENTIEL, French, with a spouse and two children
DAVID = ("G1001", "100002")  # PLAN-ESSENTIEL, English
SOPHIE = ("G2002", "200001")  # PLAN-PLUS, French
AHMED = ("G2002", "200002")  # PLAN-PLUS, coverage ended 2025-06-30
OLIVIA = ("G2002", "200003")  # PLAN-PLUS, English


def person_id(certificate: tuple[str, str], relationship: str = "SELF", index: int = 0) -> str:
    member = get_member(*certificate)
    assert member is not None
    return [p for p in member.persons if p.relationship == relationship][index].person_id


def link_account(certificate: tuple[str, str], email: str) -> None:
    """What PostConfirmation does: the member's e-mail on the profile."""
    client("dynamodb").update_item(
        TableName=get_settings().members_table,
        Key=to_item({"PK": member_key(*certificate), "SK": "PROFILE"}),
        UpdateExpression="SET email = :e, accountSub = :s",
        ExpressionAttributeValues=to_item({":e": email, ":s": str(uuid.uuid4())}),
    )


def put_receipt(pk: str, status: str = "UPLOADED") -> str:
    receipt = ReceiptRecord(
        receipt_id=sortable_id("r"),
        member_key=pk,
        status=status,
        file_name="recu.pdf",
        content_type="application/pdf",
        size_bytes=1024,
        created_at="2026-03-01T12:00:00Z",
    )
    client("dynamodb").put_item(TableName=get_settings().claims_table, Item=to_item(receipt.to_item()))
    return receipt.receipt_id


def claim_item(
    certificate: tuple[str, str],
    claim_type: str,
    patient: str,
    treatments: list[tuple[date | str, str]],
    *,
    submitted_at: str = "2026-03-02T15:00:00Z",
    answers: dict[str, Any] | None = None,
    drug: dict[str, Any] | None = None,
    receipt_ids: list[str] | None = None,
    language: str = "fr",
    plan_id: str | None = None,
    category: str = "PARAMEDICAL",
) -> dict[str, Any]:
    """A claim item as submission writes it (docs/conventions.md)."""
    pk = member_key(*certificate)
    claim_id = sortable_id("c_")
    member = get_member(*certificate)
    rows: list[dict[str, Any]] = [{"dateOfService": str(d), "amount": Decimal(a)} for d, a in treatments]
    return {
        "PK": pk,
        "SK": f"CLAIM#{claim_id}",
        "entityType": "CLAIM",
        "claimId": claim_id,
        "contractNumber": certificate[0],
        "participantNumber": certificate[1],
        "planId": plan_id or (member.plan_id if member else "PLAN-ESSENTIEL"),
        "claimType": claim_type,
        "category": category,
        "patientId": patient,
        "answers": answers or {},
        "treatments": rows,
        "drug": drug,
        "receiptIds": receipt_ids if receipt_ids is not None else [put_receipt(pk)],
        "status": "SUBMITTED",
        "statusHistory": [{"status": "SUBMITTED", "at": submitted_at}],
        "submittedAt": submitted_at,
        "totalClaimed": sum((r["amount"] for r in rows), Decimal("0")),
        "language": language,
        "version": 1,
        "GSI1PK": f"{pk}#STATUS#SUBMITTED",
        "GSI1SK": f"{submitted_at}#{claim_id}",
    }


def store_claim(item: dict[str, Any]) -> dict[str, Any]:
    client("dynamodb").put_item(TableName=get_settings().claims_table, Item=to_item(item))
    return item


def envelope(item: dict[str, Any], *, version: str = "1") -> dict[str, Any]:
    """The EventBridge envelope the bus rule puts in the SQS body."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ClaimSubmitted",
        "source": "ca.portal.claims",
        "account": "123456789012",
        "time": item["submittedAt"],
        "region": "ca-central-1",
        "resources": [],
        "detail": {
            "version": version,
            "claimId": item["claimId"],
            "memberKey": item["PK"],
            "claimType": item["claimType"],
            "patientId": item["patientId"],
            "submittedAt": item["submittedAt"],
            "totalClaimed": f"{item['totalClaimed']:.2f}",
        },
    }


def sqs_record(body: str, *, message_id: str | None = None) -> dict[str, Any]:
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:ca-central-1:123456789012:claims",
        "awsRegion": "ca-central-1",
    }


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {"Records": [sqs_record(b) for b in bodies]}


def load(item: dict[str, Any]) -> dict[str, Any]:
    """The claim item as stored now."""
    found = get_item(get_settings().claims_table, ClaimRecord.key(item["PK"], item["claimId"]), consistent=True)
    assert found is not None
    return found


def sent_emails() -> list[Any]:
    from moto.ses.models import ses_backends

    return list(ses_backends["123456789012"]["ca-central-1"].sent_messages)


def body(item: dict[str, Any]) -> str:
    return json.dumps(envelope(item))


def put_drug(din: str, group: str | None = None, **fields: Any) -> None:
    """A product item in the drugs table's layout (portal_common.drug_catalog)."""
    item = {
        "PK": f"DIN#{din}",
        "SK": "DRUG",
        "entityType": "DRUG",
        "din": din,
        "status": "MARKETED",
        "brandName": fields.get("brandName", ""),
        "interchangeableGroup": group,
        "document": json.dumps({"din": din, **fields}),
    }
    client("dynamodb").put_item(TableName=get_settings().drugs_table, Item=to_item(item))


def put_atorvastatin_group() -> None:
    """LIPITOR (02230711, 2.00 a unit) and its generic ATORVASTATIN (02310899, 0.50), interchangeable
    group G1: the formulary's lowest-cost alternative cases."""
    brand: dict[str, Any] = {
        "din": "02230711",
        "brandName": "LIPITOR",
        "schedules": ["PRESCRIPTION"],
        "atcCodes": ["C10AA05"],
    }
    generic: dict[str, Any] = {
        "din": "02310899",
        "brandName": "ATORVASTATIN",
        "schedules": ["PRESCRIPTION"],
        "atcCodes": ["C10AA05"],
    }
    put_drug(**brand, group="G1", prices={"unitPrice": "2.00"})
    put_drug(**generic, group="G1", prices={"unitPrice": "0.50"})
    members = [
        {**brand, "status": "MARKETED", "prices": {"unitPrice": "2.00"}},
        {**generic, "status": "MARKETED", "prices": {"unitPrice": "0.50"}},
    ]
    group = {"PK": "IGROUP#G1", "SK": "MEMBERS", "members": json.dumps(members)}
    client("dynamodb").put_item(TableName=get_settings().drugs_table, Item=to_item(group))
