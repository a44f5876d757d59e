"""Receipts as the API answers them: start an upload, and a receipt's status (output models).

The storage, the presigned POST and the check of uploaded objects are ``receipt_store``'s (which the
S3-triggered ``receipt_check`` uses without the API's models).
"""

from __future__ import annotations

import receipt_store
from claims_models import ReceiptCreated, ReceiptOut, UploadForm

from portal_common.receipt_records import ReceiptRecord


def start_upload(member_key: str, file_name: str, content_type: str, size_bytes: int) -> ReceiptCreated:
    """A new ``PENDING_UPLOAD`` receipt and the presigned POST the app sends its file with."""
    receipt, form = receipt_store.create_receipt(member_key, file_name, content_type, size_bytes)
    return ReceiptCreated(
        receipt_id=receipt.receipt_id,
        upload=UploadForm(url=form.url, fields=form.fields),
        expires_in=receipt_store.UPLOAD_EXPIRES_SECONDS,
    )


def receipt_status(member_key: str, receipt_id: str) -> ReceiptOut:
    """The caller's receipt (``404`` when unknown or someone else's)."""
    return receipt_view(receipt_store.get_receipt(member_key, receipt_id))


def receipt_view(receipt: ReceiptRecord) -> ReceiptOut:
    """The contract's receipt body."""
    return ReceiptOut(
        receipt_id=receipt.receipt_id,
        status=receipt.status,  # type: ignore[arg-type]  # validated: one of the receipt statuses
        file_name=receipt.file_name,
        content_type=receipt.content_type,
        size_bytes=receipt.size_bytes,
        rejection_reason=receipt.rejection_reason or None,
        claim_id=receipt.claim_id or None,
    )
