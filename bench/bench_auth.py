"""Identity flows: AWS calls per step, and response times of the anti-enumeration paths.

Runs in-process (moto + the Cognito emulator + the real trigger handlers). For every step of the
journeys it counts, with a botocore ``before-call`` hook on the process's clients, the AWS API
calls made by the backend-for-frontend and those made by the Cognito triggers it causes, and the
trigger invocations themselves. Then it times pairs of requests that must not be told apart
(known vs unknown email) with the production response floor, and prints their ratio.

    .venv/bin/python -m bench.bench_auth
"""

from __future__ import annotations

import contextvars
import json
import os
import re
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "layers" / "common", ROOT / "functions" / "auth"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bench.aws_call_counter import AwsCallCounter  # noqa: E402
from local.inprocess_aws import create_stack, seed_plans_and_demo_roster, use_fake_aws_environment  # noqa: E402
from portal_common.config import reload_settings  # noqa: E402

use_fake_aws_environment(PORTAL_LOCAL_STACK="1", POWERTOOLS_LOG_LEVEL="ERROR")
PASSWORD = "Portail2026!"
_in_trigger: contextvars.ContextVar[str | None] = contextvars.ContextVar("in_trigger", default=None)


class Counts:
    """AWS calls of the BFF and of the triggers it causes, kept apart, and the trigger invocations."""

    def __init__(self) -> None:
        self.bff = AwsCallCounter(only_when=lambda: _in_trigger.get() is None)
        self.trigger_calls = AwsCallCounter(only_when=lambda: _in_trigger.get() is not None)
        self.triggers: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        self.bff.attach(client)
        self.trigger_calls.attach(client)

    def reset(self) -> dict[str, Any]:
        result = {
            "bff": dict(self.bff.calls),
            "triggers": dict(self.triggers),
            "trigger_aws": dict(self.trigger_calls.calls),
        }
        self.bff.reset()
        self.triggers.clear()
        self.trigger_calls.reset()
        return result


def call(path: str, body: Any, claims: dict[str, str] | None = None, ip: str = "203.0.113.9") -> tuple[int, Any]:
    import auth_api

    event = {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "v1",
            "identity": {"sourceIp": ip},
            "authorizer": {"claims": claims} if claims else None,
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }

    class Ctx:
        function_name = "auth"
        memory_limit_in_mb = 512
        invoked_function_arn = "arn:aws:lambda:ca-central-1:123456789012:function:auth"
        aws_request_id = "bench"

    response = auth_api.lambda_handler(event, Ctx())
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def last_code(to: str) -> str:
    from moto.ses.models import ses_backends

    body = [
        m for m in ses_backends["123456789012"]["ca-central-1"].sent_messages if to in m.destinations["ToAddresses"]
    ][-1].body
    found = re.search(r"\b(\d{6})\b", re.sub(r"<[^>]+>", " ", body))
    assert found
    return found.group(1)


