"""Cognito triggers on real event samples (tests/events/cognito/), and the pure sign-in rules."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import auth_codes
import auth_emails
import auth_throttle
import pytest
import signin_rules
import trigger_custom_message
import trigger_define_auth_challenge
import trigger_verify_auth_challenge
from auth_codes import IssuedCode
from hypothesis import given
from hypothesis import strategies as st

EVENTS = Path(__file__).resolve().parents[1] / "events" / "cognito"


class Context:
    function_name = "trigger"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:ca-central-1:123456789012:function:trigger"
    aws_request_id = "test"


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


def issued(kind: str = "NEW", sent_at: int = 1_000, code: str = "123456") -> IssuedCode:
    salt = "00112233445566778899aabbccddeeff"
    return IssuedCode(kind, sent_at, sent_at + 300, salt, auth_codes.hash_code(code, salt))


def custom(result: bool, code: IssuedCode) -> dict[str, Any]:
    return {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": result, "challengeMetadata": code.metadata()}


class Counters:
    """The per-account counters of Cognito's doors, in memory (their DynamoDB side is tested on moto)."""

    def __init__(self) -> None:
        self.hits: dict[tuple[str, str], int] = {}

    def count(self, action: str, username: str, now: float) -> bool:
        key = (action, username)
        self.hits[key] = self.hits.get(key, 0) + 1
        return self.hits[key] > auth_throttle.DEFAULT_LIMITS[action].email

    def over(self, action: str, username: str, now: float) -> bool:
        return self.hits.get((action, username), 0) >= auth_throttle.DEFAULT_LIMITS[action].email


@pytest.fixture(autouse=True)
def counters(monkeypatch: pytest.MonkeyPatch) -> Counters:
    fake = Counters()
    monkeypatch.setattr(auth_throttle, "count_account", fake.count)
    monkeypatch.setattr(auth_throttle, "account_over_limit", fake.over)
    return fake


def define(event: dict[str, Any]) -> dict[str, Any]:
    return trigger_define_auth_challenge.lambda_handler(event, Context())["response"]


def test_samples_have_cognito_shape() -> None:
    for path in EVENTS.glob("*.json"):
        event = json.loads(path.read_text(encoding="utf-8"))
        assert set(event) == {
            "version",
            "region",
            "userPoolId",
            "userName",
            "callerContext",
            "triggerSource",
            "request",
            "response",
        }, path.name


# ---------------------------------------------------------------- DefineAuthChallenge
def test_srp_a_leads_to_password_verifier() -> None:
    response = define(sample("define_auth_challenge_srp_a"))
    assert response == {"challengeName": "PASSWORD_VERIFIER", "issueTokens": False, "failAuthentication": False}


def test_password_verified_leads_to_the_code() -> None:
    response = define(sample("define_auth_challenge_password_verified"))
    assert response["challengeName"] == "CUSTOM_CHALLENGE"
    assert response["issueTokens"] is False


def test_unknown_user_fails_after_the_password_step() -> None:
    assert define(sample("define_auth_challenge_user_not_found"))["failAuthentication"] is True


def test_no_srp_means_no_sign_in() -> None:
    event = sample("define_auth_challenge_srp_a")
    event["request"]["session"] = []
    assert define(event)["failAuthentication"] is True


def test_wrong_password_fails() -> None:
    event = sample("define_auth_challenge_password_verified")
    event["request"]["session"][1]["challengeResult"] = False
    assert define(event)["failAuthentication"] is True


def test_wrong_passwords_are_counted_and_lock_the_account(counters: Counters) -> None:
    wrong = sample("define_auth_challenge_password_verified")
    wrong["request"]["session"][1]["challengeResult"] = False
    limit = auth_throttle.DEFAULT_LIMITS["password_failure"].email
    for _ in range(limit - 1):
        assert define(copy.deepcopy(wrong))["failAuthentication"] is True
    start = sample("define_auth_challenge_srp_a")
    start["userName"] = wrong["userName"]
    assert define(copy.deepcopy(start))["challengeName"] == "PASSWORD_VERIFIER"  # still allowed
    define(copy.deepcopy(wrong))  # the limit-th wrong password
    assert counters.hits[("password_failure", wrong["userName"])] == limit
    assert define(start)["failAuthentication"] is True  # refused before the password is even asked


