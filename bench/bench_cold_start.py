"""Cold start of every function of template.yaml, beside a baseline measured in the same run.

For each function, a fresh interpreter imports the handler module and serves one realistic first
request (the event shape its trigger sends), against moto: an API Gateway request, a stream or
queue batch, an S3 notification, a Cognito trigger, the sweeper's schedule input (EventBridge
Scheduler) or the SES "Email Sent" event of the recorder's rule, with the function's own timeout as
the context's remaining time. The baseline is a fresh interpreter doing ``import boto3`` and
creating one client, the floor every boto3-based function pays (the functions themselves use
botocore's clients and do not import the boto3 package: ``portal_common.aws_clients``).

Each run of a function is paired with a baseline run just before it, and the ratio is the
function's median over the median of its own paired baselines: on a shared machine whose load
changes during the bench, a function and its baseline see the same load. Besides wall-clock time,
each interpreter reports its CPU time (less sensitive to other processes) and its peak resident
memory (``VmHWM``: what the function needs of its ``MemorySize``). The targets of issue 14
are printed beside the ratios: API functions at most 1.3x the baseline, Cognito triggers at most
1.1x.

moto runs as a server in this (parent) process, not inside the measured interpreter: importing
moto there would preload boto3 and botocore and hide exactly the cost we measure. The measured
interpreter talks to it over loopback, as a Lambda talks to DynamoDB.

    python -m bench.bench_cold_start [--runs 5] [--function OpsApiFunction ...] [--parameter Tracing=Enabled]
                                     [--python /path/to/venv/bin/python] [--no-bytecode]

The code is measured as deployed: our layer's and functions' bytecode is compiled first (``make
build`` compiles the artifact's), and each Cognito trigger's event takes a real invocation's full
path (``_prepare_run``: a new user per CreateAuthChallenge run, an account signed up and reserved
before each PostConfirmation run, a new outbox entry per recorder run). The last column shows what
the first request answered (status code, report, or a trigger's response keys).

A function that imports its route groups on first use (``portal_common.api.PortalResolver``:
ClaimsApi, AuthApi) is also measured on its heaviest first route (``HEAVIEST_ROUTES``: a valid
``POST /claims``), so lazy loading does not just move the cost out of the measured path. The
bytecode is compiled with the measured interpreter (unless ``--no-bytecode``).

``--python`` measures with another interpreter (its own site-packages: ``bench.bench_runtimes``
builds one per Python version with only ``requirements/runtime.txt``). ``--no-bytecode`` measures
an artifact without ``.pyc`` files (what ``sam build`` alone produces; ``make build`` compiles them).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portal_common.claim_records import ClaimRecord

ROOT = Path(__file__).resolve().parent.parent

# Query strings of realistic first requests on routes that need one.
FIRST_QUERIES = {"/providers/recent": "claimType=PHYSIOTHERAPY", "/providers": "lastName=lav", "/drugs": "q=tylenol"}
# A first request that goes through the route's whole path (validation, then Cognito), rather than
# the first POST of the template, whose empty body would stop at validation.
FIRST_ROUTES = {"AuthApiFunction": ("POST", "/auth/token/refresh")}
FIRST_BODIES = {"/auth/token/refresh": {"refreshToken": "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.bench"}}
# The heaviest first request of a function whose route groups load on first use (a second row of the
# table): the claim submission group imports every claim model and the idempotency layer. AuthApi's
# first route above already loads its heaviest group (the groups share auth_service and auth_models).
HEAVIEST_ROUTES = {"ClaimsApiFunction": ("POST", "/claims")}

# The Lambda context object the measured handlers receive (also bench_cold_phases').
_CONTEXT = r"""
class Context:
    function_name = spec["function"]
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:ca-central-1:123456789012:function:" + spec["function"]
    memory_limit_in_mb = 512
    aws_request_id = spec["requestId"]
    log_group_name = "/aws/lambda/" + spec["function"]
    log_stream_name = "bench"
    identity = None
    client_context = None
    def get_remaining_time_in_millis(self):
        # The function's own timeout, as at the start of an invocation (the sweeper stops taking
        # items when less than 30 s are left: a fixed 10 s made it sweep nothing).
        return spec.get("timeoutMs", 10000)
