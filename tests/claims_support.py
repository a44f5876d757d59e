"""Helpers for claims and providers tests: signed-in API Gateway events, receipts, demo data."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# Demo roster certificates (data/roster/demo-roster.csv).
MARIE = ("G1001", "100001")  # PLAN-ESSENTIEL, spouse and two young children
DAVID = ("G1001", "100002")  # PLAN-ESSENTIEL, student child 23, non-student child 22
SOPHIE = ("G2002", "200001")  # PLAN-PLUS, disabled adult child
AHMED = ("G2002", "200002")  # PLAN-PLUS, terminated 2025-06-30
OLIVIA = ("G2002", "200003")  # PLAN-PLUS

PHYSIO_PROVIDER = "PDEMO0000000000000000000001"
DENTIST_PROVIDER = "PDEMO0000000000000000000002"
PDF = b"%PDF-1.7\n% receipt\n" + b"0" * 200


@dataclass
class FakeContext:
    """Enough of a Lambda context for Powertools (logger, idempotency)."""

    function_name: str = "claims-api"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:ca-central-1:123456789012:function:claims-api"
    aws_request_id: str = "req"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def api_event(
    method: str,
    path: str,
    *,
    member: tuple[str, str] | None = MARIE,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    resource: str | None = None,
    path_params: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event as the Cognito authorizer passes it."""
    claims = None
    if member is not None:
        claims = {
            "sub": f"sub-{member[1]}",
            "email": f"{member[1]}@example.ca",
            "custom:contract_number": member[0],
            "custom:participant_number": member[1],
        }
    headers = headers or {}
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": {
            "requestId": f"req-{uuid.uuid4().hex[:8]}",
            "stage": "v1",
            "path": f"/v1{path}",
            "httpMethod": method,
            "authorizer": {"claims": claims} if claims else {},
        },
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def invoke(handler: Any, event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    """Run a handler; ``(status, parsed body, headers)``."""
    response = handler(event, FakeContext())
    headers = {**(response.get("headers") or {})}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = values[0]
    body = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], body, headers


def claims_call(method: str, path: str, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
    """Call the claims function."""
    import claims_api

    return invoke(claims_api.lambda_handler, api_event(method, path, **kwargs))


def providers_call(method: str, path: str, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
    """Call the providers function."""
    import providers_api

    return invoke(providers_api.lambda_handler, api_event(method, path, **kwargs))


_directory: list[list[dict[str, Any]]] = []


def directory_items() -> list[dict[str, Any]]:
    """The generated directory's items, built once per process (the generator is seeded and the
    items depend on nothing else; building them took about 0.07 CPU-s of every test that seeds a
    directory). Callers only read them (``to_item`` makes the DynamoDB items)."""
    from local.seed_providers import directory_items as build

    if not _directory:
        _directory.append(build())
    return _directory[0]


def seed_directory(full: bool = False) -> None:
    """Write the known demo providers (or the whole generated directory) into the providers table."""
    from portal_common.config import get_settings
    from portal_common.dynamo import batch_write, to_item

    if full:
        # The whole directory (2,820 items) goes straight into moto's table (in-process moto, inside
        # the test's mock_aws): the code under test reads it through boto3 as always; only this
        # set-up skips 113 BatchWriteItem round trips through botocore (2.4 CPU-s a test).
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        settings = get_settings()
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings.region]
        for item in directory_items():
            backend.put_item(settings.providers_table, to_item(item))
        return
    demo = [i for i in directory_items() if str(i.get("providerId", "")).startswith("PDEMO")]
    batch_write(get_settings().providers_table, demo)


def s3_event(bucket: str, key: str) -> dict[str, Any]:
    """An S3 ObjectCreated notification."""
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Post",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key}},
            }
        ]
    }


def uploaded_receipt(
    member: tuple[str, str] = MARIE,
    content: bytes = PDF,
    content_type: str = "application/pdf",
    size: int | None = None,
) -> tuple[str, str]:
    """Create a receipt, put its object, run the receipt check: ``(receiptId, status)``."""
    import receipt_check

    from portal_common.aws_clients import client
    from portal_common.config import get_settings

    status, body, _ = claims_call(
        "POST",
        "/receipts",
        member=member,
        body={"fileName": "recu.pdf", "contentType": content_type, "sizeBytes": size or len(content)},
    )
    assert status == 201, body
    receipt_id = body["receiptId"]
    bucket = get_settings().documents_bucket
    client("s3").put_object(Bucket=bucket, Key=f"receipts/{receipt_id}", Body=content, ContentType=content_type)
    receipt_check.lambda_handler(s3_event(bucket, f"receipts/{receipt_id}"), FakeContext())
    _, got, _ = claims_call("GET", f"/receipts/{receipt_id}", member=member)
    return receipt_id, got["status"]


def days_ago(n: int) -> str:
    return (date.today() - timedelta(days=n)).isoformat()


def physio_claim(patient_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid physiotherapy claim body for PLAN-ESSENTIEL or PLAN-PLUS."""
    body: dict[str, Any] = {
        "claimType": "PHYSIOTHERAPY",
        "patientId": patient_id,
        "providerId": PHYSIO_PROVIDER,
        "answers": {"accident": False, "otherCoverage": False},
        "treatments": [{"dateOfService": days_ago(3), "amount": "85.00", "description": "Traitement"}],
        "receiptIds": [],
        "authorization": {"accepted": True},
    }
    body.update(overrides)
    return body


def person_id(member: tuple[str, str], first_name: str) -> str:
    """A demo person's id by first name (through the roster's own id scheme)."""
    from portal_common.members import get_member

    found = get_member(*member)
    assert found is not None
    return next(p.person_id for p in found.persons if p.first_name == first_name)


def submit(body: dict[str, Any], member: tuple[str, str] = MARIE, key: str | None = None, **kw: Any) -> Any:
    """POST /claims with a fresh (or given) idempotency key."""
    headers = {"Idempotency-Key": key or f"key-{uuid.uuid4()}", **kw.pop("headers", {})}
    return claims_call("POST", "/claims", member=member, body=body, headers=headers, **kw)