def test_a_password_check_never_leads_to_tokens() -> None:
    event = sample("define_auth_challenge_custom_answered")
    check = IssuedCode("CHECK", 1_000, 1_000, "", "")
    event["request"]["session"] = [*event["request"]["session"][:2], custom(True, check)]
    assert define(event)["failAuthentication"] is True
    assert not trigger_verify_auth_challenge.answer_is_correct(check.private_parameters(), "123456", 900)


def test_right_code_issues_tokens() -> None:
    event = sample("define_auth_challenge_custom_answered")
    event["request"]["session"][-1] = custom(True, issued())
    assert define(event) == {"challengeName": None, "issueTokens": True, "failAuthentication": False}


def test_third_wrong_code_fails() -> None:
    event = sample("define_auth_challenge_custom_answered")
    head = event["request"]["session"][:2]
    code = issued()
    for wrong_so_far in (1, 2):
        event["request"]["session"] = head + [
            custom(False, code if i == 0 else issued("RETRY")) for i in range(wrong_so_far)
        ]
        assert define(copy.deepcopy(event))["challengeName"] == "CUSTOM_CHALLENGE"
    retry = issued("RETRY")
    event["request"]["session"] = [*head, custom(False, code), custom(False, retry), custom(False, retry)]
    assert define(event)["failAuthentication"] is True


def test_resends_do_not_count_as_wrong_codes() -> None:
    head = sample("define_auth_challenge_custom_answered")["request"]["session"][:2]
    steps = signin_rules.steps_from_session(
        [*head, custom(False, issued()), custom(False, issued("RESEND", 1031)), custom(False, issued("RETRY"))]
    )
    # first failure was a resend (the next challenge is a RESEND), the second a wrong code, the current a wrong code
    assert signin_rules.count_wrong_and_resends(steps[2:], resend_now=False) == (2, 1)
    assert signin_rules.decide(steps, {}, 2_000).challenge == "CUSTOM_CHALLENGE"


def test_resend_rules_interval_and_count() -> None:
    head = signin_rules.steps_from_session(sample("define_auth_challenge_password_verified")["request"]["session"])
    first = signin_rules.Step("CUSTOM_CHALLENGE", False, issued(sent_at=1_000).metadata())
    assert signin_rules.decide([*head, first], {"action": "resend"}, 1_010).fail  # too early
    assert signin_rules.decide([*head, first], {"action": "resend"}, 1_031).challenge == "CUSTOM_CHALLENGE"
    steps = [*head, first]
    for index in range(1, 6):
        steps.append(signin_rules.Step("CUSTOM_CHALLENGE", False, issued("RESEND", 1_000 + 31 * index).metadata()))
    # five resends already made: a sixth is refused
    assert signin_rules.decide(steps, {"action": "resend"}, 10_000).fail


# ---------------------------------------------------------------- VerifyAuthChallengeResponse
def verify(answer: str, code: str = "123456", expires_at: int = 2**40, metadata: dict[str, str] | None = None) -> bool:
    event = sample("verify_auth_challenge_response")
    salt = auth_codes.new_salt()
    event["request"]["privateChallengeParameters"] = {
        "codeHash": auth_codes.hash_code(code, salt),
        "salt": salt,
        "expiresAt": str(expires_at),
    }
    event["request"]["challengeAnswer"] = answer
    if metadata is not None:
        event["request"]["clientMetadata"] = metadata
    return bool(trigger_verify_auth_challenge.lambda_handler(event, Context())["response"]["answerCorrect"])


def test_verify_accepts_only_the_right_unexpired_code() -> None:
    assert verify("123456")
    assert not verify("123457")
    assert not verify("123456", expires_at=1)
    assert not verify("RESEND", metadata={"action": "resend"})
    assert not verify("123456", metadata={"action": "resend"})  # a resend is never checked
    assert not verify("")
    assert not verify(" 123456")


