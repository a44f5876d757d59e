"""The cold-start budget, guarded by what each handler imports (never by wall-clock time).

``make bench`` measures the times (README "Performance"); these tests keep the structure that
makes them: each function's handler, imported in a fresh interpreter as Lambda does, loads none of
the library modules it does not use, and the lazy library packages still offer every name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local.cfn import Stack

ROOT = Path(__file__).resolve().parents[2]

# Never needed by a function: the other resolvers and event classes Powertools' package inits import.
NEVER = (
    "aws_lambda_powertools.event_handler.appsync",
    "aws_lambda_powertools.event_handler.bedrock_agent",
    "aws_lambda_powertools.event_handler.vpc_lattice",
    "aws_lambda_powertools.utilities.data_classes.appsync_resolver_event",
    "aws_xray_sdk",  # only with the Tracing parameter on
    # The functions use botocore's clients and portal_common.dynamo_types: the boto3 package (its
    # session and resource machinery, s3transfer and its pools) is not imported by any handler nor
    # by any route group (POST /claims' idempotency records: functions/claims/idempotency_store.py).
    "boto3",
    "s3transfer",
)
# The Cognito triggers (Cognito waits 5 s and retries): no model library, no REST resolver.
TRIGGER_NEVER = ("pydantic", "aws_lambda_powertools.event_handler.api_gateway", "asyncio")


def _in_function(spec: Any, script: str, *arguments: str) -> Any:
    """Run ``script`` (its first argument: the handler module) as in Lambda, with the function's code
    folder, the layer and its environment only; what it prints last, as JSON."""
    environment = {**os.environ, **spec.environment}
    environment["PYTHONPATH"] = os.pathsep.join([str(spec.code_uri), str(ROOT / "layers" / "common")])
    done = subprocess.run(
        [sys.executable, "-c", script, spec.module, *arguments],
        env=environment,
        cwd=str(ROOT / "tests"),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _imported(logical_id: str, spec: object) -> set[str]:
    script = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"
    return set(_in_function(spec, script))


@pytest.fixture(scope="module")
def imports() -> dict[str, set[str]]:
    """What each function's handler module imports, each in a fresh interpreter."""
    specs = Stack().functions()
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = pool.map(lambda item: (item[0], _imported(*item)), specs.items())
        return dict(found)


def _triggers() -> set[str]:
    return {
        logical_id
        for logical_id, spec in Stack().functions().items()
        if spec.sources and spec.sources[0].kind == "Cognito"
    }


def test_no_handler_imports_the_resolvers_and_events_it_does_not_use(imports: dict[str, set[str]]) -> None:
    loaded = {logical_id: sorted(m for m in NEVER if m in modules) for logical_id, modules in imports.items()}
    assert {k: v for k, v in loaded.items() if v} == {}


def test_the_cognito_triggers_stay_light(imports: dict[str, set[str]]) -> None:
    triggers = _triggers()
    assert len(triggers) == 6
    heavy = {}
    for logical_id in triggers:
        # PreSignUp too: it checks that the member's plan is on file without parsing it.
        found = sorted(m for m in TRIGGER_NEVER if m in imports[logical_id])
        if found:
            heavy[logical_id] = found
    assert heavy == {}


# What one function's routes do not use, though a module it imports once brought it: the provider
# routes need the claim-type catalogue's labels, not the plan models and member records.
NOT_FOR = {"ProvidersApiFunction": ("portal_common.plans", "portal_common.members")}


def test_each_function_leaves_out_what_its_routes_do_not_use(imports: dict[str, set[str]]) -> None:
    found = {logical_id: sorted(m for m in never if m in imports[logical_id]) for logical_id, never in NOT_FOR.items()}
    assert {k: v for k, v in found.items() if v} == {}


# Functions whose first invocation can be long (a whole file import): the collector resumes as it
# starts (portal_common.cold_start); every other function's first invocation runs without it.
LONG_FIRST_INVOCATIONS = {"DrugImportFunction", "EligibilityImportFunction"}


