"""Delivery of a claim's outbox: one ``ClaimStatusChanged`` and (for the statuses the member is told
about) one e-mail per status change, in order, whatever fails.

Every status change is written together with its :class:`~portal_common.claim_records.OutboxEntry`
(``ClaimRecord.transition_update``: the processor's transitions, the adjudication's transaction, and
any other status write built there). :func:`deliver` then works through the claim's ``outbox`` list
from its first entry:

1. **claim** the entry: a conditional ``UpdateItem`` sets a lease (``leaseToken``, ``leaseUntil``)
   only if the entry is still first and nobody holds an unexpired lease. Two deliveries at once (an
   SQS duplicate, the sweeper and the processor): one wins, the other stops;
2. **publish** its event (skipped when ``eventSent`` says an earlier attempt did), then **send** its
   e-mail;
3. **remove** the entry, under the lease (retried on a throttled or lost answer: the removal is
   idempotent under its lease).

A failed publish or send gives the entry back (lease released, ``eventSent`` kept, ``attempts`` + 1)
and moves the claim's ``sweepAt`` to a later retry: the sweeper delivers it then, without
adjudicating anything again. Entries are never skipped, so events go out in order per claim.

**A send whose outcome is unknown** (a read timeout or a reset after the request went out, or an
SES 5xx: ``claim_notification.SendUncertain``) is given back with ``uncertainSince`` and retried no
sooner than :data:`CONFIRMATION_WAIT_SECONDS` later. Every claim e-mail is tagged with its entry
and sent in a configuration set whose ``Send`` events are recorded (``email_confirmations``), so
the retry first looks for that confirmation: found, SES accepted the earlier send and the entry is
completed without sending again (``EmailRetrySkippedConfirmed``); not found, the e-mail is sent
(``EmailResentUnconfirmed``: SES never acted, or, the residual risk, its event came later than
the wait or was lost; docs/operations.md). A certain failure (throttling, ``MessageRejected``, no
connection) is retried as before. The SES client makes one attempt per call, so no SDK retry resends.

A delivery that died (or outlived its 60 s lease) after perhaps sending leaves its lease on the
entry: the next delivery, taking over the expired lease, treats that send as uncertain too (since
the dead delivery started) and looks for the confirmation the same way.

What remains at least once: an e-mail may go twice only when SES's ``Send`` event is lost or later
than the wait. Events are at least once by
contract (consumers de-duplicate on ``claimId``, ``status``, ``changedAt``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import adjudication_store as store
import email_confirmations
from claim_notification import (
    SendUncertain,
    StatusChange,
    email_language,
    publish_status_changes,
    render_email,
    send_email,
)

from portal_common import clock, metrics
from portal_common.claim_records import ClaimRecord, OutboxEntry
from portal_common.log import get_logger
from portal_common.members import Member, get_member
from portal_common.sweep import after

logger = get_logger("claim-outbox")

# A delivery holds an entry at most this long (one PutEvents + one SES call + two writes, each
# bounded by its client's timeouts: docs/operations.md); then another delivery may take it.
LEASE_SECONDS = 60
# Retry delays after a failed delivery, by number of failed attempts (the last one repeats).
RETRY_DELAYS = (60, 300, 900, 3600)
_REMOVE_ATTEMPTS = 4
# After an uncertain send, how long a retry waits for SES's Send event before sending again. SES
# publishes it within seconds of accepting a mail and EventBridge invokes the recorder within
# seconds more (no published bound: docs/operations.md "Uncertain sends"); 5 minutes is a wide
# margin, and costs the member nothing (they have the mail, or SES never took it).
CONFIRMATION_WAIT_SECONDS = 300


def _email(claim: ClaimRecord, member: Member | None) -> None:
    """Send ``claim``'s e-mail; ``claim`` is the view of :func:`as_of`, whose first outbox entry is
    the one being delivered (its ``seq`` tags the send)."""
    if member is None:
        return
    email = render_email(claim, member, email_language(claim, member))
    if email is not None:
        send_email(email, claim_id=claim.claim_id, seq=claim.outbox[0].seq)


@dataclass
class Notifier:
    """Side effects of a delivery (replaceable in tests)."""

    publish: Callable[[ClaimRecord, list[StatusChange]], None] = publish_status_changes
    email: Callable[[ClaimRecord, Member | None], None] = field(default=lambda claim, member: _email(claim, member))


def as_of(claim: ClaimRecord, entry: OutboxEntry) -> ClaimRecord:
    """The claim as it was told about at ``entry``'s change (its status and pending reason)."""
    return claim.model_copy(update={"status": entry.status, "pending_reason": entry.pending_reason})


def retry_at(entry: OutboxEntry, *, uncertain: bool = False) -> str:
    """When the sweeper retries ``entry`` after one more failed attempt (after an uncertain send, no
    sooner than the confirmation wait)."""
    delay = RETRY_DELAYS[min(entry.attempts or 0, len(RETRY_DELAYS) - 1)]
    if uncertain:
        delay = max(delay, CONFIRMATION_WAIT_SECONDS)
    return after(clock.now_iso(), delay)


