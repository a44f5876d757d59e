"""Processing of one submitted claim: the claim's own state machine around adjudication.

``SUBMITTED -> IN_REVIEW -> PAID | PARTIALLY_PAID | DENIED``, or ``IN_REVIEW -> PENDING_INFORMATION``
when a receipt is rejected or still not uploaded (a later event for the claim re-examines it:
``PENDING_INFORMATION -> IN_REVIEW``). Every transition is a conditional write on the status and
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
from claim_adjudication import DrugRuling, adjudicate, usage_keys
from claim_drug_ruling import drug_ruling
from claim_notification import StatusChange
from claim_outbox import Notifier, deliver

from portal_common import clock, metrics
from portal_common.claim_events import ClaimSubmittedV1
from portal_common.claim_records import FINAL_STATUSES, PENDING_INFORMATION, ClaimRecord
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
        if status == PENDING_INFORMATION and _pending_reason(claim) is not None:
            return _finish(claim, member, changes, notifier, attempts, replay=True)  # still waiting
        try:
            if status in {"SUBMITTED", PENDING_INFORMATION}:
                at = now()
                claim = store.transition(claim, "IN_REVIEW", at)
                changes.append(StatusChange(status, "IN_REVIEW", at))
                continue
            if status != "IN_REVIEW":
                raise ClaimMismatch(f"unexpected status {status}")
            pending = _pending_reason(claim)
            if pending is not None:
                at = now()
                claim = store.transition(claim, PENDING_INFORMATION, at, pending_reason=pending)
                changes.append(StatusChange("IN_REVIEW", PENDING_INFORMATION, at))
                metrics.count("claim-processing", "ClaimsProcessed", status=PENDING_INFORMATION)
                continue
            if member is None:
                member = _member_of(claim)
            attempts += 1
            if attempts > MAX_ATTEMPTS:
                raise TooMuchContention(claim_id)
            at = now()
            claim = _adjudicate_and_commit(claim, member, at)
            changes.append(StatusChange("IN_REVIEW", claim.status, at))
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
    metrics.emit("claim-processing", {"AmountPaid": claim.total_paid or 0}, unit=metrics.MetricUnit.NoUnit)


def _check_matches(claim: ClaimRecord, expected: ClaimSubmittedV1 | None) -> None:
    if expected is None:
        return
    if claim.claim_type != expected.claim_type:
        raise ClaimMismatch("event claimType does not match the claim")
    if claim.patient_id != expected.patient_id:
        raise ClaimMismatch("event patientId does not match the claim")


def _pending_reason(claim: ClaimRecord) -> str | None:
    """Why the claim cannot be adjudicated yet: a receipt rejected, or not uploaded."""
    statuses = store.receipt_statuses(claim)
    if any(s == REJECTED for s in statuses.values()):
        return "RECEIPT_REJECTED"
    if any(s != UPLOADED for s in statuses.values()):
        return "RECEIPT_MISSING"
    return None


def _member_of(claim: ClaimRecord) -> Member | None:
    return get_member(claim.contract_number, claim.participant_number)


def _plan_of(claim: ClaimRecord, member: Member | None) -> Plan:
    plan_id = claim.plan_id or (member.plan_id if member else "")
    plan = get_plan(plan_id) if plan_id else None
    if plan is None:
        raise PlanNotFound(plan_id or "(none)")
    return plan


def _adjudicate_and_commit(claim: ClaimRecord, member: Member | None, at: str) -> ClaimRecord:
    to_adjudicate = store.claim_to_adjudicate(claim)
    plan = _plan_of(claim, member)
    ruling: DrugRuling | None = None
    if to_adjudicate.is_drug:
        ruling = drug_ruling(plan, to_adjudicate)
    usage = store.read_usage(claim.member_key, usage_keys(plan, to_adjudicate))
    result = adjudicate(plan, member, to_adjudicate, usage, ruling)
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
