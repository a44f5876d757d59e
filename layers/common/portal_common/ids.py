"""Identifiers: time-sortable and unguessable (a ULID-like 26-character Crockford base32 string)."""

from __future__ import annotations

import secrets

from portal_common import clock

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def sortable_id(prefix: str = "", *, now_ms: int | None = None) -> str:
    """``prefix`` + 10 characters of milliseconds + 16 random characters (80 bits from ``secrets``).

    Ids made later sort after ids made earlier (to the millisecond), so a key ``CLAIM#<id>`` lists
    newest first with a descending query.
    """
    millis = clock.epoch_millis() if now_ms is None else now_ms
    return prefix + _base32(millis, 10) + _base32(secrets.randbits(80), 16)


def random_id(prefix: str = "", nbytes: int = 16) -> str:
    """An opaque unguessable id (hex)."""
    return prefix + secrets.token_hex(nbytes)