"""

# Runs in the fresh interpreter: nothing imported before the clock starts but time, json, sys.
_MEASURE = (
    r"""
import time
started = time.perf_counter()
import importlib, json, sys
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["paths"]

"""
    + _CONTEXT
    + r"""
with open(spec["eventFile"], encoding="utf-8") as handle:
    event = json.load(handle)
before_import = time.perf_counter()
cpu_started = time.process_time()
module = importlib.import_module(spec["module"])
handler = getattr(module, spec["handler"])
imported = time.perf_counter()
outcome = "ok"
try:
    result = handler(event, Context())
    if isinstance(result, dict) and "statusCode" in result:
        outcome = str(result["statusCode"])
    elif isinstance(result, dict) and result and "batchItemFailures" not in result:
        # What the function answered: the sweeper's report, the recorder's... (a Cognito trigger's
        # response keys only: its challenge parameters are not for a table).
        answer = sorted(result.get("response") or {}) if "triggerSource" in result else result
        outcome = "ok " + json.dumps(answer, separators=(",", ":"), default=str)[:50]
except Exception as error:
    outcome = type(error).__name__
served = time.perf_counter()
cpu = time.process_time() - cpu_started
# Peak resident memory of this interpreter (VmHWM; ru_maxrss would count the forking parent's).
with open("/proc/self/status", encoding="ascii") as status:
    rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print("BENCH " + json.dumps({"import": imported - before_import, "first": served - imported,
                            "total": served - before_import, "outcome": outcome, "cpu": cpu, "rssKb": rss}))
"""
)

_BASELINE = r"""
import time
started = time.perf_counter()
cpu_started = time.process_time()
import boto3
boto3.session.Session().client("dynamodb", region_name="ca-central-1")
total = time.perf_counter() - started
cpu = time.process_time() - cpu_started
import json
with open("/proc/self/status", encoding="ascii") as status:
    rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print("BENCH " + json.dumps({"total": total, "cpu": cpu, "rssKb": rss}))
"""

# The libraries every API function needs before any code of ours runs: a botocore session and
# client (as portal_common.aws_clients makes them), Powertools' logger and its REST resolver with
# validation (which imports pydantic), with portal_common's lazy package inits and its cold-start
# pause of the garbage collector (as in a function). Printed as a row ("floor"): no API function can
# be faster than this.
_FLOOR = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
cpu_started = time.process_time()
import portal_common
from portal_common import aws_clients
aws_clients._new_session().create_client("dynamodb", region_name="ca-central-1")
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver
from pydantic import BaseModel
APIGatewayRestResolver(enable_validation=True)
total = time.perf_counter() - started
cpu = time.process_time() - cpu_started
import json
with open("/proc/self/status", encoding="ascii") as status:
    rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print("BENCH " + json.dumps({"total": total, "cpu": cpu, "rssKb": rss}))
"""


def _run(code: str, argument: str, environment: dict[str, str], python: str = sys.executable) -> dict[str, Any]:
    completed = subprocess.run(
        [python, "-c", code, argument],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH "):
            result: dict[str, Any] = json.loads(line[6:])
            return result
    raise RuntimeError(f"measurement failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")


def _claim_body() -> dict[str, Any]:
    """A valid physiotherapy claim of the demo member (``POST /claims``, ``HEAVIEST_ROUTES``), with
    the demo physiotherapist written to the providers table (the directory itself is not seeded)."""
    from provider_directory import build_provider, provider_items

    from local.provider_generator import FIXED
    from portal_common.config import get_settings
    from portal_common.dynamo import batch_write
    from portal_common.members import get_member

    physio = FIXED[0]
    # The generator's camelCase fields, as build_provider's arguments.
    arguments = {re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower(): value for name, value in physio.items()}
    provider = build_provider(source="DIRECTORY", **arguments)
    batch_write(get_settings().providers_table, provider_items(provider))
    member = get_member("G1001", "100001")
    assert member is not None, "the demo roster is seeded first"
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 3 * 86400))
    return {
        "claimType": "PHYSIOTHERAPY",
        "patientId": member.persons[0].person_id,
        "providerId": physio["providerId"],
        "answers": {"accident": False, "otherCoverage": False},
        "treatments": [{"dateOfService": day, "amount": "85.00", "description": "Traitement"}],
        "authorization": {"accepted": True},
    }


