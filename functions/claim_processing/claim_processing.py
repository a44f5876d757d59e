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

Notifications (``ClaimStatusChanged`` and the e-mail) go out after the commit, then the claim
records ``notifiedStatus``: at least once, never lost on a crash in between.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import adjudication_store as store
from claim_adjudication import DrugRuling, adjudicate, usage_keys
from claim_drug_ruling import drug_ruling
from claim_notification import StatusChange, email_language, publish_status_changes, render_email, send_email

from portal_common import clock
from portal_common.log import get_logger
from portal_common.members import Member, get_member
from portal_common.plans import Plan, get_plan

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


@dataclass
class Notifier:
    """Side effects after a transition (replaceable in tests)."""

    publish: Callable[[dict[str, Any], list[StatusChange]], None] = publish_status_changes
    email: Callable[[dict[str, Any], Member | None], None] = field(default=lambda item, member: _email(item, member))


def _email(item: dict[str, Any], member: Member | None) -> None:
    if member is None:
        return
    email = render_email(item, member, email_language(item, member))
    if email is not None:
        send_email(email)


@dataclass(frozen=True)
class Outcome:
    """What processing one event did (for logs, tests and the benchmark)."""

    claim_id: str
    status: str
    changes: tuple[StatusChange, ...]
    attempts: int = 0
    replay: bool = False


NOTIFIED_STATUSES = store.FINAL_STATUSES | {"PENDING_INFORMATION"}


def process_claim(
    pk: str,
    claim_id: str,
    *,
    expected: dict[str, Any] | None = None,
    notifier: Notifier | None = None,
    now: Callable[[], str] = clock.now_iso,
) -> Outcome:
    """Process the claim ``claim_id`` of partition ``pk`` (idempotent)."""
    notifier = notifier or Notifier()
    changes: list[StatusChange] = []
    member: Member | None = None
    attempts = 0
    item: dict[str, Any] | None = None
    for _ in range(MAX_ATTEMPTS * 3):
        if item is None:
            item = store.load_claim(pk, claim_id)
            if item is None:
                raise ClaimNotFound(claim_id)
            _check_matches(item, expected)
        status = str(item["status"])
        if status in store.FINAL_STATUSES or (status == "PENDING_INFORMATION" and changes):
            return _finish(item, member, changes, notifier, attempts, replay=not changes)
        if status == "PENDING_INFORMATION" and _pending_reason(item) is not None:
            return _finish(item, member, changes, notifier, attempts, replay=True)  # still waiting
        try:
            if status in {"SUBMITTED", "PENDING_INFORMATION"}:
                at = now()
                item = store.transition(item, "IN_REVIEW", at)
                changes.append(StatusChange(status, "IN_REVIEW", at))
                continue
            if status != "IN_REVIEW":
                raise ClaimMismatch(f"unexpected status {status}")
            pending = _pending_reason(item)
            if pending is not None:
                at = now()
                item = store.transition(item, "PENDING_INFORMATION", at, pendingReason=pending)
                changes.append(StatusChange("IN_REVIEW", "PENDING_INFORMATION", at))
                continue
            if member is None:
                member = _member_of(item)
            attempts += 1
            if attempts > MAX_ATTEMPTS:
                raise TooMuchContention(claim_id)
            at = now()
            item = _adjudicate_and_commit(item, member, at)
            changes.append(StatusChange("IN_REVIEW", str(item["status"]), at))
        except store.ConcurrentUpdate:
            # Someone else moved the claim, or a running total changed: read again.
            item = None
            if attempts:
                time.sleep(random.uniform(0, 0.02 * attempts))
    raise TooMuchContention(claim_id)


def _check_matches(item: dict[str, Any], expected: dict[str, Any] | None) -> None:
    if not expected:
        return
    for name in ("claimType", "patientId"):
        if name in expected and str(item.get(name)) != str(expected[name]):
            raise ClaimMismatch(f"event {name} does not match the claim")


def _pending_reason(item: dict[str, Any]) -> str | None:
    """Why the claim cannot be adjudicated yet: a receipt rejected, or not uploaded."""
    statuses = store.receipt_statuses(str(item["PK"]), [str(r) for r in item.get("receiptIds") or []])
    if any(s == "REJECTED" for s in statuses.values()):
        return "RECEIPT_REJECTED"
    if any(s != "UPLOADED" for s in statuses.values()):
        return "RECEIPT_MISSING"
    return None


def _member_of(item: dict[str, Any]) -> Member | None:
    return get_member(str(item["contractNumber"]), str(item["participantNumber"]))


def _plan_of(item: dict[str, Any], member: Member | None) -> Plan:
    plan_id = str(item.get("planId") or (member.plan_id if member else ""))
    plan = get_plan(plan_id) if plan_id else None
    if plan is None:
        raise PlanNotFound(plan_id or "(none)")
    return plan


def _adjudicate_and_commit(item: dict[str, Any], member: Member | None, at: str) -> dict[str, Any]:
    claim = store.claim_from_item(item)
    plan = _plan_of(item, member)
    ruling: DrugRuling | None = None
    if claim.is_drug:
        ruling = drug_ruling(plan, claim)
    usage = store.read_usage(str(item["PK"]), usage_keys(plan, claim))
    result = adjudicate(plan, member, claim, usage, ruling)
    committed = store.commit_adjudication(item, result, at)
    logger.info(
        "claim adjudicated",
        extra={"claimId": claim.claim_id, "status": result.status, "lines": len(result.lines)},
    )
    return committed


def _finish(
    item: dict[str, Any],
    member: Member | None,
    changes: list[StatusChange],
    notifier: Notifier,
    attempts: int,
    *,
    replay: bool,
) -> Outcome:
    status = str(item["status"])
    if item.get("notifiedStatus") != status:
        if not changes:
            # A previous delivery committed but stopped before notifying: notify now.
            history = item.get("statusHistory") or []
            previous = str(history[-2]["status"]) if len(history) >= 2 else "IN_REVIEW"
            at = str(history[-1]["at"]) if history else clock.now_iso()
            changes = [StatusChange(previous, status, at)]
        member = member if member is not None else _member_of(item)
        notifier.publish(item, changes)
        notifier.email(item, member)
        store.mark_notified(item, status)
    return Outcome(str(item["claimId"]), status, tuple(changes), attempts, replay)
