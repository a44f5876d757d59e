"""Pure parts of the local stack: routes, events, responses, filters, claims, e-mails."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local.api_events import (
    ApiContext,
    MalformedResponse,
    RouteTable,
    build_event,
    encode_body,
    parse_response,
    request_time,
)
from local.authorizer import claims_as_gateway_strings
from local.cfn import Route, Stack
from local.event_filter import FilterCriteria, matches
from local.outbox import convert, html_to_text

API = ApiContext(account_id="123456789012", api_id="abc123", stage="v1", domain_name="abc123.execute-api.example")


def test_every_template_route_is_matched_to_its_function() -> None:
    routes = Stack().routes()
    table = RouteTable(routes)
    for route in routes:
        concrete = route.path.replace("{", "").replace("}", "")
        found, _ = table.match(route.method, concrete)
        assert found is not None
        assert found.route == route


def test_literal_route_wins_and_methods_are_reported() -> None:
    table = RouteTable(
        [
            Route("GET", "/drugs/{din}", "D", True),
            Route("GET", "/drugs/{din}/coverage", "C", True),
            Route("POST", "/x", "X", False),
        ]
    )
    found, _ = table.match("GET", "/drugs/02242903/coverage")
    assert found is not None
    assert found.route.function == "C"
    assert found.path_parameters == {"din": "02242903"}
    found, allowed = table.match("GET", "/x")
    assert found is None
    assert allowed == ["POST"]
    assert table.match("GET", "/drugs")[0] is None
    assert table.match("GET", "/drugs/a/b/c")[0] is None


def _event(**overrides: object) -> dict:
    table = RouteTable([Route("POST", "/claims/{claimId}", "F", True)])
    match, _ = table.match("POST", "/claims/C1")
    assert match is not None
    arguments: dict = {
        "api": API,
        "match": match,
        "method": "POST",
        "path": "/claims/C1",
        "query_string": "",
        "headers": [("Content-Type", "application/json"), ("Accept", "a"), ("Accept", "b")],
        "body": b'{"a": 1}',
        "source_ip": "127.0.0.1",
        "claims": {"sub": "s"},
        "request_id": "r-1",
        "now_ms": 1721900400000,
    }
    arguments.update(overrides)
    return build_event(**arguments)


def test_event_nulls_and_multi_values_follow_api_gateway() -> None:
    event = _event()
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["stageVariables"] is None
    assert event["headers"]["Accept"] == "b"
    assert event["multiValueHeaders"]["Accept"] == ["a", "b"]
    assert event["requestContext"]["requestTime"] == "25/Jul/2024:09:40:00 +0000"
    assert event["requestContext"]["requestTimeEpoch"] == 1721900400000
    assert event["requestContext"]["path"] == "/v1/claims/C1"
    assert event["requestContext"]["authorizer"] == {"claims": {"sub": "s"}}
    assert event["requestContext"]["requestId"] == "r-1"
    assert "authorizer" not in _event(claims=None)["requestContext"]


@given(st.binary(max_size=200))
def test_any_body_round_trips(raw: bytes) -> None:
    text, is_base64 = encode_body(raw)
    if not raw:
        assert text is None
        return
    assert text is not None
    assert (base64.b64decode(text) if is_base64 else text.encode("utf-8")) == raw


def test_request_time_format() -> None:
    assert request_time(0) == "01/Jan/1970:00:00:00 +0000"


def test_proxy_response_parsing() -> None:
    response = parse_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-A": "1"},
            "multiValueHeaders": {"X-A": ["1", "2"], "Set-Cookie": ["a", "b"]},
            "body": "{}",
        }
    )
    assert response.status == 201
    assert response.headers == [
        ("Content-Type", "application/json"),
        ("X-A", "1"),
        ("X-A", "2"),
        ("Set-Cookie", "a"),
        ("Set-Cookie", "b"),
    ]
    assert (
        parse_response(
            {"statusCode": 200, "body": base64.b64encode(b"\x00\xff").decode(), "isBase64Encoded": True}
        ).body
        == b"\x00\xff"
    )
    assert parse_response({"statusCode": 204}).body == b""


@pytest.mark.parametrize(
    "result",
    [
        None,
        "text",
        {"statusCode": "abc"},
        {"statusCode": 200, "body": {"a": 1}},
        {"status": 200},
        {"statusCode": 200, "body": "*", "isBase64Encoded": True},
    ],
)
def test_malformed_responses_are_rejected(result: object) -> None:
    with pytest.raises(MalformedResponse):
        parse_response(result)


def test_the_template_stream_filter() -> None:
    template_filter = Stack().functions()["ClaimStreamPublisherFunction"].sources[0].properties["FilterCriteria"]
    criteria = FilterCriteria(template_filter)
    claim = {"eventName": "INSERT", "dynamodb": {"NewImage": {"entityType": {"S": "CLAIM"}}}}
    assert criteria.accepts(claim)
    assert not criteria.accepts({**claim, "eventName": "MODIFY"})
    assert not criteria.accepts({"eventName": "INSERT", "dynamodb": {"NewImage": {"entityType": {"S": "RECEIPT"}}}})
    assert not criteria.accepts({"eventName": "REMOVE", "dynamodb": {"OldImage": {"entityType": {"S": "CLAIM"}}}})
    assert FilterCriteria(None).accepts({"anything": 1})


def test_content_filters() -> None:
    record = {"a": "claims/1", "n": 5, "flag": True, "list": ["x", "y"], "z": None}
    assert matches({"a": [{"prefix": "claims/"}]}, record)
    assert not matches({"a": [{"prefix": "receipts/"}]}, record)
    assert matches({"a": [{"suffix": "/1"}]}, record)
    assert matches({"a": [{"equals-ignore-case": "CLAIMS/1"}]}, record)
    assert matches({"a": [{"anything-but": ["b"]}]}, record)
    assert not matches({"a": [{"anything-but": {"prefix": "claims"}}]}, record)
    assert matches({"n": [{"numeric": [">", 1, "<=", 5]}]}, record)
    assert not matches({"n": [{"numeric": [">", 5]}]}, record)
    assert matches({"missing": [{"exists": False}]}, record)
    assert not matches({"a": [{"exists": False}]}, record)
    assert matches({"flag": [True]}, record)
    assert not matches({"n": ["5"]}, record)  # types matter
    assert matches({"list": ["y"]}, record)
    assert matches({"z": [None]}, record)
    with pytest.raises(ValueError, match="unsupported"):
        matches({"a": [{"wildcard": "*"}]}, record)


def test_claims_become_api_gateway_strings() -> None:
    claims = claims_as_gateway_strings(
        {
            "sub": "s",
            "exp": 1721900400,
            "iat": 1721898600,
            "auth_time": 1721898600,
            "email_verified": True,
            "groups": ["a", "b"],
        }
    )
    assert claims == {
        "sub": "s",
        "exp": "Thu Jul 25 09:40:00 UTC 2024",
        "iat": "Thu Jul 25 09:10:00 UTC 2024",
        "auth_time": "1721898600",
        "email_verified": "true",
        "groups": "a,b",
    }


def test_outbox_conversion_of_every_moto_message_kind() -> None:
    plain = SimpleNamespace(
        subject="Code", body="Votre code : 123456", destinations={"ToAddresses": ["a@x.ca"], "CcAddresses": ["b@x.ca"]}
    )
    items = convert(plain, "2024-01-01T00:00:00.000Z")
    assert [i.to for i in items] == ["a@x.ca", "b@x.ca"]
    assert items[0].text == "Votre code : 123456"
    assert items[0].html is None
    html = SimpleNamespace(
        subject="S",
        body="<html><body><p>Bonjour&nbsp;Marie</p><p>Code <b>1</b></p></body></html>",
        destinations={"ToAddresses": ["a@x.ca"]},
    )
    item = convert(html, "t")[0]
    assert item.text == "Bonjour Marie\nCode 1"  # whitespace (the nbsp too) normalized
    assert item.html is not None
    raw = (
        "From: s@x.ca\r\nTo: c@x.ca\r\nSubject: =?utf-8?q?R=C3=A9initialisation?=\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Texte\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML</p>\r\n--b--\r\n"
    )
    item = convert(SimpleNamespace(raw_data=raw, destinations=["c@x.ca"]), "t")[0]
    assert item.subject == "Réinitialisation"
    assert item.text.strip() == "Texte"
    assert item.html is not None
    assert "HTML" in item.html
    assert json.dumps(item.as_json())
    assert html_to_text("a<br>b") == "a\nb"
    page = "<html><head><title>T</title><style>p {}</style></head><body><h1>Titre</h1><p>Code : 123</p></body></html>"
    assert html_to_text(page) == "Titre\nCode : 123"


def test_the_stacks_http_servers_answer_without_nagles_delay() -> None:
    """The gateway and the Cognito front answer through ``LoopbackServer``: each connection has
    TCP_NODELAY, or the body of every kept-alive answer waited 40 ms for the headers' delayed ACK."""
    import http.client
    import socket
    from http.server import BaseHTTPRequestHandler

    from local.loopback_server import LoopbackServer

    seen: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = LoopbackServer(Handler, "127.0.0.1", 0, "nodelay-test")
    server.start()
    try:
        host, port = server.server.server_address[:2]
        connection = http.client.HTTPConnection(str(host), int(port), timeout=5)
        connection.request("GET", "/")
        assert connection.getresponse().read() == b"ok"
        connection.close()
    finally:
        server.stop()
    assert len(seen) == 1
    assert seen[0] != 0