def _first_event(
    stack: Any, spec: Any, claims: dict[str, str], preferred: tuple[str, str] | None = None
) -> dict[str, Any] | None:
    """A realistic first event for the function's first trigger (or its route ``preferred``)."""
    from local.api_events import ApiContext, RouteTable, build_event

    if spec.routes:
        # The first GET route without parameters in template order (the one a client calls first).
        routes = sorted(spec.routes, key=lambda r: (r.method != "GET", "{" in r.path))
        preferred = preferred or FIRST_ROUTES.get(spec.logical_id)
        route = next((r for r in routes if (r.method, r.path) == preferred), routes[0])
        path = route.path.replace("{", "").replace("}", "")
        match, _ = RouteTable([route]).match(route.method, path)
        assert match is not None
        return build_event(
            query_string=FIRST_QUERIES.get(route.path, ""),
            api=ApiContext(stack.account_id, "bench", "v1", "bench.execute-api.ca-central-1.amazonaws.com"),
            match=match,
            method=route.method,
            path=path,
            headers=[
                ("Accept", "application/json"),
                ("Accept-Language", "fr-CA"),
                ("Content-Type", "application/json"),
                *([("Idempotency-Key", "bench")] if route.path == "/claims" and route.method == "POST" else []),
            ],
            body=json.dumps(_claim_body() if route.path == "/claims" else FIRST_BODIES.get(route.path, {})).encode()
            if route.method == "POST"
            else b"",
            source_ip="203.0.113.1",
            claims=claims if route.authorized else None,
        )
    if not spec.sources:
        return _schedule_event(stack, spec.logical_id) or _rule_event(stack, spec)
    source = spec.sources[0]
    props = stack.resolve(source.properties)
    from portal_common.claim_events import SOURCE, ClaimSubmittedV1
    from portal_common.claim_records import ClaimRecord
    from portal_common.dynamo import to_item

    claim = _bench_claim()
    if source.kind == "DynamoDB":
        return {
            "Records": [
                {
                    "eventID": uuid.uuid4().hex,
                    "eventName": "INSERT",
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": stack.region,
                    "dynamodb": {
                        "ApproximateCreationDateTime": int(time.time()),
                        "Keys": to_item(ClaimRecord.key(claim.member_key, claim.claim_id)),
                        "NewImage": to_item(claim.to_item()),
                        "SequenceNumber": "100000000000000000001",
                        "SizeBytes": 120,
                        "StreamViewType": "NEW_AND_OLD_IMAGES",
                    },
                    "eventSourceARN": str(props["Stream"]),
                }
            ]
        }
    if source.kind == "SQS":
        submitted = ClaimSubmittedV1.of(claim)
        body = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": submitted.detail_type,
            "source": SOURCE,
            "account": stack.account_id,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": stack.region,
            "resources": [],
            "detail": submitted.detail(),
        }
        return {
            "Records": [
                {
                    "messageId": str(uuid.uuid4()),
                    "receiptHandle": "bench",
                    "body": json.dumps(body),
                    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": str(props["Queue"]),
                    "awsRegion": stack.region,
                }
            ]
        }
    if source.kind == "S3":
        prefix = next(
            (r["Value"] for r in props.get("Filter", {}).get("S3Key", {}).get("Rules", []) if r["Name"] == "prefix"), ""
        )
        key = f"{prefix}bench-object"
        bucket = str(props["Bucket"])
        import boto3

        content = (
            (ROOT / "data" / "roster" / "demo-roster.csv").read_bytes() if prefix == "eligibility/" else b"%PDF-1.4\n"
        )
        if prefix == "receipts/":
            # A member's upload through its presigned form, made before each run by ``_prepare_run``
            # (the check reads the pending receipt, the object's head and first bytes, and records
            # the verdict, so a receipt serves one run): key, size and eTag are filled in there.
            etag = ""
        else:
            head = boto3.client("s3", region_name=stack.region).put_object(Bucket=bucket, Key=key, Body=content)
            etag = head["ETag"].strip('"')
        return {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": stack.region,
                    "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                    "eventName": "ObjectCreated:Put",
                    "userIdentity": {"principalId": "AWS:BENCH"},
                    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                    "responseElements": {"x-amz-request-id": "BENCH", "x-amz-id-2": "BENCH"},
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "bench",
                        "bucket": {
                            "name": bucket,
                            "ownerIdentity": {"principalId": "BENCH"},
                            "arn": f"arn:aws:s3:::{bucket}",
                        },
                        "object": {"key": key, "size": len(content), "eTag": etag, "sequencer": "0"},
                    },
                }
            ]
        }
    if source.kind == "Cognito":
        return _cognito_event(str(props["Trigger"]), stack)
    return None


