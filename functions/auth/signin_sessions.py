"""Sign-in state of the backend-for-frontend between ``/auth/login`` and ``/auth/login/verify``.

The app gets an opaque ``session`` (``<signinId>.<nonce>``, 2 x 128 random bits). The members table
keeps, under ``PK=SIGNIN#<sha256(signinId)>``, ``SK=STATE``: Cognito's own session string, the
email hash, when the current code expires, when it was sent, how many resends and wrong codes so
far, and the hash of the current nonce. Every step rotates the nonce with a conditional update, so
a session value works once (a replayed or concurrent request gets ``CHALLENGE_FAILED``). The item
expires with Cognito's session (``expiresAt``, TTL, also checked in code).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.dynamo import get_item, is_conditional_failure, to_attr, to_item

STATE_TTL_SECONDS = 15 * 60


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class SigninState:
    """One sign-in in progress."""

    signin_id: str
    email_hash: str
    cognito_session: str
    code_expires_at: int
    sent_at: int
    resends: int
    wrong: int
    expires_at: int
    nonce_hash: str

    def __repr__(self) -> str:
        return f"SigninState(resends={self.resends}, wrong={self.wrong})"


class SessionInvalid(Exception):
    """Unknown, expired, replayed or tampered session value."""


def _key(signin_id: str) -> dict[str, str]:
    return {"PK": f"SIGNIN#{_sha(signin_id)}", "SK": "STATE"}


def _token(signin_id: str, nonce: str) -> str:
    return f"{signin_id}.{nonce}"


def _split(token: str) -> tuple[str, str]:
    signin_id, _, nonce = (token or "").partition(".")
    if not signin_id or not nonce or len(token) > 200:
        raise SessionInvalid()
    return signin_id, nonce


def start(email_hash: str, cognito_session: str, code_expires_at: int, now: int) -> str:
    """Store a new sign-in; returns the session value for the app."""
    signin_id = secrets.token_urlsafe(16)
    nonce = secrets.token_urlsafe(16)
    item = {
        **_key(signin_id),
        "entityType": "SIGNIN",
        "emailHash": email_hash,
        "cognitoSession": cognito_session,
        "codeExpiresAt": code_expires_at,
        "sentAt": now,
        "resends": 0,
        "wrong": 0,
        "nonceHash": _sha(nonce),
        "expiresAt": now + STATE_TTL_SECONDS,
    }
    client("dynamodb").put_item(TableName=get_settings().members_table, Item=to_item(item))
    return _token(signin_id, nonce)


def load(token: str, email_hash: str, now: int) -> SigninState:
    """The state behind a session value, checked against the email and the clock."""
    signin_id, nonce = _split(token)
    item = get_item(get_settings().members_table, _key(signin_id), consistent=True)
    if not item:
        raise SessionInvalid()
    state = SigninState(
        signin_id=signin_id,
        email_hash=str(item["emailHash"]),
        cognito_session=str(item["cognitoSession"]),
        code_expires_at=int(item["codeExpiresAt"]),
        sent_at=int(item["sentAt"]),
        resends=int(item["resends"]),
        wrong=int(item["wrong"]),
        expires_at=int(item["expiresAt"]),
        nonce_hash=str(item["nonceHash"]),
    )
    same_nonce = hmac.compare_digest(state.nonce_hash, _sha(nonce))
    same_email = hmac.compare_digest(state.email_hash, email_hash)
    if not (same_nonce and same_email) or state.expires_at <= now:
        raise SessionInvalid()
    return state


def advance(state: SigninState, **changes: Any) -> str:
    """Save the next step (new Cognito session, counters) and rotate the nonce; returns the new value."""
    nonce = secrets.token_urlsafe(16)
    updated = replace(state, **changes)
    try:
        client("dynamodb").update_item(
            TableName=get_settings().members_table,
            Key=to_item(_key(state.signin_id)),
            UpdateExpression="SET cognitoSession = :s, codeExpiresAt = :ce, sentAt = :sa, resends = :r, "
            "wrong = :w, nonceHash = :new",
            ConditionExpression="nonceHash = :old",
            ExpressionAttributeValues={
                ":s": to_attr(updated.cognito_session),
                ":ce": to_attr(updated.code_expires_at),
                ":sa": to_attr(updated.sent_at),
                ":r": to_attr(updated.resends),
                ":w": to_attr(updated.wrong),
                ":new": to_attr(_sha(nonce)),
                ":old": to_attr(state.nonce_hash),
            },
        )
    except ClientError as error:
        if is_conditional_failure(error):
            raise SessionInvalid() from error
        raise
    return _token(state.signin_id, nonce)


def claim(state: SigninState) -> SigninState:
    """Spend the app's session value before answering Cognito (race-safe single use).

    The nonce is rotated to one nobody knows, so concurrent or replayed requests with the same
    value fail here and can never turn one sign-in into several parallel guesses.
    """
    nonce = secrets.token_urlsafe(16)
    try:
        client("dynamodb").update_item(
            TableName=get_settings().members_table,
            Key=to_item(_key(state.signin_id)),
            UpdateExpression="SET nonceHash = :new",
            ConditionExpression="nonceHash = :old",
            ExpressionAttributeValues={":new": to_attr(_sha(nonce)), ":old": to_attr(state.nonce_hash)},
        )
    except ClientError as error:
        if is_conditional_failure(error):
            raise SessionInvalid() from error
        raise
    return replace(state, nonce_hash=_sha(nonce))


def finish(state: SigninState) -> None:
    """Forget the sign-in (tokens issued or the sign-in failed)."""
    client("dynamodb").delete_item(TableName=get_settings().members_table, Key=to_item(_key(state.signin_id)))
