"""Triggers that touch AWS (DynamoDB, SES, Cognito admin), on real Cognito event samples against moto."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).resolve().parents[1] / "events" / "cognito"


class Context:
    function_name = "trigger"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:ca-central-1:123456789012:function:trigger"
    aws_request_id = "test"


def sample(name: str, env: dict[str, str]) -> dict[str, Any]:
    event = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    event["userPoolId"] = env["USER_POOL_ID"]
    event["callerContext"]["clientId"] = env["USER_POOL_CLIENT_ID"]
    return event


def profile(contract: str, participant: str) -> dict[str, Any]:
    from portal_common.config import get_settings
    from portal_common.dynamo import get_item

    return get_item(get_settings().members_table, {"PK": f"MEMBER#{contract}#{participant}", "SK": "PROFILE"}) or {}


def test_pre_sign_up_reserves_the_participant_once(seeded: Any) -> None:
    import trigger_pre_sign_up

    env = seeded.environment()
    event = sample("pre_sign_up", env)
    trigger_pre_sign_up.lambda_handler(event, Context())
    assert profile("G2002", "200003")["pendingEmailHash"]
    # Same email again: allowed (refreshes its reservation); another email: refused.
    trigger_pre_sign_up.lambda_handler(sample("pre_sign_up", env), Context())
    other = sample("pre_sign_up", env)
    other["request"]["userAttributes"]["email"] = "someone.else@example.com"
    with pytest.raises(trigger_pre_sign_up.SignUpRefused, match="ALREADY_REGISTERED"):
        trigger_pre_sign_up.lambda_handler(other, Context())


@pytest.mark.parametrize(
    "change",
    [
        {"contractNumber": "G2003"},
        {"participantNumber": "200004"},
        {"dateOfBirth": "1995-08-15"},
        {"dateOfBirth": "not-a-date"},
        {"contractNumber": "G2002", "participantNumber": "200002", "dateOfBirth": "1975-09-09"},  # coverage ended
        {"contractNumber": "G1001", "participantNumber": "100001", "dateOfBirth": "1982-11-05"},  # the spouse's DOB
    ],
)
def test_pre_sign_up_refuses_identity_mismatches(seeded: Any, change: dict[str, str]) -> None:
    import trigger_pre_sign_up

    event = sample("pre_sign_up", seeded.environment())
    event["request"]["validationData"].update(change)
    with pytest.raises(trigger_pre_sign_up.SignUpRefused, match=r"^IDENTITY_NOT_VERIFIED$"):
        trigger_pre_sign_up.lambda_handler(event, Context())


def test_pre_sign_up_refuses_a_certificate_whose_plan_is_not_on_file(seeded: Any) -> None:
    """The plan is checked without being parsed (no pydantic in the trigger), but still checked."""
    import trigger_pre_sign_up
    from registration_rules import forget_plans

    from portal_common.aws_clients import client
    from portal_common.config import get_settings
    from portal_common.dynamo import to_item
    from portal_common.members import plan_key

    client("dynamodb").delete_item(TableName=get_settings().members_table, Key=to_item(plan_key("PLAN-PLUS")))
    forget_plans()  # as in a new process (another test of this one may have seen the plan)
    with pytest.raises(trigger_pre_sign_up.SignUpRefused, match=r"^IDENTITY_NOT_VERIFIED$"):
        trigger_pre_sign_up.lambda_handler(sample("pre_sign_up", seeded.environment()), Context())
    assert "pendingEmailHash" not in profile("G2002", "200003")


def test_pre_sign_up_reads_the_plan_whichever_identity_field_is_wrong(
    seeded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong date of birth costs the same reads as a right one: the answer's timing does not tell
    a stranger that the contract and participant numbers matched someone."""
    import registration_rules
    import trigger_pre_sign_up

    checked: list[str] = []
    real = registration_rules.plan_on_file
    monkeypatch.setattr(registration_rules, "plan_on_file", lambda plan_id: checked.append(plan_id) or real(plan_id))
    event = sample("pre_sign_up", seeded.environment())
    event["request"]["validationData"]["dateOfBirth"] = "1995-08-15"
    with pytest.raises(trigger_pre_sign_up.SignUpRefused, match=r"^IDENTITY_NOT_VERIFIED$"):
        trigger_pre_sign_up.lambda_handler(event, Context())
    assert checked == ["PLAN-PLUS"]


