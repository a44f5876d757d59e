"""Coordination of benefits and information requests on moto: the closed loop (held, answered,
processed again), and the answer route from the attacker's side."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.claim_processing_support import link_account, sent_emails
from tests.claims_support import DAVID, MARIE, claims_call, days_ago, person_id, physio_claim, seed_directory, submit
from tests.claims_support import uploaded_receipt as receipt_of

SPOUSE_NOT_BILLED = {
    "accident": False,
    "otherCoverage": True,
    "otherInsurerName": "Assurances Exemple",
    "otherInsurerFirst": False,
}


@pytest.fixture
def world(seeded: Any) -> Any:
    seed_directory()
    link_account(MARIE, "marie@example.com")
    return seeded


def uploaded(member: tuple[str, str] = MARIE) -> str:
    receipt_id, status = receipt_of(member)
    assert status == "UPLOADED"
    return receipt_id


def process(claim_id: str, member: tuple[str, str] = MARIE) -> str:
    from claim_processing import Notifier, process_claim

    outcome = process_claim(f"MEMBER#{member[0]}#{member[1]}", claim_id, notifier=Notifier(publish=lambda c, ch: None))
    return outcome.status


def answer(claim_id: str, body: dict[str, Any], member: tuple[str, str] = MARIE, key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key or f"key-{uuid.uuid4()}", "Accept-Language": "en-CA"}
    return claims_call("POST", f"/claims/{claim_id}/information", member=member, body=body, headers=headers)


def detail(claim_id: str, member: tuple[str, str] = MARIE, lang: str = "fr-CA") -> Any:
    status, body, _ = claims_call("GET", f"/claims/{claim_id}", member=member, headers={"Accept-Language": lang})
    assert status == 200, body
    return body


def held_spouse_claim() -> str:
    """Jean (Marie's spouse, with his own group plan) claims 60.00 of physiotherapy without billing
    his own plan first: the claim is held for the other payer's statement."""
    body = physio_claim(
        person_id(MARIE, "Jean"),
        answers=SPOUSE_NOT_BILLED,
        treatments=[{"dateOfService": days_ago(3), "amount": "60.00"}],
        receiptIds=[uploaded()],
    )
    status, created, _ = submit(body)
    assert status == 201, created
    assert process(created["claimId"]) == "PENDING_INFORMATION"
    return str(created["claimId"])


def test_spouse_with_her_own_plan_held_then_answered_then_the_rest_paid(world: Any) -> None:
    claim_id = held_spouse_claim()
    held = detail(claim_id)
    assert held["status"] == "PENDING_INFORMATION"
    [request] = held["informationRequests"]
    assert (request["code"], request["status"]) == ("OTHER_PAYER_STATEMENT_REQUIRED", "OPEN")
    assert "relevé" in request["message"]
    assert "adjudication" not in held
    [email] = sent_emails()
    assert "relevé de prestations" in email.body  # the member is told what to send (fr)
    # A replayed event does not move a claim that waits for the member.
    assert process(claim_id) == "PENDING_INFORMATION"
    assert len(sent_emails()) == 1

    statement = uploaded()
    status, body, headers = answer(
        claim_id, {"receiptIds": [statement], "answers": {"otherInsurerFirst": True, "otherInsurerPaid": "40.00"}}
    )
    assert (status, body) == (202, {"claimId": claim_id, "status": "SUBMITTED"})
    assert headers["Location"] == f"/v1/claims/{claim_id}"
    answered = detail(claim_id, lang="en-CA")
    assert answered["status"] == "SUBMITTED"
    assert answered["informationRequests"][0]["status"] == "FULFILLED"
    assert statement in answered["receiptIds"]
    assert len(answered["receiptIds"]) == 2
    assert answered["answers"]["otherInsurerPaid"] == "40.00"
    _, receipt, _ = claims_call("GET", f"/receipts/{statement}", member=MARIE)
    assert receipt["claimId"] == claim_id

    # 60.00 eligible, 25.00 deductible, 80 %: 28.00 as first payer; 60.00 - 40.00 = 20.00 is the rest.
    assert process(claim_id) == "PAID"
    paid = detail(claim_id, lang="en-CA")
    assert paid["totalPaid"] == "20.00"
    [line] = paid["adjudication"]["lines"]
    assert line["reasonCode"] == "COORDINATION_BALANCE"
    assert "The other insurer paid $40.00" in line["explanation"]
    assert "this plan pays the rest" in line["explanation"]
    assert [h["status"] for h in paid["statusHistory"]] == [
        "SUBMITTED",
        "IN_REVIEW",
        "PENDING_INFORMATION",
        "SUBMITTED",
        "IN_REVIEW",
        "PAID",
    ]
    assert len(sent_emails()) == 2


def test_the_answer_publishes_claim_submitted_again_through_the_stream(world: Any) -> None:
    """The answer is a MODIFY of the claim item from PENDING_INFORMATION to SUBMITTED: the stream
    publisher relays it as a ClaimSubmitted with resubmittedAt; other MODIFYs are not relayed."""
    import claim_stream_publisher

    from portal_common.claim_records import ClaimRecord
    from portal_common.config import get_settings
    from portal_common.dynamo import get_item, to_item

    claim_id = held_spouse_claim()
    key = ClaimRecord.key(f"MEMBER#{MARIE[0]}#{MARIE[1]}", claim_id)
    before = get_item(get_settings().claims_table, key, consistent=True)
    assert answer(claim_id, {"receiptIds": [uploaded()]})[0] == 202
    after = get_item(get_settings().claims_table, key, consistent=True)
    published: list[dict[str, Any]] = []
    handle = claim_stream_publisher.make_record_handler(published.extend)

    class Record:
        def __init__(self, old: Any, new: Any) -> None:
            self.raw_event = {"eventName": "MODIFY", "dynamodb": {"OldImage": to_item(old), "NewImage": to_item(new)}}

    handle(Record(before, after))  # type: ignore[arg-type]
    handle(Record(after, {**after, "status": "IN_REVIEW"}))  # type: ignore[arg-type]
    [entry] = published
    assert entry["DetailType"] == "ClaimSubmitted"
    assert claim_id in entry["Detail"]
    assert '"resubmittedAt"' in entry["Detail"]


def test_answer_with_the_same_answer_still_not_billed_is_held_again(world: Any) -> None:
    claim_id = held_spouse_claim()
    assert answer(claim_id, {"receiptIds": [uploaded()]})[0] == 202
    assert process(claim_id) == "PENDING_INFORMATION"
    requests = detail(claim_id)["informationRequests"]
    assert [(r["code"], r["status"]) for r in requests] == [
        ("OTHER_PAYER_STATEMENT_REQUIRED", "FULFILLED"),
        ("OTHER_PAYER_STATEMENT_REQUIRED", "OPEN"),
    ]


def test_rejected_receipt_uses_the_same_loop(world: Any) -> None:
    """A receipt that turns out unusable: a RECEIPT_REJECTED request naming it; a new receipt
    fulfils it and the claim is paid (the rejected one no longer holds it)."""
    from portal_common.aws_clients import client
    from portal_common.config import get_settings
    from portal_common.dynamo import to_item
    from portal_common.receipt_records import ReceiptRecord

    bad = uploaded()
    status, created, _ = submit(physio_claim(person_id(MARIE, "Marie"), receiptIds=[bad]))
    assert status == 201
    client("dynamodb").update_item(  # the insurer's later check finds it unreadable
        TableName=get_settings().claims_table,
        Key=to_item(ReceiptRecord.key(bad)),
        UpdateExpression="SET #s = :r",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues=to_item({":r": "REJECTED"}),
    )
    claim_id = created["claimId"]
    assert process(claim_id) == "PENDING_INFORMATION"
    [request] = detail(claim_id, lang="en-CA")["informationRequests"]
    assert (request["code"], request["receiptId"], request["status"]) == ("RECEIPT_REJECTED", bad, "OPEN")
    assert "rejected" in request["message"]
    assert answer(claim_id, {"receiptIds": [uploaded()]})[0] == 202
    assert process(claim_id) == "PAID"
    assert detail(claim_id)["informationRequests"][0]["status"] == "FULFILLED"


def test_claims_without_requests_show_an_empty_list(world: Any) -> None:
    status, created, _ = submit(physio_claim(person_id(MARIE, "Marie"), receiptIds=[uploaded()]))
    assert status == 201
    assert detail(created["claimId"])["informationRequests"] == []


# ---------------------------------------------------------------- the attacker's side


def test_another_members_claim_is_not_found(world: Any) -> None:
    """David holds a valid token and his own uploaded receipt; Marie's claim id is known to him."""
    claim_id = held_spouse_claim()
    status, body, _ = answer(claim_id, {"receiptIds": [uploaded(DAVID)]}, member=DAVID)
    assert (status, body["code"]) == (404, "CLAIM_NOT_FOUND")
    assert detail(claim_id)["status"] == "PENDING_INFORMATION"  # Marie's claim untouched


def test_a_claim_that_waits_for_nothing_is_a_conflict(world: Any) -> None:
    status, created, _ = submit(physio_claim(person_id(MARIE, "Marie"), receiptIds=[uploaded()]))
    receipt = uploaded()
    status, body, _ = answer(created["claimId"], {"receiptIds": [receipt]})
    assert (status, body["code"]) == (409, "CLAIM_NOT_PENDING")
    assert body["title"] == "No information expected"
    _, stored, _ = claims_call("GET", f"/receipts/{receipt}", member=MARIE)
    assert "claimId" not in stored  # nothing attached


def test_another_members_receipt_cannot_be_attached(world: Any) -> None:
    claim_id = held_spouse_claim()
    davids = uploaded(DAVID)
    status, body, _ = answer(claim_id, {"receiptIds": [davids]})
    assert status == 400
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("receiptIds[0]", "RECEIPT_NOT_FOUND")]
    assert detail(claim_id)["status"] == "PENDING_INFORMATION"
    _, stored, _ = claims_call("GET", f"/receipts/{davids}", member=DAVID)
    assert "claimId" not in stored


