"""The stored claim, shared by intake and processing (the receipt is ``portal_common.receipt_records``).

:class:`ClaimRecord` owns the claim item's layout: :meth:`~ClaimRecord.to_item` writes it,
:meth:`~ClaimRecord.from_item` reads it, and the update expressions that change a stored claim are
built here too, so no other module reads or writes a claim by attribute name. Attribute names are
the stored ones (``docs/conventions.md``): camelCase fields, and the keys ``PK``/``SK``/``GSI1PK``/
``GSI1SK`` derived from the fields: ``PK=MEMBER#<contract>#<participant>``, ``SK=CLAIM#<claimId>``,
status index ``GSI1PK=<PK>#STATUS#<status>``, ``GSI1SK=<submittedAt>#<claimId>``. Intake's
submission transaction writes the claim; processing moves it through its statuses.
:class:`StoredModel` is the base of every pydantic stored map (the processor's running totals too).

Items travel as plain Python values (``portal_common.dynamo``): money is ``Decimal``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from portal_common.dynamo import to_item

FINAL_STATUSES = frozenset({"PAID", "PARTIALLY_PAID", "DENIED"})
PENDING_INFORMATION = "PENDING_INFORMATION"
OPEN = "OPEN"
FULFILLED = "FULFILLED"


class StoredModel(BaseModel):
    """A map as DynamoDB stores it: camelCase names, absent (``None``) attributes left out.

    A malformed item's ``ValidationError`` does not quote the item: a failed stream or queue batch
    logs its errors, and an item holds participant numbers and what the member wrote."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        hide_input_in_errors=True,
        defer_build=True,  # built on first use, not at import (cold start)
    )

    def to_map(self) -> dict[str, Any]:
        """The stored map (plain values, ``Decimal`` money)."""
        return self.model_dump(by_alias=True, exclude_none=True)


# ---------------------------------------------------------------- claim


class TreatmentRecord(StoredModel):
    """One treatment as submitted."""

    date_of_service: str
    amount: Decimal
    description: str | None = None
    quantity: int | None = None
    procedure_code: str | None = None
    tooth_number: str | None = None


class DrugRecord(StoredModel):
    """The drug details of a drug claim as submitted (numbers keep the type they were stored with)."""

    din: str | None = None
    drug_name: str | None = None
    pharmacy_name: str | None = None
    prescription_number: str | None = None
    quantity: Decimal | int | None = None
    days_supply: int | None = None
    dispensing_fee: Decimal | int | None = None


class StatusEntry(StoredModel):
    """One entry of ``statusHistory``."""

    status: str
    at: str


class StepRecord(StoredModel):
    """One rule that affected an adjudication line, with its explanation's parameters."""

    code: str
    params: dict[str, str] = Field(default_factory=dict)


class AdjudicationLineRecord(StoredModel):
    """One line of the adjudication document (``explanation`` in both languages, ``{fr, en}``)."""

    treatment_index: int = 0
    date_of_service: str | None = None
    claimed: Decimal = Decimal("0")
    eligible: Decimal = Decimal("0")
    paid: Decimal = Decimal("0")
    deductible: Decimal | None = None
    reason_code: str | None = None
    steps: list[StepRecord] | None = None
    explanation: dict[str, str] | str | None = None


class InformationRequestRecord(StoredModel):
    """One thing the processor asked the member for (``informationRequests``): ``code`` is
    ``OTHER_PAYER_STATEMENT_REQUIRED``, ``RECEIPT_REJECTED`` or ``RECEIPT_REQUIRED`` (with the
    ``receiptId`` concerned); ``status`` ``OPEN`` until the member answers (``FULFILLED``)."""

    request_id: str
    code: str
    status: str = OPEN
    requested_at: str
    receipt_id: str | None = None
    fulfilled_at: str | None = None


class AdjudicationRecord(StoredModel):
    """The claim's ``adjudication`` map, written with its final status."""

    lines: list[AdjudicationLineRecord] = Field(default_factory=list)
    total_paid: Decimal = Decimal("0")
    processed_at: str


