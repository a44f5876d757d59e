"""The member guide's identity journeys over HTTP against the local stack (Inscription, Ouverture de
session, Mot de passe oublié), the code rules, tokens, and the absence of secrets in the logs.

Expiry is exercised by moving the stack's clock (``stack.set_clock_offset``): the harness gives the
stack's process a ``PORTAL_CLOCK_OFFSET_FILE`` that the identity functions and the Cognito emulator
read (local stack only).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.log_secrets import leaks

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

DEMO_PASSWORD = "Demo-Portail-2026"
NEW_PASSWORD = "Olivia-Portail-2026"
# Demo dates of birth are published in the banner by the roster seed, so they are not listed here;
# the integration suite checks that no date of birth reaches a log line.
SECRETS: set[str] = {DEMO_PASSWORD, NEW_PASSWORD}


@pytest.fixture
def clock(stack: LocalStackProcess) -> Iterator[Any]:
    """Move the stack's clock forward (seconds); put it back afterwards."""
    yield stack.set_clock_offset
    stack.set_clock_offset(0)


def latest_code(stack: LocalStackProcess, email: str, count: int) -> str:
    items = stack.wait_for_email(email, count)
    assert len(items) >= count, f"expected {count} emails to {email}"
    match = re.search(r"\b(\d{6})\b", items[0]["text"])
    assert match, items[0]["subject"]
    SECRETS.add(match.group(1))
    return match.group(1)


def mails(stack: LocalStackProcess, email: str) -> int:
    return len(stack.outbox(email))


def post(stack: LocalStackProcess, path: str, body: Any, **kwargs: Any) -> Any:
    response = stack.post(f"/v1{path}", json=body, **kwargs)
    if response.headers.get("Content-Type", "").endswith("json") and response.content:
        payload = response.json()
        for key in ("session", "idToken", "accessToken", "refreshToken"):
            if isinstance(payload, dict) and payload.get(key):
                SECRETS.add(payload[key])
    return response


