"""The identity flows end to end in one process: the backend-for-frontend handler (API Gateway
events) -> boto3 Cognito client -> the Cognito emulator (real trigger handlers) -> moto.

The same journeys run over HTTP in tests/e2e once the local stack serves them.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.log_secrets import leaks

ACCOUNT = "123456789012"
REGION = "ca-central-1"
PASSWORD = "Portail2026!"


@pytest.fixture
def auth(
    seeded: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> Iterator[Any]:
    from local.cognito_emulator import CognitoEmulator, route_client_to_emulator, template_trigger_invoker
    from portal_common.aws_clients import client

    monkeypatch.setenv("AUTH_RESPONSE_FLOOR_MS", "0")
    monkeypatch.setenv("PORTAL_LOCAL_STACK", "1")
    monkeypatch.setenv("PORTAL_CLOCK_OFFSET_SECONDS", "0")
    from portal_common.config import reload_settings

    reload_settings()
    env = seeded.environment()
    emulator = CognitoEmulator(
        ACCOUNT, REGION, env["USER_POOL_ID"], env["USER_POOL_CLIENT_ID"], template_trigger_invoker()
    )
    route_client_to_emulator(client("cognito-idp"), emulator)
    harness = Harness(emulator)
    _log_to_current_stdout()
    yield harness
    # Nothing secret in any log line of the test: codes, passwords, dates of birth, tokens, sessions.
    out, err = capfd.readouterr()
    logged = out + err + caplog.text
    found = leaks(logged, harness.secrets)
    assert not found, f"secrets in the logs: {found}"
    assert "olivia.smith@example.com" not in logged  # emails are masked


class _CurrentStdout:
    """Writes wherever ``sys.stdout`` points now (pytest swaps it between tests)."""

    def write(self, text: str) -> int:
        import sys

        return sys.stdout.write(text)

    def flush(self) -> None:
        import sys

        sys.stdout.flush()


def _log_to_current_stdout() -> None:
    """Powertools loggers keep the stream of the test that imported them; give them this test's."""
    import logging

    for name, logger in logging.Logger.manager.loggerDict.items():
        if name.startswith("auth") and isinstance(logger, logging.Logger):
            for handler in logger.handlers:
                if isinstance(handler, logging.StreamHandler):
                    handler.stream = _CurrentStdout()  # setStream would flush the closed one


class Harness:
    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.secrets: set[str] = {PASSWORD, "Nouveau2026Mdp", "1995-08-14", "1978-07-30"}

    def call(
        self,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        lang: str = "fr-CA",
        claims: dict[str, str] | None = None,
        ip: str = "203.0.113.7",
        method: str = "POST",
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        import auth_api

        event = {
            "resource": path,
            "path": path,
            "httpMethod": method,
            "headers": {"Content-Type": "application/json", "Accept-Language": lang},
            "multiValueHeaders": {},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "stage": "v1",
                "resourcePath": path,
                "httpMethod": method,
                "path": f"/v1{path}",
                "identity": {"sourceIp": ip},
                "authorizer": {"claims": claims} if claims else None,
            },
            "body": body if isinstance(body, str) or body is None else json.dumps(body),
            "isBase64Encoded": False,
        }

        class Ctx:
            function_name = "auth"
            memory_limit_in_mb = 512
            invoked_function_arn = "arn:aws:lambda:ca-central-1:123456789012:function:auth"
            aws_request_id = "req"

        response = auth_api.lambda_handler(event, Ctx())
        payload = json.loads(response["body"]) if response.get("body") else {}
        for key in ("session", "idToken", "accessToken", "refreshToken"):
            if isinstance(payload, dict) and payload.get(key):
                self.secrets.add(payload[key])
        headers = {
            **(response.get("headers") or {}),
            **{k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()},
        }
        return response["statusCode"], payload, headers

    def outbox(self, to: str) -> list[dict[str, str]]:
        from moto.ses.models import ses_backends

        messages = ses_backends[ACCOUNT][REGION].sent_messages
        return [{"subject": m.subject, "body": m.body} for m in messages if to in m.destinations.get("ToAddresses", [])]

    def last_code(self, to: str) -> str:
        mails = self.outbox(to)
        assert mails, f"no email to {to}"
        match = re.search(r"\b(\d{6})\b", re.sub(r"<[^>]+>", " ", mails[-1]["body"]))
        assert match
        self.secrets.add(match.group(1))
        return match.group(1)

    def register(
        self,
        email: str,
        *,
        contract: str = "G2002",
        participant: str = "200003",
        dob: str = "1995-08-14",
        lang: str | None = "en",
    ) -> tuple[int, dict[str, Any]]:
        body = {
            "contractNumber": contract,
            "participantNumber": participant,
            "dateOfBirth": dob,
            "email": email,
            "password": PASSWORD,
        }
        if lang:
            body["preferredLanguage"] = lang
        status, payload, _ = self.call("/auth/register", body)
        return status, payload

    def registered(self, email: str, **kwargs: Any) -> None:
        status, payload = self.register(email, **kwargs)
        assert status == 202, payload
        status, payload, _ = self.call("/auth/register/confirm", {"email": email, "code": self.last_code(email)})
        assert status == 200, payload

    def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        status, payload, _ = self.call("/auth/login", {"email": email, "password": password})
        assert status == 200, payload
        return payload

    def sign_in(self, email: str) -> dict[str, Any]:
        session = self.login(email)["session"]
        status, payload, _ = self.call(
            "/auth/login/verify", {"email": email, "session": session, "code": self.last_code(email)}
        )
        assert status == 200, payload
        return payload


