"""The resolver every HTTP function uses: validation, problems, headers, languages."""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from portal_common.api import create_app, field_path
from portal_common.log import get_logger
from portal_common.models import InputModel, IsoDate, PositiveMoney
from portal_common.problems import NotFound

app = create_app(get_logger("resolver-test"))


class Treatment(InputModel):
    date_of_service: IsoDate
    amount: PositiveMoney


class Body(InputModel):
    claim_type: str
    treatments: list[Treatment]


@app.post("/things")
def create_thing(body: Body) -> dict[str, Any]:
    return {"count": len(body.treatments)}


@app.get("/things/<thing_id>")
def get_thing(thing_id: str) -> dict[str, Any]:
    raise NotFound()


@app.get("/boom")
def boom() -> dict[str, Any]:
    raise RuntimeError("secret detail that must not leak")


@app.get("/paged")
def paged(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, Any]:
    return {"limit": limit}


def event(
    method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, query: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers or {},
        "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"requestId": "req-123", "stage": "v1", "path": f"/v1{path}", "httpMethod": method},
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def call(*args: Any, **kwargs: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = app.resolve(event(*args, **kwargs), None)  # type: ignore[arg-type]
    headers = {**response.get("headers", {}), **{k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()}}
    return response["statusCode"], json.loads(response["body"]), headers


def test_valid_body() -> None:
    status, body, headers = call(
        "POST", "/things", {"claimType": "X", "treatments": [{"dateOfService": "2026-01-02", "amount": "10.00"}]}
    )
    assert (status, body) == (200, {"count": 1})
    assert headers["X-Request-Id"] == "req-123"


def test_field_errors_have_contract_paths_and_language() -> None:
    payload = {
        "claimType": "X",
        "treatments": [
            {"dateOfService": "2026-01-02", "amount": "10.00"},
            {"dateOfService": "2026-13-01", "amount": 10.5},
        ],
        "bogus": 1,
    }
    status, body, headers = call("POST", "/things", payload, headers={"Accept-Language": "en-CA"})
    assert status == 400
    assert body["code"] == "VALIDATION_FAILED"
    assert body["title"] == "Invalid data"
    fields = {(e["field"], e["code"]) for e in body["errors"]}
    assert ("treatments[1].dateOfService", "INVALID_DATE") in fields
    assert ("treatments[1].amount", "INVALID_AMOUNT") in fields
    assert ("bogus", "UNKNOWN_FIELD") in fields
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["Content-Language"] == "en-CA"


def test_malformed_json_is_a_400() -> None:
    status, body, _ = call("POST", "/things", "{not json")
    assert status == 400
    assert body["code"] == "VALIDATION_FAILED"
    status, body, _ = call("POST", "/things", None)
    assert status == 400


def test_not_found_and_unknown_route_in_french_by_default() -> None:
    status, body, _ = call("GET", "/things/abc")
    assert (status, body["code"], body["title"]) == (404, "NOT_FOUND", "Introuvable")
    status, body, _ = call("GET", "/nowhere")
    assert (status, body["code"]) == (404, "ROUTE_NOT_FOUND")


def test_crash_is_a_500_problem_without_details() -> None:
    status, body, _ = call("GET", "/boom")
    assert status == 500
    assert body["code"] == "INTERNAL_ERROR"
    assert "secret detail" not in json.dumps(body)


def test_query_limits() -> None:
    assert call("GET", "/paged", query={"limit": "5"})[1] == {"limit": 5}
    status, body, _ = call("GET", "/paged", query={"limit": "500"})
    assert status == 400
    assert body["errors"][0]["field"] == "limit"
    status, body, _ = call("GET", "/paged", query={"limit": "abc"})
    assert status == 400


def test_field_path() -> None:
    assert field_path(("body", "treatments", 1, "amount")) == "treatments[1].amount"
    assert field_path(("query", "limit")) == "limit"
    assert field_path(("body",)) == "body"
