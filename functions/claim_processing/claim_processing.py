"""Processing of one submitted claim: the claim's own state machine around adjudication.

``SUBMITTED -> IN_REVIEW -> PAID | PARTIALLY_PAID | DENIED``, or ``IN_REVIEW -> PENDING_INFORMATION``
with information requests on the claim (``informationRequests``): one ``RECEIPT_REJECTED`` or
``RECEIPT_REQUIRED`` per receipt rejected or still not uploaded, or ``OTHER_PAYER_STATEMENT_REQUIRED``
when adjudication says this plan pays second and the first payer was not billed (coordination of
benefits, ``claim_coordination``). The member answers (``POST /v1/claims/{id}/information``): the
claim goes back to ``SUBMITTED``, its requests ``FULFILLED``, and ``ClaimSubmitted`` brings it here
again. A receipt whose request was fulfilled (replaced by the member's answer) no longer holds the
claim. A later event for a claim held only by receipts re-examines it
(``PENDING_INFORMATION -> IN_REVIEW`` once they are fine); a claim waiting for the other payer's
statement waits for the member's answer. Every transition is a conditional write on the status and
version that were read, so a replayed or duplicated event never pays twice:

- a claim already in a final status is only re-notified if its notification was not recorded;
- two deliveries of the same event racing each other: only one moves the claim on, the other's
  conditional write fails, it re-reads the claim and finds the work done;
- the result and the running totals are committed in one transaction (see ``adjudication_store``);
  when a running total changed meanwhile (another claim of the same family), the claim is
  adjudicated again from fresh totals, at most ``MAX_ATTEMPTS`` times, then the record is retried
  by SQS.

Every transition writes its notification work (an outbox entry: ``ClaimStatusChanged`` and, for
the statuses the member is told about, the e-mail) in the same write as the status; after the
commit the processor delivers the claim's outbox (``claim_outbox``: each entry claimed
conditionally, sent once, removed). A crash or a failed send leaves the entry in the outbox, where
a later delivery of the message or the scheduled sweeper finds it: nothing is adjudicated again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import adjudication_store as store
from adjudication_inputs import adjudicate_claim
from claim_coordination import OTHER_PAYER_STATEMENT_REQUIRED
from claim_notification import StatusChange
from claim_outbox import Notifier, deliver

from portal_common import clock, metrics
from portal_common.claim_events import ClaimSubmittedV1
from portal_common.claim_records import (
    FINAL_STATUSES,
    FULFILLED,
    OPEN,
    PENDING_INFORMATION,
    ClaimRecord,
    InformationRequestRecord,
)
from portal_common.ids import sortable_id
from portal_common.log import get_logger
from portal_common.members import Member, get_member
from portal_common.plans import Plan, get_plan
from portal_common.receipt_records import REJECTED, UPLOADED

MAX_ATTEMPTS = 6
logger = get_logger("claim-processor")


class ClaimNotFound(Exception):
    """The event names a claim that is not in the table."""


class ClaimMismatch(Exception):
    """The event does not describe the claim it names."""


class PlanNotFound(Exception):
    """The claim's plan is not loaded (configuration error: retried, then dead-lettered)."""


class TooMuchContention(Exception):
    """The running totals kept changing; SQS retries the record later."""


__all__ = ["Notifier", "Outcome", "process_claim"]


@dataclass(frozen=True)
class Outcome:
    """What processing one event did (for logs, tests and the benchmark)."""

    claim_id: str
    status: str
    changes: tuple[StatusChange, ...]
    attempts: int = 0
    replay: bool = False


def process_claim(
    pk: str,
    claim_id: str,
    *,
    expected: ClaimSubmittedV1 | None = None,
    notifier: Notifier | None = None,
    now: Callable[[], str] = clock.now_iso,
) -> Outcome:
    """Process the claim ``claim_id`` of partition ``pk`` (idempotent)."""
    notifier = notifier or Notifier()
    changes: list[StatusChange] = []
    member: Member | None = None
    attempts = 0
    claim: ClaimRecord | None = None
    for _ in range(MAX_ATTEMPTS * 3):
        if claim is None:
            claim = store.load_claim(pk, claim_id)
            if claim is None:
                raise ClaimNotFound(claim_id)
            _check_matches(claim, expected)
        status = claim.status
        if status in FINAL_STATUSES or (status == PENDING_INFORMATION and changes):
            return _finish(claim, member, changes, notifier, attempts, replay=not changes)
        if status == PENDING_INFORMATION and _still_waiting(claim):
            return _finish(claim, member, changes, notifier, attempts, replay=True)  # still waiting
        try:
            if status in {"SUBMITTED", PENDING_INFORMATION}:
                at = now()
                requests = _receipt_requests_fulfilled(claim, at) if status == PENDING_INFORMATION else None
                claim = store.transition(claim, "IN_REVIEW", at, information_requests=requests)
                changes.append(StatusChange(status, "IN_REVIEW", at))
                continue
            if status != "IN_REVIEW":
                raise ClaimMismatch(f"unexpected status {status}")
            pending = _pending_reason(claim)
            if pending is not None:
                at = now()
                reason, wanted = pending
                claim = _hold(claim, reason, wanted, at)
                changes.append(StatusChange("IN_REVIEW", PENDING_INFORMATION, at))
                continue
            if member is None:
                member = _member_of(claim)
            attempts += 1
            if attempts > MAX_ATTEMPTS:
                raise TooMuchContention(claim_id)
            at = now()
            claim = _adjudicate_and_commit(claim, member, at)
            changes.append(StatusChange("IN_REVIEW", claim.status, at))
            if claim.status != PENDING_INFORMATION:
                _count_processed(claim)
        except store.ConcurrentUpdate:
            # Someone else moved the claim, or a running total changed: read again.
            claim = None
            if attempts:
                time.sleep(random.uniform(0, 0.02 * attempts))
    raise TooMuchContention(claim_id)


