"""Claims in DynamoDB: the submission transaction and the history queries.

Submission is one ``TransactWriteItems`` (all or nothing):

1. the claim (``PK=MEMBER#…``, ``SK=CLAIM#<claimId>``, status index ``GSI1``), if absent;
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
from typing import Any

from botocore.exceptions import ClientError
from receipt_store import UPLOADED, receipt_key

from portal_common import clock
from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.directory_keys import push_recent, recent_providers_key
from portal_common.dynamo import cancellation_reasons, get_item, query, to_item
from portal_common.problems import Conflict, FieldError, ValidationFailed

MARKER_TTL_SECONDS = 30 * 24 * 3600
_ATTEMPTS = 4


@dataclass(frozen=True)
class ClaimWrite:
    """What the submission transaction writes."""

    claim: dict[str, Any]
    member_key: str
    idempotency_key: str
    payload_hash: str
    receipt_ids: list[str]
    provider_id: str | None


def marker_key(member_key: str, idempotency_key: str) -> dict[str, str]:
    """Key of the idempotency marker of a member's key (the key itself is not stored)."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return {"PK": member_key, "SK": f"IDEMPOTENCY#{digest}"}


def _transaction(write: ClaimWrite, recent: dict[str, Any] | None) -> list[dict[str, Any]]:
    table = get_settings().claims_table
    claim = write.claim
    items: list[dict[str, Any]] = [
        {"Put": {"TableName": table, "Item": to_item(claim), "ConditionExpression": "attribute_not_exists(PK)"}},
        {
            "Put": {
                "TableName": table,
                "Item": to_item(
                    {
                        **marker_key(write.member_key, write.idempotency_key),
                        "entityType": "IDEMPOTENCY_MARKER",
                        "claimId": claim["claimId"],
                        "payloadHash": write.payload_hash,
                        "submittedAt": claim["submittedAt"],
                        "totalClaimed": claim["totalClaimed"],
                        "expiresAt": clock.epoch() + MARKER_TTL_SECONDS,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        },
    ]
    for receipt_id in write.receipt_ids:
        items.append(
            {
                "Update": {
                    "TableName": table,
                    "Key": to_item(receipt_key(receipt_id)),
                    "UpdateExpression": "SET claimId = :claim, attachedAt = :at REMOVE expiresAt",
                    "ConditionExpression": (
                        "memberKey = :member AND #status = :uploaded AND attribute_not_exists(claimId)"
                    ),
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": to_item(
                        {
                            ":claim": claim["claimId"],
                            ":at": claim["submittedAt"],
                            ":member": write.member_key,
                            ":uploaded": UPLOADED,
                        }
                    ),
                }
            }
        )
    if write.provider_id:
        key = recent_providers_key(write.member_key, claim["claimType"])
        current = recent or {}
        version = int(current.get("version", 0))
        new_item = {
            **key,
            "entityType": "RECENT_PROVIDERS",
            "claimType": claim["claimType"],
            "providers": push_recent(list(current.get("providers", [])), write.provider_id, claim["submittedAt"]),
            "version": version + 1,
        }
        condition = "attribute_not_exists(PK)" if not current else "version = :v"
        put: dict[str, Any] = {"TableName": table, "Item": to_item(new_item), "ConditionExpression": condition}
        if current:
            put["ExpressionAttributeValues"] = to_item({":v": version})
        items.append({"Put": put})
    return items


def _replay(write: ClaimWrite) -> dict[str, Any]:
    """The claim an earlier request with the same key made, or ``409`` if its body differed."""
    marker = get_item(get_settings().claims_table, marker_key(write.member_key, write.idempotency_key), consistent=True)
    if marker is None:  # the condition failed on something else; let the caller retry
        raise Conflict("CLAIM_WRITE_CONFLICT")
    if marker.get("payloadHash") != write.payload_hash:
        raise Conflict("IDEMPOTENCY_KEY_REUSED")
    return {"claimId": marker["claimId"], "submittedAt": marker["submittedAt"], "totalClaimed": marker["totalClaimed"]}


def write_claim(write: ClaimWrite) -> dict[str, Any]:
    """Run the transaction (retrying only a lost race on recent providers)."""
    table = get_settings().claims_table
    dynamodb = client("dynamodb")
    receipt_offset = 2
    for _attempt in range(_ATTEMPTS):
        recent = None
        if write.provider_id:
            recent = get_item(table, recent_providers_key(write.member_key, write.claim["claimType"]), consistent=True)
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
                for i, reason in enumerate(reasons[receipt_offset : receipt_offset + len(write.receipt_ids)])
                if reason == "ConditionalCheckFailed"
            ]
            if receipt_failures:
                raise ValidationFailed(errors=receipt_failures) from None
            if "TransactionConflict" in reasons or reasons[-1:] == ["ConditionalCheckFailed"]:
                time.sleep(0.02 * (2**_attempt))
                continue  # a concurrent claim updated recent providers: read again and retry
            raise
        return {
            "claimId": write.claim["claimId"],
            "submittedAt": write.claim["submittedAt"],
            "totalClaimed": write.claim["totalClaimed"],
        }
    raise Conflict("CLAIM_WRITE_CONFLICT")


# ---------------------------------------------------------------- history

CLAIM_KEY_NAMES = frozenset({"PK", "SK"})
STATUS_KEY_NAMES = frozenset({"PK", "SK", "GSI1PK", "GSI1SK"})


def list_claims(
    member_key: str, *, status: str | None, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of the member's claims, newest first (one ``Query`` with ``Limit``)."""
    table = get_settings().claims_table
    if status:
        return query(
            table,
            index="GSI1",
            key_condition="GSI1PK = :pk",
            values={":pk": f"{member_key}#STATUS#{status}"},
            forward=False,
            limit=limit,
            start_key=start_key,
        )
    return query(
        table,
        key_condition="PK = :pk AND begins_with(SK, :claim)",
        values={":pk": member_key, ":claim": "CLAIM#"},
        forward=False,
        limit=limit,
        start_key=start_key,
    )


def get_claim(member_key: str, claim_id: str) -> dict[str, Any] | None:
    """The member's claim by id (``None`` when absent: another member's claim is in another partition)."""
    return get_item(get_settings().claims_table, {"PK": member_key, "SK": f"CLAIM#{claim_id}"}, consistent=True)