RECEIPT_PDF = b"%PDF-1.4\n" + b"0" * 2038 + b"\n%%EOF\n"


def _receipt_upload() -> tuple[str, bytes]:
    """A ``PENDING_UPLOAD`` receipt of the demo member (as ``POST /claims/receipts`` writes it) and the
    bytes of its file: its S3 key and content."""
    from receipt_store import create_receipt, object_key

    from portal_common.identity import member_key

    receipt, _ = create_receipt(member_key("G1001", "100001"), "recu.pdf", "application/pdf", len(RECEIPT_PDF))
    return object_key(receipt.receipt_id), RECEIPT_PDF


def _schedule_event(stack: Any, logical_id: str) -> dict[str, Any] | None:
    """What EventBridge Scheduler delivers to a function a schedule targets: the target's ``Input``
    (the sweeper's ``{"source": "scheduler"}``), as the local stack's timer does."""
    from local.cfn import target_function

    for resource in stack.of_type("AWS::Scheduler::Schedule").values():
        target = (resource.get("Properties") or {}).get("Target") or {}
        if target_function(target) == logical_id:
            event: dict[str, Any] = json.loads(target.get("Input") or "{}")
            return event
    return None


def _rule_event(stack: Any, spec: Any) -> dict[str, Any] | None:
    """What a default-bus rule delivers to a function it targets: for the SES rule, the "Email Sent"
    event SES publishes for a claim e-mail of the configuration set (``local.ses_events``), tagged
    with an outbox entry (a new one each run, ``_prepare_run``), so the recorder writes it."""
    from local.cfn import target_function
    from local.ses_events import send_event

    for resource in stack.of_type("AWS::Events::Rule").values():
        props = resource.get("Properties") or {}
        targets = [target_function(target) for target in props.get("Targets") or []]
        if spec.logical_id not in targets or props.get("EventPattern", {}).get("source") != ["aws.ses"]:
            continue
        return send_event(
            account=stack.account_id,
            region=stack.region,
            configuration_set=spec.environment["CLAIM_EMAIL_CONFIGURATION_SET"],
            message_id=f"bench-{uuid.uuid4().hex}",
            source="no-reply@example.ca",
            destination=["marie.tremblay@example.ca"],
            subject="Votre demande de remboursement",
            tags={"claimId": _bench_claim().claim_id, "outboxSeq": "1"},
        )
    return None


def _bench_claim() -> ClaimRecord:
    """The submitted claim of the stream and queue events (built with the project's record, so the
    stream image and the ``ClaimSubmitted`` detail are what the functions read)."""
    from portal_common.claim_records import ClaimRecord, StatusEntry, TreatmentRecord

    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return ClaimRecord(
        member_key="MEMBER#G1001#100001",
        claim_id="BENCH",
        contract_number="G1001",
        participant_number="100001",
        plan_id="PLAN-ESSENTIEL",
        claim_type="PHYSIOTHERAPY",
        category="PARAMEDICAL",
        patient_id="P-BENCH",
        treatments=[TreatmentRecord(date_of_service=now[:10], amount=Decimal("85.00"), description="Séance")],
        status="SUBMITTED",
        status_history=[StatusEntry(status="SUBMITTED", at=now)],
        submitted_at=now,
        total_claimed=Decimal("85.00"),
        language="fr",
        version=1,
    )


