"""The order of the sign-in steps, decided from Cognito's challenge history (pure functions).

Cognito keeps the history of a custom-auth sign-in (``request.session``: one entry per answered
challenge with ``challengeName``, ``challengeResult`` and the ``challengeMetadata`` that
CreateAuthChallenge wrote). Nothing else survives between trigger invocations, so every rule is
computed from it:

1. ``SRP_A`` -> ``PASSWORD_VERIFIER`` (Cognito checks the password proof itself);
2. password verified -> ``CUSTOM_CHALLENGE`` (a new 6-digit code is emailed);
3. a correct code -> tokens;
4. a wrong code -> the same code again, until the third wrong code fails the sign-in;
5. a resend (the answer ``RESEND`` with client metadata ``action=resend``, which Verify never
   checks and never counts as wrong) -> a new code, at most 5 per sign-in, at least 30 s apart.

A challenge's metadata says why it was created (``NEW``, ``RESEND``, ``RETRY``), so a failed
entry followed by a ``RESEND`` entry was a resend, not a wrong answer.

A password check (client metadata ``purpose=password-check`` on the ``PASSWORD_VERIFIER`` answer,
used by the account settings to confirm the current password) gets a ``CHECK`` challenge that has
no code and emails nothing: reaching it says the password was right, and nothing follows it.
Wrong passwords are counted per account by DefineAuthChallenge (``auth_throttle``), whichever
door the sign-in came through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auth_codes import MAX_RESENDS, MAX_WRONG_CODES, RESEND_MIN_INTERVAL_SECONDS, IssuedCode

SRP_A = "SRP_A"
PASSWORD_VERIFIER = "PASSWORD_VERIFIER"
CUSTOM_CHALLENGE = "CUSTOM_CHALLENGE"


@dataclass(frozen=True)
class Step:
    """One entry of Cognito's session history."""

    name: str
    result: bool
    metadata: str | None = None


@dataclass(frozen=True)
class Decision:
    """What DefineAuthChallenge answers."""

    challenge: str | None = None
    issue_tokens: bool = False
    fail: bool = False


FAIL = Decision(fail=True)


def steps_from_session(session: list[Any]) -> list[Step]:
    """Cognito's raw session list (dicts) -> steps."""
    out = []
    for entry in session or []:
        get = entry.get if isinstance(entry, dict) else (lambda key, e=entry: getattr(e, key, None))
        out.append(
            Step(
                name=str(get("challengeName") or ""),
                result=bool(get("challengeResult")),
                metadata=get("challengeMetadata"),
            )
        )
    return out


PASSWORD_CHECK = "password-check"


def is_password_check(client_metadata: dict[str, Any] | None) -> bool:
    """Whether this sign-in only checks the password (account settings): no code is emailed."""
    return (client_metadata or {}).get("purpose") == PASSWORD_CHECK


def password_failed(session: list[Step]) -> bool:
    """Whether the latest step is a wrong password (counted per account)."""
    return len(session) == 2 and session[1].name == PASSWORD_VERIFIER and not session[1].result


def starts_password_step(session: list[Step]) -> bool:
    """Whether Define is about to ask for the password (the moment to refuse a locked account)."""
    return len(session) == 1 and session[0].name == SRP_A


def is_resend(client_metadata: dict[str, Any] | None) -> bool:
    """Whether the current answer asks for a new code."""
    return (client_metadata or {}).get("action") == "resend"


def count_wrong_and_resends(custom: list[Step], resend_now: bool) -> tuple[int, int]:
    """(wrong answers, resends) among the custom-challenge steps, the current one included."""
    wrong = 0
    resends = 0
    for index, step in enumerate(custom):
        kind = (IssuedCode.from_metadata(step.metadata) or IssuedCode("NEW", 0, 0, "", "")).kind
        if kind == "RESEND":
            resends += 1
        if step.result:
            continue
        is_last = index == len(custom) - 1
        next_is_resend = (
            not is_last
            and (IssuedCode.from_metadata(custom[index + 1].metadata) or IssuedCode("", 0, 0, "", "")).kind == "RESEND"
        )
        if (is_last and resend_now) or next_is_resend:
            continue
        wrong += 1
    if resend_now:
        resends += 1
    return wrong, resends


def decide(
    session: list[Step], client_metadata: dict[str, Any] | None, now: float, *, user_not_found: bool = False
) -> Decision:
    """DefineAuthChallenge's answer for this history."""
    if not session or session[0].name != SRP_A:
        return FAIL  # the password step (SRP) is mandatory
    if len(session) == 1:
        # Unknown users get the same PASSWORD_VERIFIER step (Cognito fakes it), so the answer to
        # InitiateAuth never says whether the email has an account.
        return Decision(challenge=PASSWORD_VERIFIER)
    if user_not_found:
        return FAIL
    if session[1].name != PASSWORD_VERIFIER or not session[1].result:
        return FAIL
    custom = session[2:]
    if any(step.name != CUSTOM_CHALLENGE for step in custom):
        return FAIL
    if not custom:
        return Decision(challenge=CUSTOM_CHALLENGE)
    if (IssuedCode.from_metadata(custom[0].metadata) or IssuedCode("", 0, 0, "", "")).kind == "CHECK":
        return FAIL  # a password check never leads to tokens
    last = custom[-1]
    if last.result:
        return Decision(issue_tokens=True)
    resend_now = is_resend(client_metadata)
    wrong, resends = count_wrong_and_resends(custom, resend_now)
    if wrong >= MAX_WRONG_CODES:
        return FAIL
    if resend_now:
        if resends > MAX_RESENDS:
            return FAIL
        issued = IssuedCode.from_metadata(last.metadata)
        if issued is None or now - issued.sent_at < RESEND_MIN_INTERVAL_SECONDS:
            return FAIL  # the backend refuses early resends with 429 before asking Cognito
    return Decision(challenge=CUSTOM_CHALLENGE)


def previous_code(session: list[Step]) -> IssuedCode | None:
    """The code of the latest custom challenge (``None`` before the first one)."""
    for step in reversed(session):
        if step.name == CUSTOM_CHALLENGE:
            return IssuedCode.from_metadata(step.metadata)
    return None