def login(stack: LocalStackProcess, email: str, password: str = DEMO_PASSWORD) -> dict[str, Any]:
    before = mails(stack, email)
    response = post(stack, "/auth/login", {"email": email, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    body["code"] = latest_code(stack, email, before + 1)
    return body


def sign_in(stack: LocalStackProcess, email: str, password: str = DEMO_PASSWORD) -> dict[str, Any]:
    started = login(stack, email, password)
    response = post(
        stack, "/auth/login/verify", {"email": email, "session": started["session"], "code": started["code"]}
    )
    assert response.status_code == 200, response.text
    return response.json()


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1000000:06d}"


def claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_ready(stack: LocalStackProcess) -> None:
    stack.wait_for_seeds()


# ---------------------------------------------------------------- Inscription
def test_inscription_journey(stack: LocalStackProcess) -> None:
    email = "olivia.smith@example.com"
    identity = {"contractNumber": "G2002", "participantNumber": "200003", "dateOfBirth": "1995-08-14"}
    # A mistake in any identity field gets the same answer.
    bad = post(
        stack,
        "/auth/register",
        {**identity, "dateOfBirth": "1995-08-15", "email": email, "password": NEW_PASSWORD, "preferredLanguage": "en"},
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "IDENTITY_NOT_VERIFIED"
    response = post(
        stack, "/auth/register", {**identity, "email": email, "password": NEW_PASSWORD, "preferredLanguage": "en"}
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "CONFIRMATION_REQUIRED", "destination": "o***@e***.com"}
    code = latest_code(stack, email, 1)
    assert stack.outbox(email)[0]["subject"] == "Confirm your registration"
    # "Renvoyer le code": a new code arrives.
    assert post(stack, "/auth/register/resend", {"email": email}).status_code == 202
    code = latest_code(stack, email, 2)
    confirmed = post(stack, "/auth/register/confirm", {"email": email, "code": code})
    assert confirmed.status_code == 200
    assert confirmed.json() == {"status": "CONFIRMED"}
    # One account per participant.
    again = post(stack, "/auth/register", {**identity, "email": "olivia.two@example.com", "password": NEW_PASSWORD})
    assert again.status_code == 409
    assert again.json()["code"] == "ALREADY_REGISTERED"
    tokens = sign_in(stack, email, NEW_PASSWORD)
    assert claims(tokens["idToken"])["custom:participant_number"] == "200003"


def test_terminated_member_cannot_register(stack: LocalStackProcess) -> None:
    response = post(
        stack,
        "/auth/register",
        {
            "contractNumber": "G2002",
            "participantNumber": "200002",
            "dateOfBirth": "1975-09-09",
            "email": "ahmed@example.com",
            "password": NEW_PASSWORD,
        },
        headers={"Accept-Language": "en-CA"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "IDENTITY_NOT_VERIFIED"
    assert response.json()["title"] == "Identity not verified"


# ---------------------------------------------------------------- Ouverture de session
def test_ouverture_de_session_journey_refresh_and_logout(stack: LocalStackProcess) -> None:
    email = "marie.tremblay@example.com"
    started = login(stack, email)
    assert started["status"] == "CODE_SENT"
    assert started["codeExpiresIn"] == 300
    assert started["destination"] == "m***@e***.com"
    assert stack.outbox(email)[0]["subject"] == "Votre code d'ouverture de session"
    response = post(
        stack, "/auth/login/verify", {"email": email, "session": started["session"], "code": started["code"]}
    )
    assert response.status_code == 200
    tokens = response.json()
    assert tokens["tokenType"] == "Bearer"
    assert tokens["expiresIn"] > 0
    assert claims(tokens["idToken"])["custom:contract_number"] == "G1001"
    refreshed = post(stack, "/auth/token/refresh", {"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 200
    assert "refreshToken" not in refreshed.json()
    bearer = {"Authorization": f"Bearer {refreshed.json()['idToken']}"}
    out = post(stack, "/auth/logout", {"refreshToken": tokens["refreshToken"]}, headers=bearer)
    assert out.status_code == 204
    after = post(stack, "/auth/token/refresh", {"refreshToken": tokens["refreshToken"]})
    assert after.status_code == 401
    assert after.json()["code"] == "INVALID_TOKEN"
    assert post(stack, "/auth/logout", {}).status_code == 401  # no bearer


def test_login_never_reveals_accounts(stack: LocalStackProcess) -> None:
    a = post(stack, "/auth/login", {"email": "sophie.gagnon@example.com", "password": "Not-Her-Password-1"})
    b = post(stack, "/auth/login", {"email": "nobody.here@example.com", "password": DEMO_PASSWORD})
    body_a, body_b = a.json(), b.json()
    body_a.pop("requestId"), body_b.pop("requestId")
    assert a.status_code == b.status_code == 401
    assert body_a == body_b
    for path, known, unknown in (
        ("/auth/register/resend", {"email": "sophie.gagnon@example.com"}, {"email": "nobody.here@example.com"}),
        (
            "/auth/password/forgot",
            {"email": "sophie.gagnon@example.com", "participantNumber": "999999"},
            {"email": "nobody.here@example.com", "participantNumber": "200001"},
        ),
    ):
        x, y = post(stack, path, known), post(stack, path, unknown)
        assert x.status_code == y.status_code == 202
        assert x.json() == y.json()


def test_two_wrong_codes_then_the_right_one(stack: LocalStackProcess) -> None:
    email = "david.chen@example.com"
    started = login(stack, email)
    session = started["session"]
    for remaining in (2, 1):
        response = post(
            stack, "/auth/login/verify", {"email": email, "session": session, "code": wrong(started["code"])}
        )
        assert response.status_code == 401
        body = response.json()
        assert body["code"] == "CODE_INVALID"
        assert body["attemptsRemaining"] == remaining
        session = body["session"]
    response = post(stack, "/auth/login/verify", {"email": email, "session": session, "code": started["code"]})
    assert response.status_code == 200
    assert response.json()["idToken"]


def test_three_wrong_codes_then_even_the_right_one_fails(stack: LocalStackProcess) -> None:
    email = "david.chen@example.com"
    started = login(stack, email)
    session = started["session"]
    for _ in range(2):
        session = post(
            stack, "/auth/login/verify", {"email": email, "session": session, "code": wrong(started["code"])}
        ).json()["session"]
    third = post(stack, "/auth/login/verify", {"email": email, "session": session, "code": wrong(started["code"])})
    assert third.status_code == 401
    assert third.json()["code"] == "CHALLENGE_FAILED"
    right = post(stack, "/auth/login/verify", {"email": email, "session": session, "code": started["code"]})
    assert right.status_code == 401
    assert right.json()["code"] == "CHALLENGE_FAILED"


def test_resend_invalidates_the_old_code(stack: LocalStackProcess, clock: Any) -> None:
    email = "sophie.gagnon@example.com"
    started = login(stack, email)
    early = post(stack, "/auth/login/resend", {"email": email, "session": started["session"]})
    assert early.status_code == 429
    assert 0 < int(early.headers["Retry-After"]) <= 30
    clock(31)
    before = mails(stack, email)
    resent = post(stack, "/auth/login/resend", {"email": email, "session": started["session"]})
    assert resent.status_code == 200
    assert resent.json()["status"] == "CODE_SENT"
    new_code = latest_code(stack, email, before + 1)
    session = resent.json()["session"]
    if new_code != started["code"]:
        old = post(stack, "/auth/login/verify", {"email": email, "session": session, "code": started["code"]})
        assert old.status_code == 401
        assert old.json()["code"] == "CODE_INVALID"
        session = old.json()["session"]
    response = post(stack, "/auth/login/verify", {"email": email, "session": session, "code": new_code})
    assert response.status_code == 200


def test_expired_code_is_refused(stack: LocalStackProcess, clock: Any) -> None:
    email = "sophie.gagnon@example.com"
    started = login(stack, email)
    clock(301)
    response = post(
        stack, "/auth/login/verify", {"email": email, "session": started["session"], "code": started["code"]}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "CODE_EXPIRED"


# ---------------------------------------------------------------- Mot de passe oublié
def test_mot_de_passe_oublie_journey(stack: LocalStackProcess) -> None:
    email = "david.chen@example.com"
    before = mails(stack, email)
    wrong_participant = post(stack, "/auth/password/forgot", {"email": email, "participantNumber": "100001"})
    assert wrong_participant.status_code == 202
    time.sleep(0.3)
    assert mails(stack, email) == before  # no code when the participant does not match
    response = post(stack, "/auth/password/forgot", {"email": email, "participantNumber": "100002"})
    assert response.status_code == 202
    code = latest_code(stack, email, before + 1)
    assert stack.outbox(email)[0]["subject"] == "Reset your password"
    weak = post(stack, "/auth/password/reset", {"email": email, "code": code, "newPassword": "weak"})
    assert weak.status_code == 400
    assert weak.json()["errors"][0]["field"] == "newPassword"
    done = post(stack, "/auth/password/reset", {"email": email, "code": code, "newPassword": NEW_PASSWORD})
    assert done.status_code == 200
    assert done.json() == {"status": "PASSWORD_RESET"}
    assert post(stack, "/auth/login", {"email": email, "password": DEMO_PASSWORD}).status_code == 401
    tokens = sign_in(stack, email, NEW_PASSWORD)
    # David changes it back in his account settings: the other journeys sharing this worker's
    # stack (tests/e2e/conftest.py) sign him in with the demo password.
    back = post(
        stack,
        "/me/password",
        {"currentPassword": NEW_PASSWORD, "newPassword": DEMO_PASSWORD},
        headers={"Authorization": f"Bearer {tokens['idToken']}"},
    )
    assert back.status_code == 204, back.text
    assert sign_in(stack, email)["idToken"]


# ---------------------------------------------------------------- tokens at the gateway
def _moto_signed(payload: dict[str, Any]) -> str:
    """A token signed with moto's fixed pool key (the key the local gateway trusts)."""
    from joserfc import jwk, jwt
    from moto.utilities.utils import load_resource

    key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    return jwt.encode({"kid": "dummy", "alg": "RS256"}, payload, key)


def test_tampered_and_expired_tokens_are_refused(stack: LocalStackProcess) -> None:
    tokens = sign_in(stack, "marie.tremblay@example.com")
    header, _payload, signature = tokens["idToken"].split(".")
    forged_claims = {**claims(tokens["idToken"]), "custom:participant_number": "100002"}
    forged = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).decode().rstrip("=")
    tampered = f"{header}.{forged}.{signature}"
    assert stack.get("/v1/me", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    expired = _moto_signed({**claims(tokens["idToken"]), "exp": int(time.time()) - 60, "iat": int(time.time()) - 3700})
    assert stack.get("/v1/me", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    # The same signing key with a valid expiry is accepted by the gateway (so the refusal above is the expiry).
    fresh = _moto_signed({**claims(tokens["idToken"]), "exp": int(time.time()) + 600})
    assert stack.get("/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code != 401


def test_member_a_never_reads_member_b(stack: LocalStackProcess) -> None:
    a = sign_in(stack, "marie.tremblay@example.com")
    assert claims(a["idToken"])["custom:participant_number"] == "100001"
    me = stack.get("/v1/me", headers={"Authorization": f"Bearer {a['idToken']}"})
    assert me.status_code == 200
    body = me.json()
    assert body["participantNumber"] == "100001"
    assert body["contractNumber"] == "G1001"
    assert "Chen" not in json.dumps(body)


# ---------------------------------------------------------------- last: logs
def test_logs_contain_no_secret(stack: LocalStackProcess, caplog: pytest.LogCaptureFixture) -> None:
    from local.seed_accounts import describe

    # Collect secrets of our own first (two sign-ins: codes, sessions, tokens), so that the check
    # never depends on which tests ran before it.
    for email in ("marie.tremblay@example.com", "sophie.gagnon@example.com"):  # passwords never changed
        sign_in(stack, email)
    # The banner deliberately lists the demo identities (documented demo password, Olivia's roster
    # identity for trying registration); every other line must be free of secrets.
    published = [line.strip() for line in describe() if line.strip()]
    text = "\n".join(line for line in stack.log_text().splitlines() if not any(p in line for p in published))
    found = leaks(text, SECRETS)
    assert not found, f"secrets found in the stack's log: {found}"
    assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.", text), "a JWT reached the log"
    assert len(SECRETS) > 10  # the suite did collect codes, sessions and tokens to look for
    captured = caplog.text
    assert leaks(captured, SECRETS) == []
