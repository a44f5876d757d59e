"""A receipt cannot change once checked: the verdict names the exact S3 object version that passed,
later posts of the same upload form are deleted, and a claim (and the processor) refer to that
version only. As an attacker holding a member's token would try it: post the form again, with an
executable's bytes of the same size, before and after the claim (moto, tables from the template)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.claims_support import (
    MARIE,
    PDF,
    FakeContext,
    claims_call,
    person_id,
    physio_claim,
    s3_event,
    seed_directory,
    submit,
    uploaded_receipt,
)

# An executable's bytes (a PE header), padded to the PDF's size so the form's size condition holds.
EXE = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * len(PDF))[: len(PDF)]


@pytest.fixture
def world(seeded: Any) -> Any:
    seed_directory()
    return seeded


def _bucket() -> str:
    from portal_common.config import get_settings

    return get_settings().documents_bucket


def _post_again(receipt_id: str, content: bytes) -> str:
    """What S3 does when the form is posted again: a new current version, then the event."""
    import receipt_check

    from portal_common.aws_clients import client

    key = f"receipts/{receipt_id}"
    client("s3").put_object(Bucket=_bucket(), Key=key, Body=content, ContentType="application/pdf")
    outcome: str = receipt_check.lambda_handler(s3_event(_bucket(), key), FakeContext())["outcomes"][0]
    return outcome


def _versions(receipt_id: str) -> list[str]:
    from portal_common.aws_clients import client

    listed = client("s3").list_object_versions(Bucket=_bucket(), Prefix=f"receipts/{receipt_id}")
    return [v["VersionId"] for v in listed.get("Versions", [])] + [
        m["VersionId"] for m in listed.get("DeleteMarkers", [])
    ]


def _current_bytes(receipt_id: str) -> bytes:
    from portal_common.aws_clients import client

    body: bytes = client("s3").get_object(Bucket=_bucket(), Key=f"receipts/{receipt_id}")["Body"].read()
    return body


def _stored_receipt(receipt_id: str) -> Any:
    from portal_common.config import get_settings
    from portal_common.dynamo import get_item
    from portal_common.receipt_records import ReceiptRecord

    item = get_item(get_settings().claims_table, ReceiptRecord.key(receipt_id), consistent=True)
    assert item is not None
    return ReceiptRecord.from_item(item)


def _stored_claim(claim_id: str) -> Any:
    from portal_common.claim_records import ClaimRecord
    from portal_common.config import get_settings
    from portal_common.dynamo import get_item

    item = get_item(get_settings().claims_table, ClaimRecord.key("MEMBER#G1001#100001", claim_id), consistent=True)
    assert item is not None
    return ClaimRecord.from_item(item)


def test_the_check_records_the_version_it_judged_and_the_claim_carries_it(world: Any) -> None:
    receipt_id, status = uploaded_receipt()
    assert status == "UPLOADED"
    receipt = _stored_receipt(receipt_id)
    assert receipt.checked_version_id
    assert _versions(receipt_id) == [receipt.checked_version_id]
    status, created, _ = submit(physio_claim(person_id(MARIE, "Marie"), receiptIds=[receipt_id]))
    assert status == 201, created
    assert _stored_claim(created["claimId"]).receipt_versions == {receipt_id: receipt.checked_version_id}


def test_posting_the_form_again_after_the_claim_changes_nothing(world: Any) -> None:
    receipt_id, _ = uploaded_receipt()
    checked = _stored_receipt(receipt_id).checked_version_id
    _, created, _ = submit(physio_claim(person_id(MARIE, "Marie"), receiptIds=[receipt_id]))
    assert _post_again(receipt_id, EXE) == "discarded-after-verdict"
    after = _stored_receipt(receipt_id)
    assert (after.status, after.checked_version_id, after.claim_id) == ("UPLOADED", checked, created["claimId"])
    assert _versions(receipt_id) == [checked]  # the executable is gone for good, not hidden
    assert _current_bytes(receipt_id) == PDF
    _, body, _ = claims_call("GET", f"/receipts/{receipt_id}")
    assert (body["status"], body["claimId"]) == ("UPLOADED", created["claimId"])
    _, detail, _ = claims_call("GET", f"/claims/{created['claimId']}")
    assert detail["receiptIds"] == [receipt_id]
    # A repeated delivery of the same event finds nothing left to do.
    import receipt_check

    again = receipt_check.lambda_handler(s3_event(_bucket(), f"receipts/{receipt_id}"), FakeContext())
    assert again["outcomes"] == ["skipped-already-checked"]


def test_posting_the_form_again_before_the_claim_keeps_the_checked_bytes(world: Any) -> None:
    receipt_id, _ = uploaded_receipt()
    checked = _stored_receipt(receipt_id).checked_version_id
    assert _post_again(receipt_id, EXE) == "discarded-after-verdict"
    assert _stored_receipt(receipt_id).checked_version_id == checked
    assert _current_bytes(receipt_id) == PDF
    # The claim then attaches exactly that version.
    status, created, _ = submit(physio_claim(person_id(MARIE, "Marie"), receiptIds=[receipt_id]))
    assert status == 201, created
    assert _stored_claim(created["claimId"]).receipt_versions == {receipt_id: checked}


def test_a_rejection_is_final_and_a_later_good_file_does_not_revive_it(world: Any) -> None:
    receipt_id, status = uploaded_receipt(content=EXE)
    assert status == "REJECTED"
    assert _versions(receipt_id) == []
    assert _post_again(receipt_id, PDF) == "discarded-after-verdict"
    assert _stored_receipt(receipt_id).status == "REJECTED"
    assert _versions(receipt_id) == []
    status, problem, _ = submit(physio_claim(person_id(MARIE, "Marie"), receiptIds=[receipt_id]))
    assert status == 400
    assert problem["errors"][0]["code"] == "RECEIPT_NOT_UPLOADED"


def test_two_posts_before_the_check_judge_the_latest_and_keep_only_it(world: Any) -> None:
    import receipt_check

    from portal_common.aws_clients import client

    status, body, _ = claims_call(
        "POST", "/receipts", body={"fileName": "recu.pdf", "contentType": "application/pdf", "sizeBytes": len(PDF)}
    )
    assert status == 201
    receipt_id = body["receiptId"]
    key = f"receipts/{receipt_id}"
    s3 = client("s3")
    s3.put_object(Bucket=_bucket(), Key=key, Body=EXE, ContentType="application/pdf")
    s3.put_object(Bucket=_bucket(), Key=key, Body=PDF, ContentType="application/pdf")
    # The events arrive late and in any order: the first one judges the current version.
    first = receipt_check.lambda_handler(s3_event(_bucket(), key), FakeContext())["outcomes"][0]
    second = receipt_check.lambda_handler(s3_event(_bucket(), key), FakeContext())["outcomes"][0]
    assert (first, second) == ("uploaded:OK", "skipped-already-checked")
    receipt = _stored_receipt(receipt_id)
    assert _versions(receipt_id) == [receipt.checked_version_id]
    assert _current_bytes(receipt_id) == PDF


def test_the_processor_only_relies_on_the_version_the_claim_recorded(world: Any) -> None:
    """If a receipt item ever named another version than its claim did, the processor treats the
    receipt as missing (the claim waits in PENDING_INFORMATION) rather than adjudicate other bytes."""
    import adjudication_store

    from portal_common.aws_clients import client
    from portal_common.config import get_settings
    from portal_common.dynamo import to_item
    from portal_common.receipt_records import ReceiptRecord

    receipt_id, _ = uploaded_receipt()
    _, created, _ = submit(physio_claim(person_id(MARIE, "Marie"), receiptIds=[receipt_id]))
    claim = _stored_claim(created["claimId"])
    assert adjudication_store.receipt_statuses(claim) == {receipt_id: "UPLOADED"}
    client("dynamodb").update_item(
        TableName=get_settings().claims_table,
        Key=to_item(ReceiptRecord.key(receipt_id)),
        UpdateExpression="SET checkedVersionId = :other",
        ExpressionAttributeValues=to_item({":other": "another-version"}),
    )
    assert adjudication_store.receipt_statuses(claim) == {receipt_id: "MISSING"}
