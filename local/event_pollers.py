"""Event source mappings of the template, played by threads that poll moto.

- DynamoDB streams (``Type: DynamoDB``): ``get_records`` from each shard, ``FilterCriteria``,
  ``BatchSize``, ``ReportBatchItemFailures`` (retry from the first failed record),
  ``MaximumRetryAttempts`` then the ``OnFailure`` SQS destination, as Lambda does.
- SQS (``Type: SQS``): Lambda's SQS batch shape; successes are deleted, failures (the whole batch
  on an exception, or the ``batchItemFailures``) become visible again after a short local delay
  so that the queue's redrive policy (moto) moves them to the dead-letter queue in seconds.
- Schedules (``AWS::Scheduler::Schedule`` whose target is a function of the template): a timer
  invokes the function every :data:`LOCAL_SCHEDULE_SECONDS` (or the schedule's own rate, if
  shorter), with the schedule's ``Input``, as EventBridge Scheduler would (asynchronously: its
  failure is logged, and the next run comes on time).
- S3 notifications (``Type: S3``): S3 sends notifications to a queue (moto does this part), one
  hidden local queue per event source, and this poller invokes the function with the S3 event as
  an asynchronous invocation would (``EventInvokeConfig`` retries, then Lambda's destination record
  goes to the ``OnFailure`` queue).

Every poller runs in its own thread with a short interval that grows while it finds nothing (up to
:data:`MAX_IDLE_INTERVAL`); :meth:`PollerGroup.wake` (the local stack calls it on every call that
reaches moto, except the pollers' own) makes them all poll again at once. :meth:`PollerGroup.idle`
says whether they have all drained their sources (used by the end-to-end tests).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from botocore.config import Config
from botocore.exceptions import ClientError

from local.cfn import EventSource, Stack, target_function
from local.event_filter import FilterCriteria
from local.lambda_runtime import FunctionRuntime

log = logging.getLogger("local.pollers")

POLL_INTERVAL = 0.2
# An idle poller waits longer after each empty poll, up to this (an idle local stack then makes a
# few calls a second instead of forty); :meth:`PollerGroup.wake` brings every poller back at once.
MAX_IDLE_INTERVAL = 2.0
# The user agent of the pollers' own calls, so that the local stack wakes them on every other call.
POLLER_USER_AGENT = "local-poller"
LOCAL_SQS_RETRY_DELAY = 1  # seconds before a failed SQS message is visible again (AWS: the queue's timeout)
# Schedules run this often locally (AWS: their rate, 5 minutes for the sweeper), so that their
# effect shows within seconds; what they act on is decided by the (shiftable) clock, not the timer.
LOCAL_SCHEDULE_SECONDS = 5.0


class Poller:
    """One event source mapping."""

    name: str = "poller"
    on_found: Callable[[str], None] | None = None  # set by PollerGroup

    def poll_once(self) -> bool:
        """Deliver what is available; ``True`` if anything was found."""
        raise NotImplementedError

    def found(self) -> None:
        """Called as soon as there is something to deliver (before delivering it), so that the
        group never reports idle while a delivery is under way."""
        if self.on_found is not None:
            self.on_found(self.name)


def _invoke(runtime: FunctionRuntime, function: str, event: dict[str, Any]) -> tuple[Any, str | None]:
    """Invoke; returns (result, error type) where an exception is a function error, as Lambda reports it."""
    try:
        return runtime.invoke(function, event), None
    except Exception as error:
        log.error("%s failed:\n%s", function, traceback.format_exc().rstrip())
        return None, type(error).__name__


def _failed_ids(result: Any) -> list[str] | None:
    """``batchItemFailures`` identifiers; ``None`` when the response is malformed (whole batch fails)."""
    if result is None:
        return []
    if not isinstance(result, dict):
        return []
    failures = result.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list):
        return None
    ids: list[str] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or not identifier:
            return None
        ids.append(identifier)
    return ids


# ---------------------------------------------------------------------------------------- streams
def _wire_value(value: Any) -> Any:
    """A boto3-parsed attribute value back to its JSON wire form (binary as base64)."""
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for type_name, inner in value.items():
            if type_name == "B":
                result[type_name] = base64.b64encode(inner).decode("ascii")
            elif type_name == "BS":
                result[type_name] = [base64.b64encode(v).decode("ascii") for v in inner]
            elif type_name == "M":
                result[type_name] = {k: _wire_value(v) for k, v in inner.items()}
            elif type_name == "L":
                result[type_name] = [_wire_value(v) for v in inner]
            else:
                result[type_name] = inner
        return result
    return value


def stream_record(raw: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A record of ``get_records`` in the shape Lambda delivers it."""
    body = dict(raw.get("dynamodb") or {})
    created = body.get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime):
        body["ApproximateCreationDateTime"] = int(created.timestamp())
    for image in ("Keys", "NewImage", "OldImage"):
        if image in body:
            body[image] = {k: _wire_value(v) for k, v in body[image].items()}
    return {
        "eventID": raw.get("eventID") or uuid.uuid4().hex,
        "eventName": raw["eventName"],
        "eventVersion": raw.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,  # moto reports us-east-1 whatever the table's region
        "dynamodb": body,
        "eventSourceARN": stream_arn,
    }


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class StreamPoller(Poller):
    """A DynamoDB stream event source."""

    runtime: Any
    function: str
    stream_arn: str
    properties: dict[str, Any]
    streams: Any
    sqs: Any
    region: str
    retry_delay: float = 0.2
    pending: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    _iterators: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = f"{self.function}<-stream"
        self.filter = FilterCriteria(self.properties.get("FilterCriteria"))
        self.batch_size = int(self.properties.get("BatchSize", 100))
        self.max_retries = int(self.properties.get("MaximumRetryAttempts", -1))
        self.report_failures = "ReportBatchItemFailures" in (self.properties.get("FunctionResponseTypes") or [])
        self.bisect = bool(self.properties.get("BisectBatchOnFunctionError", False))
        on_failure = ((self.properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        self.on_failure_arn: str | None = on_failure
        self.starting_position = str(self.properties.get("StartingPosition", "LATEST"))
        self.current_size = self.batch_size

    def _read(self) -> bool:
        found = False
        try:
            description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        except ClientError:
            # moto creates the stream's shard on the table's first write and fails before that.
            return False
        shards = description.get("Shards", [])
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=self.starting_position
                )["ShardIterator"]
            iterator = self._iterators[shard_id]
            if iterator is None:
                continue
            response = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            self._iterators[shard_id] = response.get("NextShardIterator")
            for raw in response.get("Records", []):
                found = True
                record = stream_record(raw, self.stream_arn, self.region)
                if self.filter.accepts(record):
                    self.pending.append(record)
        return found

    def poll_once(self) -> bool:
        found = self._read()
        if not self.pending:
            return found
        self.found()
        batch = self.pending[: self.current_size]
        result, error = _invoke(self.runtime, self.function, {"Records": batch})
        if error is not None and self.bisect and len(batch) > 1:
            # Lambda splits the batch in two and retries each half; splitting uses no retry attempt.
            self.current_size = (len(batch) + 1) // 2
            return True
        if error is None and self.report_failures:
            failed = _failed_ids(result)
            sequence_numbers = [r["dynamodb"].get("SequenceNumber") for r in batch]
            if failed is None or any(f not in sequence_numbers for f in failed):
                first_failed: int | None = 0
            else:
                first_failed = min((sequence_numbers.index(f) for f in failed), default=None)
        else:
            first_failed = 0 if error else None
        if first_failed is None:
            del self.pending[: len(batch)]
            self.attempts = 0
            if not self.pending:
                self.current_size = self.batch_size
            return True
        # Records before the first failure are checkpointed; the rest is retried.
        del self.pending[:first_failed]
        self.attempts += 1
        if 0 <= self.max_retries < self.attempts:
            failed_batch = batch[first_failed:]
            self._send_to_failure_destination(failed_batch, error)
            del self.pending[: len(failed_batch)]
            self.attempts = 0
            self.current_size = self.batch_size
        else:
            time.sleep(min(self.retry_delay * self.attempts, 2.0))
        return True

    def _send_to_failure_destination(self, batch: list[dict[str, Any]], error: str | None) -> None:
        log.error("%s: %d stream record(s) dropped after %d attempts", self.function, len(batch), self.attempts)
        if not self.on_failure_arn:
            return
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        shard = next(iter(self._iterators), "shardId-00000000000000000000-00000000")
        record = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.runtime.stack.physical[self.function]["Arn"],
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self.attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled" if error else "",
            },
            "version": "1.0",
            "timestamp": _now_iso(),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": first.get("SequenceNumber"),
                "endSequenceNumber": last.get("SequenceNumber"),
                "approximateArrivalOfFirstRecord": _iso_from_epoch(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso_from_epoch(last.get("ApproximateCreationDateTime")),
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }
        self.sqs.send_message(QueueUrl=_queue_url(self.sqs, self.on_failure_arn), MessageBody=json.dumps(record))


