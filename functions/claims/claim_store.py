"""Claims in DynamoDB: the submission transaction and the history queries.

Submission is one ``TransactWriteItems`` (all or nothing):

1. the claim (:class:`~portal_common.claim_records.ClaimRecord`: ``PK=MEMBER#…``,
   ``SK=CLAIM#<claimId>``, status index ``GSI1``), if absent;
2. an idempotency marker ``SK=IDEMPOTENCY#<sha256(key)>`` with the payload hash, if absent: even
   if the Powertools record were lost or expired, one key never makes two claims;
3. each receipt, marked attached (``claimId``) on condition that it is the member's, ``UPLOADED``
   and not attached yet: a receipt backs at most one claim;
4. the member's recent providers for the claim type (optimistic ``version`` check).

The table's stream is the outbox: the INSERT of the claim publishes ``ClaimSubmitted``.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError
from claims_models import ClaimCreated

from portal_common import clock, metrics
from portal_common.aws_clients import client
from portal_common.claim_records import ClaimRecord, StoredModel, status_index_pk
from portal_common.config import get_settings
from portal_common.dynamo import cancellation_reasons, get_item, query, to_item
from portal_common.models import money_to_str
from portal_common.pagination import KeySchema
from portal_common.problems import Conflict, FieldError, ValidationFailed
from portal_common.provider_records import RecentProviders
from portal_common.receipt_records import ReceiptRecord

MARKER_TTL_SECONDS = 30 * 24 * 3600
_ATTEMPTS = 4


@dataclass(frozen=True)
class ClaimWrite:
    """What the submission transaction writes."""

    claim: ClaimRecord
    idempotency_key: str
    payload_hash: str


class IdempotencyMarker(StoredModel):
    """``SK=IDEMPOTENCY#<sha256(key)>`` in the member's partition: the claim a key made, and the
    hash of the body that made it (the key itself is not stored)."""

    claim_id: str
    payload_hash: str
    submitted_at: str
    total_claimed: Decimal
    expires_at: int | None = None

    @staticmethod
    def key(member_key: str, idempotency_key: str) -> dict[str, str]:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
        return {"PK": member_key, "SK": f"IDEMPOTENCY#{digest}"}

    def to_item(self, member_key: str, idempotency_key: str) -> dict[str, Any]:
        return {**self.key(member_key, idempotency_key), "entityType": "IDEMPOTENCY_MARKER", **self.to_map()}


def _transaction(write: ClaimWrite, recent: RecentProviders | None) -> list[dict[str, Any]]:
    table = get_settings().claims_table
    claim = write.claim
    marker = IdempotencyMarker(
        claim_id=claim.claim_id,
        payload_hash=write.payload_hash,
        submitted_at=claim.submitted_at,
        total_claimed=claim.total_claimed,
        expires_at=clock.epoch() + MARKER_TTL_SECONDS,
    )
    items: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table,
                "Item": to_item(claim.to_item()),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        },
        {
            "Put": {
                "TableName": table,
                "Item": to_item(marker.to_item(claim.member_key, write.idempotency_key)),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        },
    ]
    for receipt_id in claim.receipt_ids:
        attach = ReceiptRecord.attach_update(
            receipt_id, claim.member_key, claim.claim_id, claim.submitted_at, claim.receipt_versions.get(receipt_id)
        )
        items.append({"Update": {"TableName": table, **attach}})
    if claim.provider_id and recent is not None:
        updated = recent.used(claim.provider_id, claim.submitted_at)
        condition, values = updated.put_condition()
        put: dict[str, Any] = {"TableName": table, "Item": to_item(updated.to_item()), "ConditionExpression": condition}
        if values:
            put["ExpressionAttributeValues"] = to_item(values)
        items.append({"Put": put})
    return items


def _replay(write: ClaimWrite) -> ClaimCreated:
    """The claim an earlier request with the same key made, or ``409`` if its body differed."""
    key = IdempotencyMarker.key(write.claim.member_key, write.idempotency_key)
    item = get_item(get_settings().claims_table, key, consistent=True)
    if item is None:  # the condition failed on something else; let the caller retry
        raise Conflict("CLAIM_WRITE_CONFLICT")
    marker = IdempotencyMarker.model_validate(item)
    if marker.payload_hash != write.payload_hash:
        raise Conflict("IDEMPOTENCY_KEY_REUSED")
    return _created(marker.claim_id, marker.submitted_at, marker.total_claimed)


def _created(claim_id: str, submitted_at: str, total_claimed: Decimal) -> ClaimCreated:
    return ClaimCreated(
        claim_id=claim_id, status="SUBMITTED", submitted_at=submitted_at, total_claimed=money_to_str(total_claimed)
    )


def write_claim(write: ClaimWrite) -> ClaimCreated:
    """Run the transaction (retrying only a lost race on recent providers); the ``201`` body."""
    claim = write.claim
    table = get_settings().claims_table
    dynamodb = client("dynamodb")
    receipt_offset = 2
    for _attempt in range(_ATTEMPTS):
        recent = None
        if claim.provider_id:
            key = RecentProviders.key(claim.member_key, claim.claim_type)
            item = get_item(table, key, consistent=True)
            recent = RecentProviders.from_item(item, claim.member_key, claim.claim_type)
        try:
            dynamodb.transact_write_items(TransactItems=_transaction(write, recent))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = cancellation_reasons(error)
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                return _replay(write)
            receipt_failures = [
                FieldError(f"receiptIds[{i}]", "RECEIPT_ALREADY_USED")
                for i, reason in enumerate(reasons[receipt_offset : receipt_offset + len(claim.receipt_ids)])
                if reason == "ConditionalCheckFailed"
            ]
            if receipt_failures:
                raise ValidationFailed(errors=receipt_failures) from None
            if "TransactionConflict" in reasons or reasons[-1:] == ["ConditionalCheckFailed"]:
                time.sleep(0.02 * (2**_attempt))
                continue  # a concurrent claim updated recent providers: read again and retry
            raise
        metrics.count("claims", "ClaimsSubmitted")
        return _created(claim.claim_id, claim.submitted_at, claim.total_claimed)
    raise Conflict("CLAIM_WRITE_CONFLICT")


# ---------------------------------------------------------------- history

# The LastEvaluatedKey of each list query (names and types: every key attribute is a string).
CLAIM_KEY_SCHEMA: KeySchema = {"PK": str, "SK": str}
STATUS_KEY_SCHEMA: KeySchema = {"PK": str, "SK": str, "GSI1PK": str, "GSI1SK": str}


def list_claims(
    member_key: str, *, status: str | None, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[ClaimRecord], dict[str, Any] | None]:
    """One page of the member's claims, newest first (one ``Query`` with ``Limit``)."""
    table = get_settings().claims_table
    if status:
        items, last = query(
            table,
            index="GSI1",
            key_condition="GSI1PK = :pk",
            values={":pk": status_index_pk(member_key, status)},
            forward=False,
            limit=limit,
            start_key=start_key,
        )
    else:
        items, last = query(
            table,
            key_condition="PK = :pk AND begins_with(SK, :claim)",
            values={":pk": member_key, ":claim": ClaimRecord.sk_prefix},
            forward=False,
            limit=limit,
            start_key=start_key,
        )
    return [ClaimRecord.from_item(item) for item in items], last


