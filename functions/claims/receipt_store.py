"""Receipts: presigned uploads, metadata in the claims table, and the check of uploaded objects.

A receipt is one item :class:`~portal_common.receipt_records.ReceiptRecord` (found by id with one
``GetItem``; ``memberKey`` says whose it is, so someone else's receipt is ``404``) and one S3 object
version of ``receipts/<receiptId>``. Statuses: ``PENDING_UPLOAD`` -> ``UPLOADED`` | ``REJECTED`` (set
once, by :func:`check_uploaded_object` from the S3 event, with the ``VersionId`` it judged). A claim
attaches an ``UPLOADED`` receipt in its transaction (``claimId`` set under a condition) and records
its checked version, so a receipt backs at most one claim, with exactly the bytes that passed.
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


def _purge_versions(bucket: str, key: str, keep: str | None) -> int:
    """Delete every version (and delete marker) of ``key`` but ``keep``, for good; how many went.

    The bucket is versioned, so a plain ``DeleteObject`` would only hide the bytes behind a delete
    marker: this names each version. Listing is bounded by the posts of one form (5 minutes).
    """
    s3 = client("s3")
    doomed: list[dict[str, str]] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            if entry.get("Key") == key and entry.get("VersionId") != keep:
                doomed.append({"Key": key, "VersionId": str(entry["VersionId"])})
    for start in range(0, len(doomed), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + 1000], "Quiet": True})
    return len(doomed)


def _kept_version(receipt: ReceiptRecord) -> str | None:
    # What survives once a verdict is given: the checked version of an accepted receipt, nothing of
    # a rejected one.
    return receipt.checked_version_id if receipt.status == UPLOADED else None


def check_uploaded_object(bucket: str, key: str) -> str:
    """Check the object at ``key`` and record the verdict on its receipt; returns what happened.

    **A verdict is final and names the exact bytes.** While the receipt is ``PENDING_UPLOAD``, the
    current version of the object is judged (its first bytes read *at that version*) and the verdict
    is recorded under the condition that the receipt is still pending, with the ``VersionId`` that
    passed; then every other version of the key is deleted (all of them after a rejection). Once a
    verdict is given, any later post of the same form (the presigned POST stays valid 5 minutes) is
    deleted when its event arrives, and the receipt keeps its verdict and version: what a claim
    refers to never changes. S3 delivers at least once and in any order: a repeated or late event
    only finds versions to delete. Objects with no receipt are deleted, every version.
    """
    settings = get_settings()
    s3 = client("s3")
    receipt_id = key[len(KEY_PREFIX) :] if key.startswith(KEY_PREFIX) else ""
    if not RECEIPT_ID.match(receipt_id):
        _purge_versions(bucket, key, keep=None)
        return "deleted-unknown-key"
    receipt = _read(receipt_id)
    if receipt is None:
        # Nobody asked for this upload (or the receipt expired): nothing may keep it.
        _purge_versions(bucket, key, keep=None)
        return "deleted-orphan"
    if receipt.status != PENDING_UPLOAD:
        removed = _purge_versions(bucket, key, keep=_kept_version(receipt))
        return "discarded-after-verdict" if removed else "skipped-already-checked"
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return "skipped-missing"
        raise
    version = head.get("VersionId")
    pinned = {"VersionId": version} if version else {}
    etag = str(head.get("ETag", "")).strip('"')
    size = int(head.get("ContentLength", 0))
    first = b""
    if 0 < size <= MAX_RECEIPT_BYTES:
        first = s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-31", **pinned)["Body"].read()
    verdict = judge(receipt.content_type, receipt.size_bytes, size, first)
    rejected = verdict.status == REJECTED
    update = ReceiptRecord.verdict_update(
        receipt_id,
        status=verdict.status,
        etag=etag,
        version_id=version,
        at=clock.now_iso(),
        size=size,
        reason=verdict.reason,
        expires_at=clock.epoch() + REJECTED_TTL_SECONDS if rejected else None,
    )
    try:
        client("dynamodb").update_item(TableName=settings.claims_table, **update)
    except Exception as error:
        if not is_conditional_failure(error):
            raise
        # Another delivery gave the verdict first: keep what it kept.
        settled = _read(receipt_id)
        _purge_versions(bucket, key, keep=_kept_version(settled) if settled else None)
        return "skipped-already-checked"
    _purge_versions(bucket, key, keep=None if rejected else version)
    return f"{verdict.status.lower()}:{verdict.reason or 'OK'}"
