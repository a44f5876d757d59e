"""Claim e-mail recorder: SES's ``Send`` events ("Email Sent", source ``aws.ses``, on the default
EventBridge bus) for the claim e-mails' configuration set, written as confirmations
(``email_confirmations``) that the outbox checks before retrying an uncertain send.

The rule (``ClaimEmailRecorderFunction``'s ``EventBridgeRule`` in template.yaml) already selects
``Email Sent`` events of this configuration set; the handler checks it all again, because anything
on the default bus can be put there by someone else with ``events:PutEvents``: an event that is not
a ``Send`` of this configuration set, or whose ``claimId`` / ``outboxSeq`` tags are missing or
malformed, is logged (its shape, never an address) and ignored, never an error that EventBridge
would retry. Only a failed write raises (EventBridge retries it, then the target's dead-letter queue).
A repeated event finds the confirmation already there and changes nothing.
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Any

import email_confirmations
from email_confirmations import CLAIM_ID, CLAIM_TAG, MAX_SEQ, SEQ_TAG, EmailSent

from portal_common import cold_start, metrics
from portal_common.config import get_settings
from portal_common.log import get_logger

logger = get_logger("claim-email-recorder")
CONFIGURATION_SET = get_settings().require("claim_email_configuration_set").claim_email_configuration_set


class Ignored(Exception):
    """The event is not a confirmation of a claim e-mail (the message says why)."""


def _one(tags: dict[str, Any], name: str) -> str:
    values = tags.get(name)
    if not isinstance(values, list) or len(values) != 1 or not isinstance(values[0], str):
        raise Ignored(f"tag {name} missing or not a single value")
    return values[0]


def confirmation(event: Any) -> EmailSent:
    """The confirmation an SES ``Send`` event carries (:class:`Ignored` when it is not one of ours)."""
    if not isinstance(event, dict) or event.get("source") != "aws.ses":
        raise Ignored("not an SES event")
    detail = event.get("detail")
    if not isinstance(detail, dict) or detail.get("eventType") != "Send":
        raise Ignored("not a Send event")
    mail = detail.get("mail")
    if not isinstance(mail, dict) or not isinstance(mail.get("tags"), dict):
        raise Ignored("no mail tags")
    tags = mail["tags"]
    if _one(tags, "ses:configuration-set") != CONFIGURATION_SET:
        raise Ignored("another configuration set")
    claim_id, seq = _one(tags, CLAIM_TAG), _one(tags, SEQ_TAG)
    if not CLAIM_ID.match(claim_id) or not seq.isdigit() or not 0 <= int(seq) <= MAX_SEQ:
        raise Ignored("malformed claimId or outboxSeq tag")
    message_id, timestamp = mail.get("messageId"), mail.get("timestamp")
    if not isinstance(message_id, str) or not message_id or not isinstance(timestamp, str) or not timestamp:
        raise Ignored("no messageId or timestamp")
    return EmailSent(claim_id=claim_id, seq=int(seq), message_id=message_id[:256], sent_at=timestamp[:40])


@cold_start.settles
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """EventBridge target: record one ``Send`` event; ``{"recorded": bool}``."""
    try:
        sent = confirmation(event)
    except Ignored as reason:
        logger.warning(
            "SES event ignored",
            extra={
                "reason": str(reason),
                "source": str(event.get("source"))[:64] if isinstance(event, dict) else None,
                "detailType": str(event.get("detail-type"))[:64] if isinstance(event, dict) else None,
            },
        )
        metrics.count("claim-processing", "EmailEventsIgnored")
        return {"recorded": False}
    recorded = email_confirmations.record(sent)
    if recorded:
        metrics.count("claim-processing", "EmailSendsConfirmed")
    logger.info("SES Send recorded", extra={"claimId": sent.claim_id, "seq": sent.seq, "new": recorded})
    return {"recorded": recorded}
