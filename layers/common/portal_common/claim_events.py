"""The claims bus's events, each defined once: source, detail-type, version and fields.

Producers build an event from the claim record (:meth:`ClaimSubmittedV1.of`,
:meth:`ClaimStatusChangedV1.of`) and put :meth:`ClaimEvent.entry` on the bus; consumers read an
EventBridge envelope with :meth:`ClaimEvent.from_envelope`. ``docs/events.md`` documents the same
fields (a unit test keeps them in step). Consumers ignore fields they do not know; a detail whose
version is not the model's is refused.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from portal_common.claim_records import FINAL_STATUSES, PENDING_INFORMATION, ClaimRecord
from portal_common.models import money_to_str

SOURCE = "ca.portal.claims"
MEMBER_KEY = r"^MEMBER#[^#]+#[^#]+$"

E = TypeVar("E", bound="ClaimEvent")


class MalformedEvent(ValueError):
    """A message that is not the event its consumer expects (wrong type, version or fields)."""


def _is_none(value: Any) -> bool:
    return value is None


class ClaimEvent(BaseModel):
    """A ``detail`` of the claims bus, with its ``detail-type`` and ``version``."""

    # A refused detail's error names fields, never their values (member keys reach the logs otherwise).
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
        defer_build=True,  # built on first use, not at import (cold start)
    )
    detail_type: ClassVar[str]

    version: Literal["1"] = "1"

    def detail(self) -> dict[str, Any]:
        """The detail as it goes on the bus (contract names)."""
        return self.model_dump(mode="json", by_alias=True)

    def entry(self, bus_name: str) -> dict[str, Any]:
        """One ``PutEvents`` entry for ``bus_name``."""
        return {
            "Source": SOURCE,
            "DetailType": self.detail_type,
            "Detail": json.dumps(self.detail(), separators=(",", ":")),
            "EventBusName": bus_name,
        }

    @classmethod
    def from_envelope(cls: type[E], body: str) -> E:
        """The detail of an EventBridge envelope (JSON) of this event; :class:`MalformedEvent` for
        anything else."""
        try:
            envelope = json.loads(body)
        except (TypeError, ValueError) as error:
            raise MalformedEvent("body is not JSON") from error
        if not isinstance(envelope, dict):
            raise MalformedEvent("body is not an event envelope")
        if envelope.get("source") != SOURCE or envelope.get("detail-type") != cls.detail_type:
            raise MalformedEvent(f"not a {cls.detail_type} event")
        detail = envelope.get("detail")
        if not isinstance(detail, dict):
            raise MalformedEvent("detail missing")
        if detail.get("version") != cls.model_fields["version"].default:
            raise MalformedEvent(f"unknown detail version {str(detail.get('version'))[:10]!r}")
        try:
            return cls.model_validate(detail)
        except ValidationError as error:
            raise MalformedEvent(f"invalid detail: {error.error_count()} error(s)") from error


class ClaimSubmittedV1(ClaimEvent):
    """``ClaimSubmitted`` version 1: a claim was written (published from the table stream).

    The processor needs only the claim's key and what it checks against the claim; the other fields
    are for other consumers (every producer writes them all, ``providerId`` ``null`` when absent).
    """

    detail_type: ClassVar[str] = "ClaimSubmitted"

    claim_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")
    # ``pk`` is accepted for ``memberKey`` (an earlier producer's name).
    member_key: str = Field(
        validation_alias=AliasChoices("memberKey", "pk"),
        serialization_alias="memberKey",
        pattern=MEMBER_KEY,
        max_length=200,
    )
    contract_number: str | None = None
    plan_id: str | None = None
    claim_type: str = Field(min_length=1, max_length=64)
    category: str | None = None
    patient_id: str = Field(min_length=1, max_length=64)
    provider_id: str | None = None
    submitted_at: str = Field(min_length=1)
    total_claimed: str | None = None
    treatment_count: int | None = None
    language: str | None = None
    # Only when the member answered an information request and the claim is submitted again.
    resubmitted_at: str | None = Field(default=None, exclude_if=_is_none)

    @classmethod
    def of(cls, claim: ClaimRecord) -> ClaimSubmittedV1:
        """The event of a claim that was written."""
        return cls(
            claim_id=claim.claim_id,
            member_key=claim.member_key,
            contract_number=claim.contract_number,
            plan_id=claim.plan_id,
            claim_type=claim.claim_type,
            category=claim.category,
            patient_id=claim.patient_id,
            provider_id=claim.provider_id,
            submitted_at=claim.submitted_at,
            total_claimed=money_to_str(claim.total_claimed),
            treatment_count=len(claim.treatments),
            language=claim.language or "fr",
            resubmitted_at=claim.resubmitted_at,
        )


class ClaimStatusChangedV1(ClaimEvent):
    """``ClaimStatusChanged`` version 1: the processor committed a transition of a claim."""

    detail_type: ClassVar[str] = "ClaimStatusChanged"

    claim_id: str
    member_key: str
    claim_type: str
    patient_id: str
    previous_status: str
    status: str
    changed_at: str
    total_claimed: str
    total_paid: str | None = Field(default=None, exclude_if=_is_none)
    pending_reason: str | None = Field(default=None, exclude_if=_is_none)

    @classmethod
    def of(cls, claim: ClaimRecord, previous: str, status: str, at: str) -> ClaimStatusChangedV1:
        """The event of one transition of ``claim`` (as stored after it)."""
        paid = claim.total_paid if status in FINAL_STATUSES else None
        return cls(
            claim_id=claim.claim_id,
            member_key=claim.member_key,
            claim_type=claim.claim_type,
            patient_id=claim.patient_id,
            previous_status=previous,
            status=status,
            changed_at=at,
            # The stored number as it reads (``"135"``, ``"85.5"``): what version 1 has always sent.
            total_claimed=str(claim.total_claimed),
            total_paid=f"{paid:.2f}" if paid is not None else None,
            pending_reason=(claim.pending_reason or None) if status == PENDING_INFORMATION else None,
        )
