"""Claim processor: SQS batch handler (events from the bus rule on ``ClaimSubmitted``).

Each SQS message body is the full EventBridge envelope of a
:class:`~portal_common.claim_events.ClaimSubmittedV1`. A record whose envelope or detail is
malformed, or whose detail version is unknown, fails alone (partial batch response): SQS retries it
and, after ``maxReceiveCount`` receives, moves it to the dead-letter queue, while the other records
of the batch are processed normally. The work itself is idempotent per claim (``claim_processing``).

A record is started only while at least :data:`RECORD_BUDGET_MS` of the invocation is left (one
record's realistic worst case with the clients' timeouts, docs/operations.md "Timeouts"): the
records not started are reported failed and come back later, instead of the whole batch timing out
and coming back with them.
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from claim_processing import Notifier, Outcome, process_claim

from portal_common import cold_start
from portal_common.claim_events import ClaimSubmittedV1, MalformedEvent
from portal_common.config import get_settings
from portal_common.log import get_logger

logger = get_logger("claim-processor")
get_settings().require("claim_email_configuration_set")  # every variable checked at cold start (by name)
# Report every failed record, even when the whole batch failed (same retry semantics, no noisy error).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
RECORD_BUDGET_MS = 12_000


class OutOfTime(Exception):
    """Too little of the invocation is left to start this record (SQS delivers it again)."""


def handle_record(record: SQSRecord, notifier: Notifier | None = None) -> Outcome:
    """Process one SQS record (raises to mark the record failed)."""
    try:
        event = ClaimSubmittedV1.from_envelope(record.body)
    except MalformedEvent:
        logger.warning("malformed claim event", extra={"messageId": record.message_id})
        raise
    outcome = process_claim(event.member_key, event.claim_id, expected=event, notifier=notifier)
    logger.info(
        "claim processed",
        extra={"claimId": outcome.claim_id, "status": outcome.status, "replay": outcome.replay},
    )
    return outcome


def _record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> Outcome:
    if lambda_context is not None and lambda_context.get_remaining_time_in_millis() < RECORD_BUDGET_MS:
        raise OutOfTime(record.message_id)
    return handle_record(record)


@cold_start.settles
def lambda_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    """SQS batch entry point with partial batch responses."""
    response = process_partial_response(
        event=event, record_handler=_record_handler, processor=processor, context=context
    )
    return dict(response)