def test_every_handler_ends_the_cold_start_pause() -> None:
    """Each template handler is wrapped by ``cold_start.settles`` (outermost): without it, a function
    would run with the collector paused for as long as it lives."""
    script = (
        "import importlib, json, sys; from portal_common import cold_start; "
        "handler = getattr(importlib.import_module(sys.argv[1]), sys.argv[2]); "
        "print(json.dumps(getattr(handler, cold_start.MARK, None)))"
    )
    specs = Stack().functions()
    with ThreadPoolExecutor(max_workers=4) as pool:
        marks = dict(
            pool.map(lambda item: (item[0], _in_function(item[1], script, item[1].function_name)), specs.items())
        )
    expected = {k: "before" if k in LONG_FIRST_INVOCATIONS else "after" for k in specs}
    assert marks == expected


def test_the_lazy_packages_still_offer_every_name() -> None:
    """A deferred package resolves each name of its ``__all__`` to the same object its real init gives;
    Powertools' root package also has its real init's attributes, package logger and user-agent feature."""
    describe = """
def describe(module, names):
    return {name: f"{getattr(getattr(module, name), '__module__', '')}.{name}" for name in sorted(names)}

def root():
    # What aws_lambda_powertools' own __init__ does besides importing: its plain attributes, its
    # package logger (silent), its botocore user-agent feature (registered once).
    import logging, botocore, aws_lambda_powertools as package
    logger = logging.getLogger("aws_lambda_powertools")
    return {
        "attributes": [package.__version__, package.__author__, str(package.PACKAGE_PATH)],
        "logger": [logger.propagate, [type(handler).__name__ for handler in logger.handlers]],
        "initializers": [f"{f.__module__}.{f.__name__}" for f in botocore._INITIALIZERS],
    }
"""
    code = (
        describe
        + """
import json, importlib, sys
import portal_common
from portal_common.lazy_packages import DEFERRED
names = {}
for package in DEFERRED:
    module = sys.modules[package]
    names[package] = describe(module, module.__all__)
names["root"] = root()
print(json.dumps(names))
"""
    )
    reference = (
        describe
        + """
import json, importlib, sys
DEFERRED = json.loads(sys.argv[1])  # portal_common is not imported: the packages' real inits run
names = {}
for package in DEFERRED:
    module = importlib.import_module(package)
    names[package] = describe(module, module.__all__)
names["root"] = root()
print(json.dumps(names))
"""
    )
    from portal_common.lazy_packages import DEFERRED

    environment = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "common")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", source, json.dumps(DEFERRED)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for source in (code, reference)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    lazy, real = (json.loads(run.stdout) for run in runs)
    assert all(real[package] for package in real)
    assert lazy == real


def test_reexports_are_read_from_the_package_init() -> None:
    from portal_common.lazy_packages import _reexports

    source = (
        "from .alb_event import ALBEvent\n"
        "from pkg.sub.api import (\n    A,\n    B as C,  # note\n)\n"
        "from other.place import D\n"
        "from . import sibling\n"
    )
    assert _reexports("pkg.sub", source) == {"ALBEvent": "pkg.sub.alb_event", "A": "pkg.sub.api", "C": "pkg.sub.api"}


# What each Cognito trigger asks of AWS, per branch: the clients it creates (each one costs a
# service model, an endpoint ruleset and, for the first, botocore's endpoint data: about 0.1 s at
# a cold start) and the calls it makes (README "Performance"). A branch the event already answers
# creates no client at all.
def test_no_trigger_creates_an_aws_client_or_session_at_import() -> None:
    triggers = {k: v for k, v in Stack().functions().items() if v.sources and v.sources[0].kind == "Cognito"}
    probe = (
        "import json, sys, importlib; importlib.import_module(sys.argv[1]);"
        "clients = sys.modules.get('portal_common.aws_clients');"
        "print(json.dumps([sorted(clients._clients) if clients else [], len(clients._session) if clients else 0]))"
    )
    created = {logical_id: _in_function(spec, probe) for logical_id, spec in triggers.items()}
    assert created == {logical_id: [[], 0] for logical_id in triggers}


