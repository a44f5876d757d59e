"""Who is calling: read from the Cognito authorizer's claims (no look-up needed).

API Gateway's Cognito authorizer (and the local gateway, which verifies the same ID token against
the pool's JWKS) puts the ID token's claims in ``requestContext.authorizer.claims``. The roster
link is in ``custom:contract_number`` and ``custom:participant_number``, set by PostConfirmation
and not writable by the app client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal_common.problems import Unauthorized


@dataclass(frozen=True)
class Caller:
    """The signed-in member."""

    sub: str
    email: str
    contract_number: str
    participant_number: str
    locale: str | None = None

    @property
    def member_key(self) -> str:
        """Partition key of the member's certificate (roster, claims, receipts, ...)."""
        return member_key(self.contract_number, self.participant_number)

    def __repr__(self) -> str:  # keep participant numbers out of logs and tracebacks
        return f"Caller(sub={self.sub!r})"


def member_key(contract_number: str, participant_number: str) -> str:
    """``MEMBER#<contract>#<participant>``: one certificate (the member and their dependants)."""
    return f"MEMBER#{contract_number}#{participant_number}"


def caller_from_event(event: dict[str, Any]) -> Caller:
    """The caller of an API Gateway REST proxy event, or ``401`` if the claims are not there."""
    context = event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    sub = claims.get("sub")
    contract = claims.get("custom:contract_number")
    participant = claims.get("custom:participant_number")
    if not sub or not contract or not participant:
        raise Unauthorized()
    return Caller(
        sub=str(sub),
        email=str(claims.get("email", "")),
        contract_number=str(contract),
        participant_number=str(participant),
        locale=claims.get("locale"),
    )
