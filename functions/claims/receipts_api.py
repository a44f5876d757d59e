"""``/receipts``: start a receipt upload (presigned POST) and follow its check."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from claims_models import ReceiptCreated, ReceiptOut, ReceiptRequest
from receipt_service import receipt_status, start_upload

from portal_common.api import answer, problems, respond
from portal_common.identity import caller_from_event

router = Router()


@router.post(
    "/receipts",
    summary="Start a receipt upload (S3 presigned POST)",
    tags=["Receipts"],
    responses=answer(ReceiptCreated, 201, "Upload form"),
)
def post_receipt(body: ReceiptRequest) -> Response[str]:
    """A presigned POST whose policy enforces the exact key, the declared type and size (≤ 10 MiB)."""
    who = caller_from_event(router.current_event.raw_event)
    return respond(start_upload(who.member_key, body.file_name, body.content_type, body.size_bytes), 201)


@router.get(
    "/receipts/<receiptId>",
    summary="A receipt's status",
    tags=["Receipts"],
    responses={**answer(ReceiptOut), **problems(404)},
)
def get_receipt_status(receiptId: str) -> ReceiptOut:
    """``PENDING_UPLOAD`` until the uploaded object is checked, then ``UPLOADED`` or ``REJECTED``."""
    return receipt_status(caller_from_event(router.current_event.raw_event).member_key, receiptId)