def test_two_concurrent_answers_never_both_win(world: Any) -> None:
    """Both read the claim PENDING_INFORMATION at the same version; the conditional write lets one
    through, the other gets 409 and its receipt stays free."""
    import claim_store
    from claim_submission import payload_hash

    from portal_common.problems import Conflict

    claim_id = held_spouse_claim()
    stale = claim_store.get_claim(f"MEMBER#{MARIE[0]}#{MARIE[1]}", claim_id)
    assert stale is not None
    first, second = uploaded(), uploaded()
    assert answer(claim_id, {"receiptIds": [first]})[0] == 202
    late = stale.answered(dict(stale.answers), {}, [second], "2026-12-01T00:00:00Z")
    with pytest.raises(Conflict) as refused:
        claim_store.write_answer(claim_store.AnswerWrite(stale, late, [second], "other-key-123", payload_hash({})))
    assert refused.value.code == "CLAIM_NOT_PENDING"
    stored = detail(claim_id)
    assert stored["receiptIds"].count(first) == 1
    assert second not in stored["receiptIds"]


def test_bad_answers_and_bodies_are_400_and_change_nothing(world: Any) -> None:
    claim_id = held_spouse_claim()
    receipt = uploaded()
    status, body, _ = answer(claim_id, {"receiptIds": [receipt], "answers": {"otherInsurerFirst": True}})
    assert status == 400
    assert ("answers.otherInsurerPaid", "REQUIRED") in [(e["field"], e["code"]) for e in body["errors"]]
    status, body, _ = answer(claim_id, {"receiptIds": [receipt], "answers": {"nope": "x"}})
    assert (status, body["errors"][0]["code"]) == (400, "UNKNOWN_QUESTION")
    assert answer(claim_id, {"receiptIds": []})[0] == 400
    assert answer(claim_id, {"answers": {}})[0] == 400
    status, body, _ = answer(claim_id, {"receiptIds": [receipt, receipt]})
    assert (status, body["errors"][0]["code"]) == (400, "DUPLICATE")
    assert detail(claim_id)["status"] == "PENDING_INFORMATION"


