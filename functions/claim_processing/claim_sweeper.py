"""Scheduled sweeper (EventBridge Scheduler, every 5 minutes): moves on what nothing else will.

It reads only the sparse sweep index (``portal_common.sweep``: items carry ``sweepShard`` /
``sweepAt`` only while work is pending), one ``Query`` per shard for ``sweepAt <= now``, so its
cost follows the pending work, never the table. For each item found:

- a claim whose **outbox** is not empty (its processor died after the commit, or a send failed):
  the outbox is delivered (``claim_outbox``: claimed conditionally, so a delivery running at the
  same time sends nothing twice);
- a claim still ``SUBMITTED`` or ``IN_REVIEW`` :data:`~portal_common.claim_records.STUCK_AFTER_SECONDS`
  after its last change (its ``ClaimSubmitted`` was never published, or its message reached the
  dead-letter queue): ``ClaimSubmitted`` is put on the bus again (batches of 10), and the processor,
  idempotent per claim, takes it from where it stopped; found again after the same delay if still
  stuck. No claim depends on the stream's 24 hours;
- a receipt still ``PENDING_UPLOAD`` whose file is in the bucket (the S3-triggered check failed and
  its event was dropped): the object is copied onto itself, so S3 notifies the check again; a receipt
  whose file never came leaves the index (it expires by TTL).

What it found is counted (``StuckClaimsFound``, ``PendingNotificationsFound``,
``PendingReceiptsFound``, service ``claim-sweeper``) and alarmed (``SweeperFoundWorkAlarm``).
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import adjudication_store as store
from botocore.exceptions import ClientError
from claim_outbox import Notifier, deliver

from portal_common import clock, cold_start, metrics
from portal_common.aws_clients import client
from portal_common.claim_events import ClaimSubmittedV1
from portal_common.claim_records import ACTIVE_STATUSES, STUCK_AFTER_SECONDS, ClaimRecord
from portal_common.config import get_settings
from portal_common.dynamo import get_item, query
from portal_common.log import get_logger
from portal_common.receipt_records import PENDING_UPLOAD, RECEIPT_KEY_PREFIX, RECEIPT_SWEEP_AFTER, ReceiptRecord
from portal_common.sweep import INDEX, after, shards

logger = get_logger("claim-sweeper")
get_settings().require("claim_email_configuration_set")  # every variable checked at cold start (by name)

MAX_ITEMS_PER_RUN = 500  # the rest waits for the next run (every 5 minutes)
SAFETY_MS = 30_000  # stop taking items when less time than this is left (an S3 call at worst: 24 s)
PUT_EVENTS_BATCH = 10


@dataclass
class SweepReport:
    """What one run found and did."""

    stuck_claims: int = 0
    pending_notifications: int = 0
    pending_receipts: int = 0
    delivered: int = 0
    republished: int = 0
    receipts_rechecked: int = 0
    items: int = 0


def _due(now: str, remaining_ms: Callable[[], int]) -> list[dict[str, Any]]:
    """The items of the sweep index due at ``now`` (at most :data:`MAX_ITEMS_PER_RUN`)."""
    table = get_settings().claims_table
    found: list[dict[str, Any]] = []
    for shard in shards():
        start: dict[str, Any] | None = None
        while len(found) < MAX_ITEMS_PER_RUN and remaining_ms() > SAFETY_MS:
            items, start = query(
                table,
                index=INDEX,
                key_condition="sweepShard = :shard AND sweepAt <= :now",
                values={":shard": shard, ":now": now},
                limit=100,
                start_key=start,
            )
            found.extend(items[: MAX_ITEMS_PER_RUN - len(found)])
            if not start:
                break
    return found


def _claim(item: dict[str, Any], now: str, report: SweepReport, notifier: Notifier | None) -> ClaimRecord | None:
    """Deliver a found claim's outbox; the claim when it is stuck and must be published again."""
    claim = store.load_claim(str(item["PK"]), str(item.get("claimId", "")))
    if claim is None:
        return None
    if claim.outbox:
        report.pending_notifications += 1
        report.delivered += deliver(claim, notifier)
        claim = store.load_claim(claim.member_key, claim.claim_id) or claim
    if claim.status in ACTIVE_STATUSES:
        last = claim.status_history[-1].at if claim.status_history else claim.submitted_at
        if after(last, STUCK_AFTER_SECONDS) <= now:
            report.stuck_claims += 1
            return claim
        if not claim.outbox:
            store.move_sweep(claim, claim.settled_sweep_at())
    elif not claim.outbox:
        store.move_sweep(claim, None)
    return None


