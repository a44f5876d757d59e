"""Structured logging (Powertools Logger) that never writes personal data or secrets.

Every record passes through :func:`redact` before it is serialized: values under sensitive keys
(codes, passwords, tokens, dates of birth, participant numbers, ...) are replaced, and e-mail
addresses are masked wherever they appear in a string.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

REDACTED = "***"

# Compared after lower-casing and removing "_" and "-", so ``date_of_birth``, ``dateOfBirth`` and
# ``Date-Of-Birth`` are one key.
SENSITIVE_KEYS = frozenset(
    {
        "password",
        "newpassword",
        "previouspassword",
        "code",
        "otp",
        "answer",
        "challengeanswer",
        "secret",
        "secrethash",
        "token",
        "idtoken",
        "accesstoken",
        "refreshtoken",
        "authorization",
        "session",
        "dateofbirth",
        "birthdate",
        "dob",
        "participantnumber",
        "custom:participantnumber",
        "contractnumber",
        "custom:contractnumber",
        "srpa",
        "srpb",
        "passwordclaimsignature",
        "privatechallengeparameters",
        "codehash",
        "firstname",
        "lastname",
        "phone",
        "phonenumber",
    }
)

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9])[A-Za-z0-9.-]*\.([A-Za-z]{2,})")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")


def _normalize_key(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def mask_email(value: str) -> str:
    """``jane.doe@example.com`` -> ``j***@e***.com`` (also the contract's ``destination`` form)."""
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}***.{m.group(3)}", value)


def redact(value: Any, _depth: int = 0) -> Any:
    """Return a copy of ``value`` safe to log."""
    if _depth > 12:
        return REDACTED
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and _normalize_key(key) in SENSITIVE_KEYS:
                out[key] = REDACTED
            else:
                out[key] = redact(item, _depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [redact(item, _depth + 1) for item in value]
    if isinstance(value, str):
        return _JWT.sub(REDACTED, mask_email(value))
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools JSON formatter that redacts the whole record just before it is written."""

    def serialize(self, log: Any) -> str:
        return super().serialize(redact(log))


def get_logger(service: str) -> Logger:
    """A Powertools Logger for ``service`` with redaction; inject context with ``@inject_lambda_context``."""
    return Logger(service=service, logger_formatter=RedactingFormatter(), use_rfc3339=True)