def claims_of(id_token: str) -> dict[str, Any]:
    import base64

    part = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1000000:06d}"


def test_registration_confirmation_and_sign_in(auth: Harness) -> None:
    email = "olivia.smith@example.com"
    status, payload = auth.register(email)
    assert status == 202
    assert payload == {"status": "CONFIRMATION_REQUIRED", "destination": "o***@e***.com"}
    mail = auth.outbox(email)[-1]
    assert mail["subject"] == "Confirm your registration"  # English: the member's language
    status, payload, _ = auth.call("/auth/register/confirm", {"email": email, "code": auth.last_code(email)})
    assert (status, payload) == (200, {"status": "CONFIRMED"})

    from portal_common.members import get_member

    member = get_member("G2002", "200003")
    assert member is not None
    assert member.account_sub
    assert member.email == email

    login = auth.login(email)
    assert login["status"] == "CODE_SENT"
    assert login["codeExpiresIn"] == 300
    assert login["destination"] == "o***@e***.com"
    assert auth.outbox(email)[-1]["subject"] == "Your sign-in code"
    status, tokens, _ = auth.call(
        "/auth/login/verify", {"email": email, "session": login["session"], "code": auth.last_code(email)}
    )
    assert status == 200, tokens
    assert tokens["tokenType"] == "Bearer"
    assert tokens["refreshToken"]
    claims = claims_of(tokens["idToken"])
    assert claims["custom:contract_number"] == "G2002"
    assert claims["custom:participant_number"] == "200003"
    assert claims["sub"] == member.account_sub


def test_identity_mismatch_is_one_answer(auth: Harness) -> None:
    answers = []
    for kwargs in (
        {"contract": "G9999"},
        {"participant": "200099"},
        {"dob": "1995-08-15"},
        {"contract": "G2002", "participant": "200002", "dob": "1975-09-09"},
    ):  # terminated
        status, payload = auth.register(f"x{len(answers)}@example.com", **kwargs)
        payload.pop("requestId", None)
        answers.append((status, payload))
    assert all(a == answers[0] for a in answers)
    assert answers[0][0] == 400
    assert answers[0][1]["code"] == "IDENTITY_NOT_VERIFIED"


def test_one_account_per_participant(auth: Harness) -> None:
    auth.registered("olivia.smith@example.com")
    status, payload = auth.register("olivia.other@example.com")
    assert status == 409
    assert payload["code"] == "ALREADY_REGISTERED"


def test_pending_registration_reserves_the_participant(auth: Harness) -> None:
    assert auth.register("first@example.com")[0] == 202
    status, payload = auth.register("second@example.com")
    assert status == 409
    assert payload["code"] == "ALREADY_REGISTERED"
    # The first one can still confirm.
    status, _, _ = auth.call(
        "/auth/register/confirm", {"email": "first@example.com", "code": auth.last_code("first@example.com")}
    )
    assert status == 200


