"""Claim processor: SQS batch handler (events from the bus rule on ``ClaimSubmitted``).

Each SQS message body is the full EventBridge envelope. A record whose envelope or detail is
malformed, or whose detail version is unknown, fails alone (partial batch response): SQS retries it
and, after ``maxReceiveCount`` receives, moves it to the dead-letter queue, while the other records
of the batch are processed normally. The work itself is idempotent per claim (``claim_processing``).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from claim_processing import Notifier, Outcome, process_claim
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from portal_common.config import get_settings
from portal_common.log import get_logger

logger = get_logger("claim-processor")
get_settings()  # every variable checked at cold start (a missing one fails here, by name)
# Report every failed record, even when the whole batch failed (same retry semantics, no noisy error).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class MalformedEvent(ValueError):
    """The record is not a ``ClaimSubmitted`` event this processor understands."""


class ClaimSubmittedV1(BaseModel):
    """``ClaimSubmitted`` detail, version 1 (docs/events.md)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Literal["1"]
    claim_id: str = Field(alias="claimId", min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")
    # The member's partition; ``memberKey`` as the stream publisher writes it (``pk`` accepted too).
    pk: str = Field(validation_alias=AliasChoices("memberKey", "pk"), pattern=r"^MEMBER#[^#]+#[^#]+$", max_length=200)
    claim_type: str = Field(alias="claimType", min_length=1, max_length=64)
    patient_id: str = Field(alias="patientId", min_length=1, max_length=64)
    submitted_at: str = Field(alias="submittedAt", min_length=1)


def parse_record(body: str) -> ClaimSubmittedV1:
    """The detail of a ``ClaimSubmitted`` envelope; :class:`MalformedEvent` for anything else."""
    try:
        envelope = json.loads(body)
    except (TypeError, ValueError) as error:
        raise MalformedEvent("body is not JSON") from error
    if not isinstance(envelope, dict):
        raise MalformedEvent("body is not an event envelope")
    if envelope.get("source") != "ca.portal.claims" or envelope.get("detail-type") != "ClaimSubmitted":
        raise MalformedEvent("not a ClaimSubmitted event")
    detail = envelope.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent("detail missing")
    if detail.get("version") != "1":
        raise MalformedEvent(f"unknown detail version {str(detail.get('version'))[:10]!r}")
    try:
        return ClaimSubmittedV1.model_validate(detail)
    except ValidationError as error:
        raise MalformedEvent(f"invalid detail: {error.error_count()} error(s)") from error


def handle_record(record: SQSRecord, notifier: Notifier | None = None) -> Outcome:
    """Process one SQS record (raises to mark the record failed)."""
    try:
        event = parse_record(record.body)
    except MalformedEvent:
        logger.warning("malformed claim event", extra={"messageId": record.message_id})
        raise
    outcome = process_claim(
        event.pk,
        event.claim_id,
        expected={"claimType": event.claim_type, "patientId": event.patient_id},
        notifier=notifier,
    )
    logger.info(
        "claim processed",
        extra={"claimId": outcome.claim_id, "status": outcome.status, "replay": outcome.replay},
    )
    return outcome


def _record_handler(record: SQSRecord) -> Outcome:
    return handle_record(record)


def lambda_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    """SQS batch entry point with partial batch responses."""
    response = process_partial_response(
        event=event, record_handler=_record_handler, processor=processor, context=context
    )
    return dict(response)