def test_idempotent_replay_and_key_reuse(world: Any) -> None:
    claim_id = held_spouse_claim()
    receipt = uploaded()
    request = {"receiptIds": [receipt], "answers": {"otherInsurerFirst": True, "otherInsurerPaid": "40.00"}}
    first = answer(claim_id, request, key="answer-key-0001")
    again = answer(claim_id, request, key="answer-key-0001")
    assert first[:2] == again[:2] == (202, {"claimId": claim_id, "status": "SUBMITTED"})
    status, body, _ = answer(claim_id, {**request, "answers": {}}, key="answer-key-0001")
    assert (status, body["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert Decimal(detail(claim_id)["totalClaimed"]) == Decimal("60.00")


def test_the_answer_carries_its_outbox_entry_and_sweep_place(world: Any) -> None:
    """The answer is a status change like any other (PENDING_INFORMATION -> SUBMITTED): written with
    its outbox entry and a place in the sweep index, so its ClaimStatusChanged goes out once (here, by
    the processor that takes the claim up again) and a lost stream record is found by the sweeper."""
    from claim_processing import Notifier, process_claim

    from portal_common.claim_records import ClaimRecord
    from portal_common.config import get_settings
    from portal_common.dynamo import get_item

    claim_id = held_spouse_claim()
    pk = f"MEMBER#{MARIE[0]}#{MARIE[1]}"
    key = ClaimRecord.key(pk, claim_id)
    held = get_item(get_settings().claims_table, key, consistent=True) or {}
    assert held["status"] == "PENDING_INFORMATION"
    assert not held.get("outbox")  # the hold's own entry was delivered by process()
    answers = {**SPOUSE_NOT_BILLED, "otherInsurerFirst": True, "otherInsurerPaid": "40.00"}
    assert answer(claim_id, {"receiptIds": [uploaded()], "answers": answers})[0] == 202
    answered = get_item(get_settings().claims_table, key, consistent=True) or {}
    [entry] = answered["outbox"]
    assert (entry["previous"], entry["status"], entry["email"]) == ("PENDING_INFORMATION", "SUBMITTED", False)
    assert answered.get("sweepShard")
    assert answered.get("sweepAt")

    published: list[tuple[str, str]] = []
    notifier = Notifier(publish=lambda claim, changes: published.extend((c.previous, c.status) for c in changes))
    assert process_claim(pk, claim_id, notifier=notifier).status == "PAID"  # the other 40.00 paid first
    assert published[0] == ("PENDING_INFORMATION", "SUBMITTED")
    assert published.count(("PENDING_INFORMATION", "SUBMITTED")) == 1
    done = get_item(get_settings().claims_table, key, consistent=True) or {}
    assert not done.get("outbox")
