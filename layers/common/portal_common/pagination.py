"""Opaque, validated pagination cursors.

A cursor is DynamoDB's ``LastEvaluatedKey`` wrapped with the query's *scope* (for instance the
caller's partition key and the filter in use) and a checksum, then base64url-encoded. Decoding
refuses anything that was not produced for the same scope and key schema: a garbage, truncated,
edited or replayed-elsewhere cursor is ``400 VALIDATION_FAILED`` (code ``INVALID_CURSOR``), never
a ``500``, and never reads outside the caller's own partition. The decoded key must also have the
scope's key schema, name by name and type by type (``{"PK": str, "SK": str}``): a cursor whose MAC
checks but whose key DynamoDB would refuse (a number where the table has a string) is a ``400`` too.
The MAC key is the stack's ``CursorSecret`` (Secrets Manager, generated at deploy, resolved into
``CURSOR_SECRET`` and read once per cold start by ``get_settings()``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from portal_common.config import get_settings
from portal_common.problems import invalid_field

_MAX_CURSOR_LENGTH = 2048


def _secret() -> bytes:
    # The key that makes cursors unforgeable: template.yaml generates it (Secrets Manager) for the
    # functions that page; there is no default.
    return get_settings().require("cursor_secret").cursor_secret.encode()


def _mac(scope: str, key: dict[str, Any]) -> str:
    payload = json.dumps([scope, key], sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(_secret(), payload, hashlib.sha256).hexdigest()[:32]


def encode_cursor(last_key: dict[str, Any] | None, scope: str) -> str | None:
    """Cursor for the next page, or ``None`` at the end. ``last_key`` holds plain str/int values."""
    if not last_key:
        return None
    plain = {name: (str(value) if not isinstance(value, (str, int)) else value) for name, value in last_key.items()}
    body = json.dumps({"k": plain, "m": _mac(scope, plain)}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


KeySchema = Mapping[str, type[str] | type[int]]
"""The names of a query's ``LastEvaluatedKey`` and the type of each (``str`` or ``int``)."""


def _has_schema(key: dict[str, Any], key_schema: KeySchema) -> bool:
    if set(key) != set(key_schema):
        return False
    # bool is an int in Python, never a key type.
    return all(type(value) is key_schema[name] for name, value in key.items())


def decode_cursor(cursor: str | None, scope: str, key_schema: KeySchema) -> dict[str, Any] | None:
    """The ``ExclusiveStartKey`` (plain values) for ``cursor``; ``None`` when there is no cursor."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) > _MAX_CURSOR_LENGTH:
        raise invalid_field("cursor", "INVALID_CURSOR")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_field("cursor", "INVALID_CURSOR") from None
    if not isinstance(body, dict) or set(body) != {"k", "m"}:
        raise invalid_field("cursor", "INVALID_CURSOR")
    key, mac = body["k"], body["m"]
    if (
        not isinstance(key, dict)
        or not isinstance(mac, str)
        or not hmac.compare_digest(mac, _mac(scope, key))
        or not _has_schema(key, key_schema)
    ):
        raise invalid_field("cursor", "INVALID_CURSOR")
    return key
