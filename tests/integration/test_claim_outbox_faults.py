"""Fault injection on moto: every claim reaches a final state, is paid once, and every status
change is published once and e-mailed once (issue 15), whatever fails.

Faults are injected at the botocore level, on the functions' own clients: ``before-call`` answers
(``register_first``, moto never sees the request) play AWS refusing a call (HTTP 400 throttling,
HTTP 200 with ``FailedEntryCount``), ``after-call`` exceptions play an answer lost after AWS acted
(the e-mail went out, the client saw a read timeout). Crashes between steps are exceptions where the process
would die; concurrent deliveries run interleaved inside one another's send.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from moto.core.models import botocore_stubber

from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.sweep import after
from tests.claim_processing_support import (
    DAVID,
    MARIE,
    body,
    claim_item,
    link_account,
    load,
    person_id,
    sent_emails,
    sqs_event,
    store_claim,
)
from tests.moto_isolation import serialised_dynamodb

LATER = "2099-01-01T00:00:00.000Z"  # the sweeper's "now" once every retry delay has passed


Answer = tuple[Any, dict[str, Any]]


def _answer(status: int, parsed: dict[str, Any]) -> Answer:
    parsed.setdefault("ResponseMetadata", {"HTTPStatusCode": status, "HTTPHeaders": {}})
    return SimpleNamespace(status_code=status, headers={}), parsed


@contextmanager
def fault(
    service: str, operation: str, respond: Callable[[dict[str, Any]], Answer | None], *, times: int = 10**6
) -> Iterator[dict[str, int]]:
    """Answer ``operation`` of the function's ``service`` client with ``respond`` (``None``: let the
    call through to moto), at most ``times`` times; yields the count of faults injected.

    The answer is given at ``before-call``, so AWS (moto) never sees the request: a refused call
    did nothing. (botocore's ``before-send`` would not do: every handler of it runs, moto's too.)"""
    state = {"left": times, "injected": 0}

    def handler(params: dict[str, Any], **_: Any) -> Answer | None:
        if state["left"] <= 0:
            return None
        answer = respond(params)
        if answer is not None:
            state["left"] -= 1
            state["injected"] += 1
        return answer

    events = client(service).meta.events
    event = f"before-call.{client(service).meta.service_model.service_id.hyphenize()}.{operation}"
    events.register_first(event, handler)
    try:
        yield state
    finally:
        events.unregister(event, handler)


def throttled_ses(params: dict[str, Any]) -> Answer:
    return _answer(
        400, {"Error": {"Type": "Sender", "Code": "Throttling", "Message": "Maximum sending rate exceeded."}}
    )


def throttled_json(params: dict[str, Any]) -> Answer:
    return _answer(400, {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}})


def refused_entries(indexes: set[int]) -> Callable[[dict[str, Any]], Answer]:
    """PutEvents answered 200 with ``FailedEntryCount``: the entries at ``indexes`` refused, the
    others accepted (and, this being a fault's answer, none delivered)."""

    def respond(params: dict[str, Any]) -> Answer:
        entries = json.loads(params["body"])["Entries"]
        results = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"} if i in indexes else {"EventId": f"e{i}"}
            for i in range(len(entries))
        ]
        return _answer(200, {"FailedEntryCount": len(indexes), "Entries": results})

    return respond


