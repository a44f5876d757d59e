"""Outbox relay: claims-table stream INSERTs of claims -> ``ClaimSubmitted`` on the claims bus.

The stream is the outbox of the submission transaction: a claim that was written is published,
at least once (the event carries ``claimId`` for de-duplication). A claim whose member answered its
information requests (a MODIFY from ``PENDING_INFORMATION`` to ``SUBMITTED``) is submitted again:
its ``ClaimSubmitted`` carries ``resubmittedAt``. Records are processed with
partial batch failures: a record whose event the bus refuses is reported and retried alone (the
event source mapping bisects and, after its retries, sends it to the failure queue).
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from portal_common.aws_clients import client
from portal_common.claim_events import ClaimSubmittedV1
from portal_common.claim_records import PENDING_INFORMATION, ClaimRecord
from portal_common.config import get_settings
from portal_common.dynamo import from_item
from portal_common.log import get_logger

logger = get_logger("claim-stream-publisher")
get_settings()  # every variable checked at cold start (a missing one fails here, by name)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


class PublishError(Exception):
    """The bus did not accept an event."""


def put_events_on_bus(entries: list[dict[str, Any]]) -> None:
    """Default publisher: ``PutEvents`` on the claims bus, failing when an entry is refused."""
    response = client("events").put_events(Entries=entries)
    if response.get("FailedEntryCount"):
        codes = [e.get("ErrorCode") for e in response.get("Entries", []) if e.get("ErrorCode")]
        raise PublishError(f"PutEvents refused {codes}")


def make_record_handler(publish: Callable[[list[dict[str, Any]]], None]) -> Callable[[DynamoDBRecord], None]:
    """A record handler that publishes with ``publish`` (tests pass another publisher)."""

    def handle(record: DynamoDBRecord) -> None:
        change = record.raw_event.get("dynamodb") or {}
        image = from_item(change.get("NewImage") or {}) or {}
        if not ClaimRecord.is_claim_item(image):
            return
        if record.raw_event.get("eventName") != "INSERT" and not _resubmitted(change):
            return
        event = ClaimSubmittedV1.of(ClaimRecord.from_item(image))
        publish([event.entry(get_settings().event_bus_name)])
        logger.info("ClaimSubmitted published", extra={"claim_id": event.claim_id})

    return handle


def _resubmitted(change: dict[str, Any]) -> bool:
    """A MODIFY that took a claim from ``PENDING_INFORMATION`` back to ``SUBMITTED`` (an answer)."""
    old = from_item(change.get("OldImage") or {}) or {}
    new = from_item(change.get("NewImage") or {}) or {}
    return old.get("status") == PENDING_INFORMATION and new.get("status") == "SUBMITTED"


record_handler = make_record_handler(put_events_on_bus)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """DynamoDB stream batch -> partial batch response."""
    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
