"""Concurrent processing never exceeds a plan maximum; a poison message reaches the dead-letter
queue without blocking the others (moto SQS with the template's redrive policy)."""

from __future__ import annotations

import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal_common.config import get_settings
from portal_common.dynamo import from_item, query_all
from tests.claim_processing_support import MARIE, body, claim_item, load, person_id, serialised_dynamodb, store_claim

ESSENTIEL_PHYSIO_ANNUAL = Decimal("500.00")
PARAMEDICAL_COMBINED = Decimal("1000.00")


def quiet_notifier() -> Any:
    from claim_processing import Notifier

    return Notifier(publish=lambda item, changes: None, email=lambda item, member: None)


def reset_member(pk: str) -> None:
    """Each example starts from an empty member partition (claims, totals, usage): the example's
    sums are its own, and moto's transactions (which copy the whole table) stay cheap."""
    client = boto3.client("dynamodb", region_name="ca-central-1")
    table = get_settings().claims_table
    for item in list(query_all(table, key_condition="PK = :pk", values={":pk": pk})):
        client.delete_item(TableName=table, Key={"PK": {"S": pk}, "SK": {"S": item["SK"]}})


line_amounts = st.decimals(min_value=Decimal("30.00"), max_value=Decimal("120.00"), places=2)


@pytest.fixture
def family(seeded: Any) -> dict[str, str]:
    return {
        "self": person_id(MARIE),
        "spouse": person_id(MARIE, "SPOUSE"),
        "kid": person_id(MARIE, "CHILD", 0),
    }


# Five examples of 4 to 8 claims (up to 16 deliveries, replays included, over 6 threads); each starts
# from an empty partition (``reset_member``).
@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    specs=st.lists(
        st.tuples(
            st.sampled_from(["self", "spouse", "kid"]),
            st.sampled_from(["PHYSIOTHERAPY", "PSYCHOLOGY", "CHIROPRACTIC"]),
            st.lists(line_amounts, min_size=1, max_size=4),
            st.booleans(),  # delivered twice
        ),
        min_size=4,
        max_size=8,
    )
)
def test_concurrent_claims_never_exceed_a_maximum_and_replays_pay_nothing(
    family: dict[str, str], specs: list[tuple[str, str, list[Decimal], bool]]
) -> None:
    from claim_processing import process_claim

    pk = f"MEMBER#{MARIE[0]}#{MARIE[1]}"
    reset_member(pk)
    items = []
    deliveries = []
    for who, claim_type, amounts, twice in specs:
        lines = [(f"2026-02-{10 + i:02d}", str(a)) for i, a in enumerate(amounts)]
        item = store_claim(claim_item(MARIE, claim_type, family[who], lines))
        items.append(item)
        deliveries += [item] * (2 if twice else 1)
    with serialised_dynamodb(), ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(lambda i: process_claim(i["PK"], i["claimId"], notifier=quiet_notifier()), deliveries))
    assert all(o.status in {"PAID", "PARTIALLY_PAID", "DENIED"} for o in outcomes)

    paid: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    shared: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        claim = load(item)
        assert len(claim["statusHistory"]) == 3  # processed once, whatever the deliveries
        total = Decimal(str(claim["totalPaid"]))
        assert total == sum(Decimal(str(x["paid"])) for x in claim["adjudication"]["lines"])
        paid[(item["patientId"], item["claimType"])] += total
        shared[item["patientId"]] += total
    for (_patient, claim_type), amount in paid.items():
        if claim_type == "PHYSIOTHERAPY":
            assert amount <= ESSENTIEL_PHYSIO_ANNUAL
    for amount in shared.values():
        assert amount <= PARAMEDICAL_COMBINED
    # The running totals hold exactly what the claims paid: nothing lost, nothing counted twice.
    table = get_settings().claims_table
    totals = {
        str(t["personId"]): t
        for t in query_all(
            table, key_condition="PK = :pk AND begins_with(SK, :t)", values={":pk": pk, ":t": "TOTALS#p_"}
        )
    }
    for (patient, claim_type), amount in paid.items():
        assert Decimal(str(totals[patient]["benefits"].get(claim_type, 0))) == amount
    for patient, amount in shared.items():
        assert Decimal(str(totals[patient]["shared"].get("PARAMEDICAL_COMBINED", 0))) == amount
    family_totals = list(
        query_all(table, key_condition="PK = :pk AND SK = :sk", values={":pk": pk, ":sk": "TOTALS#FAMILY#2026"})
    )
    assert Decimal(str(family_totals[0]["deductible"])) <= Decimal("50.00")
    assert sum(Decimal(str(t["deductible"])) for t in totals.values()) == Decimal(str(family_totals[0]["deductible"]))


def test_poison_message_goes_to_the_dead_letter_queue_without_blocking_the_others(seeded: Any) -> None:
    from claim_processor import lambda_handler

    sqs = boto3.client("sqs", region_name="ca-central-1")
    queue = seeded.physical["ClaimsQueue"]["QueueUrl"]  # type: ignore[attr-defined]
    dlq = seeded.physical["ClaimsDeadLetterQueue"]["QueueUrl"]  # type: ignore[attr-defined]
    good = [
        store_claim(claim_item(MARIE, "PHYSIOTHERAPY", person_id(MARIE), [(f"2026-02-{10 + i}", "50.00")]))
        for i in range(3)
    ]
    poison_bodies = [
        "{not json",
        json.dumps({"source": "ca.portal.claims", "detail-type": "ClaimSubmitted", "detail": {"version": "9"}}),
    ]
    for text in [poison_bodies[0], body(good[0]), poison_bodies[1], body(good[1]), body(good[2])]:
        sqs.send_message(QueueUrl=queue, MessageBody=text)

    invocations = 0
    for _ in range(20):
        # What the Lambda event source mapping does: receive a batch, invoke, delete what succeeded.
        messages = sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            break
        invocations += 1
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:ca-central-1:123456789012:q",
                    "awsRegion": "ca-central-1",
                }
                for m in messages
            ]
        }
        failed = {f["itemIdentifier"] for f in lambda_handler(event, None)["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        if invocations == 1:
            # The good claims did not wait for the poison messages' retries.
            assert all(load(g)["status"] == "PAID" for g in good)
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert sorted(m["Body"] for m in dead) == sorted(poison_bodies)
    assert all(load(g)["status"] == "PAID" for g in good)
    assert 5 <= invocations <= 7  # five receives, then the redrive


def test_dated_usage_records_stay_small(seeded: Any) -> None:
    """Rolling records keep dates a future claim can still reach, not the whole history."""
    from claim_processing import process_claim

    patient = person_id(MARIE, "SPOUSE")
    for year in range(2020, 2027):
        item = store_claim(
            claim_item(MARIE, "EYE_EXAM", patient, [(f"{year}-03-01", "80.00")], submitted_at=f"{year}-03-05T10:00:00Z")
        )
        process_claim(item["PK"], item["claimId"], notifier=quiet_notifier())
    record = from_item(
        boto3.client("dynamodb").get_item(
            TableName=get_settings().claims_table,
            Key={"PK": {"S": item["PK"]}, "SK": {"S": f"USAGE#{patient}#FREQUENCY#EYE_EXAM"}},
        )["Item"]
    )
    assert record is not None
    # Paid 2020, 2022, 2024, 2026 (odd years refused); 2020 and 2022 are out of reach and pruned.
    assert sorted(record["counts"]) == ["2024-03-01", "2026-03-01"]