@pytest.fixture
def bus(seeded: Any) -> str:
    """A queue receiving every event of the claims bus (what a consumer sees)."""
    sqs = boto3.client("sqs", region_name="ca-central-1")
    events = boto3.client("events", region_name="ca-central-1")
    url = sqs.create_queue(QueueName="bus-capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = get_settings().event_bus_name
    events.put_rule(Name="capture-all", EventBusName=name, EventPattern=json.dumps({"source": ["ca.portal.claims"]}))
    events.put_targets(Rule="capture-all", EventBusName=name, Targets=[{"Id": "q", "Arn": arn}])
    return url


def published(url: str) -> list[tuple[str, str]]:
    """(detail-type, status) of every event on the bus since the last call."""
    sqs = boto3.client("sqs", region_name="ca-central-1")
    found: list[tuple[str, str]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            event = json.loads(message["Body"])
            found.append((event["detail-type"], event["detail"].get("status", event["detail"]["claimId"])))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def process(*items: dict[str, Any]) -> dict[str, Any]:
    from claim_processor import lambda_handler

    return lambda_handler(sqs_event(*(body(i) for i in items)), None)


def sweep(now: str = LATER) -> Any:
    from claim_sweeper import sweep as run

    return run(now)


def physio(certificate: tuple[str, str] = DAVID, amount: str = "45.00") -> dict[str, Any]:
    link_account(certificate, f"{certificate[1]}@example.com")
    language = "en" if certificate == DAVID else "fr"
    return store_claim(
        claim_item(certificate, "CHIROPRACTIC", person_id(certificate), [("2026-02-10", amount)], language=language)
    )


def paid_once(item: dict[str, Any]) -> None:
    """The claim is PAID, went through each status once, and its totals counted it once."""
    claim = load(item)
    assert claim["status"] == "PAID"
    assert [h["status"] for h in claim["statusHistory"]] == ["SUBMITTED", "IN_REVIEW", "PAID"]
    assert claim.get("outbox") == []
    assert "sweepShard" not in claim
    assert "sweepAt" not in claim
    totals = boto3.client("dynamodb").get_item(
        TableName=get_settings().claims_table,
        Key={"PK": {"S": item["PK"]}, "SK": {"S": f"TOTALS#{item['patientId']}#2026"}},
    )["Item"]
    # 45.00 - 25.00 deductible = 20.00 at 80 % = 16.00, counted once.
    assert Decimal(totals["benefits"]["M"]["CHIROPRACTIC"]["N"]) == Decimal("16.00")


STATUS_EVENTS = [("ClaimStatusChanged", "IN_REVIEW"), ("ClaimStatusChanged", "PAID")]


# ----------------------------------------------------------------------------- SES


def test_ses_throttled_the_whole_time_is_retried_later_without_adjudicating_again(bus: str) -> None:
    item = physio()
    with fault("ses", "SendEmail", throttled_ses) as injected:
        assert process(item) == {"batchItemFailures": []}  # the claim is processed all the same
    assert injected["injected"] == 1
    assert sent_emails() == []
    claim = load(item)
    assert claim["status"] == "PAID"
    [entry] = claim["outbox"]  # the PAID e-mail is still owed; its event went out
    assert entry["status"] == "PAID"
    assert entry["eventSent"] is True
    assert entry["attempts"] == 1
    assert claim["sweepAt"] > claim["statusHistory"][-1]["at"]
    assert published(bus) == STATUS_EVENTS

    assert process(item) == {"batchItemFailures": []}  # an SQS replay before the retry time
    assert len(sent_emails()) == 1  # ... delivers it (the lease is free), once
    report = sweep()
    assert report.delivered == 0  # nothing left for the sweeper
    assert published(bus) == []  # the PAID event is not published twice
    paid_once(item)


def test_ses_failing_then_recovering_is_delivered_by_the_sweeper_once(bus: str) -> None:
    item = physio()
    with fault("ses", "SendEmail", throttled_ses):
        process(item)
        assert sweep().delivered == 0  # still throttled: given back again
    assert load(item)["outbox"][0]["attempts"] == 2
    report = sweep()
    assert (report.pending_notifications, report.delivered) == (1, 1)
    assert len(sent_emails()) == 1
    assert sweep().items == 0  # out of the index
    assert published(bus) == STATUS_EVENTS
    paid_once(item)


@pytest.fixture(autouse=True)
def ses_events() -> Iterator[list[dict[str, Any]]]:
    """SES's Send events (``local.ses_events``: moto publishes none) for the mails SES accepted in a
    configuration set; :func:`record_ses_events` hands them to the recorder, as EventBridge would
    seconds later."""
    from local import ses_events as publisher

    pending: list[dict[str, Any]] = []
    publisher.add_listener(pending.append)
    yield pending
    publisher.remove_listener(pending.append)


def record_ses_events(pending: list[dict[str, Any]]) -> int:
    """Run the recorder on the pending events; how many it recorded."""
    from claim_email_recorder import lambda_handler

    recorded = sum(bool(lambda_handler(event, None)["recorded"]) for event in pending)
    pending.clear()
    return recorded


@contextmanager
def lost_send(*, ses_acted: bool, error: Exception | None = None) -> Iterator[dict[str, int]]:
    """The next ``SendEmail`` fails with ``error`` (a read timeout by default) inside botocore's
    send: after SES (moto) acted on it (``ses_acted``: the mail went out, the answer was lost), or
    before (the request never reached SES)."""
    ses = client("ses")
    state = {"left": 1}

    def lose(request: Any, event_name: str, **_: Any) -> None:
        if state["left"]:
            state["left"] -= 1
            if ses_acted:
                botocore_stubber(event_name=event_name, request=request)
            raise error or ReadTimeoutError(endpoint_url="https://email.ca-central-1.amazonaws.com")

    ses.meta.events.register("before-send.ses.SendEmail", lose)
    try:
        yield state
    finally:
        ses.meta.events.unregister("before-send.ses.SendEmail", lose)


@contextmanager
def later(monkeypatch: pytest.MonkeyPatch, seconds: int) -> Iterator[None]:
    """The functions' clock moved ``seconds`` ahead (the sweeper's retry comes that much later)."""
    from portal_common import clock

    real = clock.epoch_seconds
    monkeypatch.setattr(clock, "epoch_seconds", lambda: real() + seconds)
    try:
        yield
    finally:
        monkeypatch.setattr(clock, "epoch_seconds", real)


@contextmanager
def counted() -> Iterator[list[str]]:
    """Names of the claim-processing metrics emitted meanwhile."""
    from portal_common import metrics

    names: list[str] = []

    def listen(document: dict[str, Any]) -> None:
        names.extend(m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"])

    metrics.add_listener(listen)
    try:
        yield names
    finally:
        metrics.remove_listener(listen)


def test_a_lost_ses_answer_after_ses_accepted_the_mail_sends_no_second_email(
    bus: str, ses_events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SES sent the mail but its answer was lost (a read timeout inside botocore, after SES acted).
    SES's Send event, tagged with the outbox entry, is recorded; the retry finds it and completes
    the entry without sending again."""
    from claim_outbox import CONFIRMATION_WAIT_SECONDS

    item = physio()
    with lost_send(ses_acted=True):
        process(item)
    assert len(sent_emails()) == 1  # sent; the processor saw a timeout
    [entry] = load(item)["outbox"]
    assert entry["attempts"] == 1
    assert "uncertainSince" in entry
    assert load(item)["sweepAt"] >= after(load(item)["statusHistory"][-1]["at"], CONFIRMATION_WAIT_SECONDS - 5)
    [event] = ses_events
    assert record_ses_events(ses_events) == 1
    with later(monkeypatch, CONFIRMATION_WAIT_SECONDS + 1), counted() as names:
        assert sweep().delivered == 1
    assert len(sent_emails()) == 1  # no second e-mail
    assert "EmailRetrySkippedConfirmed" in names
    assert "EmailResentUnconfirmed" not in names
    tags = event["detail"]["mail"]["tags"]
    assert (tags["claimId"], tags["outboxSeq"]) == ([item["claimId"]], [str(entry["seq"])])
    assert published(bus) == STATUS_EVENTS
    assert load(item)["notifiedStatus"] == "PAID"
    paid_once(item)


def test_a_send_lost_before_ses_acted_is_sent_once_after_the_confirmation_wait(
    bus: str, ses_events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same read timeout, but the request never reached SES: no Send event, so the retry sends
    (once), after waiting for a confirmation that could have come; an SQS replay in between sends
    nothing."""
    from claim_outbox import CONFIRMATION_WAIT_SECONDS

    item = physio()
    with lost_send(ses_acted=False):
        process(item)
    assert sent_emails() == []
    assert ses_events == []
    assert process(item) == {"batchItemFailures": []}  # an SQS replay within the wait
    assert sent_emails() == []  # too early to know: not sent
    [entry] = load(item)["outbox"]
    assert entry["attempts"] == 1  # the postponement is not a failed attempt
    with later(monkeypatch, CONFIRMATION_WAIT_SECONDS + 1), counted() as names:
        assert sweep().delivered == 1
    assert "EmailResentUnconfirmed" in names
    assert len(sent_emails()) == 1
    assert record_ses_events(ses_events) == 1  # the retry's own Send event
    assert published(bus) == STATUS_EVENTS
    paid_once(item)


def test_two_uncertain_sends_in_a_row_wait_for_the_latest_ones_confirmation(
    bus: str, ses_events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first send never reached SES; its retry reached SES but lost its answer too. A duplicate
    delivery right after the second must wait for *its* confirmation, not send at once."""
    from claim_outbox import CONFIRMATION_WAIT_SECONDS

    item = physio()
    with lost_send(ses_acted=False):
        process(item)
    with later(monkeypatch, CONFIRMATION_WAIT_SECONDS + 1), lost_send(ses_acted=True):
        sweep()
    assert len(sent_emails()) == 1  # the retry went out; its answer was lost
    with later(monkeypatch, CONFIRMATION_WAIT_SECONDS + 2):
        assert process(item) == {"batchItemFailures": []}  # an SQS duplicate at once: waits
    assert len(sent_emails()) == 1
    record_ses_events(ses_events)  # the retry's Send event arrives
    with later(monkeypatch, 2 * CONFIRMATION_WAIT_SECONDS + 2):
        sweep()
    assert len(sent_emails()) == 1
    assert published(bus) == STATUS_EVENTS
    paid_once(item)


def test_a_send_that_never_connected_is_retried_as_a_certain_failure(
    bus: str, ses_events: list[dict[str, Any]]
) -> None:
    """A connection never made is certain: nothing was sent, no confirmation is awaited, and the
    next delivery sends at once."""
    from botocore.exceptions import EndpointConnectionError

    item = physio()
    with lost_send(ses_acted=False, error=EndpointConnectionError(endpoint_url="https://email")):
        process(item)
    [entry] = load(item)["outbox"]
    assert "uncertainSince" not in entry
    assert process(item) == {"batchItemFailures": []}  # an SQS replay delivers it at once
    assert len(sent_emails()) == 1
    assert published(bus) == STATUS_EVENTS
    paid_once(item)


class ProcessDied(BaseException):
    """The Lambda process died here (nothing in the function catches it)."""


@pytest.mark.parametrize("sent_before_dying", [True, False], ids=["died after the send", "died before the send"])
def test_a_delivery_that_died_leaves_its_send_uncertain_for_the_next_one(
    bus: str, ses_events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, sent_before_dying: bool
) -> None:
    """The processor died during the PAID entry's delivery, its lease still on the entry. The next
    delivery takes the expired lease over and looks for SES's confirmation before sending: one
    e-mail either way."""
    import claim_processor
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from claim_outbox import CONFIRMATION_WAIT_SECONDS, LEASE_SECONDS, Notifier, _email

    item = physio()

    def email_then_die(claim: Any, member: Any) -> None:
        if sent_before_dying:
            _email(claim, member)
        raise ProcessDied

    with pytest.raises(ProcessDied):
        claim_processor.handle_record(SQSRecord(sqs_event(body(item))["Records"][0]), Notifier(email=email_then_die))
    [entry] = load(item)["outbox"]
    assert "leaseUntil" in entry  # the dead delivery's lease
    assert len(ses_events) == int(sent_before_dying)
    record_ses_events(ses_events)
    with later(monkeypatch, LEASE_SECONDS + 1):
        sweep()  # the lease has expired: taken over
    assert len(sent_emails()) == int(sent_before_dying)  # confirmed: done; not: waits for a confirmation
    with later(monkeypatch, LEASE_SECONDS + CONFIRMATION_WAIT_SECONDS + 2):
        sweep()
    assert len(sent_emails()) == 1
    # The dead delivery's PAID event may go out again (events are at least once by contract).
    assert sorted(set(published(bus))) == sorted(STATUS_EVENTS)
    paid_once(item)


# ----------------------------------------------------------------------------- EventBridge


def test_partial_put_events_failure_keeps_the_order_and_publishes_each_change_once(bus: str) -> None:
    item = physio()
    with fault("events", "PutEvents", refused_entries({0}), times=1):
        process(item)
    claim = load(item)
    # IN_REVIEW's event was refused: nothing after it went out (order), nothing was e-mailed yet.
    assert [e["status"] for e in claim["outbox"]] == ["IN_REVIEW", "PAID"]
    assert published(bus) == []
    assert sent_emails() == []
    sweep()
    assert published(bus) == STATUS_EVENTS
    assert len(sent_emails()) == 1
    paid_once(item)


def test_stream_publisher_sends_batches_of_ten_and_reports_only_refused_records(bus: str) -> None:
    import claim_stream_publisher

    items = [physio(DAVID, f"{40 + n}.00") for n in range(12)]
    stream = f"arn:aws:dynamodb:ca-central-1:123456789012:table/{get_settings().claims_table}/stream/x"
    records = [
        {
            "eventID": str(n),
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "eventSourceARN": stream,
            "dynamodb": {"NewImage": load_raw(i), "SequenceNumber": f"{100 + n}"},
        }
        for n, i in enumerate(items)
    ]
    calls: list[int] = []

    def count(params: dict[str, Any]) -> None:
        calls.append(len(json.loads(params["body"])["Entries"]))
        return None

    with fault("events", "PutEvents", count), fault("events", "PutEvents", refused_entries({3}), times=1):
        result = claim_stream_publisher.publish_batch(records)
    assert result == ["103"]  # only the refused record is retried (Lambda: from there on)
    assert calls == [10, 2]
    assert len(published(bus)) == 2  # the second call's two entries (the first call was the fault's)
    with fault("events", "PutEvents", throttled_json, times=1):
        assert claim_stream_publisher.publish_batch(records[10:12]) == ["110", "111"]  # a call refused
    assert claim_stream_publisher.publish_batch(records[:10]) == []  # Lambda's retry from 103 on
    assert len(published(bus)) == 10


def load_raw(item: dict[str, Any]) -> dict[str, Any]:
    return client("dynamodb").get_item(
        TableName=get_settings().claims_table,
        Key={"PK": {"S": item["PK"]}, "SK": {"S": item["SK"]}},
        ConsistentRead=True,
    )["Item"]


# ----------------------------------------------------------------------------- crashes


def test_a_crash_between_the_commit_and_the_delivery_loses_nothing(bus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import claim_processing

    item = physio()

    def crash(*_: Any, **__: Any) -> int:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(claim_processing, "deliver", crash)
    failed = process(item)["batchItemFailures"]
    assert len(failed) == 1  # SQS delivers the message again later
    assert [e["status"] for e in load(item)["outbox"]] == ["IN_REVIEW", "PAID"]
    assert published(bus) == []
    monkeypatch.undo()
    # The next delivery of the message finds the claim PAID: nothing is adjudicated again, the
    # outbox goes out in order.
    assert process(item) == {"batchItemFailures": []}
    assert published(bus) == STATUS_EVENTS
    assert len(sent_emails()) == 1
    paid_once(item)


def test_a_crash_and_a_message_lost_for_good_is_recovered_by_the_sweeper(
    bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import claim_processing

    item = physio()
    monkeypatch.setattr(claim_processing, "deliver", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("died")))
    process(item)  # and the message then reaches the dead-letter queue
    monkeypatch.undo()
    sweep()
    assert published(bus) == STATUS_EVENTS
    assert len(sent_emails()) == 1
    paid_once(item)


def test_a_throttled_removal_after_the_send_is_retried_not_sent_again(bus: str) -> None:
    item = physio()

    def on_removal(params: dict[str, Any]) -> Answer | None:
        text = params["body"].decode() if isinstance(params["body"], bytes) else str(params["body"])
        removing_paid = "REMOVE outbox[0]" in text and "notifiedStatus" in text
        return throttled_json(params) if removing_paid else None

    # The removal of the PAID entry fails twice after its e-mail was sent (throttled after the
    # client's own retries); the outbox retries the removal, not the send.
    with fault("dynamodb", "UpdateItem", on_removal, times=2) as injected:
        process(item)
    assert injected["injected"] == 2
    assert len(sent_emails()) == 1
    sweep()
    assert len(sent_emails()) == 1
    assert published(bus) == STATUS_EVENTS
    paid_once(item)


# ----------------------------------------------------------------------------- duplicates


def test_a_duplicate_delivery_during_the_send_sends_nothing(bus: str) -> None:
    """Deterministic interleaving: while the first delivery is sending the PAID e-mail, a second
    delivery (an SQS duplicate) and the sweeper run to the end. They must find the entry claimed."""
    from claim_outbox import Notifier, _email

    item = physio()
    inner: list[int] = []

    def email_and_race(claim: Any, member: Any) -> None:
        _email(claim, member)
        if not inner:
            inner.append(1)
            assert process(item) == {"batchItemFailures": []}
            inner.append(sweep().delivered)

    import claim_processor

    record = sqs_event(body(item))["Records"][0]
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    claim_processor.handle_record(SQSRecord(record), Notifier(email=email_and_race))
    assert inner == [1, 0]
    assert len(sent_emails()) == 1
    assert published(bus) == STATUS_EVENTS
    paid_once(item)


def test_concurrent_duplicate_deliveries_send_one_email_per_status_change(bus: str) -> None:
    items = [physio(MARIE, "85.00"), physio(DAVID)]
    with serialised_dynamodb(), ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda i: process(i), [items[n % 2] for n in range(12)]))
    assert all(r == {"batchItemFailures": []} for r in results)
    assert len(sent_emails()) == 2  # one per claim: its one e-mailed change
    events = published(bus)
    assert sorted(events) == sorted(STATUS_EVENTS * 2)
    paid_once(items[1])


# ----------------------------------------------------------------------------- stuck states


def test_a_claim_never_published_is_found_from_the_table_and_published_again(bus: str) -> None:
    from portal_common.claim_records import ClaimRecord

    item = physio()
    # As the submission writes it: in the sweep index while SUBMITTED.
    claim = ClaimRecord.from_item(load(item))
    store_claim(claim.to_item())
    assert sweep(after(item["submittedAt"], 60)).items == 0  # not due before its threshold
    report = sweep(after(item["submittedAt"], 901))
    assert (report.stuck_claims, report.republished) == (1, 1)
    assert published(bus) == [("ClaimSubmitted", item["claimId"])]
    assert load(item)["sweepAt"] > after(item["submittedAt"], 901)  # found again only later
    process(item)  # the republished event reaches the processor
    assert sweep().items == 0
    paid_once(item)


def test_a_pending_receipt_whose_file_is_there_is_checked_again(seeded: Any) -> None:
    import receipt_check

    from portal_common.dynamo import get_item
    from portal_common.ids import sortable_id
    from portal_common.receipt_records import ReceiptRecord
    from tests.claims_support import PDF, FakeContext, s3_event

    settings = get_settings()
    receipt = ReceiptRecord(
        receipt_id=sortable_id("r"),
        member_key="MEMBER#G1001#100002",
        status="PENDING_UPLOAD",
        file_name="recu.pdf",
        content_type="application/pdf",
        size_bytes=len(PDF),
        created_at="2026-03-01T12:00:00.000Z",
    )
    client("dynamodb").put_item(TableName=settings.claims_table, Item=_typed(receipt.to_item()))
    abandoned = ReceiptRecord(**{**receipt.__dict__, "receipt_id": sortable_id("r")})
    client("dynamodb").put_item(TableName=settings.claims_table, Item=_typed(abandoned.to_item()))
    key = f"receipts/{receipt.receipt_id}"
    client("s3").put_object(Bucket=settings.documents_bucket, Key=key, Body=PDF, ContentType="application/pdf")
    # (The S3 event of that upload was dropped.)
    report = sweep()
    assert (report.pending_receipts, report.receipts_rechecked) == (1, 1)
    head = client("s3").head_object(Bucket=settings.documents_bucket, Key=key)
    assert "swept-at" in head["Metadata"]  # the copy onto itself: S3 notifies the check again
    gone = get_item(settings.claims_table, ReceiptRecord.key(abandoned.receipt_id), consistent=True)
    assert gone is not None
    assert "sweepAt" not in gone
    receipt_check.lambda_handler(s3_event(settings.documents_bucket, key), FakeContext())
    checked = get_item(settings.claims_table, ReceiptRecord.key(receipt.receipt_id), consistent=True)
    assert checked is not None
    assert checked["status"] == "UPLOADED"
    assert "sweepAt" not in checked
    assert sweep().items == 0


def _typed(item: dict[str, Any]) -> dict[str, Any]:
    from portal_common.dynamo import to_item

    return to_item(item)


# ----------------------------------------------------------------------------- the API


def test_a_stored_claim_is_answered_201_when_the_idempotency_record_cannot_be_completed(seeded: Any) -> None:
    from tests.claims_support import person_id as person
    from tests.claims_support import physio_claim, seed_directory, submit

    seed_directory()
    idempotency_table = get_settings().idempotency_table

    def completion(params: dict[str, Any]) -> Answer | None:
        text = params["body"].decode() if isinstance(params["body"], bytes) else str(params["body"])
        return (
            _answer(500, {"Error": {"Code": "InternalServerError", "Message": "x"}})
            if idempotency_table in text
            else None
        )

    claim = physio_claim(person(MARIE, "Marie"))
    with fault("dynamodb", "UpdateItem", completion) as injected:
        status, created, headers = submit(claim, key="key-outbox-201")
    assert injected["injected"] >= 1
    assert status == 201, created
    assert headers["Location"] == f"/v1/claims/{created['claimId']}"
    # The retry the client makes anyway is answered with the same claim, never a 409 in between.
    again, replayed, _ = submit(claim, key="key-outbox-201")
    assert again == 201, replayed
    assert replayed["claimId"] == created["claimId"]
    _, claims, _ = submit.__globals__["claims_call"]("GET", "/claims", member=MARIE)
    assert [c["claimId"] for c in claims["items"]] == [created["claimId"]]
