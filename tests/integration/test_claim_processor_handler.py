"""The claim processor's SQS handler against moto: statuses, totals, events, e-mails, replays."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import boto3
import pytest

from portal_common.config import get_settings
from tests.claim_processing_support import (
    AHMED,
    DAVID,
    MARIE,
    body,
    claim_item,
    envelope,
    link_account,
    load,
    person_id,
    put_atorvastatin_group,
    put_drug,
    put_receipt,
    sent_emails,
    sqs_event,
    store_claim,
)


@pytest.fixture
def bus_capture(seeded: Any) -> str:
    """A queue receiving every ClaimStatusChanged from the bus (what a consumer would see)."""
    sqs = boto3.client("sqs", region_name="ca-central-1")
    events = boto3.client("events", region_name="ca-central-1")
    url = sqs.create_queue(QueueName="status-capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = get_settings().event_bus_name
    events.put_rule(Name="capture", EventBusName=bus, EventPattern=json.dumps({"detail-type": ["ClaimStatusChanged"]}))
    events.put_targets(Rule="capture", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def captured(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="ca-central-1")
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for m in messages:
            found.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def run(*items: dict[str, Any]) -> dict[str, Any]:
    from claim_processor import lambda_handler

    return lambda_handler(sqs_event(*(body(i) for i in items)), None)


def test_physiotherapy_claim_is_paid_with_explanation_event_and_french_email(bus_capture: str) -> None:
    link_account(MARIE, "marie@example.com")
    item = store_claim(
        claim_item(MARIE, "PHYSIOTHERAPY", person_id(MARIE), [("2026-02-10", "85.00"), ("2026-02-17", "50.00")])
    )
    assert run(item) == {"batchItemFailures": []}

    claim = load(item)
    assert claim["status"] == "PAID"
    assert [h["status"] for h in claim["statusHistory"]] == ["SUBMITTED", "IN_REVIEW", "PAID"]
    assert claim["GSI1PK"].endswith("#STATUS#PAID")
    lines = claim["adjudication"]["lines"]
    # 85.00 capped at the 60.00 per-visit maximum, 25.00 deductible, 80 %: 28.00; then 80 % of 50.00.
    assert [(Decimal(str(x["eligible"])), Decimal(str(x["paid"]))) for x in lines] == [
        (Decimal("60.00"), Decimal("28.00")),
        (Decimal("50.00"), Decimal("40.00")),
    ]
    assert Decimal(str(claim["totalPaid"])) == Decimal("68.00")
    assert "60,00" in lines[0]["explanation"]["fr"]
    assert "$60.00" in lines[0]["explanation"]["en"]
    assert lines[0]["steps"][0]["code"] == "REASONABLE_AND_CUSTOMARY"

    events = captured(bus_capture)
    assert [(e["detail"]["previousStatus"], e["detail"]["status"]) for e in events] == [
        ("SUBMITTED", "IN_REVIEW"),
        ("IN_REVIEW", "PAID"),
    ]
    assert events[1]["detail"]["totalPaid"] == "68.00"
    assert events[1]["detail"]["version"] == "1"

    emails = sent_emails()
    assert len(emails) == 1
    assert emails[0].destinations["ToAddresses"] == ["marie@example.com"]
    assert "Payée" in emails[0].subject
    assert "68,00" in emails[0].body
    assert "100001" not in emails[0].body  # no participant number
    assert claim["notifiedStatus"] == "PAID"


def test_replayed_and_duplicated_events_pay_nothing_more(bus_capture: str) -> None:
    link_account(DAVID, "david@example.com")
    item = store_claim(claim_item(DAVID, "CHIROPRACTIC", person_id(DAVID), [("2026-02-10", "45.00")], language="en"))
    assert run(item, item) == {"batchItemFailures": []}  # duplicate in the same batch
    assert run(item) == {"batchItemFailures": []}  # replay later
    claim = load(item)
    assert claim["status"] == "PAID"
    assert len(claim["statusHistory"]) == 3
    totals = boto3.client("dynamodb").get_item(
        TableName=get_settings().claims_table,
        Key={"PK": {"S": item["PK"]}, "SK": {"S": f"TOTALS#{item['patientId']}#2026"}},
    )["Item"]
    # 45.00 - 25.00 deductible = 20.00 at 80 % = 16.00, counted once.
    assert Decimal(totals["benefits"]["M"]["CHIROPRACTIC"]["N"]) == Decimal("16.00")
    assert len(sent_emails()) == 1
    assert "Paid" in sent_emails()[0].subject
    assert len(captured(bus_capture)) == 2


def test_missing_receipt_puts_the_claim_pending_then_a_later_event_pays_it(bus_capture: str) -> None:
    link_account(MARIE, "marie@example.com")
    receipt = put_receipt(f"MEMBER#{MARIE[0]}#{MARIE[1]}", status="PENDING_UPLOAD")
    item = store_claim(
        claim_item(MARIE, "EYE_EXAM", person_id(MARIE), [("2026-02-10", "95.00")], receipt_ids=[receipt])
    )
    run(item)
    claim = load(item)
    assert claim["status"] == "PENDING_INFORMATION"
    assert claim["pendingReason"] == "RECEIPT_MISSING"
    run(item)  # a duplicate changes nothing and sends nothing more
    assert len(sent_emails()) == 1
    boto3.client("dynamodb").update_item(
        TableName=get_settings().claims_table,
        Key={"PK": {"S": f"RECEIPT#{receipt}"}, "SK": {"S": "RECEIPT"}},
        UpdateExpression="SET #s = :u",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":u": {"S": "UPLOADED"}},
    )
    run(item)
    claim = load(item)
    assert claim["status"] == "PAID"
    assert [h["status"] for h in claim["statusHistory"]] == [
        "SUBMITTED",
        "IN_REVIEW",
        "PENDING_INFORMATION",
        "IN_REVIEW",
        "PAID",
    ]
    assert Decimal(str(claim["totalPaid"])) == Decimal("90.00")  # eye exam: 100 %, 90.00 per visit, no deductible
    assert "pendingReason" not in claim
    assert len(sent_emails()) == 2


def test_terminated_member_claim_is_denied_with_reasons(seeded: Any) -> None:
    link_account(AHMED, "ahmed@example.com")
    item = store_claim(
        claim_item(
            AHMED,
            "PHYSIOTHERAPY",
            person_id(AHMED),
            [("2025-06-20", "80.00"), ("2025-07-05", "80.00")],
            submitted_at="2025-12-01T10:00:00Z",
        )
    )
    run(item)
    claim = load(item)
    assert claim["status"] == "DENIED"
    codes = [line["reasonCode"] for line in claim["adjudication"]["lines"]]
    # Covered on June 20 but filed 154 days after coverage ended (90 allowed); not covered on July 5.
    assert codes == ["POST_TERMINATION_FILING_LIMIT_EXCEEDED", "PATIENT_NOT_COVERED"]


def test_malformed_and_unknown_version_records_fail_alone(seeded: Any) -> None:
    from claim_processor import lambda_handler

    good = store_claim(claim_item(MARIE, "PHYSIOTHERAPY", person_id(MARIE), [("2026-02-10", "40.00")]))
    future = json.dumps(envelope(good, version="2"))
    event = sqs_event("not json", body(good), future, json.dumps({"source": "x"}), json.dumps([1]))
    response = lambda_handler(event, None)
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    ids = [r["messageId"] for r in event["Records"]]
    assert failed == {ids[0], ids[2], ids[3], ids[4]}
    assert load(good)["status"] == "PAID"


def test_unknown_claim_fails_the_record(seeded: Any) -> None:
    ghost = claim_item(MARIE, "PHYSIOTHERAPY", person_id(MARIE), [("2026-02-10", "40.00")])  # never stored
    response = run(ghost)
    assert len(response["batchItemFailures"]) == 1


def test_event_that_does_not_match_the_claim_fails(seeded: Any) -> None:
    from claim_processor import lambda_handler

    item = store_claim(claim_item(MARIE, "PHYSIOTHERAPY", person_id(MARIE), [("2026-02-10", "40.00")]))
    forged = envelope(item)
    forged["detail"]["patientId"] = person_id(MARIE, "SPOUSE")
    response = lambda_handler(sqs_event(json.dumps(forged)), None)
    assert len(response["batchItemFailures"]) == 1
    assert load(item)["status"] == "SUBMITTED"


def test_drug_claim_uses_the_formulary_lowest_cost_alternative_and_fee_cap(seeded: Any) -> None:

    put_atorvastatin_group()
    put_drug("02240000", brandName="EXCLUDED", schedules=["PRESCRIPTION"], atcCodes=["A08AB01"])
    drug = {"din": "02230711", "quantity": 30, "dispensingFee": Decimal("11.00")}
    item = store_claim(
        claim_item(MARIE, "DRUG", person_id(MARIE), [("2026-02-10", "71.00")], drug=drug, category="DRUG")
    )
    excluded = store_claim(
        claim_item(MARIE, "DRUG", person_id(MARIE), [("2026-02-10", "40.00")], drug={"din": "02240000"})
    )
    unknown = store_claim(
        claim_item(MARIE, "DRUG", person_id(MARIE), [("2026-02-10", "40.00")], drug={"din": "09999999"})
    )
    run(item, excluded, unknown)
    line = load(item)["adjudication"]["lines"][0]
    # Drug cost 60.00 -> 30 x 0.50 = 15.00; fee 11.00 capped at 8.00; 80 % of 23.00 = 18.40.
    assert (Decimal(str(line["eligible"])), Decimal(str(line["paid"]))) == (Decimal("23.00"), Decimal("18.40"))
    assert [s["code"] for s in line["steps"]] == ["LOWEST_COST_ALTERNATIVE", "DISPENSING_FEE_CAP", "COINSURANCE"]
    assert load(excluded)["adjudication"]["lines"][0]["reasonCode"] == "DRUG_EXCLUDED"
    assert load(unknown)["adjudication"]["lines"][0]["reasonCode"] == "DRUG_NOT_IDENTIFIED"
