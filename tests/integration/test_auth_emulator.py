"""The Cognito emulator on its own: what real Cognito does and moto does not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

ACCOUNT = "123456789012"
REGION = "ca-central-1"
PASSWORD = "Portail2026!"


@pytest.fixture
def cognito(seeded: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, dict[str, str]]:
    from local.cognito_emulator import CognitoEmulator, route_client_to_emulator, template_trigger_invoker

    monkeypatch.setenv("PORTAL_LOCAL_STACK", "1")
    env = seeded.environment()
    emulator = CognitoEmulator(
        ACCOUNT, REGION, env["USER_POOL_ID"], env["USER_POOL_CLIENT_ID"], template_trigger_invoker()
    )
    client = boto3.client("cognito-idp", region_name=REGION)
    route_client_to_emulator(client, emulator)
    return client, emulator, env


def code_in_last_email(to: str) -> str:
    import re

    from moto.ses.models import ses_backends

    body = [m for m in ses_backends[ACCOUNT][REGION].sent_messages if to in m.destinations["ToAddresses"]][-1].body
    return re.search(r"\b(\d{6})\b", re.sub(r"<[^>]+>", " ", body)).group(1)


def sign_up(client: Any, env: dict[str, str], email: str = "olivia.smith@example.com") -> None:
    client.sign_up(
        ClientId=env["USER_POOL_CLIENT_ID"],
        Username=email,
        Password=PASSWORD,
        UserAttributes=[{"Name": "locale", "Value": "en"}],
        ValidationData=[
            {"Name": "contractNumber", "Value": "G2002"},
            {"Name": "participantNumber", "Value": "200003"},
            {"Name": "dateOfBirth", "Value": "1995-08-14"},
        ],
    )
    client.confirm_sign_up(
        ClientId=env["USER_POOL_CLIENT_ID"], Username=email, ConfirmationCode=code_in_last_email(email)
    )


def error_code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def password_step(
    client: Any, env: dict[str, str], email: str, password: str, timestamp: str | None = None
) -> dict[str, Any]:
    srp = AWSSRP(
        username=email,
        password=password,
        pool_id=env["USER_POOL_ID"],
        client_id=env["USER_POOL_CLIENT_ID"],
        client=client,
    )
    if timestamp is not None:  # the client's clock, as it signs the password claim
        srp.get_cognito_formatted_timestamp = lambda _moment: timestamp  # type: ignore[method-assign]
    params = {**srp.get_auth_params(), "CHALLENGE_NAME": "SRP_A"}
    first = client.initiate_auth(ClientId=env["USER_POOL_CLIENT_ID"], AuthFlow="CUSTOM_AUTH", AuthParameters=params)
    assert first["ChallengeName"] == "PASSWORD_VERIFIER"
    return client.respond_to_auth_challenge(
        ClientId=env["USER_POOL_CLIENT_ID"],
        ChallengeName="PASSWORD_VERIFIER",
        Session=first["Session"],
        ChallengeResponses=srp.process_challenge(first["ChallengeParameters"], params),
    )


def test_srp_proof_is_really_checked(cognito: Any) -> None:
    client, _, env = cognito
    sign_up(client, env)
    assert (
        error_code(lambda: password_step(client, env, "olivia.smith@example.com", "Wrong-Password-1"))
        == "NotAuthorizedException"
    )
    assert password_step(client, env, "olivia.smith@example.com", PASSWORD)["ChallengeName"] == "CUSTOM_CHALLENGE"


def test_a_password_claim_signed_long_ago_is_refused(cognito: Any) -> None:
    from srp_client import cognito_timestamp

    from portal_common import clock

    client, _, env = cognito
    sign_up(client, env)
    stale = cognito_timestamp(clock.now() - timedelta(minutes=10))
    assert (
        error_code(lambda: password_step(client, env, "olivia.smith@example.com", PASSWORD, stale))
        == "NotAuthorizedException"
    )
    fresh = cognito_timestamp(clock.now())
    assert (
        password_step(client, env, "olivia.smith@example.com", PASSWORD, fresh)["ChallengeName"] == "CUSTOM_CHALLENGE"
    )


def test_unknown_user_gets_a_password_challenge_then_the_same_error(cognito: Any) -> None:
    client, _, env = cognito
    assert error_code(lambda: password_step(client, env, "nobody@example.com", PASSWORD)) == "NotAuthorizedException"


def test_password_is_never_kept_in_clear(cognito: Any) -> None:
    client, emulator, env = cognito
    sign_up(client, env)
    users = list(emulator.pool.users.values())
    assert users
    assert all(u.password != PASSWORD for u in users)


def test_moto_shortcuts_are_closed(cognito: Any) -> None:
    client, _, env = cognito
    sign_up(client, env)
    assert (
        error_code(
            lambda: client.initiate_auth(
                ClientId=env["USER_POOL_CLIENT_ID"],
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": "olivia.smith@example.com", "PASSWORD": PASSWORD},
            )
        )
        == "InvalidParameterException"
    )
    # CUSTOM_AUTH without SRP: DefineAuthChallenge refuses.
    assert (
        error_code(
            lambda: client.initiate_auth(
                ClientId=env["USER_POOL_CLIENT_ID"],
                AuthFlow="CUSTOM_AUTH",
                AuthParameters={"USERNAME": "olivia.smith@example.com"},
            )
        )
        == "NotAuthorizedException"
    )


def test_sessions_are_single_use(cognito: Any) -> None:
    client, _, env = cognito
    sign_up(client, env)
    step = password_step(client, env, "olivia.smith@example.com", PASSWORD)
    answer = {"USERNAME": "olivia.smith@example.com", "ANSWER": "000000"}
    client.respond_to_auth_challenge(
        ClientId=env["USER_POOL_CLIENT_ID"],
        ChallengeName="CUSTOM_CHALLENGE",
        Session=step["Session"],
        ChallengeResponses=answer,
    )
    assert (
        error_code(
            lambda: client.respond_to_auth_challenge(
                ClientId=env["USER_POOL_CLIENT_ID"],
                ChallengeName="CUSTOM_CHALLENGE",
                Session=step["Session"],
                ChallengeResponses=answer,
            )
        )
        == "NotAuthorizedException"
    )


def test_sign_up_codes_expire_and_are_limited(cognito: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client, _, env = cognito
    email = "olivia.smith@example.com"
    client.sign_up(
        ClientId=env["USER_POOL_CLIENT_ID"],
        Username=email,
        Password=PASSWORD,
        ValidationData=[
            {"Name": "contractNumber", "Value": "G2002"},
            {"Name": "participantNumber", "Value": "200003"},
            {"Name": "dateOfBirth", "Value": "1995-08-14"},
        ],
    )
    code = code_in_last_email(email)
    for _ in range(5):
        assert (
            error_code(
                lambda: client.confirm_sign_up(
                    ClientId=env["USER_POOL_CLIENT_ID"],
                    Username=email,
                    ConfirmationCode="000000" if code != "000000" else "111111",
                )
            )
            == "CodeMismatchException"
        )
    assert (
        error_code(
            lambda: client.confirm_sign_up(ClientId=env["USER_POOL_CLIENT_ID"], Username=email, ConfirmationCode=code)
        )
        == "LimitExceededException"
    )
    client.resend_confirmation_code(ClientId=env["USER_POOL_CLIENT_ID"], Username=email)
    code = code_in_last_email(email)
    monkeypatch.setenv("PORTAL_CLOCK_OFFSET_SECONDS", str(24 * 3600 + 1))
    assert (
        error_code(
            lambda: client.confirm_sign_up(ClientId=env["USER_POOL_CLIENT_ID"], Username=email, ConfirmationCode=code)
        )
        == "ExpiredCodeException"
    )


def test_sign_up_refused_by_pre_sign_up_creates_no_user(cognito: Any) -> None:
    client, emulator, env = cognito
    assert (
        error_code(
            lambda: client.sign_up(
                ClientId=env["USER_POOL_CLIENT_ID"],
                Username="x@example.com",
                Password=PASSWORD,
                ValidationData=[{"Name": "contractNumber", "Value": "G2002"}],
            )
        )
        == "UserLambdaValidationException"
    )
    assert emulator.user_sub("x@example.com") is None


def test_client_cannot_write_the_roster_link(cognito: Any) -> None:
    client, _, env = cognito
    assert (
        error_code(
            lambda: client.sign_up(
                ClientId=env["USER_POOL_CLIENT_ID"],
                Username="x@example.com",
                Password=PASSWORD,
                UserAttributes=[{"Name": "custom:participant_number", "Value": "100001"}],
            )
        )
        == "NotAuthorizedException"
    )


def test_tokens_follow_the_app_client_lifetimes(cognito: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import json

    client, _emulator, env = cognito
    sign_up(client, env)
    step = password_step(client, env, "olivia.smith@example.com", PASSWORD)
    result = client.respond_to_auth_challenge(
        ClientId=env["USER_POOL_CLIENT_ID"],
        ChallengeName="CUSTOM_CHALLENGE",
        Session=step["Session"],
        ChallengeResponses={
            "USERNAME": "olivia.smith@example.com",
            "ANSWER": code_in_last_email("olivia.smith@example.com"),
        },
    )["AuthenticationResult"]
    assert result["ExpiresIn"] == 5 * 60  # template: 5 minutes (revocation bites within 5 minutes)
    part = result["IdToken"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    assert claims["exp"] - claims["iat"] == 5 * 60
    assert claims["custom:contract_number"] == "G2002"
    assert claims["email"] == "olivia.smith@example.com"
    # Refresh tokens live 12 hours.
    monkeypatch.setenv("PORTAL_CLOCK_OFFSET_SECONDS", str(12 * 3600 + 1))
    assert (
        error_code(
            lambda: client.initiate_auth(
                ClientId=env["USER_POOL_CLIENT_ID"],
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]},
            )
        )
        == "NotAuthorizedException"
    )


def test_an_email_update_waits_for_its_code(cognito: tuple[Any, Any, dict[str, str]]) -> None:
    """The pool requires verification before an email update: the old address signs in until the
    code sent to the new one is verified (unless an admin call sets email_verified itself)."""
    client, emulator, env = cognito
    sign_up(client, env)
    email, new = "olivia.smith@example.com", "olivia.new@example.org"
    pool = {"UserPoolId": env["USER_POOL_ID"]}
    client.admin_update_user_attributes(**pool, Username=email, UserAttributes=[{"Name": "email", "Value": new}])
    user = emulator._find_user(email)
    assert user is not None
    assert user.attribute_lookup["email"] == email  # unchanged until verified
    code = code_in_last_email(new)  # the code went to the new address
    tokens = emulator._issue_tokens(user.username)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    bad = lambda: client.verify_user_attribute(AccessToken=tokens["AccessToken"], AttributeName="email", Code=wrong)  # noqa: E731
    assert error_code(bad) == "CodeMismatchException"
    client.verify_user_attribute(AccessToken=tokens["AccessToken"], AttributeName="email", Code=code)
    assert emulator._find_user(new) is user
    assert user.attribute_lookup["email_verified"] == "true"
    # An admin call that sets email_verified applies at once; an address in use is refused.
    client.admin_update_user_attributes(
        **pool,
        Username=new,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
    )
    assert user.attribute_lookup["email"] == email
