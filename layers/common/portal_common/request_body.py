"""Every request body is screened once, before Powertools reads it (``create_app`` wires this in).

API Gateway hands the function whatever bytes the caller sent. Before any route sees them:

- the body is decoded (``isBase64Encoded: true`` bodies too) and must be UTF-8;
- a body must be sent as JSON: ``Content-Type`` compares case-insensitively with its parameters
  (RFC 9110), so ``APPLICATION/JSON; charset=UTF-8`` is JSON; any other media type, or a charset
  other than UTF-8, is ``415 UNSUPPORTED_MEDIA_TYPE``. A body without ``Content-Type`` is read as
  JSON (as API Gateway's own test console and many HTTP clients send it);
- the JSON must parse: invalid JSON, integers of more digits than Python converts (4,300), nesting
  deeper than :data:`MAX_DEPTH` (DynamoDB stores 32 levels at most) are ``400 VALIDATION_FAILED``.

The event is then normalized in place (text body, ``isBase64Encoded: false``, one
``Content-Type: application/json`` header) and the parsed value is cached on the event, so
Powertools' validation and every hand-written parser (logout's optional body) read the same value.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from portal_common.problems import DomainError, FieldError, ValidationFailed

MAX_DEPTH = 16
JSON_MEDIA_TYPE = "application/json"


class UnsupportedMediaType(DomainError):
    """``415``: the body is not sent as ``application/json`` (UTF-8)."""

    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


def _bad_body(code: str) -> ValidationFailed:
    return ValidationFailed(errors=[FieldError("body", code)])


def header(headers: dict[str, Any] | None, name: str) -> str | None:
    """A header's value whatever its case (API Gateway passes the caller's spelling)."""
    lowered = name.lower()
    return next((str(v) for k, v in (headers or {}).items() if k.lower() == lowered and v is not None), None)


def is_json_media_type(value: str | None) -> bool:
    """``application/json`` with no parameter but ``charset=utf-8`` (any case, quoted or not)."""
    if value is None:
        return True
    media_type, *parameters = value.split(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        return False
    for parameter in parameters:
        name, _, raw = parameter.partition("=")
        name = name.strip().lower()
        if not name:
            continue
        if name != "charset" or raw.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (iterative: a hostile body cannot exhaust the stack here)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item)
    return deepest


def _text(event: dict[str, Any]) -> str | None:
    raw = event.get("body")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _bad_body("MALFORMED_JSON")
    data: bytes
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(raw.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise _bad_body("MALFORMED_JSON") from None
    else:
        # API Gateway passes a non-UTF-8 text body with lone surrogates (or replacement chars).
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise _bad_body("NOT_UTF8") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad_body("NOT_UTF8") from None


def parse_json(text: str) -> Any:
    """``text`` as JSON within our bounds (``400 VALIDATION_FAILED`` otherwise)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise _bad_body("TOO_DEEP") from None
    except json.JSONDecodeError:
        raise _bad_body("MALFORMED_JSON") from None
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise _bad_body("NUMBER_TOO_LONG") from None
    if _depth(value) > MAX_DEPTH:
        raise _bad_body("TOO_DEEP")
    return value


def screen(event: dict[str, Any]) -> tuple[bool, Any]:
    """Check and normalize the raw API Gateway ``event`` in place.

    Returns ``(has_body, parsed)``; raises :class:`UnsupportedMediaType` or
    :class:`~portal_common.problems.ValidationFailed`.
    """
    headers = event.get("headers") or {}
    if event.get("body") not in (None, "") and not is_json_media_type(header(headers, "content-type")):
        raise UnsupportedMediaType()
    text = _text(event)
    if text is None or not text.strip():
        event["body"] = None
        event["isBase64Encoded"] = False
        return False, None
    parsed = parse_json(text)
    event["body"] = text
    event["isBase64Encoded"] = False
    event["headers"] = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    event["headers"]["Content-Type"] = JSON_MEDIA_TYPE
    multi = event.get("multiValueHeaders")
    if isinstance(multi, dict):
        event["multiValueHeaders"] = {k: v for k, v in multi.items() if k.lower() != "content-type"}
        event["multiValueHeaders"]["Content-Type"] = [JSON_MEDIA_TYPE]
    return True, parsed