class AwsRecorder:
    """The clients created and the calls made through ``portal_common.aws_clients`` from now on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import botocore.client

        from portal_common import aws_clients

        aws_clients.reset_clients()  # the trigger's first invocation in a fresh process
        self._clients = aws_clients._clients
        self.calls: list[str] = []
        current = botocore.client.BaseClient._make_api_call
        original = getattr(current, "unrecorded", current)  # a previous recorder of this test stops

        def record(client: Any, operation: str, params: dict[str, Any]) -> Any:
            self.calls.append(f"{client.meta.service_model.service_name}:{operation}")
            return original(client, operation, params)

        record.unrecorded = original  # type: ignore[attr-defined]
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)

    @property
    def clients(self) -> list[str]:
        return sorted(self._clients)


class Context:
    function_name = "trigger"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:ca-central-1:123456789012:function:trigger"
    aws_request_id = "test"


def _sample(name: str, env: dict[str, str]) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "tests" / "events" / "cognito" / f"{name}.json").read_text("utf-8"))
    event["userPoolId"] = env["USER_POOL_ID"]
    event["callerContext"]["clientId"] = env["USER_POOL_CLIENT_ID"]
    return event


def _session(*steps: tuple[str, bool, str | None]) -> list[dict[str, Any]]:
    return [{"challengeName": n, "challengeResult": r, "challengeMetadata": m} for n, r, m in steps]


def test_define_auth_challenge_reads_only_where_the_session_cannot_answer(
    seeded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One ``GetItem`` as a sign-in starts (the wrong-password lock), one ``UpdateItem`` after a wrong
    password; every other step is decided from the session alone: no client, no call."""
    import trigger_define_auth_challenge

    env = seeded.environment()
    srp = ("SRP_A", True, None)
    expected = {
        "start": (_session(srp), ["dynamodb"], ["dynamodb:GetItem"]),
        "wrong password": (_session(srp, ("PASSWORD_VERIFIER", False, None)), ["dynamodb"], ["dynamodb:UpdateItem"]),
        "password verified": (_session(srp, ("PASSWORD_VERIFIER", True, None)), [], []),
        "code answered": (
            _session(srp, ("PASSWORD_VERIFIER", True, None), ("CUSTOM_CHALLENGE", True, "OTP1;NEW;1;2;00;11")),
            [],
            [],
        ),
    }
    found = {}
    for branch, (session, _, _) in expected.items():
        recorder = AwsRecorder(monkeypatch)
        event = _sample("define_auth_challenge_srp_a", env)
        event["request"]["session"] = session
        trigger_define_auth_challenge.lambda_handler(event, Context())
        found[branch] = (session, recorder.clients, recorder.calls)
    assert found == expected


