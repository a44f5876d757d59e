"""Relay: claims-table stream INSERTs of claims (and re-submissions) -> ``ClaimSubmitted`` on the bus.

The stream is the outbox of the submission transaction: a claim that was written is published,
at least once (the event carries ``claimId`` for de-duplication). A claim whose member answered its
information requests (a MODIFY from ``PENDING_INFORMATION`` to ``SUBMITTED``) is submitted again:
its ``ClaimSubmitted`` carries ``resubmittedAt``. A batch's events go out in
``PutEvents`` calls of up to 10 entries (the API's limit); an entry the bus refuses
(``FailedEntryCount``, per-entry ``ErrorCode``) or a call that fails reports its records as failed
(partial batch response: Lambda retries from the first failed record, bisects, and after its
retries sends a pointer to the failure queue). A claim never depends on the stream's 24 hours: it
stays in the sweep index while ``SUBMITTED``, and the sweeper publishes it again
(``claim_sweeper``).
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from portal_common import cold_start
from portal_common.aws_clients import client
from portal_common.claim_events import ClaimSubmittedV1
from portal_common.claim_records import PENDING_INFORMATION, ClaimRecord
from portal_common.config import get_settings
from portal_common.dynamo import from_item
from portal_common.log import get_logger

logger = get_logger("claim-stream-publisher")
get_settings()  # every variable checked at cold start (a missing one fails here, by name)
PUT_EVENTS_BATCH = 10  # PutEvents takes at most 10 entries
# One PutEvents call's worst case (portal_common.aws_clients: 2 x (1 + 3) + 1 = 9 s) with room: a
# chunk is sent only while this much of the invocation is left; the others are reported failed.
CALL_BUDGET_MS = 10_000


class PublishError(Exception):
    """The bus did not accept an event."""


def put_events_on_bus(entries: list[dict[str, Any]]) -> None:
    """Default publisher: ``PutEvents`` on the claims bus, failing when an entry is refused."""
    response = client("events").put_events(Entries=entries)
    if response.get("FailedEntryCount"):
        codes = [e.get("ErrorCode") for e in response.get("Entries", []) if e.get("ErrorCode")]
        raise PublishError(f"PutEvents refused {codes}")


def claim_entry(raw: dict[str, Any]) -> dict[str, Any] | None:
    """The ``ClaimSubmitted`` entry of one stream record: a claim INSERT, or a claim's MODIFY from
    ``PENDING_INFORMATION`` back to ``SUBMITTED`` (the member answered); ``None`` for anything else."""
    change = raw.get("dynamodb") or {}
    if raw.get("eventName") != "INSERT" and not _resubmitted(change):
        return None
    image = from_item(change.get("NewImage") or {}) or {}
    if not ClaimRecord.is_claim_item(image):
        return None
    return ClaimSubmittedV1.of(ClaimRecord.from_item(image)).entry(get_settings().event_bus_name)


def make_record_handler(publish: Callable[[list[dict[str, Any]]], None]) -> Callable[[DynamoDBRecord], None]:
    """A one-record handler that publishes with ``publish`` (tests pass another publisher)."""

    def handle(record: DynamoDBRecord) -> None:
        entry = claim_entry(record.raw_event)
        if entry is not None:
            publish([entry])

    return handle


def _resubmitted(change: dict[str, Any]) -> bool:
    """A MODIFY that took a claim from ``PENDING_INFORMATION`` back to ``SUBMITTED`` (an answer)."""
    old = from_item(change.get("OldImage") or {}) or {}
    new = from_item(change.get("NewImage") or {}) or {}
    return old.get("status") == PENDING_INFORMATION and new.get("status") == "SUBMITTED"


record_handler = make_record_handler(put_events_on_bus)


def _refused(entries: list[dict[str, Any]]) -> list[int]:
    """Put ``entries`` (at most 10); the indexes of those the bus did not accept."""
    try:
        response = client("events").put_events(Entries=entries)
    except (ClientError, BotoCoreError) as error:
        logger.warning("PutEvents failed", extra={"error": type(error).__name__, "entries": len(entries)})
        return list(range(len(entries)))
    if not response.get("FailedEntryCount"):
        return []
    results = response.get("Entries") or []
    refused = [i for i in range(len(entries)) if i >= len(results) or results[i].get("ErrorCode")]
    codes = sorted({str(results[i].get("ErrorCode")) for i in refused if i < len(results)})
    logger.warning("PutEvents refused entries", extra={"refused": len(refused), "codes": codes})
    return refused


def publish_batch(records: list[dict[str, Any]], remaining_ms: Callable[[], int] = lambda: 10**9) -> list[str]:
    """Publish every claim INSERT of a stream batch, 10 entries per ``PutEvents``; the sequence
    numbers of the records that failed (malformed, refused or not sent)."""
    failed: list[str] = []
    pending: list[tuple[str, dict[str, Any]]] = []
    for raw in records:
        sequence = str((raw.get("dynamodb") or {}).get("SequenceNumber", ""))
        try:
            entry = claim_entry(raw)
        except Exception:
            logger.exception("malformed stream record", extra={"sequence": sequence})
            failed.append(sequence)
            continue
        if entry is not None:
            pending.append((sequence, entry))
    for start in range(0, len(pending), PUT_EVENTS_BATCH):
        chunk = pending[start : start + PUT_EVENTS_BATCH]
        if remaining_ms() < CALL_BUDGET_MS:
            failed.extend(sequence for sequence, _ in pending[start:])
            break
        for index in _refused([entry for _, entry in chunk]):
            failed.append(chunk[index][0])
    logger.info("ClaimSubmitted published", extra={"published": len(pending) - len(failed), "failed": len(failed)})
    return failed


@cold_start.settles
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """DynamoDB stream batch -> partial batch response (``batchItemFailures``)."""
    failed = publish_batch(list(event.get("Records") or []), context.get_remaining_time_in_millis)
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}