def main() -> None:
    from moto import mock_aws

    with mock_aws():
        stack = create_stack()
        seed_plans_and_demo_roster()
        from local.cognito_emulator import CognitoEmulator, route_client_to_emulator, template_trigger_invoker
        from portal_common import aws_clients

        counts = Counts()
        invoke = template_trigger_invoker()

        def counted_invoke(trigger: str, event: dict[str, Any]) -> dict[str, Any]:
            counts.triggers[trigger] += 1
            token = _in_trigger.set(trigger)
            try:
                return invoke(trigger, event)
            finally:
                _in_trigger.reset(token)

        env = stack.environment()
        emulator = CognitoEmulator(
            "123456789012", "ca-central-1", env["USER_POOL_ID"], env["USER_POOL_CLIENT_ID"], counted_invoke
        )
        route_client_to_emulator(aws_clients.client("cognito-idp"), emulator)
        for service in ("dynamodb", "ses"):
            counts.attach(aws_clients.client(service))
        # Every Cognito request of the process reaches the emulator first (it answers or lets moto).
        handle = emulator.handle

        def counted_handle(operation: str, body: dict[str, Any]) -> Any:
            trigger = _in_trigger.get()
            (counts.trigger_calls if trigger else counts.bff).calls[f"cognito-idp.{operation}"] += 1
            return handle(operation, body)

        emulator.handle = counted_handle  # type: ignore[method-assign]

        os.environ["AUTH_RESPONSE_FLOOR_MS"] = "0"
        reload_settings()
        email = "olivia.smith@example.com"
        steps: list[tuple[str, int, dict[str, Any]]] = []

        def step(name: str, path: str, body: Any, **kwargs: Any) -> Any:
            counts.reset()
            status, payload = call(path, body, **kwargs)
            steps.append((name, status, counts.reset()))
            return payload

        step(
            "register",
            "/auth/register",
            {
                "contractNumber": "G2002",
                "participantNumber": "200003",
                "dateOfBirth": "1995-08-14",
                "email": email,
                "password": PASSWORD,
            },
        )
        step("register/resend", "/auth/register/resend", {"email": email})
        step("register/confirm", "/auth/register/confirm", {"email": email, "code": last_code(email)})
        login = step("login", "/auth/login", {"email": email, "password": PASSWORD})
        code = last_code(email)
        bad = f"{(int(code) + 1) % 1000000:06d}"
        wrong = step(
            "login/verify (wrong code)",
            "/auth/login/verify",
            {"email": email, "session": login["session"], "code": bad},
        )
        os.environ["PORTAL_CLOCK_OFFSET_SECONDS"] = "31"
        resent = step("login/resend", "/auth/login/resend", {"email": email, "session": wrong["session"]})
        tokens = step(
            "login/verify (right code)",
            "/auth/login/verify",
            {"email": email, "session": resent["session"], "code": last_code(email)},
        )
        os.environ["PORTAL_CLOCK_OFFSET_SECONDS"] = "0"
        step("token/refresh", "/auth/token/refresh", {"refreshToken": tokens["refreshToken"]})
        claims = json.loads(__import__("base64").urlsafe_b64decode(tokens["idToken"].split(".")[1] + "=="))
        step("logout", "/auth/logout", {"refreshToken": tokens["refreshToken"]}, claims=claims)
        step("password/forgot (match)", "/auth/password/forgot", {"email": email, "participantNumber": "200003"})
        step(
            "password/forgot (no match)",
            "/auth/password/forgot",
            {"email": "no@example.com", "participantNumber": "200003"},
        )
        step(
            "password/reset",
            "/auth/password/reset",
            {"email": email, "code": last_code(email), "newPassword": "Nouveau2026Mdp"},
        )
        step("login (unknown email)", "/auth/login", {"email": "no@example.com", "password": PASSWORD})

        print("AWS calls per step (BFF = auth_api; triggers = Lambda invocations by Cognito and their AWS calls)")
        print(f"{'step':<28}{'status':>7}  {'BFF calls':<70}{'triggers (their AWS calls)'}")
        for name, status, data in steps:
            bff = ", ".join(f"{k.split('.', 1)[1]}x{v}" for k, v in sorted(data["bff"].items()))
            trig = ", ".join(f"{k}x{v}" for k, v in sorted(data["triggers"].items()))
            trig_aws = ", ".join(f"{k.split('.', 1)[1]}x{v}" for k, v in sorted(data["trigger_aws"].items()))
            total = sum(data["bff"].values())
            print(f"{name:<28}{status:>7}  {f'{total}: {bff}':<70}{trig}{f' ({trig_aws})' if trig_aws else ''}")

        # ---------------------------------------------------------------- timing of look-alike answers
        os.environ["AUTH_RESPONSE_FLOOR_MS"] = "400"
        reload_settings()
        pairs = {
            "login wrong password vs unknown email": (
                ("/auth/login", {"email": email, "password": "Wrong-Password-1"}),
                ("/auth/login", {"email": "nobody@example.com", "password": "Wrong-Password-1"}),
            ),
            "forgot match vs unknown email": (
                ("/auth/password/forgot", {"email": email, "participantNumber": "200003"}),
                ("/auth/password/forgot", {"email": "nobody@example.com", "participantNumber": "200003"}),
            ),
            "register/resend confirmed vs unknown": (
                ("/auth/register/resend", {"email": email}),
                ("/auth/register/resend", {"email": "nobody@example.com"}),
            ),
        }
        print("\nResponse time of answers that must look alike (floor 400 ms + jitter; 5 runs each, median)")
        for label, (known, unknown) in pairs.items():
            times: dict[str, list[float]] = {"known": [], "unknown": []}
            for index in range(5):
                for kind, (path, body) in (("known", known), ("unknown", unknown)):
                    started = time.perf_counter()
                    call(path, body, ip=f"198.51.100.{index * 2 + (kind == 'known')}")
                    times[kind].append(time.perf_counter() - started)
            a, b = statistics.median(times["known"]), statistics.median(times["unknown"])
            print(f"  {label:<42} known {a * 1000:6.0f} ms  unknown {b * 1000:6.0f} ms  ratio {a / b:4.2f}")


if __name__ == "__main__":
    main()