# The roster participants (data/roster/demo-roster.csv) the sign-up triggers' events register:
# PreSignUp re-checks one's identity and reserves it; PostConfirmation links another (reserved, then
# released, around each run by _prepare_run), so neither run is refused before its AWS calls.
SIGN_UP = {"contractNumber": "G1001", "participantNumber": "100001", "dateOfBirth": "1984-03-12"}
CONFIRMED = ("G2002", "200001")


def _cognito_event(trigger: str, stack: Any) -> dict[str, Any]:
    attributes = {
        "sub": str(uuid.uuid4()),
        "email": "marie.tremblay@example.ca",
        "email_verified": "true",
        "locale": "fr-CA",
        "custom:contract_number": "G1001",
        "custom:participant_number": "100001",
    }
    # Before PostConfirmation has run, an account has no roster attributes yet.
    registering = {k: v for k, v in attributes.items() if not k.startswith("custom:")}
    sources = {
        "PreSignUp": "PreSignUp_SignUp",
        "CustomMessage": "CustomMessage_SignUp",
        "PostConfirmation": "PostConfirmation_ConfirmSignUp",
        "DefineAuthChallenge": "DefineAuthChallenge_Authentication",
        "CreateAuthChallenge": "CreateAuthChallenge_Authentication",
        "VerifyAuthChallengeResponse": "VerifyAuthChallengeResponse_Authentication",
    }
    requests: dict[str, dict[str, Any]] = {
        # A real sign-up: the roster identity the backend sends as validation data (a refused one
        # would stop before any AWS call).
        "PreSignUp": {
            "userAttributes": {k: v for k, v in registering.items() if k not in ("sub", "email_verified")},
            "validationData": dict(SIGN_UP),
            "clientMetadata": {},
        },
        "CustomMessage": {"userAttributes": attributes, "codeParameter": "{####}", "usernameParameter": None},
        # The account and its reservation are made before each run (_prepare_run).
        "PostConfirmation": {
            "userAttributes": {**registering, "cognito:user_status": "CONFIRMED"},
            "clientMetadata": {},
        },
        "DefineAuthChallenge": {
            "userAttributes": attributes,
            "session": [{"challengeName": "SRP_A", "challengeResult": True, "challengeMetadata": None}],
            "userNotFound": False,
        },
        "CreateAuthChallenge": {
            "userAttributes": attributes,
            "challengeName": "CUSTOM_CHALLENGE",
            "session": [
                {"challengeName": "SRP_A", "challengeResult": True},
                {"challengeName": "PASSWORD_VERIFIER", "challengeResult": True},
            ],
            "userNotFound": False,
        },
        "VerifyAuthChallengeResponse": {
            "userAttributes": attributes,
            "privateChallengeParameters": {"answerHash": "x"},
            "challengeAnswer": "000000",
            "userNotFound": False,
        },
    }
    return {
        "version": "1",
        "triggerSource": sources.get(trigger, trigger),
        "region": stack.region,
        "userPoolId": stack.name("UserPool"),
        "userName": attributes["sub"],
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": stack.name("UserPoolClient")},
        "request": requests.get(trigger, {"userAttributes": attributes}),
        "response": {},
    }


