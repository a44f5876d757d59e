"""Fixed-window request counters in the members table (per email hash and per source IP).

One atomic ``UpdateItem ... ADD hits :1`` per key and window: concurrent requests cannot both slip
under a limit. Items: ``PK=THROTTLE#<action>#<email|ip>#<hash>``, ``SK=W#<window start>``, with
``expiresAt`` (TTL). The window is part of the key, so an expired counter is simply never read
again even where TTL is not applied (moto).

Cognito's own doors are counted per account (the user name): ``reset_code`` by CustomMessage (a
reset code past the limit is refused, whoever called ``ForgotPassword``), ``password_failure`` by
DefineAuthChallenge (wrong passwords on the SRP step, whichever door the sign-in used). Their
``email`` number is the per-account limit (``ip`` is unused: Cognito does not tell the triggers
the caller's address).

Limits can be tuned per deployment with ``AUTH_THROTTLE_LIMITS`` (JSON
``{"login": {"email": 10, "ip": 100, "window": 900}, ...}``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from portal_common import metrics
from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.dynamo import get_item, to_attr
from portal_common.problems import TooManyRequests


@dataclass(frozen=True)
class Limit:
    """At most ``email`` requests per email and ``ip`` per source IP in ``window`` seconds."""

    email: int
    ip: int
    window: int


DEFAULT_LIMITS: dict[str, Limit] = {
    "register": Limit(email=5, ip=50, window=3600),
    "register_confirm": Limit(email=10, ip=100, window=3600),
    "register_resend": Limit(email=5, ip=50, window=3600),
    "login": Limit(email=10, ip=100, window=900),
    "login_verify": Limit(email=20, ip=200, window=900),
    "login_resend": Limit(email=10, ip=100, window=900),
    "password_forgot": Limit(email=5, ip=50, window=3600),
    "password_reset": Limit(email=10, ip=100, window=3600),
    # Account settings, per signed-in account (the "email" count) and per IP.
    "password_change": Limit(email=5, ip=100, window=3600),
    "email_change": Limit(email=5, ip=100, window=3600),
    "email_confirm": Limit(email=10, ip=100, window=3600),
    # Cognito's doors, per account (see the module docstring).
    "reset_code": Limit(email=5, ip=0, window=3600),
    "password_failure": Limit(email=10, ip=0, window=900),
}


def limit_for(action: str) -> Limit:
    """The limit of ``action``: its default, with the ``AUTH_THROTTLE_LIMITS`` setting's overrides
    (already whole numbers, validated at cold start by ``Settings``)."""
    override = get_settings().auth_throttle_limits.get(action)
    return replace(DEFAULT_LIMITS[action], **override) if override else DEFAULT_LIMITS[action]


def _hit(key: str, window_start: int, window: int) -> int:
    response = client("dynamodb").update_item(
        TableName=get_settings().members_table,
        Key={"PK": to_attr(key), "SK": to_attr(f"W#{window_start}")},
        UpdateExpression="ADD hits :one SET expiresAt = if_not_exists(expiresAt, :exp), entityType = :t",
        ExpressionAttributeValues={
            ":one": to_attr(1),
            ":exp": to_attr(window_start + window + 60),
            ":t": to_attr("THROTTLE"),
        },
        ReturnValues="UPDATED_NEW",
    )
    return int(response["Attributes"]["hits"]["N"])


def _window(limit: Limit, now: float) -> int:
    return int(now) - int(now) % limit.window


def _account_key(action: str, username: str) -> str:
    return f"THROTTLE#{action}#account#{_digest(username.lower())}"


def count_account(action: str, username: str, now: float) -> bool:
    """Count one ``action`` for this account; whether it is now over the limit (one ``UpdateItem``)."""
    limit = limit_for(action)
    return _hit(_account_key(action, username), _window(limit, now), limit.window) > limit.email


def account_over_limit(action: str, username: str, now: float) -> bool:
    """Whether this account already used up ``action`` in the current window (one ``GetItem``)."""
    limit = limit_for(action)
    item = get_item(
        get_settings().members_table,
        {"PK": _account_key(action, username), "SK": f"W#{_window(limit, now)}"},
        consistent=True,
    )
    return int((item or {}).get("hits", 0)) >= limit.email


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def check(action: str, email_hash: str | None, source_ip: str | None, now: float) -> None:
    """Count this request; ``429`` with ``Retry-After`` when the email or the IP is over its limit.

    Both counters are always incremented (the same work whether or not the email has an account).
    """
    limit = limit_for(action)
    start = int(now) - int(now) % limit.window
    retry_after = start + limit.window - int(now)
    over = False
    if email_hash:
        over |= _hit(f"THROTTLE#{action}#email#{email_hash[:32]}", start, limit.window) > limit.email
    if source_ip:
        over |= _hit(f"THROTTLE#{action}#ip#{_digest(source_ip)}", start, limit.window) > limit.ip
    if over:
        metrics.count("auth", "ThrottledRequests", action=action)
        raise TooManyRequests(retry_after)