class ClaimRecord(StoredModel):
    """A claim item."""

    entity_type: ClassVar[str] = "CLAIM"
    sk_prefix: ClassVar[str] = "CLAIM#"

    member_key: str = Field(validation_alias="PK", serialization_alias="PK")
    claim_id: str
    contract_number: str
    participant_number: str
    plan_id: str | None = None
    claim_type: str
    category: str
    patient_id: str
    answers: dict[str, Any] = Field(default_factory=dict)
    treatments: list[TreatmentRecord]
    receipt_ids: list[str] = Field(default_factory=list)
    # receiptId -> the S3 VersionId of receipts/<receiptId> that passed the check (the exact bytes
    # this claim refers to; the processor and the insurer read that version, never the latest).
    receipt_versions: dict[str, str] = Field(default_factory=dict)
    status: str
    status_history: list[StatusEntry] = Field(default_factory=list)
    submitted_at: str
    total_claimed: Decimal
    language: str | None = None
    version: int | None = None
    additional_info: str | None = None
    drug: DrugRecord | None = None
    provider_id: str | None = None
    provider_display_name: str | None = None
    provider_type: str | None = None
    total_paid: Decimal | None = None
    adjudication: AdjudicationRecord | None = None
    pending_reason: str | None = None
    notified_status: str | None = None
    updated_at: str | None = None
    information_requests: list[InformationRequestRecord] = Field(default_factory=list)
    # Set when the member answered an information request (the claim is then processed again).
    resubmitted_at: str | None = None

    @staticmethod
    def key(member_key: str, claim_id: str) -> dict[str, str]:
        """Key of a claim item."""
        return {"PK": member_key, "SK": f"{ClaimRecord.sk_prefix}{claim_id}"}

    @classmethod
    def is_claim_item(cls, item: dict[str, Any]) -> bool:
        """Whether a claims-table item (a stream image, say) is a claim."""
        return item.get("entityType") == cls.entity_type

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ClaimRecord:
        """The claim of a stored item (``ValidationError`` on a malformed one)."""
        return cls.model_validate(item)

    def to_item(self) -> dict[str, Any]:
        """The stored item, keys and status index included."""
        return {
            **self.key(self.member_key, self.claim_id),
            "entityType": self.entity_type,
            **self.to_map(),
            "GSI1PK": status_index_pk(self.member_key, self.status),
            "GSI1SK": f"{self.submitted_at}#{self.claim_id}",
        }

    # ------------------------------------------------------------ status transitions

    def transitioned(
        self,
        status: str,
        at: str,
        *,
        pending_reason: str | None = None,
        adjudication: AdjudicationRecord | None = None,
        information_requests: list[InformationRequestRecord] | None = None,
    ) -> ClaimRecord:
        """The claim as :meth:`transition_update` leaves it (an adjudication clears ``pendingReason``)."""
        changes: dict[str, Any] = {
            "status": status,
            "version": (self.version or 0) + 1,
            "status_history": [*self.status_history, StatusEntry(status=status, at=at)],
            "updated_at": at,
        }
        if pending_reason is not None:
            changes["pending_reason"] = pending_reason
        if information_requests is not None:
            changes["information_requests"] = list(information_requests)
        if adjudication is not None:
            changes.update(adjudication=adjudication, total_paid=adjudication.total_paid, pending_reason=None)
        return self.model_copy(update=changes)

    def transition_update(
        self,
        status: str,
        at: str,
        *,
        pending_reason: str | None = None,
        adjudication: AdjudicationRecord | None = None,
        information_requests: list[InformationRequestRecord] | None = None,
    ) -> dict[str, Any]:
        """An ``UpdateItem`` (without ``TableName``) moving the claim from its current status and
        version to ``status``: it fails if anyone changed the claim since it was read.
        ``information_requests`` replaces the claim's whole list (the processor read it with the claim)."""
        values: dict[str, Any] = {
            ":from": self.status,
            ":v": self.version or 0,
            ":v1": (self.version or 0) + 1,
            ":to": status,
            ":gsi": status_index_pk(self.member_key, status),
            ":hist": [{"status": status, "at": at}],
            ":empty": [],
            ":at": at,
        }
        names = {"#status": "status", "#version": "version"}
        sets = [
            "#status = :to",
            "GSI1PK = :gsi",
            "#version = :v1",
            "statusHistory = list_append(if_not_exists(statusHistory, :empty), :hist)",
            "updatedAt = :at",
        ]
        extra: dict[str, Any] = {}
        if pending_reason is not None:
            extra["pendingReason"] = pending_reason
        if information_requests is not None:
            extra["informationRequests"] = [r.to_map() for r in information_requests]
        if adjudication is not None:
            extra.update(adjudication=adjudication.to_map(), totalPaid=adjudication.total_paid)
        for i, (name, value) in enumerate(extra.items()):
            names[f"#x{i}"] = name
            values[f":x{i}"] = value
            sets.append(f"#x{i} = :x{i}")
        expression = "SET " + ", ".join(sets)
        if adjudication is not None:
            expression += " REMOVE pendingReason"
        condition = "#status = :from AND "
        if self.version is None:
            condition += "attribute_not_exists(#version)"
            values.pop(":v")
        else:
            condition += "#version = :v"
        return {
            "Key": to_item(self.key(self.member_key, self.claim_id)),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item(values),
        }

    def open_requests(self) -> list[InformationRequestRecord]:
        """The information requests still waiting for the member."""
        return [r for r in self.information_requests if r.status == OPEN]

    def answered(
        self, answers: dict[str, Any], receipt_versions: dict[str, str], new_receipt_ids: list[str], at: str
    ) -> ClaimRecord:
        """The claim once the member answered its information requests: ``answers`` (the whole map,
        as corrected) in place of the old ones, the new documents added, every open request
        ``FULFILLED``, back to ``SUBMITTED`` (processed again). :meth:`answer_update` writes exactly
        this."""
        requests = [
            r.model_copy(update={"status": FULFILLED, "fulfilled_at": at}) if r.status == OPEN else r
            for r in self.information_requests
        ]
        return self.model_copy(
            update={
                "answers": dict(answers),
                "receipt_ids": [*self.receipt_ids, *new_receipt_ids],
                "receipt_versions": {**self.receipt_versions, **receipt_versions},
                "information_requests": requests,
                "status": "SUBMITTED",
                "status_history": [*self.status_history, StatusEntry(status="SUBMITTED", at=at)],
                "version": (self.version or 0) + 1,
                "pending_reason": None,
                "updated_at": at,
                "resubmitted_at": at,
            }
        )

    def answer_update(self, answered: ClaimRecord) -> dict[str, Any]:
        """An ``UpdateItem`` (without ``TableName``) writing ``answered`` (from :meth:`answered`)
        over this claim, only if it is still ``PENDING_INFORMATION`` at the version that was read:
        of two answers racing each other, one wins and the other's condition fails."""
        item = answered.to_item()
        fields = ["answers", "receiptIds", "receiptVersions", "informationRequests", "status", "statusHistory"]
        fields += ["version", "updatedAt", "resubmittedAt", "GSI1PK"]
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values: dict[str, Any] = {f":f{i}": item[name] for i, name in enumerate(fields)}
        values.update({":pending": PENDING_INFORMATION, ":v": self.version or 0})
        names["#reason"] = "pendingReason"
        condition = "#f4 = :pending AND " + ("#f6 = :v" if self.version is not None else "attribute_not_exists(#f6)")
        if self.version is None:
            values.pop(":v")
        return {
            "Key": to_item(self.key(self.member_key, self.claim_id)),
            "UpdateExpression": "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))) + " REMOVE #reason",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item(values),
        }

    def notified_update(self, status: str) -> dict[str, Any]:
        """An ``UpdateItem`` (without ``TableName``) recording that ``status`` was notified, if the
        claim is still in that status."""
        return {
            "Key": to_item(self.key(self.member_key, self.claim_id)),
            "UpdateExpression": "SET notifiedStatus = :s",
            "ConditionExpression": "#status = :s",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_item({":s": status}),
        }


def status_index_pk(member_key: str, status: str) -> str:
    """``GSI1PK`` of a member's claims with ``status``."""
    return f"{member_key}#STATUS#{status}"
