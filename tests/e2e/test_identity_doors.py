"""Cognito's doors attacked as an attacker would, and the account settings journeys, over HTTP.

The attacker holds a member's access token (or just the public app client id: every token names
it) and calls the local Cognito directly, where ``GET /_local/status`` says it answers, with a
boto3 client that has no credentials. Each test here fails when its protection is removed (the
client's write attributes, the IAM check of ``Admin*``, the reset-code limit of CustomMessage, the
wrong-password count of DefineAuthChallenge, the stale-link check of registration).

This module runs its own local stack with a roster of participants nobody else uses (each test
registers its own member), so it can lock accounts and change passwords without touching the demo
accounts of the other e2e tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.conftest import LocalStackProcess
from tests.log_secrets import leaks

PASSWORD = "Membre-Portail-2026"
NEW_PASSWORD = "Nouveau-Portail-2027"
ROSTER_HEADER = (
    "contract_number,participant_number,relationship,first_name,last_name,date_of_birth,plan_id,"
    "coverage_start,coverage_end,student,disabled,language"
)
# One participant per test (contract G7007), born 1990-01-<n>.
PARTICIPANTS = {
    name: (f"7000{n:02d}", f"1990-01-{n:02d}")
    for n, name in enumerate(
        ["email", "roster", "admin", "forgot", "guesses", "deleted", "revoked", "fr", "en"], start=1
    )
}
SECRETS: set[str] = {PASSWORD, NEW_PASSWORD}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    workdir = tmp_path_factory.mktemp("identity-stack")
    roster = workdir / "roster.csv"
    rows = [
        f"G7007,{number},SELF,Test{name.capitalize()},Portail,{born},PLAN-ESSENTIEL,2020-01-01,,N,N,fr"
        for name, (number, born) in PARTICIPANTS.items()
    ]
    roster.write_text("\n".join([ROSTER_HEADER, *rows]) + "\n", encoding="utf-8")
    process = LocalStackProcess(workdir, ["--roster", str(roster), "--no-seed-background"])
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()
        text = Path(process.log_path).read_text(encoding="utf-8", errors="replace")
        found = leaks(text, SECRETS)
        assert not found, f"secrets in the stack's log: {found}"


# ---------------------------------------------------------------- helpers
def code_in(stack: LocalStackProcess, email: str, count: int) -> str:
    items = stack.wait_for_email(email, count)
    assert len(items) >= count, f"expected {count} emails to {email}"
    match = re.search(r"\b(\d{6})\b", items[0]["text"])
    assert match, items[0]["subject"]
    SECRETS.add(match.group(1))
    return match.group(1)


def register(stack: LocalStackProcess, who: str, email: str, lang: str = "fr") -> None:
    number, born = PARTICIPANTS[who]
    before = len(stack.outbox(email))
    body = {
        "contractNumber": "G7007",
        "participantNumber": number,
        "dateOfBirth": born,
        "email": email,
        "password": PASSWORD,
        "preferredLanguage": lang,
    }
    response = stack.post("/v1/auth/register", json=body)
    assert response.status_code == 202, response.text
    code = code_in(stack, email, before + 1)
    confirmed = stack.post("/v1/auth/register/confirm", json={"email": email, "code": code})
    assert confirmed.status_code == 200, confirmed.text


def sign_in(stack: LocalStackProcess, email: str, password: str = PASSWORD) -> dict[str, Any]:
    tokens = stack.sign_in(email, password)
    SECRETS.update(v for k, v in tokens.items() if k.endswith("Token"))
    return tokens


def member(stack: LocalStackProcess, who: str, email: str, lang: str = "fr") -> dict[str, Any]:
    register(stack, who, email, lang)
    return sign_in(stack, email)


def cognito_info(stack: LocalStackProcess) -> dict[str, str]:
    info: dict[str, str] = stack.status()["cognito"]
    return info


def attacker(stack: LocalStackProcess) -> Any:
    """A Cognito client with no credentials at all: the app client id and a token are all it has."""
    return boto3.client(
        "cognito-idp",
        endpoint_url=cognito_info(stack)["endpoint"],
        region_name="ca-central-1",
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )


def error_code(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return str(raised.value.response["Error"]["Code"])


def me(stack: LocalStackProcess, tokens: dict[str, Any], lang: str = "fr-CA") -> dict[str, Any]:
    response = stack.get("/v1/me", headers={"Authorization": f"Bearer {tokens['idToken']}", "Accept-Language": lang})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# ---------------------------------------------------------------- where the local Cognito answers
def test_status_says_where_cognito_answers(stack: LocalStackProcess) -> None:
    info = cognito_info(stack)
    assert info["endpoint"].startswith("http://127.0.0.1:")
    assert re.match(r"^ca-central-1_\w+$", info["userPoolId"])
    assert info["clientId"]


# ---------------------------------------------------------------- the attacker's doors
def test_an_access_token_cannot_change_the_sign_in_email(stack: LocalStackProcess) -> None:
    email = "porte.courriel@example.com"
    tokens = member(stack, "email", email)
    cognito = attacker(stack)
    code = error_code(
        cognito.update_user_attributes,
        AccessToken=tokens["accessToken"],
        UserAttributes=[{"Name": "email", "Value": "voleur@example.net"}],
    )
    assert code == "NotAuthorizedException"
    attributes = {a["Name"]: a["Value"] for a in cognito.get_user(AccessToken=tokens["accessToken"])["UserAttributes"]}
    assert attributes["email"] == email
    # So a direct reset code can only ever go to the member's own address.
    assert not stack.outbox("voleur@example.net")
    assert me(stack, sign_in(stack, email))["email"] == email


def test_an_access_token_cannot_touch_the_roster_link(stack: LocalStackProcess) -> None:
    email = "porte.roster@example.com"
    tokens = member(stack, "roster", email)
    cognito = attacker(stack)
    for name, value in (("custom:participant_number", "100001"), ("custom:contract_number", "G1001")):
        code = error_code(
            cognito.update_user_attributes,
            AccessToken=tokens["accessToken"],
            UserAttributes=[{"Name": name, "Value": value}],
        )
        assert code == "NotAuthorizedException", name
        code = error_code(cognito.delete_user_attributes, AccessToken=tokens["accessToken"], UserAttributeNames=[name])
        assert code == "NotAuthorizedException", name
    # After a refresh, /v1/me still shows this member, not Marie Tremblay (G1001/100001).
    refreshed = stack.post("/v1/auth/token/refresh", json={"refreshToken": tokens["refreshToken"]}).json()
    SECRETS.add(refreshed["idToken"])
    body = me(stack, refreshed)
    assert (body["contractNumber"], body["participantNumber"]) == ("G7007", PARTICIPANTS["roster"][0])
    # The member's own language is theirs to write.
    cognito.update_user_attributes(
        AccessToken=tokens["accessToken"], UserAttributes=[{"Name": "locale", "Value": "en"}]
    )


def test_admin_operations_need_iam_credentials(stack: LocalStackProcess) -> None:
    email = "porte.admin@example.com"
    member(stack, "admin", email)
    info = cognito_info(stack)
    cognito = attacker(stack)
    pool = {"UserPoolId": info["userPoolId"]}
    attempts = [
        (
            cognito.admin_update_user_attributes,
            {**pool, "Username": email, "UserAttributes": [{"Name": "email", "Value": "voleur@example.net"}]},
        ),
        (
            cognito.admin_set_user_password,
            {**pool, "Username": email, "Password": "Voleur-Portail-2026", "Permanent": True},
        ),
        (cognito.admin_get_user, {**pool, "Username": email}),
        (cognito.admin_delete_user, {**pool, "Username": email}),
        (cognito.list_users, pool),
    ]
    for call, params in attempts:
        assert error_code(call, **params) == "MissingAuthenticationTokenException", call.__name__
    # Someone else's keys are not the stack's either.
    foreign = boto3.client(
        "cognito-idp",
        endpoint_url=info["endpoint"],
        region_name="ca-central-1",
        aws_access_key_id="AKIAFOREIGNKEY000000",
        aws_secret_access_key="not-the-stack",
    )
    assert error_code(foreign.admin_get_user, **pool, Username=email) == "UnrecognizedClientException"
    assert sign_in(stack, email)["idToken"]  # nothing changed


def test_direct_forgot_password_is_limited(stack: LocalStackProcess) -> None:
    email = "porte.oubli@example.com"
    register(stack, "forgot", email)
    cognito = attacker(stack)
    client_id = cognito_info(stack)["clientId"]
    before = len(stack.outbox(email))
    codes = []
    for _ in range(7):
        try:
            cognito.forgot_password(ClientId=client_id, Username=email)
            codes.append("sent")
        except ClientError as error:
            codes.append(str(error.response["Error"]["Code"]))
    stack.wait_until_idle()
    assert len(stack.outbox(email)) - before == 5  # 5 reset codes per account and hour, whichever door
    assert codes == ["sent"] * 5 + ["UserLambdaValidationException"] * 2
    # The API's own route still answers 202 (and sends nothing more).
    response = stack.post(
        "/v1/auth/password/forgot", json={"email": email, "participantNumber": PARTICIPANTS["forgot"][0]}
    )
    assert response.status_code == 202
    stack.wait_until_idle()
    assert len(stack.outbox(email)) - before == 5


def test_direct_password_guesses_are_counted(stack: LocalStackProcess) -> None:
    from srp_client import SrpClient

    email = "porte.devinette@example.com"
    register(stack, "guesses", email)
    info = cognito_info(stack)
    cognito = attacker(stack)

    def guess(password: str) -> str:
        srp = SrpClient(info["userPoolId"], password)
        first = cognito.initiate_auth(
            ClientId=info["clientId"],
            AuthFlow="CUSTOM_AUTH",
            AuthParameters={"USERNAME": email, "SRP_A": srp.srp_a, "CHALLENGE_NAME": "SRP_A"},
        )
        if first.get("ChallengeName") != "PASSWORD_VERIFIER":
            return "refused at start"
        try:
            second = cognito.respond_to_auth_challenge(
                ClientId=info["clientId"],
                ChallengeName="PASSWORD_VERIFIER",
                Session=first["Session"],
                ChallengeResponses=srp.password_claim(first["ChallengeParameters"]),
            )
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return str(second.get("ChallengeName"))

    for attempt in range(10):
        assert guess(f"Devinette-{attempt:04d}x") == "NotAuthorizedException"
    try:
        outcome = guess(PASSWORD)
    except ClientError as error:
        outcome = str(error.response["Error"]["Code"])
    assert outcome in ("NotAuthorizedException", "refused at start")  # even the right password now
    response = stack.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert (response.status_code, response.json()["code"]) == (401, "INVALID_CREDENTIALS")


def test_a_deleted_account_frees_its_participant(stack: LocalStackProcess) -> None:
    email, again = "porte.supprime@example.com", "porte.revenu@example.com"
    tokens = member(stack, "deleted", email)
    number, born = PARTICIPANTS["deleted"]
    identity = {"contractNumber": "G7007", "participantNumber": number, "dateOfBirth": born, "password": PASSWORD}
    assert stack.post("/v1/auth/register", json={**identity, "email": again}).status_code == 409
    attacker(stack).delete_user(AccessToken=tokens["accessToken"])
    register(stack, "deleted", again)
    assert me(stack, sign_in(stack, again))["email"] == again


def test_tokens_stop_working_within_five_minutes_of_logout(stack: LocalStackProcess) -> None:
    email = "porte.revoque@example.com"
    tokens = member(stack, "revoked", email)
    bearer = {"Authorization": f"Bearer {tokens['idToken']}"}
    assert (
        stack.post("/v1/auth/logout", json={"refreshToken": tokens["refreshToken"]}, headers=bearer).status_code == 204
    )
    refreshed = stack.post("/v1/auth/token/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 401
    stack.set_clock_offset(301)
    try:
        assert stack.get("/v1/me", headers=bearer).status_code == 401
    finally:
        stack.set_clock_offset(0)


# ---------------------------------------------------------------- account settings journeys
TEXTS = {
    "fr": {
        "signin": "Votre code d'ouverture de session",
        "email_change": "Confirmez votre nouvelle adresse courriel",
        "email_changed": "Votre adresse courriel a été changée",
        "password_changed": "Votre mot de passe a été changé",
        "wrong_password": "Mot de passe actuel incorrect",
    },
    "en": {
        "signin": "Your sign-in code",
        "email_change": "Confirm your new email address",
        "email_changed": "Your email address was changed",
        "password_changed": "Your password was changed",
        "wrong_password": "Current password incorrect",
    },
}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_account_settings_journeys(stack: LocalStackProcess, lang: str) -> None:
    other = "en" if lang == "fr" else "fr"
    accept = {"fr": "fr-CA", "en": "en-CA"}
    email, new_email = f"reglages.{lang}@example.com", f"nouveau.{lang}@example.org"
    register(stack, lang, email, other)  # registered in the other language, then switched
    tokens = sign_in(stack, email)
    assert me(stack, tokens)["preferredLanguage"] == other

    def call(method: str, path: str, body: Any, tokens: dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {tokens['idToken']}", "Accept-Language": accept[lang]}
        return stack.request(method, f"/v1{path}", json=body, headers=headers)

    # 1. Language: /v1/me and every email from now on.
    response = call("PATCH", "/me", {"preferredLanguage": lang}, tokens)
    assert response.status_code == 200, response.text
    assert response.json()["preferredLanguage"] == lang
    tokens = sign_in(stack, email)
    assert stack.outbox(email)[0]["subject"] == TEXTS[lang]["signin"]

    # 2. Password: the current one is required; every other session is signed out.
    other_device = sign_in(stack, email)
    response = call("POST", "/me/password", {"currentPassword": "Pas-Le-Bon-2026", "newPassword": NEW_PASSWORD}, tokens)
    assert (response.status_code, response.json()["code"]) == (400, "CURRENT_PASSWORD_INVALID")
    assert response.json()["title"] == TEXTS[lang]["wrong_password"]
    response = call("POST", "/me/password", {"currentPassword": PASSWORD, "newPassword": "court"}, tokens)
    assert (response.status_code, response.json()["errors"][0]["field"]) == (400, "newPassword")
    response = call("POST", "/me/password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, tokens)
    assert response.status_code == 204, response.text
    assert stack.wait_for_email(email)[0]["subject"] == TEXTS[lang]["password_changed"]
    refresh = stack.post("/v1/auth/token/refresh", json={"refreshToken": other_device["refreshToken"]})
    assert refresh.status_code == 401
    assert stack.post("/v1/auth/login", json={"email": email, "password": PASSWORD}).status_code == 401
    tokens = sign_in(stack, email, NEW_PASSWORD)

    # 3. Sign-in email: a code to the new address, a notice to the old one.
    response = call("POST", "/me/email", {"newEmail": new_email, "currentPassword": NEW_PASSWORD}, tokens)
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "CONFIRMATION_REQUIRED", "destination": "n***@e***.org"}
    mail = stack.wait_for_email(new_email)[0]
    assert mail["subject"] == TEXTS[lang]["email_change"]
    code = code_in(stack, new_email, 1)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    response = call("POST", "/me/email/confirm", {"code": wrong}, tokens)
    assert (response.status_code, response.json()["code"]) == (400, "CODE_INVALID")
    response = call("POST", "/me/email/confirm", {"code": code}, tokens)
    assert response.status_code == 200, response.text
    assert response.json()["email"] == new_email
    notice = stack.wait_for_email(email)[0]
    assert notice["subject"] == TEXTS[lang]["email_changed"]
    assert stack.post("/v1/auth/login", json={"email": email, "password": NEW_PASSWORD}).status_code == 401
    assert me(stack, sign_in(stack, new_email, NEW_PASSWORD))["email"] == new_email
