"""The outbox and the sweep index as the stored records write them (no AWS)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from local.event_pollers import schedule_seconds
from portal_common.claim_records import ClaimRecord, StatusEntry, TreatmentRecord
from portal_common.receipt_records import ReceiptRecord
from portal_common.sweep import SHARDS, after, shard


def _claim(status: str = "SUBMITTED") -> ClaimRecord:
    return ClaimRecord(
        member_key="MEMBER#G1001#100001",
        claim_id="c_01KB2M3N4P5Q6R7S8T9V0W1X2Y",
        contract_number="G1001",
        participant_number="100001",
        claim_type="PHYSIOTHERAPY",
        category="PARAMEDICAL",
        patient_id="p_1",
        treatments=[TreatmentRecord(date_of_service="2026-11-20", amount=Decimal("80.00"))],
        status=status,
        status_history=[StatusEntry(status="SUBMITTED", at="2026-11-27T14:03:22.512Z")],
        submitted_at="2026-11-27T14:03:22.512Z",
        total_claimed=Decimal("80.00"),
        version=1,
    )


def test_every_status_change_writes_its_outbox_entry_and_sweep_place_in_the_same_update() -> None:
    claim = _claim()
    update = claim.transition_update("IN_REVIEW", "2026-11-27T14:03:23.000Z")
    assert "outbox = list_append(if_not_exists(outbox, :empty), :outbox)" in update["UpdateExpression"]
    values = update["ExpressionAttributeValues"]
    entry = values[":outbox"]["L"][0]["M"]
    assert entry["seq"] == {"N": "1"}
    assert entry["previous"] == {"S": "SUBMITTED"}
    assert entry["status"] == {"S": "IN_REVIEW"}
    assert entry["email"] == {"BOOL": False}  # passing through review is not e-mailed
    assert values[":sweepAt"] == {"S": "2026-11-27T14:05:23.000Z"}  # the grace before the sweeper
    reviewed = claim.transitioned("IN_REVIEW", "2026-11-27T14:03:23.000Z")
    paid = reviewed.transitioned("PAID", "2026-11-27T14:03:24.000Z")
    assert [(e.seq, e.status, e.email) for e in paid.outbox] == [(1, "IN_REVIEW", False), (2, "PAID", True)]
    pending = reviewed.transitioned("PENDING_INFORMATION", "2026-11-27T14:03:24.000Z", pending_reason="RECEIPT_MISSING")
    assert pending.outbox[-1].pending_reason == "RECEIPT_MISSING"
    assert pending.outbox[-1].email


def test_a_claim_is_in_the_sweep_index_only_while_work_is_pending() -> None:
    submitted = _claim().to_item()
    assert submitted["sweepAt"] == "2026-11-27T14:18:22.512Z"  # 15 minutes: then it counts as stuck
    assert submitted["sweepShard"] == shard("c_01KB2M3N4P5Q6R7S8T9V0W1X2Y")
    settled = _claim("PAID").to_item()
    assert "sweepShard" not in settled
    assert "sweepAt" not in settled
    assert settled["outbox"] == []


def test_the_first_entry_is_claimed_only_if_free_and_removed_only_under_its_lease() -> None:
    claim = _claim().transitioned("IN_REVIEW", "2026-11-27T14:03:23.000Z")
    entry = claim.outbox[0]
    lease = claim.lease_update(entry, "t1", 100, 160)
    assert lease["ConditionExpression"] == (
        "outbox[0].seq = :seq AND (attribute_not_exists(outbox[0].leaseUntil) OR outbox[0].leaseUntil < :now)"
    )
    done = claim.delivered_update(entry, "t1")
    assert done["ConditionExpression"] == "outbox[0].seq = :seq AND outbox[0].leaseToken = :token"
    assert done["UpdateExpression"] == "REMOVE outbox[0]"


def test_a_pending_receipt_is_swept_until_its_verdict() -> None:
    receipt = ReceiptRecord(
        receipt_id="r_1",
        member_key="MEMBER#G1001#100001",
        status="PENDING_UPLOAD",
        file_name="r.pdf",
        content_type="application/pdf",
        size_bytes=10,
        created_at="2026-11-27T14:00:00.000Z",
    )
    assert receipt.to_item()["sweepAt"] == "2026-11-27T14:10:00.000Z"
    for status in ("UPLOADED", "REJECTED"):
        update = ReceiptRecord.verdict_update(
            "r_1", status=status, etag="e", version_id="v", at="x", size=10, reason="R", expires_at=1
        )
        assert "sweepShard, sweepAt" in update["UpdateExpression"].split("REMOVE", 1)[1]


def test_shards_and_times() -> None:
    assert {shard(f"c_{n}") for n in range(200)} == {f"SWEEP#{n}" for n in range(SHARDS)}
    assert after("2026-12-31T23:59:00.000Z", 120) == "2027-01-01T00:01:00.000Z"
    assert schedule_seconds("rate(5 minutes)") == 300
    assert schedule_seconds("rate(1 hour)") == 3600
    with pytest.raises(ValueError, match="unsupported"):
        schedule_seconds("cron(0 * * * ? *)")
