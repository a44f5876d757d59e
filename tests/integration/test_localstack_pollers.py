"""The local event sources: stream records, SQS messages and S3 notifications reach their
handlers in AWS's batch shapes, failures are retried and end where the template says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.localstack_testkit import LocalParts, local_parts


@pytest.fixture
def parts(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalParts]:
    with local_parts(monkeypatch) as running:
        yield running


def _received(kind: str) -> list[dict[str, Any]]:
    import localstack_echo

    with localstack_echo.LOCK:
        return [event for k, event in localstack_echo.RECEIVED if k == kind]


def _records(kind: str, source: str) -> list[dict[str, Any]]:
    return [r for event in _received(kind) for r in event["Records"] if r.get("eventSource") == source]


def _put_claim(parts: LocalParts, sk: str, entity_type: str = "CLAIM") -> None:
    boto3.client("dynamodb", region_name=parts.stack.region).put_item(
        TableName=parts.stack.name("ClaimsTable"),
        Item={
            "PK": {"S": "MEMBER#G1001#100001"},
            "SK": {"S": sk},
            "entityType": {"S": entity_type},
            "amount": {"N": "12.5"},
        },
    )


def test_stream_insert_of_a_claim_is_delivered_and_other_records_are_filtered(parts: LocalParts) -> None:
    _put_claim(parts, "RECEIPT#1", entity_type="RECEIPT")
    _put_claim(parts, "CLAIM#1")
    _put_claim(parts, "CLAIM#1")  # MODIFY: the template's filter keeps INSERT only
    parts.wait(lambda: len(_records("batch", "aws:dynamodb")) >= 1)
    assert parts.pollers.wait_until_idle(10)
    records = _records("batch", "aws:dynamodb")
    assert len(records) == 1
    record = records[0]
    assert set(record) == {
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    }
    assert record["eventName"] == "INSERT"
    assert record["eventSourceARN"] == parts.stack.physical["ClaimsTable"]["StreamArn"]
    assert record["awsRegion"] == "ca-central-1"
    body = record["dynamodb"]
    assert body["Keys"] == {"PK": {"S": "MEMBER#G1001#100001"}, "SK": {"S": "CLAIM#1"}}
    assert body["NewImage"]["amount"] == {"N": "12.5"}
    assert body["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(body["SequenceNumber"], str)
    assert isinstance(body["ApproximateCreationDateTime"], int)
    json.dumps(_received("batch"))  # the event is plain JSON, as Lambda delivers it


def test_stream_failures_are_retried_then_sent_to_the_failure_queue(parts: LocalParts) -> None:
    import localstack_echo

    localstack_echo.FAIL["ids"] = {"CLAIM#bad"}
    _put_claim(parts, "CLAIM#good")
    _put_claim(parts, "CLAIM#bad")
    sqs = boto3.client("sqs", region_name=parts.stack.region)
    queue = parts.stack.physical["ClaimStreamFailureQueue"]["QueueUrl"]

    messages: list[dict[str, Any]] = []

    def failure_arrived() -> bool:
        messages.extend(sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []))
        return bool(messages)

    parts.wait(failure_arrived, timeout=20)
    failure = json.loads(messages[0]["Body"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3  # the first try and MaximumRetryAttempts=2
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["streamArn"] == parts.stack.physical["ClaimsTable"]["StreamArn"]
    sort_keys = [r["dynamodb"]["Keys"]["SK"]["S"] for r in _records("batch", "aws:dynamodb")]
    assert sort_keys.count("CLAIM#good") == 1  # checkpointed before the failed record, never redelivered
    assert sort_keys.count("CLAIM#bad") == 3


def test_sqs_messages_are_delivered_and_deleted(parts: LocalParts) -> None:
    sqs = boto3.client("sqs", region_name=parts.stack.region)
    queue = parts.stack.physical["ClaimsQueue"]["QueueUrl"]
    sqs.send_message(
        QueueUrl=queue,
        MessageBody='{"detail-type": "ClaimSubmitted"}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
    )
    parts.wait(lambda: len(_records("batch", "aws:sqs")) == 1)
    record = _records("batch", "aws:sqs")[0]
    assert set(record) >= {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["eventSourceARN"] == parts.stack.physical["ClaimsQueue"]["Arn"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "test",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert parts.pollers.wait_until_idle(10)
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_failed_sqs_items_are_retried_then_redriven_to_the_dead_letter_queue(parts: LocalParts) -> None:
    import localstack_echo

    localstack_echo.FAIL["ids"] = {"poison"}
    sqs = boto3.client("sqs", region_name=parts.stack.region)
    sqs.send_message(QueueUrl=parts.stack.physical["ClaimsQueue"]["QueueUrl"], MessageBody="fine")
    sqs.send_message(QueueUrl=parts.stack.physical["ClaimsQueue"]["QueueUrl"], MessageBody="poison")
    dead_letters = parts.stack.physical["ClaimsDeadLetterQueue"]["QueueUrl"]
    found: list[dict[str, Any]] = []

    def redriven() -> bool:
        found.extend(sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10).get("Messages", []))
        return bool(found)

    parts.wait(redriven, timeout=30)
    assert [m["Body"] for m in found] == ["poison"]
    bodies = [r["body"] for r in _records("batch", "aws:sqs")]
    assert bodies.count("fine") == 1
    assert bodies.count("poison") == 5  # the queue's maxReceiveCount


def test_s3_object_creation_is_notified_with_the_s3_event_shape(parts: LocalParts) -> None:
    s3 = boto3.client("s3", region_name=parts.stack.region)
    bucket = parts.stack.name("DocumentsBucket")
    s3.put_object(Bucket=bucket, Key="elsewhere/x.txt", Body=b"not for us")
    s3.put_object(Bucket=bucket, Key="test-uploads/reçu 1.txt", Body=b"hello")
    parts.wait(lambda: len(_received("s3")) >= 1)
    assert parts.pollers.wait_until_idle(10)
    events = _received("s3")
    assert len(events) == 1
    record = events[0]["Records"][0]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["awsRegion"] == "ca-central-1"
    assert record["s3"]["bucket"]["name"] == bucket
    assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert record["s3"]["object"]["key"] == "test-uploads/re%C3%A7u+1.txt"
    assert record["s3"]["object"]["size"] == 5
    assert record["s3"]["object"]["eTag"] == s3.head_object(Bucket=bucket, Key="test-uploads/reçu 1.txt")["ETag"].strip(
        '"'
    )
    assert set(record) >= {"eventVersion", "eventTime", "userIdentity", "requestParameters", "responseElements", "s3"}


def test_s3_invocation_failing_after_its_retries_goes_to_the_on_failure_queue(parts: LocalParts) -> None:
    import localstack_echo

    localstack_echo.FAIL["keys"] = {"test-uploads/broken.txt"}
    s3 = boto3.client("s3", region_name=parts.stack.region)
    bucket = parts.stack.name("DocumentsBucket")
    s3.put_object(Bucket=bucket, Key="test-uploads/fine.txt", Body=b"ok")
    s3.put_object(Bucket=bucket, Key="test-uploads/broken.txt", Body=b"no")
    sqs = boto3.client("sqs", region_name=parts.stack.region)
    queue = parts.stack.physical["EligibilityImportFailureQueue"]["QueueUrl"]
    messages: list[dict[str, Any]] = []

    def failure_arrived() -> bool:
        messages.extend(sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []))
        return bool(messages)

    parts.wait(failure_arrived, timeout=20)
    assert parts.pollers.wait_until_idle(10)
    failure = json.loads(messages[0]["Body"])
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3  # the first try and two retries
    assert failure["requestContext"]["functionArn"].endswith("UploadEchoFunction")
    assert failure["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "test-uploads/broken.txt"
    assert failure["responsePayload"]["errorType"] == "RuntimeError"
    keys = [r["s3"]["object"]["key"] for event in _received("s3") for r in event["Records"]]
    assert keys.count("test-uploads/broken.txt") == 3
    assert keys.count("test-uploads/fine.txt") == 1
    assert len(messages) == 1


def test_outbox_collects_sent_emails_newest_first(parts: LocalParts) -> None:
    ses = boto3.client("ses", region_name=parts.stack.region)
    sender = parts.stack.parameters["SenderEmail"]
    for subject in ("Premier", "Second"):
        ses.send_email(
            Source=sender,
            Destination={"ToAddresses": ["Marie@Example.ca"]},
            Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": f"Code {subject}"}}},
        )
    parts.wait(lambda: len(parts.outbox.items("marie@example.ca")) == 2)
    items = [m.as_json() for m in parts.outbox.items("marie@example.ca")]
    assert [i["subject"] for i in items] == ["Second", "Premier"]
    assert items[0]["text"] == "Code Second"
    assert items[0]["to"] == "Marie@Example.ca"
    assert items[0]["sentAt"].endswith("Z")
    assert parts.outbox.items("other@example.ca") == []