def _republish(claims: list[ClaimRecord], now: str, report: SweepReport) -> None:
    """``ClaimSubmitted`` again for each stuck claim (``PutEvents`` batches of 10); a claim whose
    entry was refused stays due and is found again on the next run."""
    bus = get_settings().event_bus_name
    for start in range(0, len(claims), PUT_EVENTS_BATCH):
        batch = claims[start : start + PUT_EVENTS_BATCH]
        entries = [ClaimSubmittedV1.of(c).entry(bus) for c in batch]
        try:
            results = client("events").put_events(Entries=entries).get("Entries", [])
        except ClientError as error:
            logger.warning("PutEvents failed", extra={"error": error.response.get("Error", {}).get("Code")})
            continue
        for claim, result in zip(batch, results, strict=False):
            if result.get("ErrorCode"):
                continue
            report.republished += 1
            logger.info("stuck claim published again", extra={"claimId": claim.claim_id, "status": claim.status})
            store.move_sweep(claim, after(now, STUCK_AFTER_SECONDS))


def _receipt(item: dict[str, Any], now: str, report: SweepReport) -> None:
    """Notify the check again for a pending receipt whose file is in the bucket."""
    settings = get_settings()
    stored = get_item(settings.claims_table, ReceiptRecord.key(str(item.get("receiptId", ""))), consistent=True)
    receipt = ReceiptRecord.from_item(stored) if stored is not None else None
    if receipt is None or receipt.status != PENDING_UPLOAD:
        return
    s3 = client("s3")
    key = f"{RECEIPT_KEY_PREFIX}{receipt.receipt_id}"
    try:
        head = s3.head_object(Bucket=settings.documents_bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
        head = None
    next_at: str | None = None
    if head is not None:
        report.pending_receipts += 1
        s3.copy_object(
            Bucket=settings.documents_bucket,
            Key=key,
            CopySource={"Bucket": settings.documents_bucket, "Key": key},
            MetadataDirective="REPLACE",
            ContentType=head.get("ContentType", "binary/octet-stream"),
            Metadata={**head.get("Metadata", {}), "swept-at": now},
        )
        report.receipts_rechecked += 1
        next_at = after(now, RECEIPT_SWEEP_AFTER)
    try:
        client("dynamodb").update_item(
            TableName=settings.claims_table, **ReceiptRecord.sweep_update(receipt.receipt_id, next_at)
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise


def sweep(
    now: str | None = None,
    *,
    remaining_ms: Callable[[], int] = lambda: 10**9,
    notifier: Notifier | None = None,
) -> SweepReport:
    """One run of the sweeper (idempotent: two runs at once claim each outbox entry once)."""
    now = now or clock.now_iso()
    report = SweepReport()
    stuck: list[ClaimRecord] = []
    for item in _due(now, remaining_ms):
        if remaining_ms() < SAFETY_MS:
            break
        report.items += 1
        try:
            if ClaimRecord.is_claim_item(item):
                found = _claim(item, now, report, notifier)
                if found is not None:
                    stuck.append(found)
            elif item.get("entityType") == ReceiptRecord.entity_type:
                _receipt(item, now, report)
        except Exception:
            # One item's failure does not stop the others; it stays due and is found again.
            logger.exception("sweep item failed", extra={"entityType": item.get("entityType")})
    _republish(stuck, now, report)
    metrics.emit(
        "claim-sweeper",
        {
            "StuckClaimsFound": report.stuck_claims,
            "PendingNotificationsFound": report.pending_notifications,
            "PendingReceiptsFound": report.pending_receipts,
        },
    )
    return report


@cold_start.settles
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """EventBridge Scheduler target: one sweep; returns the report (kept in the log)."""
    remaining: Callable[[], int] = context.get_remaining_time_in_millis if context is not None else (lambda: 10**9)
    report = sweep(remaining_ms=remaining)
    logger.info("sweep done", extra=asdict(report))
    return asdict(report)