def test_create_auth_challenge_creates_the_ses_client_only_to_send(
    seeded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first round: claim, email, settle (two clients). A Cognito retry of that round: the claim
    lost and read back, no SES client. A retry after a wrong answer or a password check: the session
    answers, no client at all."""
    import trigger_create_auth_challenge

    env = seeded.environment()
    recorder = AwsRecorder(monkeypatch)
    first = trigger_create_auth_challenge.lambda_handler(_sample("create_auth_challenge", env), Context())
    assert (recorder.clients, recorder.calls) == (
        ["dynamodb", "ses"],
        ["dynamodb:PutItem", "ses:SendEmail", "dynamodb:UpdateItem"],
    )
    recorder = AwsRecorder(monkeypatch)
    trigger_create_auth_challenge.lambda_handler(_sample("create_auth_challenge", env), Context())
    assert (recorder.clients, recorder.calls) == (["dynamodb"], ["dynamodb:PutItem", "dynamodb:GetItem"])
    wrong = _sample("create_auth_challenge", env)
    wrong["request"]["session"].append(
        {
            "challengeName": "CUSTOM_CHALLENGE",
            "challengeResult": False,
            "challengeMetadata": first["response"]["challengeMetadata"],
        }
    )
    check = _sample("create_auth_challenge", env)
    check["request"]["clientMetadata"] = {"purpose": "password-check"}
    for event in (wrong, check):
        recorder = AwsRecorder(monkeypatch)
        trigger_create_auth_challenge.lambda_handler(event, Context())
        assert (recorder.clients, recorder.calls) == ([], [])


def test_the_sign_up_triggers_make_one_pass_each(seeded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """PreSignUp: the certificate, the plan's presence, the reservation. PostConfirmation: the link
    read, the link written, the roster attributes. Verify and CustomMessage (sign-up): no AWS at all."""
    import boto3
    import trigger_custom_message
    import trigger_post_confirmation
    import trigger_pre_sign_up
    import trigger_verify_auth_challenge
    from registration_rules import forget_plans

    env = seeded.environment()
    forget_plans()  # a fresh process has seen no plan
    recorder = AwsRecorder(monkeypatch)
    trigger_pre_sign_up.lambda_handler(_sample("pre_sign_up", env), Context())
    assert (recorder.clients, recorder.calls) == (
        ["dynamodb"],
        ["dynamodb:Query", "dynamodb:GetItem", "dynamodb:TransactWriteItems"],
    )
    user = boto3.client("cognito-idp", region_name="ca-central-1").admin_create_user(
        UserPoolId=env["USER_POOL_ID"],
        Username="olivia.smith@example.com",
        UserAttributes=[{"Name": "email", "Value": "olivia.smith@example.com"}],
        MessageAction="SUPPRESS",
    )["User"]
    event = _sample("post_confirmation", env)
    event["userName"] = event["request"]["userAttributes"]["sub"] = user["Username"]
    recorder = AwsRecorder(monkeypatch)
    trigger_post_confirmation.lambda_handler(event, Context())
    assert (recorder.clients, recorder.calls) == (
        ["cognito-idp", "dynamodb"],
        ["dynamodb:GetItem", "dynamodb:TransactWriteItems", "cognito-idp:AdminUpdateUserAttributes"],
    )
    recorder = AwsRecorder(monkeypatch)
    trigger_verify_auth_challenge.lambda_handler(_sample("verify_auth_challenge_response", env), Context())
    trigger_custom_message.lambda_handler(_sample("custom_message_sign_up", env), Context())
    assert (recorder.clients, recorder.calls) == ([], [])


# Functions whose route groups load on first use (portal_common.api.PortalResolver): a first request
# imports its own group and none of the others (nor what only they use).
FIRST_REQUESTS = {
    "ClaimsApiFunction": (
        "GET",
        "/me",
        None,
        {"member_api"},
        {"claim_routes_api", "claim_types_api", "receipts_api", "claims_models", "claim_submission", "claim_store"},
    ),
    "AuthApiFunction": (
        "POST",
        "/auth/token/refresh",
        "{}",
        {"auth_tokens_api"},
        {
            "auth_registration_api",
            "auth_signin_api",
            "auth_password_api",
            "auth_account_api",
            "registration_rules",
            "portal_common.plans",
        },
    ),
}


_SERVE_ONE = """
import json, sys
module, method, path, body = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
handler = __import__(module)
before = set(sys.modules)
event = {
    "resource": path, "path": path, "httpMethod": method,
    "headers": {"Accept-Language": "fr-CA", "Content-Type": "application/json"},
    "multiValueHeaders": {"Accept-Language": ["fr-CA"], "Content-Type": ["application/json"]},
    "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
    "stageVariables": None, "isBase64Encoded": False, "body": body,
    "requestContext": {"requestId": "cold-start-test", "stage": "v1", "httpMethod": method, "path": "/v1" + path,
                       "identity": {"sourceIp": "203.0.113.1"}},
}
class Context:
    function_name, function_version, memory_limit_in_mb = "cold-start-test", "$LATEST", 1024
    invoked_function_arn = "arn:aws:lambda:ca-central-1:123456789012:function:cold-start-test"
    aws_request_id, log_group_name, log_stream_name = "cold-start-test", "test", "test"

    def get_remaining_time_in_millis(self):
        return 10000


answer = handler.lambda_handler(event, Context())
print(json.dumps({"status": answer["statusCode"], "atImport": sorted(before), "after": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("logical_id", sorted(FIRST_REQUESTS))
def test_a_cold_request_imports_only_its_own_route_group(logical_id: str) -> None:
    """``import <handler>`` loads no route group; a first request (refused before any AWS call: no
    token, or an empty body) loads its own group, and the other groups' modules stay unloaded."""
    method, path, body, loaded, unloaded = FIRST_REQUESTS[logical_id]
    result = _in_function(Stack().functions()[logical_id], _SERVE_ONE, method, path, json.dumps(body))
    assert result["status"] in (400, 401)
    assert sorted((loaded | unloaded) & set(result["atImport"])) == []  # no route group with the handler
    assert loaded <= set(result["after"])
    assert sorted(unloaded & set(result["after"])) == []


_ALL_GROUPS = """
import importlib, json, sys
app = importlib.import_module(sys.argv[1]).app
for name in getattr(app, "route_groups", {}):
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def test_no_route_group_imports_what_no_function_needs() -> None:
    """Every route of every API function loaded (as its first requests would load them, one group
    each): still none of ``NEVER``: boto3 comes with no route (the idempotency records of
    ``POST /claims`` are written through the botocore client)."""
    specs = {logical_id: spec for logical_id, spec in Stack().functions().items() if spec.routes}
    assert {"ClaimsApiFunction", "AuthApiFunction", "DrugsApiFunction", "ProvidersApiFunction"} <= set(specs)
    with ThreadPoolExecutor(max_workers=4) as pool:
        loaded = dict(pool.map(lambda item: (item[0], set(_in_function(item[1], _ALL_GROUPS))), specs.items()))
    assert "claim_routes_api" in loaded["ClaimsApiFunction"]
    found = {logical_id: sorted(m for m in NEVER if m in modules) for logical_id, modules in loaded.items()}
    assert {k: v for k, v in found.items() if v} == {}


_GROUP_RULES = """
import importlib, json, sys
app = importlib.import_module(sys.argv[1]).app
rules = {}
for name, prefixes in app.route_groups.items():
    router = importlib.import_module(name).router
    methods = lambda key: key[1] if isinstance(key[1], (list, tuple)) else [key[1]]
    routes = sorted({(method.upper(), key[0]) for key in router._routes for method in methods(key)})
    rules[name] = {"prefixes": list(prefixes), "routes": routes}
print(json.dumps(rules))
"""


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


@pytest.mark.parametrize("logical_id", sorted(FIRST_REQUESTS))
def test_every_route_is_under_its_own_group_only(logical_id: str) -> None:
    """A path's prefixes select the group that serves it, and only it: every route of a group is under
    one of its prefixes and under no other group's, and every template route belongs to a group (so
    the order groups load in never changes which route a path matches)."""
    spec = Stack().functions()[logical_id]
    groups = _in_function(spec, _GROUP_RULES)
    served: set[tuple[str, str]] = set()
    for name, group in groups.items():
        for method, rule in group["routes"]:
            owners = [other for other, o in groups.items() if any(_under(rule, p) for p in o["prefixes"])]
            assert owners == [name], f"{method} {rule} of {name} is under {owners}"
            served.add((method, rule.replace("<", "{").replace(">", "}")))
    assert {(route.method, route.path) for route in spec.routes} <= served