def _prepare_run(event: dict[str, Any], stack: Any) -> Any:
    """Make this run of a Cognito trigger take a real invocation's full path (in this process, before
    the measured interpreter starts); returns what undoes it after the run."""
    source = str(event.get("triggerSource", ""))
    if source.startswith("CreateAuthChallenge"):
        # A new user each run: a first round (claim + SES email), not a Cognito retry of the
        # previous run's round (which reads the claim and emails nothing).
        event["userName"] = str(uuid.uuid4())
    if "Idempotency-Key" in (event.get("headers") or {}):
        # A new claim each run, not the replay of the previous run's answer.
        event["headers"]["Idempotency-Key"] = str(uuid.uuid4())
        event["multiValueHeaders"]["Idempotency-Key"] = [event["headers"]["Idempotency-Key"]]
    record = (event.get("Records") or [{}])[0]
    if str(record.get("s3", {}).get("object", {}).get("key", "")).startswith("receipts/"):
        # A new receipt each run (the first one too): the same one again would find its verdict given.
        import boto3

        key, content = _receipt_upload()
        bucket = record["s3"]["bucket"]["name"]
        head = boto3.client("s3", region_name=stack.region).put_object(Bucket=bucket, Key=key, Body=content)
        record["s3"]["object"].update({"key": key, "size": len(content), "eTag": head["ETag"].strip('"')})
    if event.get("detail-type") == "Email Sent":
        # A new outbox entry each run: the recorder writes its confirmation (a repeat would find it).
        event["detail"]["mail"]["messageId"] = f"bench-{uuid.uuid4().hex}"
        event["detail"]["mail"]["tags"]["outboxSeq"] = [str(int(event["detail"]["mail"]["tags"]["outboxSeq"][0]) + 1)]
    if source == "PostConfirmation_ConfirmSignUp":
        # A new account each run: signed up (the user exists in the pool) and its participant
        # reserved by PreSignUp, so the run links it and writes its roster attributes.
        import account_links
        import boto3

        from portal_common import clock

        email = f"bench-{uuid.uuid4().hex[:12]}@example.ca"
        contract, participant = CONFIRMED
        user = boto3.client("cognito-idp", region_name=stack.region).admin_create_user(
            UserPoolId=event["userPoolId"],
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "locale", "Value": "fr-CA"}],
            MessageAction="SUPPRESS",
        )["User"]
        sub = next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")
        account_links.reserve(contract, participant, account_links.email_hash(email), clock.epoch())
        event["userName"] = user["Username"]
        event["request"]["userAttributes"].update({"sub": sub, "email": email})
        return lambda: account_links.release(contract, participant, sub, email)
    return lambda: None


# Issue 14's targets: a function's cold start over the baseline of the same run.
API_TARGET = 1.3
TRIGGER_TARGET = 1.1


@dataclass
class Figure:
    """One function's medians (milliseconds, KiB) and its paired baselines' medians."""

    logical_id: str
    kind: str  # "api", "trigger", "other" or "floor" (the libraries of an API function alone)
    import_ms: float
    first_ms: float
    total_ms: float
    cpu_ms: float
    rss_kb: int
    baseline_ms: float
    baseline_cpu_ms: float
    outcome: str

    @property
    def ratio(self) -> float:
        return self.total_ms / self.baseline_ms

    @property
    def cpu_ratio(self) -> float:
        return self.cpu_ms / self.baseline_cpu_ms

    @property
    def target(self) -> float | None:
        return {"api": API_TARGET, "trigger": TRIGGER_TARGET}.get(self.kind)


def _kind(spec: Any) -> str:
    if spec.routes:
        return "api"
    if spec.sources and spec.sources[0].kind == "Cognito":
        return "trigger"
    return "other"


