"""Receipts: presigned uploads, metadata in the claims table, and the check of uploaded objects.

A receipt is one item :class:`~portal_common.receipt_records.ReceiptRecord` (found by id with one
``GetItem``; ``memberKey`` says whose it is, so someone else's receipt is ``404``) and one S3 object
``receipts/<receiptId>``. Statuses: ``PENDING_UPLOAD`` -> ``UPLOADED`` | ``REJECTED`` (set by
:func:`check_uploaded_object` from the S3 event). A claim attaches an ``UPLOADED`` receipt in its
transaction (``claimId`` set under a condition), so a receipt backs at most one claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from portal_common import clock
from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.dynamo import batch_get, get_item, is_conditional_failure, to_item
from portal_common.ids import sortable_id
from portal_common.problems import NotFound
from portal_common.receipt_records import PENDING_UPLOAD, REJECTED, UPLOADED, ReceiptRecord

MAX_RECEIPT_BYTES = 10 * 1024 * 1024
UPLOAD_EXPIRES_SECONDS = 300
PENDING_TTL_SECONDS = 7 * 24 * 3600
REJECTED_TTL_SECONDS = 30 * 24 * 3600
ALLOWED_CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/heic")
RECEIPT_ID = re.compile(r"^r[0-9A-HJKMNP-TV-Z]{26}$")
KEY_PREFIX = "receipts/"

# ISO BMFF brands of HEIF/HEIC still images and sequences.
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}


def object_key(receipt_id: str) -> str:
    """S3 key of a receipt's file."""
    return f"{KEY_PREFIX}{receipt_id}"


@dataclass(frozen=True)
class UploadForm:
    """A presigned POST: where the app posts the file, and the form fields it must send."""

    url: str
    fields: dict[str, Any]


def create_receipt(
    member_key: str, file_name: str, content_type: str, size_bytes: int
) -> tuple[ReceiptRecord, UploadForm]:
    """Write a ``PENDING_UPLOAD`` receipt and presign the POST of its file."""
    settings = get_settings()
    receipt = ReceiptRecord(
        receipt_id=sortable_id("r"),
        member_key=member_key,
        status=PENDING_UPLOAD,
        file_name=file_name,
        content_type=content_type,
        size_bytes=size_bytes,
        created_at=clock.now_iso(),
        expires_at=clock.epoch() + PENDING_TTL_SECONDS,
    )
    client("dynamodb").put_item(
        TableName=settings.claims_table, Item=to_item(receipt.to_item()), ConditionExpression="attribute_not_exists(PK)"
    )
    post = client("s3").generate_presigned_post(
        Bucket=settings.documents_bucket,
        Key=object_key(receipt.receipt_id),
        Fields={"Content-Type": content_type},
        # boto3 adds the bucket and exact-key conditions itself; the size must be the declared one
        # (which is at most 10 MiB), and the type the declared one.
        Conditions=[{"Content-Type": content_type}, ["content-length-range", size_bytes, size_bytes]],
        ExpiresIn=UPLOAD_EXPIRES_SECONDS,
    )
    return receipt, UploadForm(url=post["url"], fields=post["fields"])


def _read(receipt_id: str) -> ReceiptRecord | None:
    item = get_item(get_settings().claims_table, ReceiptRecord.key(receipt_id), consistent=True)
    return ReceiptRecord.from_item(item) if item else None


def get_receipt(member_key: str, receipt_id: str) -> ReceiptRecord:
    """The caller's receipt, or ``404`` (unknown, malformed, or someone else's)."""
    if not RECEIPT_ID.match(receipt_id):
        raise NotFound("RECEIPT_NOT_FOUND")
    receipt = _read(receipt_id)
    if receipt is None or receipt.member_key != member_key:
        raise NotFound("RECEIPT_NOT_FOUND")
    return receipt


def get_receipts(receipt_ids: list[str]) -> dict[str, ReceiptRecord]:
    """The receipts of well-formed ids among ``receipt_ids``, by id (one ``BatchGetItem``)."""
    valid = [rid for rid in dict.fromkeys(receipt_ids) if RECEIPT_ID.match(rid)]
    if not valid:
        return {}
    items = batch_get(get_settings().claims_table, [ReceiptRecord.key(rid) for rid in valid])
    receipts = [ReceiptRecord.from_item(item) for item in items]
    return {receipt.receipt_id: receipt for receipt in receipts}


# ---------------------------------------------------------------- checking uploaded objects


def detect_type(head: bytes) -> str | None:
    """The content type that a file's first bytes prove, among the allowed ones."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS:
        return "image/heic"
    return None


@dataclass(frozen=True)
class Verdict:
    """Outcome of checking one object."""

    status: str
    reason: str | None = None


def judge(declared_type: str, declared_size: int, actual_size: int, head: bytes) -> Verdict:
    """Whether an uploaded object is the receipt that was declared (pure)."""
    if actual_size <= 0:
        return Verdict(REJECTED, "EMPTY_FILE")
    if actual_size > MAX_RECEIPT_BYTES:
        return Verdict(REJECTED, "TOO_LARGE")
    if actual_size != declared_size:
        return Verdict(REJECTED, "SIZE_MISMATCH")
    detected = detect_type(head)
    if detected is None:
        return Verdict(REJECTED, "UNRECOGNIZED_CONTENT")
    if detected != declared_type:
        return Verdict(REJECTED, "TYPE_MISMATCH")
    return Verdict(UPLOADED)


def check_uploaded_object(bucket: str, key: str) -> str:
    """Check the object at ``key`` and record the verdict on its receipt; returns what happened.

    Idempotent: S3 may deliver an event twice or out of order, so the *current* object is checked
    and its ETag recorded; an ETag already judged is skipped, and a receipt already attached to a
    claim is never changed.
    """
    settings = get_settings()
    s3 = client("s3")
    receipt_id = key[len(KEY_PREFIX) :] if key.startswith(KEY_PREFIX) else ""
    if not RECEIPT_ID.match(receipt_id):
        s3.delete_object(Bucket=bucket, Key=key)
        return "deleted-unknown-key"
    receipt = _read(receipt_id)
    if receipt is None:
        # Nobody asked for this upload (or the receipt expired): nothing may keep it.
        s3.delete_object(Bucket=bucket, Key=key)
        return "deleted-orphan"
    if receipt.claim_id:
        return "skipped-attached"
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return "skipped-missing"
        raise
    etag = str(head.get("ETag", "")).strip('"')
    if receipt.checked_etag == etag and receipt.status in (UPLOADED, REJECTED):
        return "skipped-already-checked"
    size = int(head.get("ContentLength", 0))
    first = b""
    if 0 < size <= MAX_RECEIPT_BYTES:
        first = s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-31")["Body"].read()
    verdict = judge(receipt.content_type, receipt.size_bytes, size, first)
    rejected = verdict.status == REJECTED
    update = ReceiptRecord.verdict_update(
        receipt_id,
        status=verdict.status,
        etag=etag,
        at=clock.now_iso(),
        size=size,
        reason=verdict.reason,
        expires_at=clock.epoch() + REJECTED_TTL_SECONDS if rejected else None,
    )
    try:
        client("dynamodb").update_item(TableName=settings.claims_table, **update)
    except Exception as error:
        if is_conditional_failure(error):
            return "skipped-attached"
        raise
    if rejected:
        s3.delete_object(Bucket=bucket, Key=key)
    return f"{verdict.status.lower()}:{verdict.reason or 'OK'}"
