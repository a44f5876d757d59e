"""The stored receipt, shared by intake (which writes and checks it) and processing (which reads it).

``PK=RECEIPT#<receiptId>``, ``SK=RECEIPT`` in the claims table; its file is the S3 object
``receipts/<receiptId>`` **at the version the check saw** (``checkedVersionId``; the bucket is
versioned): a verdict is final, so posting the upload form again never changes what the receipt, or
a claim naming it, refers to. :class:`ReceiptRecord` owns the item's layout (``to_item`` /
``from_item``) and builds the two conditional updates that change it, so no other module reads or
writes a receipt by attribute name. Standard library only: the S3-triggered receipt check loads no
model library (see ``docs/claims.md``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from portal_common.dynamo import to_item
from portal_common.sweep import after
from portal_common.sweep import shard as sweep_shard

PENDING_UPLOAD = "PENDING_UPLOAD"
# A receipt's file is the object ``receipts/<receiptId>`` of the documents bucket.
RECEIPT_KEY_PREFIX = "receipts/"
UPLOADED = "UPLOADED"
REJECTED = "REJECTED"

# Seconds after its creation when a receipt still PENDING_UPLOAD is looked at by the sweeper (the
# upload form is valid 5 minutes; S3 notifies in seconds; Lambda's two retries end within minutes).
RECEIPT_SWEEP_AFTER = 600

_WHOLE_NUMBERS = frozenset({"size_bytes", "expires_at", "actual_size_bytes"})


@dataclass(frozen=True)
class ReceiptRecord:
    """A receipt item."""

    entity_type: ClassVar[str] = "RECEIPT"

    receipt_id: str
    member_key: str
    status: str
    file_name: str
    content_type: str
    size_bytes: int
    created_at: str
    expires_at: int | None = None
    claim_id: str | None = None
    attached_at: str | None = None
    checked_etag: str | None = None
    checked_version_id: str | None = None
    checked_at: str | None = None
    actual_size_bytes: int | None = None
    rejection_reason: str | None = None

    @staticmethod
    def key(receipt_id: str) -> dict[str, str]:
        """Key of a receipt item."""
        return {"PK": f"RECEIPT#{receipt_id}", "SK": "RECEIPT"}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ReceiptRecord:
        """The receipt of a stored item (DynamoDB numbers arrive as ``Decimal``)."""
        values: dict[str, Any] = {}
        for name, attribute in _ATTRIBUTES.items():
            value = item.get(attribute)
            if value is not None:
                values[name] = int(value) if name in _WHOLE_NUMBERS else str(value)
        return cls(**values)

    def to_item(self) -> dict[str, Any]:
        """The stored item (absent attributes left out); a ``PENDING_UPLOAD`` receipt is in the sweep
        index (``sweepShard``/``sweepAt``) until its verdict: the sweeper finds a file that was
        uploaded but never checked."""
        stored = {_ATTRIBUTES[name]: value for name, value in asdict(self).items() if value is not None}
        sweep: dict[str, str] = {}
        if self.status == PENDING_UPLOAD:
            sweep = {"sweepShard": sweep_shard(self.receipt_id), "sweepAt": after(self.created_at, RECEIPT_SWEEP_AFTER)}
        return {**self.key(self.receipt_id), "entityType": self.entity_type, **stored, **sweep}

    @classmethod
    def attach_update(
        cls, receipt_id: str, member_key: str, claim_id: str, at: str, version_id: str | None
    ) -> dict[str, Any]:
        """An ``Update`` (without ``TableName``) attaching the receipt to a claim, on condition that
        it is the member's, ``UPLOADED`` at the checked version the claim records (``version_id``),
        and not attached yet (it then never expires)."""
        condition = "memberKey = :member AND #status = :uploaded AND attribute_not_exists(claimId)"
        values: dict[str, Any] = {":claim": claim_id, ":at": at, ":member": member_key, ":uploaded": UPLOADED}
        if version_id is None:
            condition += " AND attribute_not_exists(checkedVersionId)"
        else:
            condition += " AND checkedVersionId = :version"
            values[":version"] = version_id
        return {
            "Key": to_item(cls.key(receipt_id)),
            "UpdateExpression": "SET claimId = :claim, attachedAt = :at REMOVE expiresAt",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_item(values),
        }

    @classmethod
    def verdict_update(
        cls,
        receipt_id: str,
        *,
        status: str,
        etag: str,
        version_id: str | None,
        at: str,
        size: int,
        reason: str | None = None,
        expires_at: int | None = None,
    ) -> dict[str, Any]:
        """An ``UpdateItem`` (without ``TableName``) recording the verdict on one object version, on
        condition that the receipt is still ``PENDING_UPLOAD`` (a verdict is final: the first
        version checked decides; a rejection sets ``reason`` and ``expires_at``; an acceptance
        removes both and records ``version_id``, the exact bytes that passed)."""
        values: dict[str, Any] = {
            ":status": status,
            ":etag": etag,
            ":at": at,
            ":size": size,
            ":pending": PENDING_UPLOAD,
        }
        update = "SET #status = :status, checkedEtag = :etag, checkedAt = :at, actualSizeBytes = :size"
        if version_id is not None:
            update += ", checkedVersionId = :version"
            values[":version"] = version_id
        if status == REJECTED:
            update += ", rejectionReason = :reason, expiresAt = :exp"
            values[":reason"] = reason
            values[":exp"] = expires_at
        else:
            update += " REMOVE rejectionReason, expiresAt"
        update += ", sweepShard, sweepAt" if status != REJECTED else " REMOVE sweepShard, sweepAt"
        return {
            "Key": to_item(cls.key(receipt_id)),
            "UpdateExpression": update,
            "ConditionExpression": "#status = :pending AND attribute_not_exists(claimId)",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_item(values),
        }

    @classmethod
    def sweep_update(cls, receipt_id: str, sweep_at: str | None) -> dict[str, Any]:
        """An ``UpdateItem`` (without ``TableName``) moving a receipt that is still ``PENDING_UPLOAD``
        in the sweep index (``sweep_at``), or out of it (``None``: abandoned, never uploaded)."""
        values: dict[str, Any] = {":pending": PENDING_UPLOAD}
        update = "REMOVE sweepShard, sweepAt"
        if sweep_at is not None:
            update = "SET sweepShard = :shard, sweepAt = :at"
            values.update({":shard": sweep_shard(receipt_id), ":at": sweep_at})
        return {
            "Key": to_item(cls.key(receipt_id)),
            "UpdateExpression": update,
            "ConditionExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_item(values),
        }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# Python field -> stored attribute: camelCase, as for every stored map (``claim_records.StoredModel``).
_ATTRIBUTES = {field.name: _camel(field.name) for field in fields(ReceiptRecord)}
