"""The local gateway over HTTP: routes, the Cognito authorizer, events, errors, CORS."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.localstack_testkit import LocalParts, local_parts

SAMPLE = Path(__file__).resolve().parents[1] / "events" / "apigw_rest_proxy_event.json"


@pytest.fixture
def parts(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalParts]:
    with local_parts(monkeypatch, start_pollers=False) as running:
        yield running


def _echo(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()["event"]
    return event


_DATA_MAPS = (
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "claims",
)


def _shape(value: Any, path: str = "$") -> dict[str, str]:
    """Every key path with its JSON type; maps whose keys are data (headers, parameters, claims)
    contribute the types of their values instead of their keys."""
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}

    def kind(inner: Any) -> str:
        if isinstance(inner, list):
            return "array of " + "|".join(sorted({kind(v) for v in inner}))
        return "null" if inner is None else kinds[type(inner)]

    shape = {path: kind(value)}
    if isinstance(value, dict):
        if path.rsplit(".", 1)[-1] in _DATA_MAPS:
            shape[f"{path}.*"] = "|".join(sorted({kind(v) for v in value.values()}))
        else:
            for key, inner in value.items():
                shape.update(_shape(inner, f"{path}.{key}"))
    return shape


def test_event_has_the_shape_of_a_real_api_gateway_event(parts: LocalParts) -> None:
    sample = json.loads(SAMPLE.read_text())
    token = parts.token()
    event = _echo(
        requests.get(
            f"{parts.url}/v1/echo/CLM-0001?lang=fr",
            headers={"Authorization": token, "Accept-Language": "fr-CA", "User-Agent": "tests/1.0"},
            timeout=10,
        )
    )
    assert _shape(event) == _shape(sample)
    assert event["pathParameters"] == {"itemId": "CLM-0001"}
    assert event["resource"] == event["requestContext"]["resourcePath"] == "/echo/{itemId}"
    assert set(event["requestContext"]["authorizer"]["claims"]) >= {"sub", "aud", "iss", "token_use", "exp"}
    assert all(isinstance(v, str) for v in event["requestContext"]["authorizer"]["claims"].values())
    assert set(event["multiValueHeaders"]) == set(event["headers"])


def test_event_values_follow_api_gateway(parts: LocalParts) -> None:
    event = _echo(
        requests.get(
            f"{parts.url}/v1/public/ab%20c?x=1&x=2&y=",
            headers={"User-Agent": "tests/1.0", "X-Custom": "v"},
            timeout=10,
        )
    )
    assert event["resource"] == "/public/{itemId}"
    assert event["path"] == "/public/ab c"
    assert event["pathParameters"] == {"itemId": "ab c"}
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["headers"]["X-Custom"] == "v"
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["path"] == "/v1/public/ab c"
    assert context["stage"] == "v1"
    assert context["resourcePath"] == "/public/{itemId}"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "tests/1.0"
    assert abs(context["requestTimeEpoch"] / 1000 - time.time()) < 60
    assert "authorizer" not in context  # public route: no authorizer ran


def test_literal_segment_wins_over_a_path_parameter(parts: LocalParts) -> None:
    event = _echo(requests.get(f"{parts.url}/v1/public/recent", timeout=10))
    assert event["resource"] == "/public/recent"
    assert event["pathParameters"] is None


def test_binary_body_is_base64_and_text_body_is_kept(parts: LocalParts) -> None:
    token = parts.token()
    binary = bytes([0xFF, 0xD8, 0xFF, 0x00, 0x10])
    event = _echo(requests.post(f"{parts.url}/v1/echo", data=binary, headers={"Authorization": token}, timeout=10))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == binary
    event = _echo(requests.post(f"{parts.url}/v1/echo", json={"a": "é"}, headers={"Authorization": token}, timeout=10))
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"a": "é"}


def test_response_headers_and_request_id(parts: LocalParts) -> None:
    response = requests.get(f"{parts.url}/v1/public/1", timeout=10)
    assert response.headers["X-Request-Id"] == response.json()["event"]["requestContext"]["requestId"]
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert 0 < response.json()["remaining"] <= 5000


def test_valid_token_is_accepted_with_bearer_or_without(parts: LocalParts) -> None:
    token = parts.token()
    for header in (token, f"Bearer {token}"):
        event = _echo(requests.get(f"{parts.url}/v1/echo", headers={"Authorization": header}, timeout=10))
        claims = event["requestContext"]["authorizer"]["claims"]
        assert claims["email"] == "marie.tremblay@example.ca"
        assert claims["custom:contract_number"] == "G1001"
        assert claims["token_use"] == "id"


def _assert_unauthorized(response: requests.Response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "UNAUTHORIZED"
    assert body["status"] == 401
    assert body["requestId"] == response.headers["X-Request-Id"]
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Access-Control-Allow-Origin"] == "https://portail.example.ca"


def test_missing_garbage_and_tampered_tokens_are_refused(parts: LocalParts) -> None:
    token = parts.token()
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["custom:participant_number"] = "100002"  # impersonate another member
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    bad_signature = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
    for value in (
        None,
        "",
        "Bearer",
        "garbage",
        "a.b.c",
        f"{header}.{forged_payload}.{signature}",
        f"{header}.{payload}.{bad_signature}",
    ):
        headers = {} if value is None else {"Authorization": value}
        _assert_unauthorized(requests.get(f"{parts.url}/v1/echo", headers=headers, timeout=10))
    assert not any(kind == "api" for kind, _ in __import__("localstack_echo").RECEIVED)


def test_expired_token_is_refused(parts: LocalParts) -> None:
    token = parts.token()
    # moto's ID tokens live one hour: two hours later this one has expired.
    parts.gateway.authorizer._now = lambda: time.time() + 2 * 3600
    _assert_unauthorized(requests.get(f"{parts.url}/v1/echo", headers={"Authorization": token}, timeout=10))


def test_token_of_another_app_client_or_pool_is_refused(parts: LocalParts) -> None:
    import boto3

    cognito = boto3.client("cognito-idp", region_name=parts.stack.region)
    pool = parts.stack.name("UserPool")
    other_client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="other")["UserPoolClient"]["ClientId"]
    _assert_unauthorized(
        requests.get(f"{parts.url}/v1/echo", headers={"Authorization": parts.token(client_id=other_client)}, timeout=10)
    )
    # moto signs every pool's tokens with the same key: only the issuer check can refuse this one.
    other_pool = cognito.create_user_pool(PoolName="other", UsernameAttributes=["email"])["UserPool"]["Id"]
    client = cognito.create_user_pool_client(UserPoolId=other_pool, ClientName="c")["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=other_pool, Username="x@example.ca", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(
        UserPoolId=other_pool, Username="x@example.ca", Password="Valid-Pass123", Permanent=True
    )
    foreign = cognito.admin_initiate_auth(
        UserPoolId=other_pool,
        ClientId=client,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "x@example.ca", "PASSWORD": "Valid-Pass123"},
    )["AuthenticationResult"]
    # Same audience as ours is impossible to forge without the key; an access token is not an ID token either.
    _assert_unauthorized(
        requests.get(f"{parts.url}/v1/echo", headers={"Authorization": foreign["IdToken"]}, timeout=10)
    )
    access = cognito.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=parts.stack.name("UserPoolClient"),
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "marie.tremblay@example.ca", "PASSWORD": "Valid-Pass123"},
    )["AuthenticationResult"]["AccessToken"]
    _assert_unauthorized(requests.get(f"{parts.url}/v1/echo", headers={"Authorization": access}, timeout=10))


def test_health_route_of_the_ops_function(parts: LocalParts) -> None:
    response = requests.get(f"{parts.url}/v1/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": "1.0.0"}


def test_cors_preflight_follows_the_template(parts: LocalParts) -> None:
    response = requests.options(
        f"{parts.url}/v1/echo",
        headers={"Origin": "https://portail.example.ca", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://portail.example.ca"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,OPTIONS"
    assert "Idempotency-Key" in response.headers["Access-Control-Allow-Headers"]
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert not any(kind == "api" for kind, _ in __import__("localstack_echo").RECEIVED)


def test_unknown_routes_methods_and_stages(parts: LocalParts) -> None:
    for path in ("/v1/nothing-here", "/v2/health", "/health", "/v1"):
        response = requests.get(f"{parts.url}{path}", timeout=10)
        assert response.status_code == 404, path
        assert response.json()["code"] == "ROUTE_NOT_FOUND"
        assert response.headers["X-Request-Id"]
    response = requests.delete(f"{parts.url}/v1/health", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_crashing_or_malformed_handler_is_a_502(parts: LocalParts, caplog: pytest.LogCaptureFixture) -> None:
    for path in ("/v1/crash", "/v1/malformed"):
        response = requests.get(f"{parts.url}{path}", timeout=10)
        assert response.status_code == 502
        assert response.json()["status"] == 502
        assert response.headers["X-Request-Id"]
    assert "RuntimeError: boom" in caplog.text


def test_payload_over_10_mb_is_refused_before_the_handler(parts: LocalParts) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", parts.gateway.server.server_address[1], timeout=10)
    connection.putrequest("POST", "/v1/public/1")
    connection.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["code"] == "PAYLOAD_TOO_LARGE"
    connection.close()


def test_a_handler_that_cannot_be_imported_is_a_502_not_a_dead_stack(
    parts: LocalParts, caplog: pytest.LogCaptureFixture
) -> None:
    assert parts.runtime.available("BrokenFunction") is False
    assert "does_not_exist" in caplog.text
    response = requests.get(f"{parts.url}/v1/broken", timeout=10)
    assert response.status_code == 502
    assert requests.get(f"{parts.url}/v1/health", timeout=10).status_code == 200