def test_post_confirmation_links_account_and_writes_claims(seeded: Any) -> None:
    import boto3
    import trigger_post_confirmation
    import trigger_pre_sign_up

    env = seeded.environment()
    cognito = boto3.client("cognito-idp", region_name="ca-central-1")
    user = olivia_in_cognito(cognito, env)
    trigger_pre_sign_up.lambda_handler(sample("pre_sign_up", env), Context())
    event = sample("post_confirmation", env)
    event["userName"] = user["Username"]
    event["request"]["userAttributes"]["sub"] = user["Username"]
    trigger_post_confirmation.lambda_handler(event, Context())
    item = profile("G2002", "200003")
    assert item["accountSub"] == user["Username"]
    assert item["email"] == "olivia.smith@example.com"
    assert "pendingEmailHash" not in item
    attributes = {
        a["Name"]: a["Value"]
        for a in cognito.admin_get_user(UserPoolId=env["USER_POOL_ID"], Username=user["Username"])["UserAttributes"]
    }
    assert attributes["custom:contract_number"] == "G2002"
    assert attributes["custom:participant_number"] == "200003"
    # A second confirmation for the same participant (another account) is refused.
    event["request"]["userAttributes"]["sub"] = "another-sub"
    with pytest.raises(trigger_post_confirmation.LinkRefused):
        trigger_post_confirmation.lambda_handler(event, Context())


def test_post_confirmation_after_password_reset_signs_out_everywhere(seeded: Any) -> None:
    """A reset through any door (a direct ConfirmForgotPassword too) revokes every refresh token."""
    import boto3
    import trigger_post_confirmation

    env = seeded.environment()
    cognito = boto3.client("cognito-idp", region_name="ca-central-1")
    user = olivia_in_cognito(cognito, env)
    pool = moto_pool(env)
    refresh_token, _origin = pool.create_refresh_token(env["USER_POOL_CLIENT_ID"], user["Username"])
    event = sample("post_confirmation", env)
    event["triggerSource"] = "PostConfirmation_ConfirmForgotPassword"
    event["userName"] = user["Username"]
    assert trigger_post_confirmation.lambda_handler(event, Context()) == event
    assert pool.refresh_tokens[refresh_token] is None  # revoked
    assert profile("G2002", "200003").get("accountSub") is None  # nothing linked by a reset


def olivia_in_cognito(cognito: Any, env: dict[str, str]) -> dict[str, Any]:
    created: dict[str, Any] = cognito.admin_create_user(
        UserPoolId=env["USER_POOL_ID"],
        Username="olivia.smith@example.com",
        UserAttributes=[{"Name": "email", "Value": "olivia.smith@example.com"}],
        MessageAction="SUPPRESS",
    )["User"]
    return created


def moto_pool(env: dict[str, str]) -> Any:
    from moto.cognitoidp.models import cognitoidp_backends

    return cognitoidp_backends["123456789012"]["ca-central-1"].user_pools[env["USER_POOL_ID"]]


def test_create_auth_challenge_emails_a_hashed_code(seeded: Any) -> None:
    import auth_codes
    import trigger_create_auth_challenge
    import trigger_verify_auth_challenge
    from moto.ses.models import ses_backends

    env = seeded.environment()
    result = trigger_create_auth_challenge.lambda_handler(sample("create_auth_challenge", env), Context())
    response = result["response"]
    message = ses_backends["123456789012"]["ca-central-1"].sent_messages[-1]
    assert message.subject == "Votre code d'ouverture de session"  # locale fr
    code = re.search(r">(\d{6})<", message.body).group(1)
    private = response["privateChallengeParameters"]
    assert code not in json.dumps(response)  # the code is only in the email
    assert auth_codes.code_matches(code, private["salt"], private["codeHash"])
    assert response["publicChallengeParameters"] == {"destination": "m***@e***.com", "expiresIn": "300"}
    # A retry after a wrong answer presents the same code without a new email.
    retry_event = sample("create_auth_challenge", env)
    retry_event["request"]["session"].append(
        {
            "challengeName": "CUSTOM_CHALLENGE",
            "challengeResult": False,
            "challengeMetadata": response["challengeMetadata"],
        }
    )
    sent = len(ses_backends["123456789012"]["ca-central-1"].sent_messages)
    retry = trigger_create_auth_challenge.lambda_handler(retry_event, Context())["response"]
    assert len(ses_backends["123456789012"]["ca-central-1"].sent_messages) == sent
    verify = json.loads((EVENTS / "verify_auth_challenge_response.json").read_text(encoding="utf-8"))
    verify["request"]["privateChallengeParameters"] = retry["privateChallengeParameters"]
    verify["request"]["challengeAnswer"] = code
    assert trigger_verify_auth_challenge.lambda_handler(verify, Context())["response"]["answerCorrect"] is True