def _already_accepted(claim: ClaimRecord, entry: OutboxEntry) -> bool | None:
    """For an entry whose earlier send is uncertain: ``True`` when SES confirmed it, ``False`` when
    the wait is over without a confirmation (send again), ``None`` when it is too early to tell."""
    if email_confirmations.confirmed(claim.claim_id, entry.seq) is not None:
        return True
    if entry.uncertain_since is not None and clock.epoch() < entry.uncertain_since + CONFIRMATION_WAIT_SECONDS:
        return None
    return False


def _lease_first(claim: ClaimRecord, token: str) -> ClaimRecord | None:
    """The claim with its first entry leased to ``token``, or ``None`` when another delivery holds it
    (or there is nothing left)."""
    for _ in range(4):
        if not claim.outbox:
            return None
        entry = claim.outbox[0]
        now = clock.epoch()
        try:
            leased = store.lease_outbox(claim, entry, token, now, now + LEASE_SECONDS)
        except store.ConcurrentUpdate:
            fresh = store.load_claim(claim.member_key, claim.claim_id)
            if fresh is None or not fresh.outbox:
                return None
            head = fresh.outbox[0]
            if head.seq == entry.seq and head.lease_until is not None and head.lease_until >= now:
                return None  # another delivery holds it: it delivers
            claim = fresh  # the first entry was delivered meanwhile: try the next one
            continue
        return _after_abandoned(leased, entry)
    return None


def _after_abandoned(leased: ClaimRecord, read: OutboxEntry) -> ClaimRecord:
    """``leased`` as delivered now; when the entry as read still carried a lease (an expired one: its
    delivery died, or outlived its lease, after perhaps sending the e-mail), its send is uncertain
    since that delivery started, so the confirmation is looked for before sending (in memory; kept
    on the entry if the delivery is postponed)."""
    if read.lease_until is None or read.uncertain_since is not None or not read.email:
        return leased
    head = leased.outbox[0].model_copy(update={"uncertain_since": read.lease_until - LEASE_SECONDS})
    return leased.model_copy(update={"outbox": [head, *leased.outbox[1:]]})


def _remove(claim: ClaimRecord, entry: OutboxEntry, token: str) -> ClaimRecord | None:
    """Remove the delivered entry; ``None`` when the lease was lost (another delivery took over)."""
    for attempt in range(_REMOVE_ATTEMPTS):
        try:
            return store.outbox_delivered(claim, entry, token)
        except store.ConcurrentUpdate:
            return None
        except Exception:
            if attempt == _REMOVE_ATTEMPTS - 1:
                raise
            time.sleep(0.1 * 2**attempt)
    return None


def deliver(claim: ClaimRecord, notifier: Notifier | None = None, member: Member | None = None) -> int:
    """Deliver the claim's pending entries in order; returns how many were delivered. Stops at an
    entry another delivery holds, or whose delivery failed (given back for a later retry)."""
    notifier = notifier or Notifier()
    delivered = 0
    while claim.outbox:
        token = uuid.uuid4().hex
        leased = _lease_first(claim, token)
        if leased is None:
            return delivered
        claim = leased
        entry = claim.outbox[0]
        event_sent = bool(entry.event_sent)
        try:
            view = as_of(claim, entry)
            if not event_sent:
                notifier.publish(view, [StatusChange(entry.previous, entry.status, entry.at)])
                event_sent = True
            accepted = _already_accepted(claim, entry) if entry.email and entry.uncertain_since is not None else False
            if accepted is None:  # an uncertain send, too recent to know: wait for SES's event
                store.release_outbox(
                    claim,
                    entry,
                    token,
                    event_sent=True,
                    retry_at=retry_at(entry, uncertain=True),
                    uncertain_since=entry.uncertain_since,
                    count_attempt=False,
                )
                return delivered
            if accepted:
                metrics.count("claim-processing", "EmailRetrySkippedConfirmed")
                logger.info("e-mail already accepted by SES, not sent again", extra={"claimId": claim.claim_id})
            elif entry.email:
                member = member if member is not None else get_member(claim.contract_number, claim.participant_number)
                notifier.email(view, member)
                if entry.uncertain_since is not None:
                    metrics.count("claim-processing", "EmailResentUnconfirmed")
                    logger.warning(
                        "e-mail sent again: no SES confirmation of the uncertain send",
                        extra={"claimId": claim.claim_id, "status": entry.status},
                    )
        except Exception as error:
            sure = not isinstance(error, SendUncertain)
            logger.warning(
                "notification failed, retried later",
                extra={"claimId": claim.claim_id, "status": entry.status, "error": type(error).__name__},
            )
            metrics.count("claim-processing", "NotificationsFailed")
            store.release_outbox(
                claim,
                entry,
                token,
                event_sent=event_sent,
                retry_at=retry_at(entry, uncertain=not sure),
                # The latest uncertain send is the one whose confirmation is waited for; a certain
                # failure after an uncertain one keeps it (the earlier send may have gone out).
                uncertain_since=entry.uncertain_since if sure else clock.epoch(),
            )
            return delivered
        removed = _remove(claim, entry, token)
        if removed is None:
            return delivered
        claim = removed
        delivered += 1
    if delivered and not claim.outbox:
        store.move_sweep(claim, claim.settled_sweep_at())
    return delivered
