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
from portal_common.sweep import after
from portal_common.sweep import shard as sweep_shard

FINAL_STATUSES = frozenset({"PAID", "PARTIALLY_PAID", "DENIED"})
PENDING_INFORMATION = "PENDING_INFORMATION"
OPEN = "OPEN"
FULFILLED = "FULFILLED"
# Statuses the member is e-mailed about (every status change is published as an event; passing
# through SUBMITTED or IN_REVIEW is not worth an e-mail).
EMAILED_STATUSES = FINAL_STATUSES | {PENDING_INFORMATION}
# Statuses the processor still has to move on: a claim in one of them stays in the sweep index.
ACTIVE_STATUSES = frozenset({"SUBMITTED", "IN_REVIEW"})
# The sweep index (``portal_common.sweep``): a claim is in it while it is SUBMITTED or IN_REVIEW,
# or while its outbox is not empty.
# How long the processor has to deliver an outbox entry itself before the sweeper does it.
OUTBOX_GRACE_SECONDS = 120
# How long a claim may stay SUBMITTED or IN_REVIEW before the sweeper puts it back on the bus.
STUCK_AFTER_SECONDS = 900


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


class OutboxEntry(StoredModel):
    """The notification work of one status change (an element of the claim's ``outbox`` list),
    written in the same update as the change itself.

    ``seq`` is the change's index in ``statusHistory``. A delivery claims the list's first entry
    (``leaseToken`` / ``leaseUntil``, conditional), publishes its ``ClaimStatusChanged`` (unless
    ``eventSent``), sends its e-mail when ``email``, then removes it: entries go out in order.
    ``attempts`` counts failed deliveries. ``uncertainSince`` (epoch seconds) is set when a send
    failed in a way that leaves it unknown whether SES accepted the mail (a read timeout, a reset
    after the request went out): a later delivery first looks for SES's confirmation of that send
    (``email_confirmations``) and sends again only without one."""

    seq: int
    previous: str
    status: str
    at: str
    email: bool = False
    pending_reason: str | None = None
    event_sent: bool | None = None
    lease_token: str | None = None
    lease_until: int | None = None
    attempts: int | None = None
    uncertain_since: int | None = None


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
    # Status changes whose event or e-mail is not delivered yet, oldest first (the outbox).
    outbox: list[OutboxEntry] = Field(default_factory=list)

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
            **self.sweep_attributes(),
        }

    def sweep_attributes(self) -> dict[str, str]:
        """``sweepShard``/``sweepAt`` while the claim has work pending (none once it is settled)."""
        if self.outbox:
            return {"sweepShard": sweep_shard(self.claim_id), "sweepAt": after(self.outbox[0].at, OUTBOX_GRACE_SECONDS)}
        settled = self.settled_sweep_at()
        return {"sweepShard": sweep_shard(self.claim_id), "sweepAt": settled} if settled else {}

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
            "outbox": [*self.outbox, self.outbox_entry(status, at, pending_reason=pending_reason)],
        }
        if pending_reason is not None:
            changes["pending_reason"] = pending_reason
        if information_requests is not None:
            changes["information_requests"] = list(information_requests)
        if adjudication is not None:
            changes.update(adjudication=adjudication, total_paid=adjudication.total_paid, pending_reason=None)
        return self.model_copy(update=changes)

    def outbox_entry(self, status: str, at: str, *, pending_reason: str | None = None) -> OutboxEntry:
        """The outbox entry of this claim's next status change (to ``status`` at ``at``)."""
        return OutboxEntry(
            seq=len(self.status_history),
            previous=self.status,
            status=status,
            at=at,
            email=status in EMAILED_STATUSES,
            pending_reason=pending_reason if status == PENDING_INFORMATION else None,
        )

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
        ``information_requests`` replaces the claim's whole list (the processor read it with the claim).

        The same update appends the change's :class:`OutboxEntry` to ``outbox`` and puts the claim
        in the sweep index (``sweepShard``/``sweepAt``): every status change written through here
        carries its notification work, atomically."""
        entry = self.outbox_entry(status, at, pending_reason=pending_reason)
        values: dict[str, Any] = {
            ":from": self.status,
            ":v": self.version or 0,
            ":v1": (self.version or 0) + 1,
            ":to": status,
            ":gsi": status_index_pk(self.member_key, status),
            ":hist": [{"status": status, "at": at}],
            ":empty": [],
            ":at": at,
            ":outbox": [entry.to_map()],
            ":shard": sweep_shard(self.claim_id),
            ":sweepAt": after(at, OUTBOX_GRACE_SECONDS),
        }
        names = {"#status": "status", "#version": "version"}
        sets = [
            "#status = :to",
            "GSI1PK = :gsi",
            "#version = :v1",
            "statusHistory = list_append(if_not_exists(statusHistory, :empty), :hist)",
            "updatedAt = :at",
            "outbox = list_append(if_not_exists(outbox, :empty), :outbox)",
            "sweepShard = :shard",
            "sweepAt = :sweepAt",
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
                # Its ClaimStatusChanged (PENDING_INFORMATION -> SUBMITTED) goes out like any other change.
                "outbox": [*self.outbox, self.outbox_entry("SUBMITTED", at)],
                "version": (self.version or 0) + 1,
                "pending_reason": None,
                "updated_at": at,
                "resubmitted_at": at,
            }
        )

    def answer_update(self, answered: ClaimRecord) -> dict[str, Any]:
        """An ``UpdateItem`` (without ``TableName``) writing ``answered`` (from :meth:`answered`)
        over this claim, only if it is still ``PENDING_INFORMATION`` at the version that was read:
        of two answers racing each other, one wins and the other's condition fails. Like every status
        change, it carries its outbox entry and puts the claim in the sweep index."""
        item = answered.to_item()
        fields = ["answers", "receiptIds", "receiptVersions", "informationRequests", "status", "statusHistory"]
        fields += ["version", "updatedAt", "resubmittedAt", "GSI1PK", "outbox", "sweepShard", "sweepAt"]
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

    # ------------------------------------------------------------ the outbox

    def _head_key(self) -> dict[str, Any]:
        return to_item(self.key(self.member_key, self.claim_id))

    def lease_update(self, entry: OutboxEntry, token: str, now: int, until: int) -> dict[str, Any]:
        """An ``UpdateItem`` claiming the outbox's first entry (``entry``) for one delivery: only if
        it is still first and nobody holds an unexpired lease on it."""
        return {
            "Key": self._head_key(),
            "UpdateExpression": "SET outbox[0].leaseToken = :token, outbox[0].leaseUntil = :until",
            "ConditionExpression": "outbox[0].seq = :seq AND "
            "(attribute_not_exists(outbox[0].leaseUntil) OR outbox[0].leaseUntil < :now)",
            "ExpressionAttributeValues": to_item({":token": token, ":until": until, ":seq": entry.seq, ":now": now}),
            "ReturnValues": "ALL_NEW",
        }

    def delivered_update(self, entry: OutboxEntry, token: str) -> dict[str, Any]:
        """An ``UpdateItem`` removing the delivered first entry (only under this delivery's lease);
        an e-mailed status is also recorded as ``notifiedStatus``."""
        values: dict[str, Any] = {":seq": entry.seq, ":token": token}
        update = "REMOVE outbox[0]"
        if entry.email:
            update = "SET notifiedStatus = :status " + update
            values[":status"] = entry.status
        return {
            "Key": self._head_key(),
            "UpdateExpression": update,
            "ConditionExpression": "outbox[0].seq = :seq AND outbox[0].leaseToken = :token",
            "ExpressionAttributeValues": to_item(values),
            "ReturnValues": "ALL_NEW",
        }

    def failed_update(
        self,
        entry: OutboxEntry,
        token: str,
        *,
        event_sent: bool,
        retry_at: str,
        uncertain_since: int | None = None,
        count_attempt: bool = True,
    ) -> dict[str, Any]:
        """An ``UpdateItem`` giving the first entry back after a failed delivery (lease released,
        ``eventSent`` kept, ``attempts`` + 1 unless ``count_attempt`` is false) and asking the
        sweeper to retry at ``retry_at``. ``uncertain_since`` marks a send whose outcome is unknown
        (the time of the latest such send: a later delivery waits for its confirmation)."""
        values: dict[str, Any] = {
            ":seq": entry.seq,
            ":token": token,
            ":sent": event_sent,
            ":shard": sweep_shard(self.claim_id),
            ":retry": retry_at,
        }
        sets = ["outbox[0].eventSent = :sent", "sweepShard = :shard", "sweepAt = :retry"]
        if count_attempt:
            sets.append("outbox[0].attempts = if_not_exists(outbox[0].attempts, :zero) + :one")
            values.update({":one": 1, ":zero": 0})
        if uncertain_since is not None:
            sets.append("outbox[0].uncertainSince = :since")
            values[":since"] = uncertain_since
        return {
            "Key": self._head_key(),
            "UpdateExpression": "SET " + ", ".join(sets) + " REMOVE outbox[0].leaseToken, outbox[0].leaseUntil",
            "ConditionExpression": "outbox[0].seq = :seq AND outbox[0].leaseToken = :token",
            "ExpressionAttributeValues": to_item(values),
        }

    def sweep_update(self, sweep_at: str | None) -> dict[str, Any]:
        """An ``UpdateItem`` moving the claim's ``sweepAt`` (``None``: out of the sweep index), only
        if the claim is still as read (same version, empty outbox)."""
        condition = "(attribute_not_exists(outbox) OR size(outbox) = :zero) AND "
        values: dict[str, Any] = {":zero": 0}
        if self.version is None:
            condition += "attribute_not_exists(#version)"
        else:
            condition += "#version = :v"
            values[":v"] = self.version
        update = "REMOVE sweepShard, sweepAt"
        if sweep_at is not None:
            update = "SET sweepShard = :shard, sweepAt = :at"
            values.update({":shard": sweep_shard(self.claim_id), ":at": sweep_at})
        return {
            "Key": self._head_key(),
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": to_item(values),
        }

    def settled_sweep_at(self) -> str | None:
        """Where the claim belongs in the sweep index once its outbox is empty: when it would count
        as stuck if still being processed, else nowhere."""
        if self.status not in ACTIVE_STATUSES:
            return None
        last = self.status_history[-1].at if self.status_history else self.submitted_at
        return after(last, STUCK_AFTER_SECONDS)


def status_index_pk(member_key: str, status: str) -> str:
    """``GSI1PK`` of a member's claims with ``status``."""
    return f"{member_key}#STATUS#{status}"