def test_register_with_a_taken_email_answers_as_usual(auth: Harness) -> None:
    auth.registered("olivia.smith@example.com")
    # Another participant tries the same email: same 202 body, no account created, no code.
    status, payload = auth.register(
        "olivia.smith@example.com", contract="G1001", participant="100002", dob="1978-07-30"
    )
    assert (status, payload) == (202, {"status": "CONFIRMATION_REQUIRED", "destination": "o***@e***.com"})


def test_wrong_confirmation_code_and_resend(auth: Harness) -> None:
    email = "olivia.smith@example.com"
    auth.register(email)
    first = auth.last_code(email)
    status, payload, _ = auth.call("/auth/register/confirm", {"email": email, "code": wrong(first)})
    assert status == 400
    assert payload["code"] == "CODE_INVALID"
    status, _, _ = auth.call("/auth/register/resend", {"email": email})
    assert status == 202
    second = auth.last_code(email)
    if second != first:
        status, payload, _ = auth.call("/auth/register/confirm", {"email": email, "code": first})
        assert payload["code"] == "CODE_INVALID"
    status, _, _ = auth.call("/auth/register/confirm", {"email": email, "code": second})
    assert status == 200


def test_resend_and_forgot_never_reveal_accounts(auth: Harness) -> None:
    auth.registered("olivia.smith@example.com")
    for path, known, unknown in (
        ("/auth/register/resend", {"email": "olivia.smith@example.com"}, {"email": "nobody@example.com"}),
        (
            "/auth/password/forgot",
            {"email": "olivia.smith@example.com", "participantNumber": "200003"},
            {"email": "nobody@example.com", "participantNumber": "200003"},
        ),
        (
            "/auth/password/forgot",
            {"email": "olivia.smith@example.com", "participantNumber": "200003"},
            {"email": "olivia.smith@example.com", "participantNumber": "100001"},
        ),
    ):
        a = auth.call(path, known)
        b = auth.call(path, unknown)
        assert a[0] == b[0] == 202
        assert a[1] == b[1]


def test_login_unknown_email_and_wrong_password_are_the_same(auth: Harness) -> None:
    auth.registered("olivia.smith@example.com")
    a = auth.call("/auth/login", {"email": "olivia.smith@example.com", "password": "Wrong-password-1"})
    b = auth.call("/auth/login", {"email": "nobody@example.com", "password": PASSWORD})
    for _status, payload, _ in (a, b):
        payload.pop("requestId")
    assert a[0] == b[0] == 401
    assert a[1] == b[1]
    assert a[1]["code"] == "INVALID_CREDENTIALS"


