"""The sweeper on the local stack, on its schedule (``ClaimSweeperSchedule``, a local timer): a
claim whose ``ClaimSubmitted`` was never published is found from the table and processed, and a
claim left with an undelivered notification (the processor died after its commit) gets its one
e-mail. The faulty states are written straight into the local stack's DynamoDB, as the failures
leave them (a claim item the stream never published; a PAID claim with its outbox entry)."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3

from portal_common.claim_records import ClaimRecord, StatusEntry, TreatmentRecord
from portal_common.dynamo import from_item, to_item
from portal_common.ids import sortable_id
from portal_common.sweep import after

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

MARIE = "marie.tremblay@example.com"  # demo account (local/seed_accounts.py), PLAN-ESSENTIEL
MEMBER = "MEMBER#G1001#100001"


def _environment(stack: LocalStackProcess) -> dict[str, str]:
    state = json.loads((stack.workdir / "state" / "stack.json").read_text(encoding="utf-8"))
    environment: dict[str, str] = state["environment"]
    return environment


def _dynamodb(stack: LocalStackProcess) -> Any:
    env = _environment(stack)
    return boto3.client(
        "dynamodb",
        region_name=env["AWS_REGION"],
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )


def _write_unpublished(stack: LocalStackProcess, claim: ClaimRecord) -> None:
    """Store the claim as the table holds it, without the stream publishing it: the item is put
    without ``entityType`` (the stream publisher's filter skips it), then completed (a MODIFY)."""
    dynamodb = _dynamodb(stack)
    table = _environment(stack)["CLAIMS_TABLE"]
    item = claim.to_item()
    entity = item.pop("entityType")
    dynamodb.put_item(TableName=table, Item=to_item(item))
    dynamodb.update_item(
        TableName=table,
        Key=to_item(ClaimRecord.key(claim.member_key, claim.claim_id)),
        UpdateExpression="SET entityType = :e",
        ExpressionAttributeValues=to_item({":e": entity}),
    )


def _stored(stack: LocalStackProcess, claim_id: str) -> dict[str, Any]:
    table = _environment(stack)["CLAIMS_TABLE"]
    key = to_item(ClaimRecord.key(MEMBER, claim_id))
    response = _dynamodb(stack).get_item(TableName=table, Key=key, ConsistentRead=True)
    return from_item(response["Item"]) or {}


def _claim(patient: str, submitted_at: str) -> ClaimRecord:
    day = (date.today() - timedelta(days=3)).isoformat()
    return ClaimRecord(
        member_key=MEMBER,
        claim_id=sortable_id(),
        contract_number="G1001",
        participant_number="100001",
        plan_id="PLAN-ESSENTIEL",
        claim_type="CHIROPRACTIC",
        category="PARAMEDICAL",
        patient_id=patient,
        answers={"accident": False, "otherCoverage": False},
        treatments=[TreatmentRecord(date_of_service=day, amount=Decimal("40.00"))],
        status="SUBMITTED",
        status_history=[StatusEntry(status="SUBMITTED", at=submitted_at)],
        submitted_at=submitted_at,
        total_claimed=Decimal("40.00"),
        language="fr",
        version=1,
    )


def _mails_about(stack: LocalStackProcess, claim_id: str) -> list[dict[str, Any]]:
    return [m for m in stack.outbox(MARIE) if claim_id in m["subject"]]


def _wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError("the sweeper did not do it in time")


def test_the_sweeper_recovers_an_unpublished_claim_and_an_undelivered_notification(stack: LocalStackProcess) -> None:
    stack.wait_for_seeds(timeout=300)
    headers = stack.bearer(MARIE)
    me = stack.get("/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    patient = next(p for p in me.json()["persons"] if p["relationship"] == "SELF")["personId"]
    twenty_minutes_ago = (datetime.now(UTC) - timedelta(minutes=20)).isoformat(timespec="milliseconds")
    twenty_minutes_ago = twenty_minutes_ago.replace("+00:00", "Z")

    # 1. Saved 20 minutes ago, never published (the stream's records lost): the sweeper finds it
    #    from the table, publishes it again, the processor pays it and the member hears of it once.
    lost = _claim(patient, twenty_minutes_ago)
    _write_unpublished(stack, lost)
    _wait_for(lambda: len(_mails_about(stack, lost.claim_id)) == 1)
    detail = stack.get(f"/v1/claims/{lost.claim_id}", headers=headers).json()
    assert detail["status"] in {"PAID", "PARTIALLY_PAID", "DENIED"}
    assert [h["status"] for h in detail["statusHistory"]][:2] == ["SUBMITTED", "IN_REVIEW"]

    # 2. Paid, but the processor died before delivering: the PAID entry is still in its outbox.
    crashed = _claim(patient, twenty_minutes_ago)
    paid_at = after(twenty_minutes_ago, 5)
    in_review = crashed.transitioned("IN_REVIEW", after(twenty_minutes_ago, 2)).model_copy(update={"outbox": []})
    paid = in_review.transitioned("PAID", paid_at).model_copy(update={"total_paid": Decimal("12.00")})
    assert [e.status for e in paid.outbox] == ["PAID"]
    _write_unpublished(stack, paid)
    _wait_for(lambda: len(_mails_about(stack, crashed.claim_id)) == 1)

    # Settled: out of the sweep index, outboxes empty, and nothing more on the next runs.
    _wait_for(lambda: not _stored(stack, crashed.claim_id).get("outbox"))
    time.sleep(12)  # two more runs of the local schedule (every 5 s)
    for claim_id in (lost.claim_id, crashed.claim_id):
        stored = _stored(stack, claim_id)
        assert stored.get("outbox") == []
        assert "sweepShard" not in stored, claim_id
        assert len(_mails_about(stack, claim_id)) == 1
    totals = stack.get("/_local/metrics", params={"name": "StuckClaimsFound"}).json()["totals"]
    assert sum(totals.values()) >= 1