def _iso_from_epoch(value: Any) -> str | None:
    if value is None:
        return None
    return dt.datetime.fromtimestamp(float(value), dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _queue_url(sqs: Any, arn: str) -> str:
    parts = arn.split(":")
    return str(sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"])


# ---------------------------------------------------------------------------------------- SQS
def _lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for name, value in attributes.items():
        entry: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            entry["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
        converted[name] = entry
    return converted


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """A received message in the shape Lambda's SQS event source delivers it."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {k: str(v) for k, v in (message.get("Attributes") or {}).items()},
        "messageAttributes": _lambda_message_attributes(message.get("MessageAttributes") or {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


@dataclass
class SqsPoller(Poller):
    """An SQS queue event source."""

    runtime: Any
    function: str
    queue_arn: str
    properties: dict[str, Any]
    sqs: Any
    region: str
    retry_delay: int = LOCAL_SQS_RETRY_DELAY

    def __post_init__(self) -> None:
        self.name = f"{self.function}<-sqs"
        self.batch_size = max(1, min(int(self.properties.get("BatchSize", 10)), 10))
        self.report_failures = "ReportBatchItemFailures" in (self.properties.get("FunctionResponseTypes") or [])
        self.filter = FilterCriteria(self.properties.get("FilterCriteria"))
        self.queue_url = _queue_url(self.sqs, self.queue_arn)

    def _receive(self) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _filter_view(self, record: dict[str, Any]) -> dict[str, Any]:
        view = dict(record)
        with contextlib.suppress(ValueError):
            view["body"] = json.loads(record["body"])
        return view

    def poll_once(self) -> bool:
        messages = self._receive()
        if not messages:
            return False
        self.found()
        records = [sqs_record(m, self.queue_arn, self.region) for m in messages]
        delivered = [r for r in records if self.filter.accepts(self._filter_view(r))]
        failed = self._deliver(delivered) if delivered else set()
        done = [r for r in records if r["messageId"] not in failed]
        retry = [r for r in delivered if r["messageId"] in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(done)],
            )
        if retry:
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": self.retry_delay}
                    for i, r in enumerate(retry)
                ],
            )
        return True

    def _deliver(self, records: list[dict[str, Any]]) -> set[str]:
        """Invoke; the ids of the messages to retry."""
        all_ids = {r["messageId"] for r in records}
        result, error = _invoke(self.runtime, self.function, {"Records": records})
        if error is not None:
            return all_ids
        if not self.report_failures:
            return set()
        failed = _failed_ids(result)
        if failed is None or any(f not in all_ids for f in failed):
            log.error("%s returned an invalid batchItemFailures: the whole batch is retried", self.function)
            return all_ids
        return set(failed)


# ---------------------------------------------------------------------------------------- S3
def complete_s3_record(record: dict[str, Any], account_id: str, region: str) -> dict[str, Any]:
    """Add the fields of S3's notification record that moto leaves out or gets wrong."""
    record["awsRegion"] = region
    record.setdefault("userIdentity", {"principalId": f"AWS:{account_id}"})
    record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
    record.setdefault(
        "responseElements", {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": uuid.uuid4().hex}
    )
    s3 = record.setdefault("s3", {})
    key = (s3.get("object") or {}).get("key")
    if isinstance(key, str):
        # S3 form-encodes keys but keeps "/" (moto encodes it too).
        s3["object"]["key"] = quote_plus(unquote_plus(key), safe="/")
    s3.setdefault("bucket", {}).setdefault("ownerIdentity", {"principalId": account_id})
    s3.setdefault("object", {}).setdefault("sequencer", f"{time.time_ns():X}")
    return record


@dataclass
class S3NotificationPoller(Poller):
    """An S3 event source: notifications land in a local queue, delivered as async invocations."""

    runtime: Any
    function: str
    queue_url: str
    sqs: Any
    account_id: str
    region: str
    max_attempts: int = 3  # asynchronous invocation: the first try and two retries
    on_failure_arn: str | None = None  # EventInvokeConfig OnFailure (an SQS queue)

    def __post_init__(self) -> None:
        self.name = f"{self.function}<-s3"

    def poll_once(self) -> bool:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if messages:
            self.found()
        for message in messages:
            try:
                event = json.loads(message["Body"])
            except ValueError:
                event = {}
            records = [complete_s3_record(r, self.account_id, self.region) for r in event.get("Records") or []]
            if records:
                self._invoke_async({"Records": records})
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return bool(messages)

    def _invoke_async(self, event: dict[str, Any]) -> None:
        error: str | None = None
        for attempt in range(1, self.max_attempts + 1):
            _, error = _invoke(self.runtime, self.function, event)
            if error is None:
                return
            if attempt < self.max_attempts:
                time.sleep(0.2 * attempt)
        log.error("%s: S3 event failed after %d attempts", self.function, self.max_attempts)
        if self.on_failure_arn:
            self.sqs.send_message(
                QueueUrl=_queue_url(self.sqs, self.on_failure_arn),
                MessageBody=json.dumps(self._destination_record(event, error)),
            )

    def _destination_record(self, event: dict[str, Any], error: str | None) -> dict[str, Any]:
        """Lambda's asynchronous-invocation destination record (the request and the error)."""
        return {
            "version": "1.0",
            "timestamp": _now_iso(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.runtime.stack.physical[self.function]["Arn"],
                "condition": "RetriesExhausted",
                "approximateInvokeCount": self.max_attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": error or "Error", "errorMessage": "see the function log"},
        }


def wire_s3_notifications(stack: Stack, sqs: Any, s3: Any) -> list[tuple[EventSource, str]]:
    """Point the bucket's notifications at one local queue per ``Type: S3`` event source.

    Returns each source with its queue URL. Prefix and suffix rules and event names come from the
    template, so moto applies the same matching S3 does.
    """
    by_bucket: dict[str, list[dict[str, Any]]] = {}
    wired: list[tuple[EventSource, str]] = []
    for spec in stack.functions().values():
        for index, source in enumerate(s for s in spec.sources if s.kind == "S3"):
            props = stack.resolve(source.properties)
            queue_name = f"{stack.stack_name}-local-s3-{spec.logical_id}-{index}"[:80]
            url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events = props["Events"] if isinstance(props["Events"], list) else [props["Events"]]
            configuration: dict[str, Any] = {"Id": f"{spec.logical_id}-{index}", "QueueArn": arn, "Events": events}
            rules = (((props.get("Filter") or {}).get("S3Key") or {}).get("Rules")) or []
            if rules:
                configuration["Filter"] = {
                    "Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}
                }
            by_bucket.setdefault(str(props["Bucket"]), []).append(configuration)
            wired.append((source, url))
    for bucket, configurations in by_bucket.items():
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configurations}
        )
    return wired


# ------------------------------------------------------------------------------------ schedules
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def schedule_seconds(expression: str) -> float:
    """Seconds between runs of a ``rate(...)`` schedule expression (``ValueError`` for others)."""
    match = _RATE.match(expression.strip())
    if match is None:
        raise ValueError(f"unsupported schedule expression {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


@dataclass
class SchedulePoller(Poller):
    """An EventBridge Scheduler schedule targeting a function: a timer."""

    runtime: Any
    function: str
    interval: float
    event: dict[str, Any] = field(default_factory=dict)
    last_run: float = 0.0
    runs: int = 0

    def __post_init__(self) -> None:
        self.name = f"{self.function}<-schedule"

    def poll_once(self) -> bool:
        now = time.monotonic()
        if now - self.last_run < self.interval:
            return False
        self.last_run = now
        self.found()
        result, _ = _invoke(self.runtime, self.function, dict(self.event))
        self.runs += 1
        # Busy while a run did something (its report counts items), so that "idle" means settled.
        return isinstance(result, dict) and bool(result.get("items"))


def schedule_pollers(stack: Stack, runtime: FunctionRuntime) -> list[Poller]:
    """A timer for every enabled ``AWS::Scheduler::Schedule`` whose target is a template function."""
    pollers: list[Poller] = []
    for logical_id, resource in stack.of_type("AWS::Scheduler::Schedule").items():
        props = resource.get("Properties") or {}
        target = props.get("Target") or {}
        function = target_function(target)
        if props.get("State", "ENABLED") != "ENABLED" or function is None or not runtime.available(function):
            log.warning("%s: schedule target is not a runnable function of the template", logical_id)
            continue
        interval = min(schedule_seconds(str(props["ScheduleExpression"])), LOCAL_SCHEDULE_SECONDS)
        event = json.loads(target.get("Input") or "{}")
        pollers.append(SchedulePoller(runtime, function, interval, event))
    return pollers


# ---------------------------------------------------------------------------------------- group
class PollerGroup:
    """Runs pollers in threads; knows when they are all idle."""

    def __init__(
        self, pollers: list[Poller], interval: float = POLL_INTERVAL, max_interval: float = MAX_IDLE_INTERVAL
    ) -> None:
        self.pollers = pollers
        self.interval = interval
        self.max_interval = max(interval, max_interval)
        self._stop = threading.Event()
        self._wakeup = threading.Condition()
        self._wakes = 0
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._empty_cycles = {p.name: 0 for p in pollers}
        self._delivering: set[str] = set()
        for poller in pollers:
            poller.on_found = self._found

    def start(self) -> None:
        """Start one thread per poller."""
        for poller in self.pollers:
            thread = threading.Thread(target=self._run, args=(poller,), name=f"poller {poller.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, poller: Poller) -> None:
        while not self._stop.is_set():
            try:
                worked = poller.poll_once()
            except Exception:
                if self._stop.is_set():
                    break
                log.error("%s: poll failed:\n%s", poller.name, traceback.format_exc().rstrip())
                worked = False
            with self._lock:
                self._delivering.discard(poller.name)
                self._empty_cycles[poller.name] = empty = 0 if worked else self._empty_cycles[poller.name] + 1
            if not worked:
                # The first two empty polls keep the short interval (idle() needs two), then it doubles.
                self._pause(min(self.interval * 2 ** max(0, empty - 2), self.max_interval))

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if :meth:`wake` or :meth:`stop` is called meanwhile."""
        with self._wakeup:
            seen = self._wakes
            self._wakeup.wait_for(lambda: self._wakes != seen or self._stop.is_set(), seconds)

    def wake(self) -> None:
        """Something may have been written (an API call, a direct S3 upload, a function's write):
        every poller polls again now, and the group is not idle until each has found nothing twice."""
        with self._lock:
            for name in self._empty_cycles:
                self._empty_cycles[name] = 0
        with self._wakeup:
            self._wakes += 1
            self._wakeup.notify_all()

    def _found(self, name: str) -> None:
        with self._lock:
            self._delivering.add(name)
            self._empty_cycles[name] = 0

    def idle(self) -> bool:
        """Every poller found nothing on its last two polls and none is delivering."""
        with self._lock:
            return not self._delivering and all(count >= 2 for count in self._empty_cycles.values())

    def wait_until_idle(self, timeout: float = 30.0, poll: Callable[[], None] | None = None) -> bool:
        """Block until :meth:`idle` (``False`` on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(self.interval / 2)
        return self.idle()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling and join the threads (a delivery in progress finishes first)."""
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)


def build_pollers(stack: Stack, runtime: FunctionRuntime, session: Any, endpoint_url: str) -> list[Poller]:
    """A poller for every non-API, non-Cognito event source of the template."""

    def make(service: str) -> Any:
        # Account-based endpoints (``<account>.streams-ddb...``, chosen from a stream ARN) are not
        # served by moto in-process: use the regional endpoint, which AWS serves too.
        config = Config(account_id_endpoint_mode="disabled", user_agent_extra=POLLER_USER_AGENT)
        return session.client(service, region_name=stack.region, endpoint_url=endpoint_url, config=config)

    sqs, streams, s3 = make("sqs"), make("dynamodbstreams"), make("s3")
    pollers: list[Poller] = []
    for spec in runtime.specs.values():
        if (
            spec.sources
            and not runtime.available(spec.logical_id)
            and any(s.kind in ("DynamoDB", "SQS", "S3") for s in spec.sources)
        ):
            log.warning(
                "%s: handler %s cannot be imported; its event sources are not polled", spec.logical_id, spec.module
            )
            continue
        for source in spec.sources:
            props = stack.resolve(source.properties)
            if source.kind == "DynamoDB":
                pollers.append(
                    StreamPoller(runtime, spec.logical_id, str(props["Stream"]), props, streams, sqs, stack.region)
                )
            elif source.kind == "SQS":
                pollers.append(SqsPoller(runtime, spec.logical_id, str(props["Queue"]), props, sqs, stack.region))
    for source, queue_url in wire_s3_notifications(stack, sqs, s3):
        if runtime.available(source.function):
            spec = runtime.specs[source.function]
            pollers.append(
                S3NotificationPoller(
                    runtime,
                    source.function,
                    queue_url,
                    sqs,
                    stack.account_id,
                    stack.region,
                    max_attempts=spec.async_retries + 1,
                    on_failure_arn=spec.on_failure_arn,
                )
            )
    pollers.extend(schedule_pollers(stack, runtime))
    from local.ses_events import ses_event_pollers  # imports this module

    pollers.extend(ses_event_pollers(stack, runtime))
    return pollers