def test_every_answer_that_could_reveal_an_account_waits_for_the_floor(
    auth: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing, from the attacker's side: each route whose work differs with whether an email has an
    account (or whether a password is right) pads both answers to the response floor. The floor is
    set far above the work (10 s) and the padding is recorded instead of slept: each request must
    have been padded once, to the floor less the time its block took."""
    import time as time_module

    import auth_service

    from portal_common.config import reload_settings

    _tokens, claims = signed_in(auth)  # olivia.smith@example.com, registered
    floor = 10.0
    monkeypatch.setenv("AUTH_RESPONSE_FLOOR_MS", str(int(floor * 1000)))
    reload_settings()
    padded: list[float] = []
    sleep = time_module.sleep

    def recording(seconds: float) -> None:
        import sys

        if sys._getframe(1).f_code is auth_service.Equalized.__exit__.__code__:
            padded.append(seconds)  # the floor's padding: recorded, not slept
        else:
            sleep(seconds)

    monkeypatch.setattr(time_module, "sleep", recording)
    taken = {"email": "olivia.smith@example.com", "contractNumber": "G1001", "participantNumber": "100002"}
    cases = {
        "login": ("/auth/login", {"email": "olivia.smith@example.com", "password": "Wrong-password-1"}, None),
        "login, no account": ("/auth/login", {"email": "nobody@example.com", "password": PASSWORD}, None),
        "register, email taken": ("/auth/register", {**taken, "dateOfBirth": "1978-07-30", "password": PASSWORD}, None),
        "register": (
            "/auth/register",
            {**taken, "email": "new.one@example.com", "dateOfBirth": "1978-07-30", "password": PASSWORD},
            None,
        ),
        "resend": ("/auth/register/resend", {"email": "olivia.smith@example.com"}, None),
        "resend, no account": ("/auth/register/resend", {"email": "nobody@example.com"}, None),
        "forgot": ("/auth/password/forgot", {"email": "olivia.smith@example.com", "participantNumber": "200003"}, None),
        "forgot, no account": ("/auth/password/forgot", {"email": "no@example.com", "participantNumber": "1"}, None),
        "email change, taken": ("/me/email", {"newEmail": "new.one@example.com", "currentPassword": PASSWORD}, claims),
        "email change": ("/me/email", {"newEmail": "free.address@example.com", "currentPassword": PASSWORD}, claims),
    }
    paddings = {}
    for number, (name, (path, body, caller)) in enumerate(cases.items()):
        padded.clear()
        status, payload, _ = auth.call(path, body, claims=caller, ip=f"203.0.113.{100 + number}")
        assert status in (202, 401), (name, payload)
        paddings[name] = list(padded)
    # One padding per request, close to the whole floor (the block's work is far below 10 s).
    assert {name: len(found) for name, found in paddings.items()} == dict.fromkeys(cases, 1)
    short = {name: found[0] for name, found in paddings.items() if not floor - 2 < found[0] <= floor + 0.05}
    assert short == {}


def test_unconfirmed_account_cannot_sign_in(auth: Harness) -> None:
    auth.register("olivia.smith@example.com")
    status, payload, _ = auth.call("/auth/login", {"email": "olivia.smith@example.com", "password": PASSWORD})
    assert status == 403
    assert payload["code"] == "ACCOUNT_NOT_CONFIRMED"


def test_two_wrong_codes_then_the_right_one(auth: Harness) -> None:
    email = "olivia.smith@example.com"
    auth.registered(email)
    session = auth.login(email)["session"]
    code = auth.last_code(email)
    for remaining in (2, 1):
        status, payload, _ = auth.call("/auth/login/verify", {"email": email, "session": session, "code": wrong(code)})
        assert status == 401
        assert payload["code"] == "CODE_INVALID"
        assert payload["attemptsRemaining"] == remaining
        assert payload["session"] != session
        session = payload["session"]
    status, tokens, _ = auth.call("/auth/login/verify", {"email": email, "session": session, "code": code})
    assert status == 200
    assert tokens["idToken"]


def test_three_wrong_codes_then_even_the_right_one_fails(auth: Harness) -> None:
    email = "olivia.smith@example.com"
    auth.registered(email)
    session = auth.login(email)["session"]
    code = auth.last_code(email)
    for _ in range(2):
        session = auth.call("/auth/login/verify", {"email": email, "session": session, "code": wrong(code)})[1][
            "session"
        ]
    status, payload, _ = auth.call("/auth/login/verify", {"email": email, "session": session, "code": wrong(code)})
    assert status == 401
    assert payload["code"] == "CHALLENGE_FAILED"
    status, payload, _ = auth.call("/auth/login/verify", {"email": email, "session": session, "code": code})
    assert status == 401
    assert payload["code"] == "CHALLENGE_FAILED"


def test_session_value_is_single_use(auth: Harness) -> None:
    email = "olivia.smith@example.com"
    auth.registered(email)
    session = auth.login(email)["session"]
    code = auth.last_code(email)
    auth.call("/auth/login/verify", {"email": email, "session": session, "code": wrong(code)})
    status, payload, _ = auth.call("/auth/login/verify", {"email": email, "session": session, "code": code})
    assert status == 401
    assert payload["code"] == "CHALLENGE_FAILED"


def test_resend_invalidates_the_old_code_and_is_throttled(auth: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    email = "olivia.smith@example.com"
    auth.registered(email)
    session = auth.login(email)["session"]
    old = auth.last_code(email)
    status, payload, headers = auth.call("/auth/login/resend", {"email": email, "session": session})
    assert status == 429
    assert int(headers["Retry-After"]) <= 30
    monkeypatch.setenv("PORTAL_CLOCK_OFFSET_SECONDS", "31")
    status, payload, _ = auth.call("/auth/login/resend", {"email": email, "session": session})
    assert status == 200
    assert payload["status"] == "CODE_SENT"
    new = auth.last_code(email)
    assert len(auth.outbox(email)) >= 3
    session = payload["session"]
    if new != old:
        status, payload, _ = auth.call("/auth/login/verify", {"email": email, "session": session, "code": old})
        assert status == 401
        assert payload["code"] == "CODE_INVALID"
        assert payload["attemptsRemaining"] == 2
        session = payload["session"]
    status, tokens, _ = auth.call("/auth/login/verify", {"email": email, "session": session, "code": new})
    assert status == 200, tokens


def test_at_most_five_resends(auth: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    email = "olivia.smith@example.com"
    auth.registered(email)
    session = auth.login(email)["session"]
    for index in range(1, 6):
        monkeypatch.setenv("PORTAL_CLOCK_OFFSET_SECONDS", str(31 * index))
        status, payload, _ = auth.call("/auth/login/resend", {"email": email, "session": session})
        assert status == 200, payload
        session = payload["session"]
    monkeypatch.setenv("PORTAL_CLOCK_OFFSET_SECONDS", str(31 * 6))
    status, payload, headers = auth.call("/auth/login/resend", {"email": email, "session": session})
    assert status == 429
    assert "Retry-After" in headers


def test_expired_code_is_refused(auth: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    email = "olivia.smith@example.com"
    auth.registered(email)
    session = auth.login(email)["session"]
    code = auth.last_code(email)
    monkeypatch.setenv("PORTAL_CLOCK_OFFSET_SECONDS", "301")
    status, payload, _ = auth.call("/auth/login/verify", {"email": email, "session": session, "code": code})
    assert status == 401
    assert payload["code"] == "CODE_EXPIRED"


def test_forgotten_password_and_reset(auth: Harness) -> None:
    email = "olivia.smith@example.com"
    auth.registered(email)
    tokens = auth.sign_in(email)
    before = len(auth.outbox(email))
    status, _, _ = auth.call("/auth/password/forgot", {"email": email, "participantNumber": "200099"})
    assert status == 202
    assert len(auth.outbox(email)) == before
    status, _, _ = auth.call("/auth/password/forgot", {"email": email, "participantNumber": "200003"})
    assert status == 202
    assert len(auth.outbox(email)) == before + 1
    assert auth.outbox(email)[-1]["subject"] == "Reset your password"
    code = auth.last_code(email)
    status, payload, _ = auth.call("/auth/password/reset", {"email": email, "code": code, "newPassword": "short"})
    assert status == 400
    assert payload["errors"][0]["field"] == "newPassword"
    status, payload, _ = auth.call(
        "/auth/password/reset", {"email": email, "code": wrong(code), "newPassword": "Nouveau2026Mdp"}
    )
    assert status == 400
    assert payload["code"] == "CODE_INVALID"
    status, payload, _ = auth.call(
        "/auth/password/reset", {"email": email, "code": code, "newPassword": "Nouveau2026Mdp"}
    )
    assert (status, payload) == (200, {"status": "PASSWORD_RESET"})
    # The old password no longer works; the new one does; older sessions were signed out.
    assert auth.call("/auth/login", {"email": email, "password": PASSWORD})[0] == 401
    assert auth.login(email, "Nouveau2026Mdp")["status"] == "CODE_SENT"
    assert auth.call("/auth/token/refresh", {"refreshToken": tokens["refreshToken"]})[1]["code"] == "INVALID_TOKEN"


def test_refresh_and_logout(auth: Harness) -> None:
    email = "olivia.smith@example.com"
    auth.registered(email)
    tokens = auth.sign_in(email)
    status, refreshed, _ = auth.call("/auth/token/refresh", {"refreshToken": tokens["refreshToken"]})
    assert status == 200
    assert refreshed["idToken"]
    assert "refreshToken" not in refreshed
    claims = claims_of(tokens["idToken"])
    status, _, _ = auth.call("/auth/logout", {"refreshToken": tokens["refreshToken"]}, claims=claims)
    assert status == 204
    status, payload, _ = auth.call("/auth/token/refresh", {"refreshToken": tokens["refreshToken"]})
    assert status == 401
    assert payload["code"] == "INVALID_TOKEN"
    assert auth.call("/auth/logout", None)[0] == 401


def test_throttling_per_email(auth: Harness) -> None:
    email = "nobody@example.com"
    statuses = [
        auth.call("/auth/password/forgot", {"email": email, "participantNumber": "1"}, ip=f"198.51.100.{i}")
        for i in range(6)
    ]
    assert [s[0] for s in statuses[:5]] == [202] * 5
    assert statuses[5][0] == 429
    assert int(statuses[5][2]["Retry-After"]) > 0


def test_throttling_per_ip(auth: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from portal_common.config import reload_settings

    monkeypatch.setenv("AUTH_THROTTLE_LIMITS", json.dumps({"login": {"ip": 3}}))
    reload_settings()
    answers = [auth.call("/auth/login", {"email": f"u{i}@example.com", "password": PASSWORD})[0] for i in range(4)]
    assert answers == [401, 401, 401, 429]
    monkeypatch.delenv("AUTH_THROTTLE_LIMITS")
    reload_settings()


def test_bad_input_is_a_localized_400(auth: Harness) -> None:
    status, payload, _ = auth.call("/auth/register", {"email": "not-an-email", "password": "x"}, lang="en-CA")
    assert status == 400
    assert payload["code"] == "VALIDATION_FAILED"
    fields = {e["field"]: e["code"] for e in payload["errors"]}
    assert fields["email"] == "INVALID_EMAIL"
    assert fields["password"] == "PASSWORD_POLICY"
    assert fields["contractNumber"] == "REQUIRED"
    status, payload, _ = auth.call("/auth/login/verify", "{not json")
    assert status == 400


def test_seeded_demo_accounts_sign_in(auth: Harness) -> None:
    from local import seed_accounts

    calls: list[tuple[int, int]] = []
    summary = seed_accounts.seed(lambda done, total: calls.append((done, total)))
    assert calls[-1] == (3, 3)
    assert "3 demo accounts" in summary
    assert seed_accounts.seed(lambda *_: None).startswith("0 demo accounts")  # idempotent
    status, payload, _ = auth.call(
        "/auth/login", {"email": "marie.tremblay@example.com", "password": seed_accounts.DEMO_PASSWORD}
    )
    assert status == 200
    assert auth.outbox("marie.tremblay@example.com")[-1]["subject"] == "Votre code d'ouverture de session"
    status, tokens, _ = auth.call(
        "/auth/login/verify",
        {
            "email": "marie.tremblay@example.com",
            "session": payload["session"],
            "code": auth.last_code("marie.tremblay@example.com"),
        },
    )
    assert status == 200
    assert claims_of(tokens["idToken"])["custom:participant_number"] == "100001"
    assert any("G2002" in line for line in seed_accounts.describe())


ROUTE_FIELDS = {
    "/auth/register": ["contractNumber", "participantNumber", "dateOfBirth", "email", "password", "preferredLanguage"],
    "/auth/register/confirm": ["email", "code"],
    "/auth/register/resend": ["email"],
    "/auth/login": ["email", "password"],
    "/auth/login/verify": ["email", "session", "code"],
    "/auth/login/resend": ["email", "session"],
    "/auth/password/forgot": ["email", "participantNumber"],
    "/auth/password/reset": ["email", "code", "newPassword"],
    "/auth/token/refresh": ["refreshToken"],
    "/auth/logout": ["refreshToken"],
    "/me": ["preferredLanguage"],
    "/me/password": ["currentPassword", "newPassword"],
    "/me/email": ["newEmail", "currentPassword"],
    "/me/email/confirm": ["code"],
}
MEMBER_CLAIMS = {
    "sub": "nobody",
    "cognito:username": "nobody",
    "email": "nobody@example.com",
    "custom:contract_number": "G2002",
    "custom:participant_number": "200003",
}


def test_hostile_input_never_gets_a_5xx(auth: Harness) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=40),
        st.sampled_from(["olivia.smith@example.com", "123456", "G2002", "200003", "1995-08-14", PASSWORD, "x.y", ""]),
    )
    value = st.recursive(
        scalar,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=5,
    )

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from(sorted(ROUTE_FIELDS)), data=st.data())
    def check(route: str, data: Any) -> None:
        fields = ROUTE_FIELDS[route]
        body = data.draw(
            st.one_of(
                st.dictionaries(st.sampled_from([*fields, "extra"]), value, max_size=len(fields) + 1),
                value,
                st.text(max_size=30),
            )
        )
        signed_in = route == "/auth/logout" or route.startswith("/me")
        status, payload, _ = auth.call(
            route,
            body,
            claims=MEMBER_CLAIMS if signed_in else None,
            ip=f"192.0.2.{data.draw(st.integers(1, 250))}",
            method="PATCH" if route == "/me" else "POST",
        )
        assert status < 500, (route, payload)

    check()


# ---------------------------------------------------------------- account settings (v1.1)
NEW_PASSWORD = "Nouveau2026Mdp"


def signed_in(auth: Harness, email: str = "olivia.smith@example.com") -> tuple[dict[str, Any], dict[str, Any]]:
    auth.registered(email)
    tokens = auth.sign_in(email)
    return tokens, claims_of(tokens["idToken"])


def cognito_user(auth: Harness, email: str) -> dict[str, str]:
    user = auth.emulator._find_user(email)
    assert user is not None
    return dict(user.attribute_lookup)


def test_language_change_follows_every_email(auth: Harness) -> None:
    email = "olivia.smith@example.com"
    _tokens, claims = signed_in(auth)  # registered in English
    status, me, _ = auth.call("/me", {"preferredLanguage": "fr"}, claims=claims, method="PATCH")
    assert status == 200, me
    assert me["preferredLanguage"] == "fr"
    assert me["email"] == email
    assert cognito_user(auth, email)["locale"] == "fr"
    auth.login(email)
    assert auth.outbox(email)[-1]["subject"] == "Votre code d'ouverture de session"
    status, payload, _ = auth.call("/me", {"preferredLanguage": "de"}, claims=claims, method="PATCH")
    assert status == 400
    assert payload["errors"][0]["field"] == "preferredLanguage"


def test_password_change_needs_the_current_one_and_signs_out_everywhere(auth: Harness) -> None:
    email = "olivia.smith@example.com"
    tokens, claims = signed_in(auth)
    other = auth.sign_in(email)  # another device
    mails = len(auth.outbox(email))
    body = {"currentPassword": "Mauvais2026Mdp", "newPassword": NEW_PASSWORD}
    status, payload, _ = auth.call("/me/password", body, claims=claims)
    assert (status, payload["code"]) == (400, "CURRENT_PASSWORD_INVALID")
    status, payload, _ = auth.call("/me/password", {"currentPassword": PASSWORD, "newPassword": "court"}, claims=claims)
    assert (status, payload["errors"][0]["field"]) == (400, "newPassword")
    assert len(auth.outbox(email)) == mails  # checking the password emails no sign-in code
    status, payload, _ = auth.call(
        "/me/password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, claims=claims
    )
    assert status == 204, payload
    assert auth.outbox(email)[-1]["subject"] == "Your password was changed"
    for session in (tokens, other):
        assert auth.call("/auth/token/refresh", {"refreshToken": session["refreshToken"]})[0] == 401
    assert auth.call("/auth/login", {"email": email, "password": PASSWORD})[0] == 401
    assert auth.login(email, NEW_PASSWORD)["status"] == "CODE_SENT"


def test_email_change_code_to_the_new_address_notice_to_the_old(auth: Harness) -> None:
    old, new = "olivia.smith@example.com", "olivia.new@example.org"
    _tokens, claims = signed_in(auth, old)
    body = {"newEmail": new, "currentPassword": "Mauvais2026Mdp"}
    assert auth.call("/me/email", body, claims=claims)[1]["code"] == "CURRENT_PASSWORD_INVALID"
    status, payload, _ = auth.call("/me/email", {"newEmail": old, "currentPassword": PASSWORD}, claims=claims)
    assert (status, payload["errors"][0]["code"]) == (400, "SAME_EMAIL")
    status, payload, _ = auth.call("/me/email", {"newEmail": new, "currentPassword": PASSWORD}, claims=claims)
    assert (status, payload) == (202, {"status": "CONFIRMATION_REQUIRED", "destination": "o***@e***.org"})
    assert auth.outbox(new)[-1]["subject"] == "Confirm your new email address"
    code = auth.last_code(new)
    assert auth.login(old)["status"] == "CODE_SENT"  # the old address signs in until confirmed
    status, payload, _ = auth.call("/me/email/confirm", {"code": wrong(code)}, claims=claims)
    assert (status, payload["code"]) == (400, "CODE_INVALID")
    status, me, _ = auth.call("/me/email/confirm", {"code": code}, claims=claims)
    assert status == 200, me
    assert me["email"] == new
    assert auth.outbox(old)[-1]["subject"] == "Your email address was changed"
    assert "o***@e***.org" in auth.outbox(old)[-1]["body"]
    assert cognito_user(auth, new)["email_verified"] == "true"
    assert auth.call("/me/email/confirm", {"code": code}, claims=claims)[1]["code"] == "CODE_INVALID"  # once
    assert auth.call("/auth/login", {"email": old, "password": PASSWORD})[0] == 401
    assert auth.login(new)["status"] == "CODE_SENT"
    # The account's link moved: a forgotten password works with the new address only.
    before = len(auth.outbox(new))
    auth.call("/auth/password/forgot", {"email": new, "participantNumber": "200003"})
    assert len(auth.outbox(new)) == before + 1


def test_email_change_to_a_taken_address_answers_the_same(auth: Harness) -> None:
    taken = "marie.tremblay@example.com"  # a demo account
    auth.registered(taken, contract="G1001", participant="100001", dob="1984-03-12")
    _tokens, claims = signed_in(auth)
    answers = []
    for address in (taken, "free.address@example.com"):
        status, payload, _ = auth.call("/me/email", {"newEmail": address, "currentPassword": PASSWORD}, claims=claims)
        answers.append((status, sorted(payload)))
    assert answers[0] == answers[1] == (202, ["destination", "status"])
    mail = auth.outbox(taken)[-1]
    assert mail["subject"] == "Email address change request"  # the notice (requester's language), no code
    assert not re.search(r"\b\d{6}\b", re.sub(r"<[^>]+>", " ", mail["body"]))


def test_a_deleted_account_frees_its_participant(auth: Harness) -> None:
    from portal_common.aws_clients import client

    tokens, _claims = signed_in(auth)
    assert auth.register("olivia.again@example.com")[0] == 409
    client("cognito-idp").delete_user(AccessToken=tokens["accessToken"])
    status, payload = auth.register("olivia.again@example.com")
    assert status == 202, payload
    auth.call(
        "/auth/register/confirm",
        {"email": "olivia.again@example.com", "code": auth.last_code("olivia.again@example.com")},
    )
    assert auth.sign_in("olivia.again@example.com")["idToken"]


def test_cognito_doors_hold_the_limits(auth: Harness) -> None:
    """Calling Cognito directly (the app client id is public) meets the same limits as the API."""
    import auth_throttle

    from portal_common.aws_clients import client

    email = "olivia.smith@example.com"
    tokens, _claims = signed_in(auth)
    cognito = client("cognito-idp")
    client_id = auth.emulator.client_id
    for name in ("email", "custom:participant_number"):
        with pytest.raises(cognito.exceptions.NotAuthorizedException):
            cognito.update_user_attributes(
                AccessToken=tokens["accessToken"], UserAttributes=[{"Name": name, "Value": "x@example.com"}]
            )
    before = len(auth.outbox(email))
    limit = auth_throttle.DEFAULT_LIMITS["reset_code"].email
    refused = 0
    for _ in range(limit + 2):
        try:
            cognito.forgot_password(ClientId=client_id, Username=email)
        except cognito.exceptions.UserLambdaValidationException:
            refused += 1
    assert refused == 2
    assert len(auth.outbox(email)) == before + limit


def test_direct_password_guesses_are_counted(auth: Harness) -> None:
    """Wrong passwords sent straight to Cognito (SRP, no API throttle) lock the account's sign-in."""
    import auth_throttle
    import cognito_client

    email = "olivia.smith@example.com"
    auth.registered(email)
    for _ in range(auth_throttle.DEFAULT_LIMITS["password_failure"].email):
        with pytest.raises(cognito_client.CognitoError, match="NotAuthorizedException"):
            cognito_client.start_signin(email, "Devinette2026X")
    with pytest.raises(cognito_client.CognitoError, match="NotAuthorizedException"):
        cognito_client.start_signin(email, PASSWORD)  # even the right one, until the window ends
    assert auth.call("/auth/login", {"email": email, "password": PASSWORD})[1]["code"] == "INVALID_CREDENTIALS"
