"""One email per challenge round, whatever Cognito retries (CreateAuthChallenge's claim).

Cognito gives CreateAuthChallenge 5 s and calls it again, with the same ``request.session``,
when it times out or fails. Without a record, each call would email a new code. The first call of
a round claims it with one conditional ``PutItem`` in the members table before emailing:

- ``PK=AUTHROUND#<hash of the user name>``, ``SK=ROUND#<hash of the session history>`` (the history
  carries the previous challenge's salted code hash, so every later round of a sign-in has its own
  key); the item holds the issued code's challenge metadata (salt and hash, never the code),
  ``state`` (``SENDING``, ``SENT`` or ``FAILED``), ``claimedAt`` and ``expiresAt`` (TTL);
- the claim wins when no item exists, or the item is ``FAILED`` (the send raised, so nothing was
  emailed), or still ``SENDING`` past ``SEND_LEASE_SECONDS`` (its invocation died mid-send), or
  older than ``ROUND_SECONDS`` (a new sign-in of the same user with the same history, e.g. the
  first code round after the password step);
- a call that loses the claim reads the item (consistent read) and answers with the same challenge
  (same salt and hash, so the code already emailed is the one Verify accepts): no second email,
  never two valid codes.

Cognito's event has no sign-in id: the BFF sends a random ``attempt`` id in the client metadata of
the password step (Cognito passes it to this trigger, retries included), so each BFF sign-in has its
own first round. A direct Cognito caller without it shares the first-round key of the user: a new
sign-in within ``ROUND_SECONDS`` gets the code already emailed (still valid), not a second email.

Costs per new code: one ``PutItem`` and one ``UpdateItem`` (plus a ``GetItem`` on a retry).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from auth_codes import IssuedCode

from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.dynamo import get_item, is_conditional_failure, to_attr

# A send (SES) that has not finished after this long belongs to an invocation that is gone
# (the function's timeout is 10 s).
SEND_LEASE_SECONDS = 15
# Cognito's retries of one round arrive within seconds (5 s each, at most 3 calls); a claim older
# than this belongs to an earlier sign-in and is replaced.
ROUND_SECONDS = 20


def round_key(username: str, session: list[Any], client_metadata: dict[str, Any] | None = None) -> dict[str, str]:
    """The item key of this challenge round: the user, the exact history Cognito sent and the
    sign-in's ``attempt`` id (client metadata the BFF sends with the password step)."""
    attempt = str((client_metadata or {}).get("attempt") or "")[:64]
    steps = [
        [entry.get("challengeName"), entry.get("challengeResult"), entry.get("challengeMetadata")]
        for entry in session
        if isinstance(entry, dict)
    ]
    history = json.dumps([attempt, steps], separators=(",", ":"))
    user = hashlib.sha256(username.encode()).hexdigest()[:32]
    return {"PK": f"AUTHROUND#{user}", "SK": f"ROUND#{hashlib.sha256(history.encode()).hexdigest()[:32]}"}


def claim(key: dict[str, str], issued: IssuedCode, now: int) -> IssuedCode | None:
    """Claim the round for ``issued``: ``None`` when this call won (it must send), else the code
    already issued for the round (answer with it, send nothing)."""
    table = get_settings().members_table
    try:
        client("dynamodb").put_item(
            TableName=table,
            Item={
                "PK": to_attr(key["PK"]),
                "SK": to_attr(key["SK"]),
                "entityType": to_attr("SIGNIN_ROUND"),
                "state": to_attr("SENDING"),
                "issued": to_attr(issued.metadata()),
                "claimedAt": to_attr(now),
                "expiresAt": to_attr(now + ROUND_SECONDS + 3600),
            },
            ConditionExpression=(
                "attribute_not_exists(PK) OR #s = :failed OR claimedAt < :round"
                " OR (#s = :sending AND claimedAt < :lease)"
            ),
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":failed": to_attr("FAILED"),
                ":sending": to_attr("SENDING"),
                ":round": to_attr(now - ROUND_SECONDS),
                ":lease": to_attr(now - SEND_LEASE_SECONDS),
            },
        )
        return None
    except Exception as error:
        if not is_conditional_failure(error):
            raise
    item = get_item(table, key, consistent=True) or {}
    previous = IssuedCode.from_metadata(item.get("issued"))
    if previous is None:  # vanished or foreign between the two calls: refuse rather than email twice
        raise RuntimeError("sign-in round claimed but unreadable")
    return previous


def settle(key: dict[str, str], issued: IssuedCode, *, sent: bool) -> None:
    """Mark this call's claim ``SENT`` (retries reuse it) or ``FAILED`` (a retry sends afresh)."""
    try:
        client("dynamodb").update_item(
            TableName=get_settings().members_table,
            Key={"PK": to_attr(key["PK"]), "SK": to_attr(key["SK"])},
            UpdateExpression="SET #s = :state",
            ConditionExpression="issued = :issued",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":state": to_attr("SENT" if sent else "FAILED"),
                ":issued": to_attr(issued.metadata()),
            },
        )
    except Exception as error:  # another call took the round over (lease passed): its state stands
        if not is_conditional_failure(error):
            raise
