"""Claims-table access for the claim processor: the claim, its receipts, and the running totals.

The claim and receipt items are :mod:`portal_common.claim_records` records; the running totals are
the :mod:`usage_records` records, in the member's partition next to the claims they count.

The claim result and every changed running total are written in one ``TransactWriteItems``: the
claim only if it is still ``IN_REVIEW`` at the version that was adjudicated, each record only if
its version is the one that was read (or it does not exist yet). Two claims adjudicated at once
against the same totals cannot both commit: the second one fails, re-reads and is adjudicated again.
"""

from __future__ import annotations

from typing import Any

from adjudication_inputs import batch_get_tables
from adjudication_inputs import claim_to_adjudicate as claim_to_adjudicate  # the processor's names, kept
from adjudication_inputs import read_usage as read_usage
from botocore.exceptions import ClientError
from claim_adjudication import Adjudication
from usage_records import usage_puts

from portal_common.aws_clients import client
from portal_common.claim_records import (
    AdjudicationLineRecord,
    AdjudicationRecord,
    ClaimRecord,
    InformationRequestRecord,
    OutboxEntry,
    StepRecord,
)
from portal_common.config import get_settings
from portal_common.dynamo import cancellation_reasons, from_item, is_conditional_failure, to_item
from portal_common.i18n import ENGLISH, FRENCH
from portal_common.receipt_records import ReceiptRecord


class ConcurrentUpdate(Exception):
    """A conditional write lost a race (the claim or a running total changed since it was read)."""


def _table() -> str:
    return get_settings().claims_table


def load_claim(pk: str, claim_id: str) -> ClaimRecord | None:
    """The claim (strongly consistent read)."""
    response = client("dynamodb").get_item(
        TableName=_table(), Key=to_item(ClaimRecord.key(pk, claim_id)), ConsistentRead=True
    )
    item = from_item(response.get("Item"))
    return ClaimRecord.from_item(item) if item is not None else None


def receipt_statuses(claim: ClaimRecord) -> dict[str, str]:
    """Status of each receipt of the claim: ``MISSING`` when the receipt is not there, belongs to
    another member, or its checked object version is not the one the claim recorded (the processor
    only ever relies on the exact bytes that passed the check)."""
    if not claim.receipt_ids:
        return {}
    items = _batch_get_consistent([ReceiptRecord.key(r) for r in claim.receipt_ids])
    found: dict[str, str] = {}
    for receipt in (ReceiptRecord.from_item(i) for i in items):
        recorded = claim.receipt_versions.get(receipt.receipt_id)
        if receipt.member_key == claim.member_key and recorded == receipt.checked_version_id:
            found[receipt.receipt_id] = receipt.status
    return {rid: found.get(rid, "MISSING") for rid in claim.receipt_ids}