def _count_processed(claim: ClaimRecord) -> None:
    """The dashboard's claims processed (by final status) and amounts paid (CAD)."""
    metrics.count("claim-processing", "ClaimsProcessed", status=claim.status)
    metrics.emit("claim-processing", {"AmountPaid": claim.total_paid or 0}, unit="NoUnit")


def _check_matches(claim: ClaimRecord, expected: ClaimSubmittedV1 | None) -> None:
    if expected is None:
        return
    if claim.claim_type != expected.claim_type:
        raise ClaimMismatch("event claimType does not match the claim")
    if claim.patient_id != expected.patient_id:
        raise ClaimMismatch("event patientId does not match the claim")


def _replaced_receipts(claim: ClaimRecord) -> set[str]:
    """Receipts whose request the member fulfilled (they answered with another document)."""
    return {r.receipt_id for r in claim.information_requests if r.receipt_id and r.status == FULFILLED}


def _pending_reason(claim: ClaimRecord) -> tuple[str, list[tuple[str, str | None]]] | None:
    """Why the claim cannot be adjudicated yet (a receipt rejected, or not uploaded), with one
    ``(code, receiptId)`` request per receipt concerned; ``None`` when every receipt is fine."""
    replaced = _replaced_receipts(claim)
    statuses = {rid: s for rid, s in store.receipt_statuses(claim).items() if rid not in replaced}
    requests: list[tuple[str, str | None]] = [
        ("RECEIPT_REJECTED" if s == REJECTED else "RECEIPT_REQUIRED", rid)
        for rid, s in statuses.items()
        if s != UPLOADED
    ]
    if not requests:
        return None
    reason = "RECEIPT_REJECTED" if any(code == "RECEIPT_REJECTED" for code, _ in requests) else "RECEIPT_MISSING"
    return reason, requests


def _still_waiting(claim: ClaimRecord) -> bool:
    """A ``PENDING_INFORMATION`` claim that an event (a replay) must leave alone: it waits for the
    other payer's statement, or a receipt is still not fine."""
    if any(r.code == OTHER_PAYER_STATEMENT_REQUIRED for r in claim.open_requests()):
        return True
    return _pending_reason(claim) is not None


def _receipt_requests_fulfilled(claim: ClaimRecord, at: str) -> list[InformationRequestRecord] | None:
    """The claim's requests with the open receipt requests fulfilled (the receipts are fine now)."""
    if not any(r.receipt_id for r in claim.open_requests()):
        return None
    return [
        r.model_copy(update={"status": FULFILLED, "fulfilled_at": at}) if r.status == OPEN and r.receipt_id else r
        for r in claim.information_requests
    ]


def _hold(claim: ClaimRecord, reason: str, wanted: list[tuple[str, str | None]], at: str) -> ClaimRecord:
    """``IN_REVIEW -> PENDING_INFORMATION`` with one open request per ``(code, receiptId)`` (the
    member is then e-mailed by :func:`_finish`, like any transition)."""
    requests = [
        InformationRequestRecord(request_id=sortable_id("q_"), code=code, requested_at=at, receipt_id=receipt_id)
        for code, receipt_id in wanted
    ]
    held = store.transition(
        claim,
        PENDING_INFORMATION,
        at,
        pending_reason=reason,
        information_requests=[*claim.information_requests, *requests],
    )
    metrics.count("claim-processing", "ClaimsProcessed", status=PENDING_INFORMATION)
    return held


def _member_of(claim: ClaimRecord) -> Member | None:
    return get_member(claim.contract_number, claim.participant_number)


def _plan_of(claim: ClaimRecord, member: Member | None) -> Plan:
    plan_id = claim.plan_id or (member.plan_id if member else "")
    plan = get_plan(plan_id) if plan_id else None
    if plan is None:
        raise PlanNotFound(plan_id or "(none)")
    return plan


def _adjudicate_and_commit(claim: ClaimRecord, member: Member | None, at: str) -> ClaimRecord:
    # The same path as an estimate (``POST /v1/claims/estimate``): totals read, rules applied.
    result = adjudicate_claim(claim, member, _plan_of(claim, member))
    if result.status == PENDING_INFORMATION:  # this plan pays second: the first payer's statement first
        logger.info("claim held for information", extra={"claimId": claim.claim_id})
        return _hold(claim, OTHER_PAYER_STATEMENT_REQUIRED, [(code, None) for code in result.information_needed], at)
    committed = store.commit_adjudication(claim, result, at)
    logger.info(
        "claim adjudicated",
        extra={"claimId": claim.claim_id, "status": result.status, "lines": len(result.lines)},
    )
    return committed


def _finish(
    claim: ClaimRecord,
    member: Member | None,
    changes: list[StatusChange],
    notifier: Notifier,
    attempts: int,
    *,
    replay: bool,
) -> Outcome:
    if claim.outbox:
        deliver(claim, notifier, member)
    return Outcome(claim.claim_id, claim.status, tuple(changes), attempts, replay)
