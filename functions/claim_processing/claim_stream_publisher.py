"""Outbox relay: claims-table stream INSERTs of claims -> ``ClaimSubmitted`` on the claims bus.

The stream is the outbox of the submission transaction: a claim that was written is published,
at least once (the event carries ``claimId`` for de-duplication). Records are processed with
partial batch failures: a record whose event the bus refuses is reported and retried alone (the
event source mapping bisects and, after its retries, sends it to the failure queue).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.dynamo import from_item
from portal_common.log import get_logger
from portal_common.models import money_to_str

logger = get_logger("claim-stream-publisher")
get_settings()  # every variable checked at cold start (a missing one fails here, by name)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

SOURCE = "ca.portal.claims"
DETAIL_TYPE = "ClaimSubmitted"
DETAIL_VERSION = "1"


class PublishError(Exception):
    """The bus did not accept an event."""


def claim_submitted_detail(claim: dict[str, Any]) -> dict[str, Any]:
    """The versioned ``ClaimSubmitted`` detail of a claim item (see docs/events.md)."""
    return {
        "version": DETAIL_VERSION,
        "claimId": claim["claimId"],
        "memberKey": claim["PK"],
        "contractNumber": claim.get("contractNumber"),
        "planId": claim.get("planId"),
        "claimType": claim["claimType"],
        "category": claim.get("category"),
        "patientId": claim["patientId"],
        "providerId": claim.get("providerId"),
        "submittedAt": claim["submittedAt"],
        "totalClaimed": money_to_str(Decimal(str(claim["totalClaimed"]))),
        "treatmentCount": len(claim.get("treatments", [])),
        "language": claim.get("language", "fr"),
    }


def put_events_on_bus(entries: list[dict[str, Any]]) -> None:
    """Default publisher: ``PutEvents`` on the claims bus, failing when an entry is refused."""
    response = client("events").put_events(Entries=entries)
    if response.get("FailedEntryCount"):
        codes = [e.get("ErrorCode") for e in response.get("Entries", []) if e.get("ErrorCode")]
        raise PublishError(f"PutEvents refused {codes}")


def make_record_handler(publish: Callable[[list[dict[str, Any]]], None]) -> Callable[[DynamoDBRecord], None]:
    """A record handler that publishes with ``publish`` (tests pass another publisher)."""

    def handle(record: DynamoDBRecord) -> None:
        if record.raw_event.get("eventName") != "INSERT":
            return
        image = (record.raw_event.get("dynamodb") or {}).get("NewImage") or {}
        claim = from_item(image) or {}
        if claim.get("entityType") != "CLAIM":
            return
        detail = claim_submitted_detail(claim)
        publish(
            [
                {
                    "Source": SOURCE,
                    "DetailType": DETAIL_TYPE,
                    "Detail": json.dumps(detail, separators=(",", ":")),
                    "EventBusName": get_settings().event_bus_name,
                }
            ]
        )
        logger.info("ClaimSubmitted published", extra={"claim_id": detail["claimId"]})

    return handle


record_handler = make_record_handler(put_events_on_bus)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """DynamoDB stream batch -> partial batch response."""
    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
