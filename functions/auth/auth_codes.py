"""One-time codes: generated with ``secrets``, kept only as a salted HMAC, compared in constant time.

The sign-in code travels between the Cognito triggers inside the challenge (never in clear):
CreateAuthChallenge puts ``{codeHash, salt, expiresAt}`` in the private challenge parameters and
in the challenge metadata (so a retry after a wrong answer can present the same code without
emailing a new one); VerifyAuthChallengeResponse recomputes the HMAC of the answer.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from portal_common.patterns import is_code

CODE_DIGITS = 6
CODE_TTL_SECONDS = 300
MAX_WRONG_CODES = 3
MAX_RESENDS = 5
RESEND_MIN_INTERVAL_SECONDS = 30
RESEND_ANSWER = "RESEND"
"""The answer the backend gives to the custom challenge to ask for a new code (never a valid code)."""

_METADATA_PREFIX = "OTP1"


def new_code() -> str:
    """Six digits from the operating system's CSPRNG (leading zeros kept)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_salt() -> str:
    """128-bit random salt (hex)."""
    return secrets.token_hex(16)


def hash_code(code: str, salt: str) -> str:
    """HMAC-SHA256 of the code keyed by the salt (hex)."""
    return hmac.new(bytes.fromhex(salt), code.encode(), hashlib.sha256).hexdigest()


def code_matches(answer: object, salt: str, expected_hash: str) -> bool:
    """Constant-time check of an answer against a stored hash (malformed answers never match)."""
    text = answer if isinstance(answer, str) else ""
    well_formed = is_code(text)
    candidate = hash_code(text if well_formed else "------", salt)
    same = hmac.compare_digest(candidate, expected_hash)
    return well_formed and same


def is_code_format(value: str) -> bool:
    """Six ASCII digits."""
    return is_code(value)


@dataclass(frozen=True)
class IssuedCode:
    """What the triggers carry about the code of one challenge (no clear code)."""

    kind: str  # NEW (first code), RESEND (new code on request), RETRY (same code after a wrong answer)
    sent_at: int  # epoch seconds when the code was emailed
    expires_at: int
    salt: str
    code_hash: str

    def metadata(self) -> str:
        """Challenge metadata string (seen only by the triggers, never by the client)."""
        return ";".join(
            [_METADATA_PREFIX, self.kind, str(self.sent_at), str(self.expires_at), self.salt, self.code_hash]
        )

    def private_parameters(self) -> dict[str, str]:
        """Private challenge parameters read by VerifyAuthChallengeResponse."""
        return {"codeHash": self.code_hash, "salt": self.salt, "expiresAt": str(self.expires_at)}

    @staticmethod
    def from_metadata(value: str | None) -> IssuedCode | None:
        """Parse challenge metadata written by :meth:`metadata` (``None`` when absent or foreign)."""
        parts = (value or "").split(";")
        if len(parts) != 6 or parts[0] != _METADATA_PREFIX:
            return None
        try:
            return IssuedCode(parts[1], int(parts[2]), int(parts[3]), parts[4], parts[5])
        except ValueError:
            return None