def _sent_messages() -> list[Any]:
    from moto.ses.models import ses_backends

    return list(ses_backends["123456789012"]["ca-central-1"].sent_messages)


def test_a_cognito_retry_of_the_same_round_emails_nothing(seeded: Any) -> None:
    """Cognito calls CreateAuthChallenge again with the same session (timeout): one email, one code."""
    import trigger_create_auth_challenge

    env = seeded.environment()
    before = len(_sent_messages())
    first = trigger_create_auth_challenge.lambda_handler(sample("create_auth_challenge", env), Context())["response"]
    retried = trigger_create_auth_challenge.lambda_handler(sample("create_auth_challenge", env), Context())["response"]
    assert len(_sent_messages()) == before + 1
    assert retried["privateChallengeParameters"] == first["privateChallengeParameters"]
    assert retried["challengeMetadata"] == first["challengeMetadata"]
    # Another user with the same history is another round: their own email.
    other = sample("create_auth_challenge", env)
    other["userName"] = "another-user"
    trigger_create_auth_challenge.lambda_handler(other, Context())
    assert len(_sent_messages()) == before + 2
    # A new BFF sign-in of the same user (its own attempt id), retried once: one more email.
    again = sample("create_auth_challenge", env)
    again["request"]["clientMetadata"] = {"attempt": "0f" * 16}
    trigger_create_auth_challenge.lambda_handler(copy.deepcopy(again), Context())
    trigger_create_auth_challenge.lambda_handler(again, Context())
    assert len(_sent_messages()) == before + 3


def test_concurrent_retries_of_one_round_send_one_email(seeded: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import trigger_create_auth_challenge

    from tests.moto_isolation import serialised_dynamodb

    env = seeded.environment()
    before = len(_sent_messages())
    # DynamoDB applies a conditional PutItem atomically; moto needs the lock to give that guarantee
    # to threads (without it two claims of one round could both win: the flake seen under load).
    with serialised_dynamodb(), ThreadPoolExecutor(max_workers=3) as pool:
        responses = list(
            pool.map(
                lambda _: trigger_create_auth_challenge.lambda_handler(sample("create_auth_challenge", env), Context()),
                range(3),
            )
        )
    assert len(_sent_messages()) == before + 1
    assert len({json.dumps(r["response"]["privateChallengeParameters"], sort_keys=True) for r in responses}) == 1


def test_a_retry_after_a_failed_send_delivers_one_email(seeded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import auth_codes
    import auth_emails
    import trigger_create_auth_challenge

    env = seeded.environment()
    real_send = auth_emails.send

    def failing(to: str, message: Any) -> None:
        raise RuntimeError("SES throttled")

    monkeypatch.setattr(auth_emails, "send", failing)
    with pytest.raises(RuntimeError):
        trigger_create_auth_challenge.lambda_handler(sample("create_auth_challenge", env), Context())
    monkeypatch.setattr(auth_emails, "send", real_send)
    before = len(_sent_messages())
    response = trigger_create_auth_challenge.lambda_handler(sample("create_auth_challenge", env), Context())["response"]
    assert len(_sent_messages()) == before + 1
    code = re.search(r">(\d{6})<", _sent_messages()[-1].body).group(1)
    private = response["privateChallengeParameters"]
    assert auth_codes.code_matches(code, private["salt"], private["codeHash"])


def test_a_new_sign_in_after_the_round_window_gets_a_new_email(seeded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import signin_round
    import trigger_create_auth_challenge

    from portal_common import clock

    env = seeded.environment()
    before = len(_sent_messages())
    trigger_create_auth_challenge.lambda_handler(sample("create_auth_challenge", env), Context())
    later = clock.epoch() + signin_round.ROUND_SECONDS + 1
    monkeypatch.setattr(clock, "epoch", lambda: later)
    trigger_create_auth_challenge.lambda_handler(sample("create_auth_challenge", env), Context())
    assert len(_sent_messages()) == before + 2
