"""Helpers for the local stack's own tests: template.yaml plus small test functions, in moto."""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = "tests/fixtures/localstack_handlers/"


def moto_jwks() -> dict[str, Any]:
    """The public key set moto signs every Cognito token with (what its server publishes)."""
    from moto.cognitoidp.responses import CognitoIdpJsonWebKeyResponse

    document: dict[str, Any] = json.loads(CognitoIdpJsonWebKeyResponse.json_web_key)
    return document


def _function(handler: str, events: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {"CodeUri": HANDLERS, "Handler": handler, "Timeout": 5, "Events": events},
    }


def test_template() -> dict[str, Any]:
    """template.yaml with test functions on the same API, stream, queue, bucket and user pool."""
    from local.cfn import load_template

    template = copy.deepcopy(load_template())
    resources = template["Resources"]
    stream_props = copy.deepcopy(
        resources["ClaimStreamPublisherFunction"]["Properties"]["Events"]["ClaimsStream"]["Properties"]
    )
    stream_props["MaximumRetryAttempts"] = 2
    stream_props["BisectBatchOnFunctionError"] = False
    resources["EchoFunction"] = _function(
        "localstack_echo.api_handler",
        {
            "Protected": {"Type": "Api", "Properties": {"RestApiId": {"Ref": "Api"}, "Path": "/echo", "Method": "GET"}},
            "ProtectedItem": {
                "Type": "Api",
                "Properties": {"RestApiId": {"Ref": "Api"}, "Path": "/echo/{itemId}", "Method": "GET"},
            },
            "ProtectedPost": {
                "Type": "Api",
                "Properties": {"RestApiId": {"Ref": "Api"}, "Path": "/echo", "Method": "POST"},
            },
            "Public": {
                "Type": "Api",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "Path": "/public/{itemId}",
                    "Method": "GET",
                    "Auth": {"Authorizer": "NONE"},
                },
            },
            "Literal": {
                "Type": "Api",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "Path": "/public/recent",
                    "Method": "GET",
                    "Auth": {"Authorizer": "NONE"},
                },
            },
            "Crash": {
                "Type": "Api",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "Path": "/crash",
                    "Method": "GET",
                    "Auth": {"Authorizer": "NONE"},
                },
            },
            "Malformed": {
                "Type": "Api",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "Path": "/malformed",
                    "Method": "GET",
                    "Auth": {"Authorizer": "NONE"},
                },
            },
        },
    )
    resources["BrokenFunction"] = _function(
        "localstack_broken.lambda_handler",
        {
            "Broken": {
                "Type": "Api",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "Path": "/broken",
                    "Method": "GET",
                    "Auth": {"Authorizer": "NONE"},
                },
            }
        },
    )
    resources["StreamEchoFunction"] = _function(
        "localstack_echo.batch_handler", {"Stream": {"Type": "DynamoDB", "Properties": stream_props}}
    )
    resources["QueueEchoFunction"] = _function(
        "localstack_echo.batch_handler",
        {
            "Queue": {
                "Type": "SQS",
                "Properties": {
                    "Queue": {"Fn::GetAtt": ["ClaimsQueue", "Arn"]},
                    "BatchSize": 10,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                },
            }
        },
    )
    resources["UploadEchoFunction"] = _function(
        "localstack_echo.s3_handler",
        {
            "Upload": {
                "Type": "S3",
                "Properties": {
                    "Bucket": {"Ref": "DocumentsBucket"},
                    "Events": "s3:ObjectCreated:*",
                    "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "test-uploads/"}]}},
                },
            }
        },
    )
    # Asynchronous failures go where the real S3-triggered functions send theirs.
    resources["UploadEchoFunction"]["Properties"]["EventInvokeConfig"] = copy.deepcopy(
        resources["EligibilityImportFunction"]["Properties"]["EventInvokeConfig"]
    )
    resources["SignUpEchoFunction"] = _function(
        "localstack_echo.trigger_handler",
        {"Cognito": {"Type": "Cognito", "Properties": {"UserPool": {"Ref": "UserPool"}, "Trigger": "PreSignUp"}}},
    )
    # Only the test functions consume the claims queue and stream in these tests.
    for name in ("ClaimStreamPublisherFunction", "ClaimProcessorFunction", "PreSignUpFunction"):
        resources[name]["Properties"]["Events"] = {}
    return template


@dataclass
class LocalParts:
    """The pieces of a local stack running in-process on ``mock_aws``."""

    stack: Any
    runtime: Any
    gateway: Any
    pollers: Any
    outbox: Any

    @property
    def url(self) -> str:
        return str(self.gateway.url)

    def token(self, email: str = "marie.tremblay@example.ca", client_id: str | None = None) -> str:
        """An ID token for a (new) confirmed user, via ADMIN_USER_PASSWORD_AUTH."""
        import boto3

        cognito = boto3.client("cognito-idp", region_name=self.stack.region)
        pool = self.stack.name("UserPool")
        try:
            cognito.admin_create_user(
                UserPoolId=pool,
                Username=email,
                TemporaryPassword="Temporary-Pass1",
                MessageAction="SUPPRESS",
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true"},
                    {"Name": "custom:contract_number", "Value": "G1001"},
                    {"Name": "custom:participant_number", "Value": "100001"},
                ],
            )
            cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password="Valid-Pass123", Permanent=True)
        except cognito.exceptions.UsernameExistsException:
            pass
        result = cognito.admin_initiate_auth(
            UserPoolId=pool,
            ClientId=client_id or self.stack.name("UserPoolClient"),
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": "Valid-Pass123"},
        )
        return str(result["AuthenticationResult"]["IdToken"])

    def wait(self, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        """Wait for ``condition`` (pollers work in threads)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError("condition not met in time")


@contextmanager
def local_parts(monkeypatch: Any, *, start_pollers: bool = True) -> Iterator[LocalParts]:
    """Gateway, pollers and outbox of a local stack built from :func:`test_template`, on ``mock_aws``."""
    import boto3
    from moto import mock_aws

    from local.authorizer import CognitoAuthorizer
    from local.cfn import Stack
    from local.event_pollers import PollerGroup, build_pollers
    from local.gateway import Gateway
    from local.lambda_runtime import FunctionRuntime
    from local.outbox import Outbox

    with mock_aws():
        stack = Stack(template=test_template())
        stack.create()
        for name, value in stack.environment().items():
            monkeypatch.setenv(name, value)
        from portal_common import aws_clients, config, plans

        config.get_settings.cache_clear()
        aws_clients.reset_clients()
        plans.clear_plan_cache()
        runtime = FunctionRuntime(stack)
        authorizer = CognitoAuthorizer(
            user_pool_id=stack.name("UserPool"), client_id=stack.name("UserPoolClient"), jwks=moto_jwks
        )
        gateway = Gateway(stack, runtime, authorizer, port=0)
        gateway.start()
        outbox = Outbox(stack.account_id, stack.region)
        session = boto3.session.Session(region_name=stack.region)
        # No moto server to wake idle pollers in-process: they keep their short interval.
        group = PollerGroup([*build_pollers(stack, runtime, session, None), outbox], interval=0.05, max_interval=0.05)
        if start_pollers:
            group.start()
        import localstack_echo  # the same module object the runtime imported

        localstack_echo.RECEIVED.clear()
        localstack_echo.FAIL.clear()
        try:
            yield LocalParts(stack, runtime, gateway, group, outbox)
        finally:
            group.stop()
            gateway.stop()
    os.environ.pop("PORTAL_LOCAL_STACK", None)
