"""A member's pending sign-in email change (members table), between ``POST /v1/me/email`` and its
confirmation.

Item ``PK=EMAILCHANGE#<sub>``, ``SK=PENDING`` (owned by the identity function): ``newEmail``, the
code's salted HMAC (``salt``, ``codeHash``; empty when the new address already has an account, so
no code can ever match), ``attempts``, ``expiresAt`` (TTL, also checked in code). A new request
replaces the previous one; a right code is claimed once (conditional delete on the salt).
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.dynamo import get_item, is_conditional_failure, to_attr, to_item

CODE_TTL_SECONDS = 3600
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class PendingEmail:
    """A requested email change waiting for its code."""

    new_email: str
    salt: str
    code_hash: str
    attempts: int
    expires_at: int

    def __repr__(self) -> str:  # no address in logs
        return f"PendingEmail(attempts={self.attempts})"


def _key(sub: str) -> dict[str, str]:
    return {"PK": f"EMAILCHANGE#{sub}", "SK": "PENDING"}


def start(sub: str, pending: PendingEmail) -> None:
    """Record the request (replacing any previous one: its code stops working)."""
    client("dynamodb").put_item(
        TableName=get_settings().members_table,
        Item=to_item(
            {
                **_key(sub),
                "entityType": "EMAIL_CHANGE",
                "newEmail": pending.new_email,
                "salt": pending.salt,
                "codeHash": pending.code_hash,
                "attempts": pending.attempts,
                "expiresAt": pending.expires_at,
            }
        ),
    )


def load(sub: str) -> PendingEmail | None:
    """The pending change of account ``sub`` (``None`` when there is none)."""
    item = get_item(get_settings().members_table, _key(sub), consistent=True)
    if not item:
        return None
    return PendingEmail(
        new_email=str(item["newEmail"]),
        salt=str(item.get("salt", "")),
        code_hash=str(item.get("codeHash", "")),
        attempts=int(item.get("attempts", 0)),
        expires_at=int(item.get("expiresAt", 0)),
    )


def _conditional(call: str, sub: str, salt: str, **params: object) -> bool:
    try:
        getattr(client("dynamodb"), call)(
            TableName=get_settings().members_table,
            Key={k: to_attr(v) for k, v in _key(sub).items()},
            ConditionExpression="salt = :salt",
            **params,
        )
    except ClientError as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def count_wrong(sub: str, salt: str) -> bool:
    """One more wrong code for this request (``False`` when it was replaced meanwhile)."""
    return _conditional(
        "update_item",
        sub,
        salt,
        UpdateExpression="ADD attempts :one",
        ExpressionAttributeValues={":one": to_attr(1), ":salt": to_attr(salt)},
    )


def finish(sub: str, salt: str) -> bool:
    """Remove this request; ``True`` for the one caller that removed it (a code works once)."""
    return _conditional("delete_item", sub, salt, ExpressionAttributeValues={":salt": to_attr(salt)})
