"""SES's confirmation that a claim e-mail was accepted: what lets a retry after an uncertain send
know whether the member already has the mail.

``SendEmail`` has no idempotency token. So every claim e-mail is sent through the configuration set
``CLAIM_EMAIL_CONFIGURATION_SET`` with two message tags naming its outbox entry
(:data:`CLAIM_TAG` = the claim id, :data:`SEQ_TAG` = the entry's ``seq``). SES publishes a ``Send``
event ("Email Sent" on the account's default EventBridge bus) for each mail it accepted;
``claim_email_recorder`` writes it here as one item per entry:

``PK = EMAILSENT#<claimId>``, ``SK = SEQ#<seq>``, ``entityType = EMAIL_SENT``, ``messageId``,
``sentAt`` (SES's timestamp), ``expiresAt`` (TTL, :data:`KEEP_SECONDS`).

A separate item rather than a field on the claim: the recorder then needs neither the member's key
(the tag never carries a participant number) nor any right on claims; its IAM policy allows one
``PutItem`` on keys starting with ``EMAILSENT#`` (``dynamodb:LeadingKeys``). The write is
conditional (``attribute_not_exists``), so a repeated event changes nothing. The stream publisher's
filter (``entityType = CLAIM``) ignores these items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from portal_common import clock
from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.dynamo import get_item, is_conditional_failure, to_item

CLAIM_TAG = "claimId"
SEQ_TAG = "outboxSeq"
KEY_PREFIX = "EMAILSENT#"
ENTITY_TYPE = "EMAIL_SENT"
# Long after any retry that could still look (the outbox's longest retry delay is an hour).
KEEP_SECONDS = 30 * 86400
# What a tag may hold (SES: letters, digits, "_" and "-", at most 256) and what our ids look like.
CLAIM_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
MAX_SEQ = 10_000


@dataclass(frozen=True)
class EmailSent:
    """One accepted claim e-mail (the stored confirmation)."""

    claim_id: str
    seq: int
    message_id: str
    sent_at: str

    @staticmethod
    def key(claim_id: str, seq: int) -> dict[str, str]:
        return {"PK": f"{KEY_PREFIX}{claim_id}", "SK": f"SEQ#{seq}"}

    def to_item(self) -> dict[str, Any]:
        return {
            **self.key(self.claim_id, self.seq),
            "entityType": ENTITY_TYPE,
            "claimId": self.claim_id,
            "seq": self.seq,
            "messageId": self.message_id,
            "sentAt": self.sent_at,
            "expiresAt": clock.epoch() + KEEP_SECONDS,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> EmailSent:
        return cls(str(item["claimId"]), int(item["seq"]), str(item["messageId"]), str(item["sentAt"]))


def send_tags(claim_id: str, seq: int) -> list[dict[str, str]]:
    """The message tags naming an outbox entry (``ValueError`` for a value SES would refuse)."""
    if not CLAIM_ID.match(claim_id) or not 0 <= seq <= MAX_SEQ:
        raise ValueError("not a claim id and outbox seq")
    return [{"Name": CLAIM_TAG, "Value": claim_id}, {"Name": SEQ_TAG, "Value": str(seq)}]


def record(sent: EmailSent) -> bool:
    """Store the confirmation; ``False`` when it was already there (a repeated event)."""
    try:
        client("dynamodb").put_item(
            TableName=get_settings().claims_table,
            Item=to_item(sent.to_item()),
            ConditionExpression="attribute_not_exists(PK)",
        )
    except Exception as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def confirmed(claim_id: str, seq: int) -> EmailSent | None:
    """SES's confirmation of the entry's e-mail, if it arrived (consistent read)."""
    item = get_item(get_settings().claims_table, EmailSent.key(claim_id, seq), consistent=True)
    return EmailSent.from_item(item) if item is not None else None