def _batch_get_consistent(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Strongly consistent ``BatchGetItem`` of claims-table keys (at most a few dozen here)."""
    return batch_get_tables({_table(): (keys, True)})[_table()]


def adjudication_record(result: Adjudication, at: str) -> AdjudicationRecord:
    """The claim's ``adjudication`` document: the lines in treatment order, explanations in both languages."""
    lines = [
        AdjudicationLineRecord(
            treatment_index=line.treatment_index,
            date_of_service=line.date_of_service.isoformat(),
            claimed=line.claimed,
            eligible=line.eligible,
            paid=line.paid,
            deductible=line.deductible,
            reason_code=line.reason_code,
            steps=[StepRecord(code=s.code, params=dict(s.params)) for s in line.steps],
            explanation={"fr": line.explanation(FRENCH), "en": line.explanation(ENGLISH)},
        )
        for line in sorted(result.lines, key=lambda line: line.treatment_index)
    ]
    return AdjudicationRecord(lines=lines, total_paid=result.total_paid, processed_at=at)


# ----------------------------------------------------------------------------- claim transitions


def transition(
    claim: ClaimRecord,
    new_status: str,
    at: str,
    *,
    pending_reason: str | None = None,
    information_requests: list[InformationRequestRecord] | None = None,
) -> ClaimRecord:
    """Move the claim to ``new_status`` if nobody changed it since it was read; returns the claim as
    stored now. ``information_requests`` (when given) replaces the claim's list.

    Raises :class:`ConcurrentUpdate` when the claim's status or version changed meanwhile.
    """
    update = claim.transition_update(
        new_status, at, pending_reason=pending_reason, information_requests=information_requests
    )
    try:
        response = client("dynamodb").update_item(TableName=_table(), **update, ReturnValues="ALL_NEW")
    except ClientError as error:
        if is_conditional_failure(error):
            raise ConcurrentUpdate("claim changed") from error
        raise
    return ClaimRecord.from_item(from_item(response["Attributes"]) or {})


def commit_adjudication(claim: ClaimRecord, result: Adjudication, at: str) -> ClaimRecord:
    """Write the claim's result and the changed running totals in one transaction; returns the
    claim as stored now.

    Raises :class:`ConcurrentUpdate` when the claim or a running total changed since it was read.
    """
    document = adjudication_record(result, at)
    claim_update = {"TableName": _table(), **claim.transition_update(result.status, at, adjudication=document)}
    writes = [{"Update": claim_update}, *usage_puts(_table(), claim.member_key, result.usage, result.changed, at)]
    try:
        client("dynamodb").transact_write_items(TransactItems=writes)
    except ClientError as error:
        reasons = set(cancellation_reasons(error))
        if is_conditional_failure(error) or "TransactionConflict" in reasons:
            raise ConcurrentUpdate("claim or totals changed") from error
        raise
    return claim.transitioned(result.status, at, adjudication=document)


def mark_notified(claim: ClaimRecord, status: str) -> None:
    """Record that ``status`` was published and e-mailed (a replay then sends nothing again)."""
    try:
        client("dynamodb").update_item(TableName=_table(), **claim.notified_update(status))
    except ClientError as error:
        if not is_conditional_failure(error):
            raise


# ----------------------------------------------------------------------------- the outbox


def _update_claim(claim: ClaimRecord, update: dict[str, Any]) -> ClaimRecord | None:
    """Run one conditional ``UpdateItem`` on the claim; the claim as stored after it when the
    update asked for it, ``None`` otherwise. Raises :class:`ConcurrentUpdate` when the condition fails."""
    try:
        response = client("dynamodb").update_item(TableName=_table(), **update)
    except ClientError as error:
        if is_conditional_failure(error):
            raise ConcurrentUpdate("claim changed") from error
        raise
    attributes = response.get("Attributes")
    return ClaimRecord.from_item(from_item(attributes) or {}) if attributes else None


def lease_outbox(claim: ClaimRecord, entry: OutboxEntry, token: str, now: int, until: int) -> ClaimRecord:
    """Claim the outbox's first entry for this delivery (``ConcurrentUpdate`` when another delivery
    holds it, or it is no longer first); the claim as stored now."""
    stored = _update_claim(claim, claim.lease_update(entry, token, now, until))
    assert stored is not None
    return stored


def outbox_delivered(claim: ClaimRecord, entry: OutboxEntry, token: str) -> ClaimRecord:
    """Remove the delivered first entry (under this delivery's lease); the claim as stored now."""
    stored = _update_claim(claim, claim.delivered_update(entry, token))
    assert stored is not None
    return stored


def release_outbox(claim: ClaimRecord, entry: OutboxEntry, token: str, **options: Any) -> None:
    """Give the first entry back after a failed (or postponed) delivery, to be retried at
    ``retry_at`` (``options``: those of :meth:`ClaimRecord.failed_update`)."""
    _update_claim(claim, claim.failed_update(entry, token, **options))


def move_sweep(claim: ClaimRecord, sweep_at: str | None) -> bool:
    """Move the claim's place in the sweep index (``None``: out of it) if it is still as read."""
    try:
        _update_claim(claim, claim.sweep_update(sweep_at))
    except ConcurrentUpdate:
        return False
    return True