def measure(
    functions: list[str] | None = None,
    runs: int = 5,
    python: str = sys.executable,
    parameters: dict[str, str] | None = None,
    report: Any = print,
    bytecode: bool = True,
    scripts: tuple[str, str] | None = None,
    raw: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] | None = None,
) -> tuple[dict[str, float], list[Figure]]:
    """Measure every function (or ``functions``) ``runs`` times, each run paired with a baseline run.

    ``scripts`` replaces the measured and the baseline interpreters' code (``bench_cold_phases``
    times their phases); ``raw`` receives each function's runs as (baseline, function) results.

    Returns the baseline's medians (``total``, ``cpu`` ms, ``rssKb``) over all its runs and one
    :class:`Figure` per function; ``report`` is called with each function's table line."""
    from local.inprocess_aws import use_fake_aws_environment

    use_fake_aws_environment()
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from local.cfn import Stack
    from local.lambda_runtime import add_function_paths

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    # moto's state is per process: a second measure() (bench_runtimes) starts from nothing too.
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=30).close()
    figures: list[Figure] = []
    baselines: list[dict[str, Any]] = []
    try:
        stack = Stack(parameters=parameters or {})
        stack.create(boto3.session.Session(region_name=stack.region), endpoint_url=moto_url)
        os.environ["AWS_ENDPOINT_URL"] = moto_url
        os.environ.update(stack.environment())
        specs = stack.functions()
        add_function_paths(specs.values())
        from local import seed_roster
        from portal_common import aws_clients, config

        aws_clients.reset_clients()  # a previous measure() of this process talked to another server
        config.reload_settings()
        seed_roster.seed(lambda done, total: None)
        environment = {
            **os.environ,
            **stack.environment(),
            "AWS_ENDPOINT_URL": moto_url,
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        environment.pop("PYTHONPATH", None)  # the measured interpreter gets exactly its function's paths
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        if not bytecode:
            # An artifact without .pyc files on a read-only disk: every module compiled at each start.
            environment["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-no-pyc-")
        claims = {
            "sub": str(uuid.uuid4()),
            "email": "marie.tremblay@example.ca",
            "custom:contract_number": "G1001",
            "custom:participant_number": "100001",
            "token_use": "id",
        }
        cases: list[tuple[str, str, Any, dict[str, Any] | None]] = []
        for logical_id, spec in sorted(specs.items()):
            if functions and logical_id not in functions:
                continue
            cases.append((logical_id, logical_id, spec, _first_event(stack, spec, claims)))
            heaviest = HEAVIEST_ROUTES.get(logical_id)
            if heaviest:
                label = f"{logical_id} {' '.join(heaviest)}"
                cases.append((label, logical_id, spec, _first_event(stack, spec, claims, heaviest)))
        if bytecode:
            # As ``make build`` compiles the artifact: no handler pays for compiling our own modules.
            folders = sorted({str(ROOT / "layers" / "common")} | {str(case[2].code_uri) for case in cases})
            subprocess.run([python, "-m", "compileall", "-q", *folders], capture_output=True, check=True)
        with tempfile.TemporaryDirectory() as scratch:
            for label, logical_id, spec, event in cases:
                if event is None:
                    report(f"{logical_id:<32}  (skipped: no trigger to imitate)")
                    continue
                event_file = Path(scratch) / f"{len(list(Path(scratch).iterdir()))}.json"
                event_file.write_text(json.dumps(event), encoding="utf-8")
                argument = {
                    "paths": [str(ROOT / "layers" / "common"), str(spec.code_uri)],
                    "module": spec.module,
                    "handler": spec.function_name,
                    "function": logical_id,
                    "eventFile": str(event_file),
                    "requestId": str(uuid.uuid4()),
                    "timeoutMs": spec.timeout * 1000,
                }
                results, paired = [], []
                for _ in range(runs):
                    cleanup = _prepare_run(event, stack)
                    event_file.write_text(json.dumps(event), encoding="utf-8")
                    measured, base = scripts or (_MEASURE, _BASELINE)
                    paired.append(_run(base, "", environment, python))
                    # Lambda sets the function's name in its environment (portal_common.cold_start reads it).
                    lambda_environment = {**environment, **spec.environment, "AWS_LAMBDA_FUNCTION_NAME": logical_id}
                    results.append(_run(measured, json.dumps(argument), lambda_environment, python))
                    if raw is not None:
                        raw.setdefault(label, []).append((paired[-1], results[-1]))
                    cleanup()
                baselines.extend(paired)
                figure = Figure(
                    logical_id=label,
                    kind=_kind(spec),
                    import_ms=statistics.median(r["import"] for r in results) * 1000,
                    first_ms=statistics.median(r["first"] for r in results) * 1000,
                    total_ms=statistics.median(r["total"] for r in results) * 1000,
                    cpu_ms=statistics.median(r["cpu"] for r in results) * 1000,
                    rss_kb=int(statistics.median(r["rssKb"] for r in results)),
                    baseline_ms=statistics.median(r["total"] for r in paired) * 1000,
                    baseline_cpu_ms=statistics.median(r["cpu"] for r in paired) * 1000,
                    outcome=results[-1]["outcome"],
                )
                figures.append(figure)
                report(_line(figure))
        if any(figure.kind == "api" for figure in figures):
            floor, paired = [], []
            for _ in range(runs):
                paired.append(_run(_BASELINE, "", environment, python))
                # As in a function: portal_common's lazy package inits and its cold-start collector pause.
                floor_environment = {**environment, "AWS_LAMBDA_FUNCTION_NAME": "floor"}
                floor.append(_run(_FLOOR, str(ROOT / "layers" / "common"), floor_environment, python))
            baselines.extend(paired)
            total = statistics.median(r["total"] for r in floor) * 1000
            figure = Figure(
                logical_id="floor: API libraries",
                kind="floor",
                import_ms=total,
                first_ms=0.0,
                total_ms=total,
                cpu_ms=statistics.median(r["cpu"] for r in floor) * 1000,
                rss_kb=int(statistics.median(r["rssKb"] for r in floor)),
                baseline_ms=statistics.median(r["total"] for r in paired) * 1000,
                baseline_cpu_ms=statistics.median(r["cpu"] for r in paired) * 1000,
                outcome="(botocore client, Powertools logger + validating resolver, pydantic)",
            )
            figures.append(figure)
            report(_line(figure))
    finally:
        server.stop()
    baseline = {
        "total": statistics.median(r["total"] for r in baselines) * 1000 if baselines else 0.0,
        "cpu": statistics.median(r["cpu"] for r in baselines) * 1000 if baselines else 0.0,
        "rssKb": statistics.median(r["rssKb"] for r in baselines) if baselines else 0.0,
    }
    return baseline, figures


HEADER = (
    f"{'function':<32}{'import':>7}{'1st req':>8}{'cold':>6}{'base':>6}{'x base':>7}{'target':>7}"
    f"{'cpu':>6}{'cpu x':>7}{'RSS MiB':>8}  first answer"
)


def _line(figure: Figure) -> str:
    target = "" if figure.target is None else f"{figure.target:.1f}{'' if figure.ratio <= figure.target else '!'}"
    return (
        f"{figure.logical_id:<32}{figure.import_ms:>7.0f}{figure.first_ms:>8.0f}{figure.total_ms:>6.0f}"
        f"{figure.baseline_ms:>6.0f}{figure.ratio:>7.2f}{target:>7}{figure.cpu_ms:>6.0f}{figure.cpu_ratio:>7.2f}"
        f"{figure.rss_kb / 1024:>8.0f}  {figure.outcome}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "5")))
    parser.add_argument("--function", action="append", help="only these logical ids")
    parser.add_argument(
        "--parameter", action="append", default=[], help="a template parameter, NAME=VALUE (Tracing=Enabled)"
    )
    parser.add_argument("--python", default=sys.executable, help="the measured interpreter (default: this one)")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="ignore .pyc files (an artifact built without them, as sam build's)"
    )
    args = parser.parse_args(argv if argv is not None else [])
    print(
        f"runs per figure: {args.runs} (medians), each paired with a baseline run (fresh interpreter,"
        f" import boto3 + one client); {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "ms: wall clock; x base: cold / paired baseline (target: issue 14, '!' = missed);"
        " cpu: CPU ms of the cold start; cpu x: same ratio in CPU time"
    )
    print(HEADER, flush=True)
    baseline, figures = measure(
        args.function,
        args.runs,
        args.python,
        dict(item.split("=", 1) for item in args.parameter),
        report=lambda line: print(line, flush=True),
        bytecode=not args.no_bytecode,
    )
    print(
        f"{'baseline (all runs)':<32}{'':>7}{'':>8}{baseline['total']:>6.0f}{'':>6}{1.0:>7.2f}{'':>7}"
        f"{baseline['cpu']:>6.0f}{1.0:>7.2f}"
        f"{baseline['rssKb'] / 1024:>8.0f}"
    )
    missed = [f.logical_id for f in figures if f.target is not None and f.ratio > f.target]
    floor = next((f for f in figures if f.kind == "floor"), None)
    if floor is not None:
        print(
            f"floor of an API function (libraries only, no code of ours, no request): {floor.ratio:.2f}x"
            f" wall, {floor.cpu_ratio:.2f}x CPU; the API target is {API_TARGET}x"
        )
    print(f"load average at the end {os.getloadavg()[0]:.1f}; over target: {', '.join(missed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