def get_claim(member_key: str, claim_id: str) -> ClaimRecord | None:
    """The member's claim by id (``None`` when absent: another member's claim is in another partition)."""
    item = get_item(get_settings().claims_table, ClaimRecord.key(member_key, claim_id), consistent=True)
    return ClaimRecord.from_item(item) if item is not None else None


# ---------------------------------------------------------------- answers to information requests


@dataclass(frozen=True)
class AnswerWrite:
    """What an answer to a claim's information requests writes: the claim as read, the claim
    answered (``ClaimRecord.answered``), the new documents, and the request's idempotency key."""

    claim: ClaimRecord
    answered: ClaimRecord
    new_receipt_ids: list[str]
    idempotency_key: str
    payload_hash: str


def _answer_transaction(write: AnswerWrite) -> list[dict[str, Any]]:
    table = get_settings().claims_table
    answered = write.answered
    at = answered.updated_at or clock.now_iso()
    marker = IdempotencyMarker(
        claim_id=answered.claim_id,
        payload_hash=write.payload_hash,
        submitted_at=at,
        total_claimed=answered.total_claimed,
        expires_at=clock.epoch() + MARKER_TTL_SECONDS,
    )
    items: list[dict[str, Any]] = [
        {"Update": {"TableName": table, **write.claim.answer_update(answered)}},
        {
            "Put": {
                "TableName": table,
                "Item": to_item(marker.to_item(answered.member_key, write.idempotency_key)),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        },
    ]
    for receipt_id in write.new_receipt_ids:
        attach = ReceiptRecord.attach_update(
            receipt_id, answered.member_key, answered.claim_id, at, answered.receipt_versions.get(receipt_id)
        )
        items.append({"Update": {"TableName": table, **attach}})
    return items


def write_answer(write: AnswerWrite) -> None:
    """One ``TransactWriteItems``: the claim back to ``SUBMITTED`` only if it is still
    ``PENDING_INFORMATION`` at the version read (two answers racing: one wins, the other gets
    ``409 CLAIM_NOT_PENDING``), the idempotency marker, and each new receipt attached on the same
    conditions as at submission. All or nothing: a refused receipt leaves the claim untouched.

    The claim item's MODIFY on the table's stream publishes ``ClaimSubmitted`` again (the outbox),
    so the processor takes the claim up as it does a new one."""
    try:
        client("dynamodb").transact_write_items(TransactItems=_answer_transaction(write))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        reasons = cancellation_reasons(error)
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            marker = get_item(
                get_settings().claims_table,
                IdempotencyMarker.key(write.claim.member_key, write.idempotency_key),
                consistent=True,
            )
            same = marker is not None and marker.get("claimId") == write.claim.claim_id
            if same and marker is not None and marker.get("payloadHash") == write.payload_hash:
                return  # this very answer was already written (a retry)
            raise Conflict("IDEMPOTENCY_KEY_REUSED") from None
        if reasons[:1] == ["ConditionalCheckFailed"] or "TransactionConflict" in reasons:
            raise Conflict("CLAIM_NOT_PENDING") from None  # another answer won (or is winning)
        receipt_failures = [
            FieldError(f"receiptIds[{i}]", "RECEIPT_ALREADY_USED")
            for i, reason in enumerate(reasons[2:])
            if reason == "ConditionalCheckFailed"
        ]
        if receipt_failures:
            raise ValidationFailed(errors=receipt_failures) from None
        raise