@given(st.text(max_size=12))
def test_verify_never_accepts_anything_else(answer: str) -> None:
    salt = "00" * 16
    assert auth_codes.code_matches(answer, salt, auth_codes.hash_code("654321", salt)) == (answer == "654321")


def test_codes_are_six_digits_and_uniformish() -> None:
    codes = {auth_codes.new_code() for _ in range(500)}
    assert all(re.fullmatch(r"\d{6}", c) for c in codes)
    assert len(codes) > 480


def test_issued_code_metadata_round_trip() -> None:
    code = issued("RESEND", 1234)
    assert IssuedCode.from_metadata(code.metadata()) == code
    assert IssuedCode.from_metadata("garbage") is None
    assert "123456" not in code.metadata()


# ---------------------------------------------------------------- CustomMessage
@pytest.mark.parametrize(
    ("name", "locale", "subject"),
    [
        ("custom_message_sign_up", "en", "Confirm your registration"),
        ("custom_message_sign_up", "fr", "Confirmez votre inscription"),
        ("custom_message_forgot_password", "fr", "Réinitialisation de votre mot de passe"),
        ("custom_message_forgot_password", "en-CA", "Reset your password"),
        ("custom_message_forgot_password", None, "Réinitialisation de votre mot de passe"),
    ],
)
def test_custom_message_is_bilingual(name: str, locale: str | None, subject: str) -> None:
    event = sample(name)
    if locale is None:
        event["request"]["userAttributes"].pop("locale", None)
    else:
        event["request"]["userAttributes"]["locale"] = locale
    response = trigger_custom_message.lambda_handler(event, Context())["response"]
    assert response["emailSubject"] == subject
    assert "{####}" in response["emailMessage"]
    assert response["emailMessage"].startswith("<!DOCTYPE html>")


def test_reset_codes_past_the_limit_are_refused_where_cognito_sends_them() -> None:
    limit = auth_throttle.DEFAULT_LIMITS["reset_code"].email
    for _ in range(limit):
        response = trigger_custom_message.lambda_handler(sample("custom_message_forgot_password"), Context())
        assert "{####}" in response["response"]["emailMessage"]
    with pytest.raises(trigger_custom_message.ResetCodeLimit):
        trigger_custom_message.lambda_handler(sample("custom_message_forgot_password"), Context())
    # Sign-up codes are not reset codes: never refused here.
    assert trigger_custom_message.lambda_handler(sample("custom_message_sign_up"), Context())["response"][
        "emailMessage"
    ]


def test_other_custom_messages_keep_cognito_defaults() -> None:
    response = trigger_custom_message.lambda_handler(sample("custom_message_admin_create_user"), Context())["response"]
    assert response == {"smsMessage": None, "emailMessage": None, "emailSubject": None}


def test_emails_have_text_and_html_in_both_languages() -> None:
    for kind in auth_emails.KINDS:
        for lang in ("fr-CA", "en-CA"):
            email = auth_emails.render(kind, lang, "987654")
            assert "987654" in email.text
            assert "987654" in email.html
            assert "auth.email" not in email.text + email.html + email.subject  # no missing catalogue key
    assert auth_emails.render("signin", "fr-CA", "1").subject != auth_emails.render("signin", "en-CA", "1").subject
    for kind in auth_emails.NOTICES:
        fr = auth_emails.render_notice(kind, "fr-CA", destination="n***@e***.com")
        en = auth_emails.render_notice(kind, "en-CA", destination="n***@e***.com")
        assert fr.subject != en.subject
        for email in (fr, en):
            assert "auth.email" not in email.text + email.html + email.subject
            assert "{" not in email.text


def test_auth_catalogues_define_the_same_keys() -> None:
    root = Path(__file__).resolve().parents[2] / "layers" / "common" / "portal_common" / "messages"
    fr = json.loads((root / "fr-CA" / "auth.json").read_text(encoding="utf-8"))
    en = json.loads((root / "en-CA" / "auth.json").read_text(encoding="utf-8"))
    assert set(fr) == set(en)
