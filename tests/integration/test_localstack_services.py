"""Seeds and the Cognito front of the local stack."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.cfn import Stack


def test_seeds_are_discovered_in_order() -> None:
    from local.seeds import discover

    seeds = discover()
    assert [s.order for s in seeds] == sorted(s.order for s in seeds)
    roster = next(s for s in seeds if s.name == "roster")
    assert roster.order == 10
    assert roster.background is False


def test_roster_seed_loads_plans_demo_roster_and_an_extra_file(
    aws: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local import seed_roster
    from portal_common.members import get_member

    extra = tmp_path / "extra.csv"
    header = (seed_roster.DEMO_ROSTER.read_text(encoding="utf-8").splitlines()[0]) + "\n"
    extra.write_text(
        header
        + "G3003,300001,SELF,Anne,Roy,1990-01-01,PLAN-PLUS,2024-01-01,,N,N,fr\n"
        + "G3003,300002,SELF,Bad,Date,1990-13-45,PLAN-PLUS,2024-01-01,,N,N,fr\n"
        + "G3003,300003,SELF,No,Plan,1990-01-01,PLAN-NOPE,2024-01-01,,N,N,fr\n",
        encoding="utf-8",
    )
    monkeypatch.setenv(seed_roster.EXTRA_ROSTER_ENV, str(extra))
    steps: list[tuple[int, int]] = []
    summary = seed_roster.seed(lambda done, total: steps.append((done, total)))
    assert steps[0][0] == 0
    assert steps[-1][0] == steps[-1][1]
    assert "6 certificates" in summary
    assert "extra.csv: 2 lines skipped" in summary
    assert "line 3" in summary
    assert "line 4" in summary
    assert "1990-13-45" not in summary  # field names only, never values
    assert get_member("G3003", "300001") is not None
    assert get_member("G1001", "100001") is not None
    # Re-running updates in place.
    assert "6 certificates" in seed_roster.seed(lambda done, total: None)


def test_roster_seed_describes_every_demo_certificate() -> None:
    from local import seed_roster

    lines = "\n".join(seed_roster.describe())
    for contract, participant, birth in (
        ("G1001", "100001", "1984-03-12"),
        ("G1001", "100002", "1978-07-30"),
        ("G2002", "200001", "1972-05-22"),
        ("G2002", "200002", "1975-09-09"),
        ("G2002", "200003", "1995-08-14"),
    ):
        line = next(x for x in lines.splitlines() if f"{contract}    {participant}" in x)
        assert birth in line
    assert "terminated" in lines
    assert "PLAN-PLUS" in lines
    assert "PLAN-ESSENTIEL" in lines


def test_progress_display_plain_output() -> None:
    from local.seeds import ProgressDisplay, SeedRunner, SeedState

    module: Any = type("M", (), {"seed": staticmethod(lambda progress: (progress(1, 2), progress(2, 2), "done!")[2])})
    failing: Any = type("F", (), {"seed": staticmethod(lambda progress: 1 / 0)})
    out = io.StringIO()
    runner = SeedRunner(
        [SeedState("a", "Alpha", 1, False, module), SeedState("b", "Beta", 2, True, failing)], ProgressDisplay(out)
    )
    runner.run_foreground()
    assert not runner.finished()
    runner.start_background()
    runner.join(5)
    assert runner.finished()
    text = out.getvalue()
    assert "[ok] Alpha: done!" in text
    assert "[FAILED] Beta: ZeroDivisionError" in text
    assert "\r" not in text


# ------------------------------------------------------------------------ Cognito front
@pytest.fixture
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _cognito(endpoint_url: str) -> Any:
    return boto3.client(
        "cognito-idp",
        region_name="ca-central-1",
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class FakeEmulator:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def handle(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        self.calls.append((operation, body))
        if operation == "InitiateAuth":
            return 200, {"ChallengeName": "CUSTOM_CHALLENGE", "Session": "s", "ChallengeParameters": {}}
        if operation == "RespondToAuthChallenge":
            return 400, {"__type": "NotAuthorizedException", "message": "Incorrect code."}
        return None


def test_cognito_front_asks_the_emulator_then_moto(moto_server: str) -> None:
    from local.cognito_front import CognitoFront

    emulator = FakeEmulator()
    front = CognitoFront(moto_server, emulator)
    front.start()
    try:
        cognito = _cognito(front.url)
        pool = cognito.create_user_pool(PoolName="p")["UserPool"]["Id"]  # forwarded to moto
        client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="c")["UserPoolClient"]["ClientId"]
        answer = cognito.initiate_auth(ClientId=client, AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": "a@b.ca"})
        assert answer["ChallengeName"] == "CUSTOM_CHALLENGE"
        with pytest.raises(cognito.exceptions.NotAuthorizedException):
            cognito.respond_to_auth_challenge(
                ClientId=client, ChallengeName="CUSTOM_CHALLENGE", Session="s" * 24, ChallengeResponses={"ANSWER": "1"}
            )
        assert [op for op, _ in emulator.calls] == [
            "CreateUserPool",
            "CreateUserPoolClient",
            "InitiateAuth",
            "RespondToAuthChallenge",
        ]
        assert emulator.calls[2][1]["AuthParameters"] == {"USERNAME": "a@b.ca"}
        # moto really holds the pool created through the front.
        direct = _cognito(moto_server)
        assert direct.describe_user_pool(UserPoolId=pool)["UserPool"]["Id"] == pool
    finally:
        front.stop()


def test_cognito_front_refuses_iam_operations_without_the_stacks_credentials(moto_server: str) -> None:
    from botocore import UNSIGNED
    from botocore.config import Config

    from local.cognito_front import CognitoFront

    emulator = FakeEmulator()
    front = CognitoFront(moto_server, emulator, access_key_id="testing")
    front.start()
    try:
        pool = _cognito(front.url).create_user_pool(PoolName="p")["UserPool"]["Id"]  # signed: forwarded
        unsigned = boto3.client(
            "cognito-idp", region_name="ca-central-1", endpoint_url=front.url, config=Config(signature_version=UNSIGNED)
        )
        with pytest.raises(ClientError) as refused:
            unsigned.admin_get_user(UserPoolId=pool, Username="a@b.ca")
        assert refused.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
        other = boto3.client(
            "cognito-idp",
            region_name="ca-central-1",
            endpoint_url=front.url,
            aws_access_key_id="AKIAOTHER",
            aws_secret_access_key="x",
        )
        with pytest.raises(ClientError) as refused:
            other.list_users(UserPoolId=pool)
        assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
        # Public operations need no credentials (the emulator answers this one).
        answer = unsigned.initiate_auth(ClientId="c", AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": "a@b.ca"})
        assert answer["ChallengeName"] == "CUSTOM_CHALLENGE"
        assert [op for op, _ in emulator.calls] == ["CreateUserPool", "InitiateAuth"]  # refused ones never reach it
    finally:
        front.stop()


def test_cognito_front_forwards_what_the_emulator_leaves_to_moto(moto_server: str) -> None:
    from local.cognito_front import CognitoFront

    front = CognitoFront(moto_server, FakeEmulator())  # answers neither CreateUserPool nor DescribeUserPool
    front.start()
    try:
        cognito = _cognito(front.url)
        assert cognito.create_user_pool(PoolName="p")["UserPool"]["Name"] == "p"
        with pytest.raises(cognito.exceptions.ResourceNotFoundException):
            cognito.describe_user_pool(UserPoolId="ca-central-1_nothere")
    finally:
        front.stop()


def test_trigger_invoker_runs_the_function_the_template_attaches() -> None:
    from local.cognito_front import TriggerInvoker
    from local.lambda_runtime import FunctionRuntime
    from tests.localstack_testkit import test_template

    stack = Stack(template=test_template())
    runtime = FunctionRuntime(stack)
    invoke = TriggerInvoker(stack, runtime)
    assert invoke.functions["PreSignUp"] == "SignUpEchoFunction"
    event = {
        "version": "1",
        "triggerSource": "PreSignUp_SignUp",
        "region": "ca-central-1",
        "userPoolId": "ca-central-1_x",
        "userName": "u",
        "callerContext": {"awsSdkVersion": "1", "clientId": "c"},
        "request": {"userAttributes": {"email": "a@b.ca"}},
        "response": {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
    }
    assert invoke("PreSignUp", event)["response"]["autoConfirmUser"] is True
    unattached = {"response": {}}
    assert invoke("UserMigration", unattached) is unattached
