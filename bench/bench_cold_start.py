"""Cold start of every function of template.yaml, beside a baseline measured in the same run.

For each function, a fresh interpreter imports the handler module and serves one realistic first
request (the event shape its trigger sends), against moto. The baseline is a fresh interpreter
doing ``import boto3`` and creating one client, the floor every boto3-based function pays.

moto runs as a server in this (parent) process, not inside the measured interpreter: importing
moto there would preload boto3 and botocore and hide exactly the cost we measure. The measured
interpreter talks to it over loopback, as a Lambda talks to DynamoDB.

    python -m bench.bench_cold_start [--runs 5] [--function OpsApiFunction ...] [--parameter Tracing=Enabled]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
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

# Runs in the fresh interpreter: nothing imported before the clock starts but time, json, sys.
_MEASURE = r"""
import time
started = time.perf_counter()
import importlib, json, sys
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["paths"]

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
        return 10000

with open(spec["eventFile"], encoding="utf-8") as handle:
    event = json.load(handle)
before_import = time.perf_counter()
module = importlib.import_module(spec["module"])
handler = getattr(module, spec["handler"])
imported = time.perf_counter()
outcome = "ok"
try:
    result = handler(event, Context())
    if isinstance(result, dict) and "statusCode" in result:
        outcome = str(result["statusCode"])
except Exception as error:
    outcome = type(error).__name__
served = time.perf_counter()
print("BENCH " + json.dumps({"import": imported - before_import, "first": served - imported,
                            "total": served - before_import, "outcome": outcome}))
"""

_BASELINE = r"""
import time
started = time.perf_counter()
import boto3
boto3.session.Session().client("dynamodb", region_name="ca-central-1")
print("BENCH " + __import__("json").dumps({"total": time.perf_counter() - started}))
"""


def _run(code: str, argument: str, environment: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-c", code, argument],
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


def _first_event(stack: Any, spec: Any, claims: dict[str, str]) -> dict[str, Any] | None:
    """A realistic first event for the function's first trigger."""
    from local.api_events import ApiContext, RouteTable, build_event

    if spec.routes:
        # The first GET route without parameters in template order (the one a client calls first).
        routes = sorted(spec.routes, key=lambda r: (r.method != "GET", "{" in r.path))
        preferred = FIRST_ROUTES.get(spec.logical_id)
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
            ],
            body=json.dumps(FIRST_BODIES.get(route.path, {})).encode() if route.method == "POST" else b"",
            source_ip="203.0.113.1",
            claims=claims if route.authorized else None,
        )
    if not spec.sources:
        return None
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

        body = (
            (ROOT / "data" / "roster" / "demo-roster.csv").read_bytes() if prefix == "eligibility/" else b"%PDF-1.4\n"
        )
        head = boto3.client("s3", region_name=stack.region).put_object(Bucket=bucket, Key=key, Body=body)
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
                        "object": {"key": key, "size": len(body), "eTag": head["ETag"].strip('"'), "sequencer": "0"},
                    },
                }
            ]
        }
    if source.kind == "Cognito":
        return _cognito_event(str(props["Trigger"]), stack)
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


def _cognito_event(trigger: str, stack: Any) -> dict[str, Any]:
    attributes = {
        "sub": str(uuid.uuid4()),
        "email": "marie.tremblay@example.ca",
        "email_verified": "true",
        "locale": "fr-CA",
        "custom:contract_number": "G1001",
        "custom:participant_number": "100001",
    }
    sources = {
        "PreSignUp": "PreSignUp_SignUp",
        "CustomMessage": "CustomMessage_SignUp",
        "PostConfirmation": "PostConfirmation_ConfirmSignUp",
        "DefineAuthChallenge": "DefineAuthChallenge_Authentication",
        "CreateAuthChallenge": "CreateAuthChallenge_Authentication",
        "VerifyAuthChallengeResponse": "VerifyAuthChallengeResponse_Authentication",
    }
    requests: dict[str, dict[str, Any]] = {
        "PreSignUp": {"userAttributes": attributes, "validationData": {}, "clientMetadata": {}},
        "CustomMessage": {"userAttributes": attributes, "codeParameter": "{####}", "usernameParameter": None},
        "PostConfirmation": {"userAttributes": attributes, "clientMetadata": {}},
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "5")))
    parser.add_argument("--function", action="append", help="only these logical ids")
    parser.add_argument(
        "--parameter", action="append", default=[], help="a template parameter, NAME=VALUE (Tracing=Enabled)"
    )
    args = parser.parse_args(argv if argv is not None else [])

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
    try:
        stack = Stack(parameters=dict(item.split("=", 1) for item in args.parameter))
        stack.create(boto3.session.Session(region_name=stack.region), endpoint_url=moto_url)
        os.environ["AWS_ENDPOINT_URL"] = moto_url
        os.environ.update(stack.environment())
        specs = stack.functions()
        add_function_paths(specs.values())
        from local import seed_roster

        seed_roster.seed(lambda done, total: None)
        environment = {
            **os.environ,
            **stack.environment(),
            "AWS_ENDPOINT_URL": moto_url,
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "0",
        }
        claims = {
            "sub": str(uuid.uuid4()),
            "email": "marie.tremblay@example.ca",
            "custom:contract_number": "G1001",
            "custom:participant_number": "100001",
            "token_use": "id",
        }
        baseline = [_run(_BASELINE, "", environment)["total"] for _ in range(args.runs)]
        baseline_ms = statistics.median(baseline) * 1000
        print(f"runs per figure: {args.runs} (median); baseline = fresh interpreter, import boto3 + one client")
        print(f"{'function':<32}{'import ms':>10}{'1st req ms':>11}{'cold ms':>9}{'x base':>8}  first answer")
        print(f"{'baseline (boto3 + client)':<32}{'':>10}{'':>11}{baseline_ms:>9.0f}{1.0:>8.2f}")
        with tempfile.TemporaryDirectory() as scratch:
            for logical_id, spec in sorted(specs.items()):
                if args.function and logical_id not in args.function:
                    continue
                event = _first_event(stack, spec, claims)
                if event is None:
                    print(f"{logical_id:<32}  (skipped: no trigger to imitate)")
                    continue
                event_file = Path(scratch) / f"{logical_id}.json"
                event_file.write_text(json.dumps(event), encoding="utf-8")
                argument = {
                    "paths": [str(ROOT / "layers" / "common"), str(spec.code_uri)],
                    "module": spec.module,
                    "handler": spec.function_name,
                    "function": logical_id,
                    "eventFile": str(event_file),
                    "requestId": str(uuid.uuid4()),
                }
                results = []
                for _ in range(args.runs):
                    if str(event.get("triggerSource", "")).startswith("CreateAuthChallenge"):
                        # A new user each run: a first round (claim + SES email), not a Cognito
                        # retry of the previous run's round (which reads the claim and emails nothing).
                        event["userName"] = str(uuid.uuid4())
                        event_file.write_text(json.dumps(event), encoding="utf-8")
                    results.append(_run(_MEASURE, json.dumps(argument), {**environment, **spec.environment}))
                imports = statistics.median(r["import"] for r in results) * 1000
                firsts = statistics.median(r["first"] for r in results) * 1000
                total = statistics.median(r["total"] for r in results) * 1000
                print(
                    f"{logical_id:<32}{imports:>10.0f}{firsts:>11.0f}{total:>9.0f}{total / baseline_ms:>8.2f}"
                    f"  {results[-1]['outcome']}",
                    flush=True,
                )
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
