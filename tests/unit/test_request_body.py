"""Bad bytes never reach a route: crafted API Gateway REST events through ``create_app``."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import Field

from portal_common.api import create_app
from portal_common.log import get_logger
from portal_common.models import InputModel
from portal_common.request_body import is_json_media_type, parse_json

app = create_app(get_logger("request-body-test"))


class Body(InputModel):
    name: str
    answers: dict[str, Any] = Field(default_factory=dict)


@app.post("/things")
def create_thing(body: Body) -> dict[str, Any]:
    return {"name": body.name, "answers": body.answers}


@app.post("/optional")
def optional_body() -> dict[str, Any]:
    return {"json": app.current_event.json_body}


@app.get("/header")
def read_header(x_thing: Annotated[str, Header(alias="X-Thing")] = "none") -> dict[str, Any]:
    return {"thing": x_thing}


def event(
    body: str | None,
    headers: dict[str, str] | None,
    *,
    base64_encoded: bool = False,
    path: str = "/things",
    method: str = "POST",
) -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} if headers is not None else None,
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"requestId": "req-9", "stage": "v1", "path": f"/v1{path}", "httpMethod": method},
        "body": body,
        "isBase64Encoded": base64_encoded,
    }


def call(evt: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = app.resolve(evt, None)  # type: ignore[arg-type]
    headers = {**response.get("headers", {}), **{k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()}}
    return response["statusCode"], json.loads(response["body"]), headers


GOOD = json.dumps({"name": "Zoé"})


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "APPLICATION/JSON",
        "Application/Json; charset=UTF-8",
        'application/json;charset="utf-8"',
        "application/json ; Charset=utf8",
    ],
)
def test_json_media_types_any_case(content_type: str) -> None:
    status, body, _ = call(event(GOOD, {"cOnTeNt-TyPe": content_type}))
    assert (status, body) == (200, {"name": "Zoé", "answers": {}})


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/xml",
        "multipart/form-data",
        "multipart/form-data; boundary=----x",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "application/json; version=2",
        "application/jsonx",
        "",
    ],
)
def test_other_media_types_are_415_in_both_languages(content_type: str) -> None:
    status, body, headers = call(event(GOOD, {"Content-Type": content_type}))
    assert status == 415
    assert body["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert body["title"] == "Type de contenu non pris en charge"
    assert headers["Content-Type"] == "application/problem+json"
    assert body["requestId"] == "req-9"
    status, body, _ = call(event(GOOD, {"content-type": content_type, "accept-language": "en-CA"}))
    assert (status, body["title"]) == (415, "Unsupported media type")


def test_multipart_without_boundary_is_415_not_500() -> None:
    raw = "--x\r\nContent-Disposition: form-data; name=name\r\n\r\nZoé\r\n--x--\r\n"
    status, body, _ = call(event(raw, {"Content-Type": "multipart/form-data"}))
    assert (status, body["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


def _field_code(evt: dict[str, Any]) -> tuple[int, str, str]:
    status, body, _ = call(evt)
    return status, body["code"], body["errors"][0]["code"]


@pytest.mark.parametrize(
    ("raw", "field_code"),
    [
        ("{", "MALFORMED_JSON"),
        ("{'name': 'x'}", "MALFORMED_JSON"),
        ('{"name": NaN', "MALFORMED_JSON"),
        ('{"name": "x", "answers": {"n": ' + "9" * 4301 + "}}", "NUMBER_TOO_LONG"),
        ('{"name": "x", "answers": {"n": -' + "1" * 5000 + "}}", "NUMBER_TOO_LONG"),
        ('{"name": "x", "answers": {"n": ' + "[" * 1000 + "]" * 1000 + "}}", "TOO_DEEP"),
        ('{"name": "x", "answers": {"n": ' + "[" * 100_000 + "]" * 100_000 + "}}", "TOO_DEEP"),
        ('{"name": "x", "answers": ' + '{"a":' * 20 + "1" + "}" * 20 + "}", "TOO_DEEP"),
    ],
)
def test_bad_json_is_400(raw: str, field_code: str) -> None:
    assert _field_code(event(raw, {"Content-Type": "application/json"})) == (400, "VALIDATION_FAILED", field_code)


def test_numbers_of_4300_digits_and_moderate_nesting_still_parse() -> None:
    nested = '{"a":' * 10 + "1" + "}" * 10
    raw = '{"name": "x", "answers": {"n": ' + "9" * 4300 + ', "deep": ' + nested + "}}"
    status, body, _ = call(event(raw, {"Content-Type": "application/json"}))
    assert status == 200
    assert body["answers"]["deep"]["a"]["a"]


def test_body_that_is_not_utf8() -> None:
    raw = base64.b64encode(b'{"name": "Zo\xe9"}').decode()
    evt = event(raw, {"Content-Type": "application/json"}, base64_encoded=True)
    assert _field_code(evt) == (400, "VALIDATION_FAILED", "NOT_UTF8")
    # A text body carrying undecodable bytes as surrogates (how a lenient gateway passes them).
    evt = event('{"name": "Zo\udce9"}', {"Content-Type": "application/json"})
    assert _field_code(evt) == (400, "VALIDATION_FAILED", "NOT_UTF8")


def test_base64_encoded_bodies_are_decoded() -> None:
    raw = base64.b64encode(GOOD.encode()).decode()
    status, body, _ = call(event(raw, {"Content-Type": "application/json"}, base64_encoded=True))
    assert (status, body["name"]) == (200, "Zoé")
    evt = event("not base64!!", {"Content-Type": "application/json"}, base64_encoded=True)
    assert _field_code(evt) == (400, "VALIDATION_FAILED", "MALFORMED_JSON")


def test_missing_headers_and_null_body() -> None:
    # No headers at all (API Gateway sends null): a JSON body is read as JSON.
    status, body, _ = call(event(GOOD, None))
    assert (status, body["name"]) == (200, "Zoé")
    # Null or blank body on a route that needs one: the body is required, not a crash.
    for raw in (None, "", "   "):
        status, body, _ = call(event(raw, None))
        assert (status, body["code"]) == (400, "VALIDATION_FAILED")
    # A route whose body is optional sees None, whatever the content type.
    status, body, _ = call(event(None, {"Content-Type": "text/plain"}, path="/optional"))
    assert (status, body) == (200, {"json": None})
    status, body, _ = call(event('{"a": 1}', {"content-type": "application/json"}, path="/optional"))
    assert (status, body) == (200, {"json": {"a": 1}})


def test_header_case_variations_reach_the_route() -> None:
    status, body, _ = call(event(None, {"x-thing": "a"}, path="/header", method="GET"))
    assert (status, body) == (200, {"thing": "a"})


def test_json_body_is_not_an_object() -> None:
    for raw in ("[]", '"x"', "1", "null"):
        status, body, _ = call(event(raw, {"Content-Type": "application/json"}))
        assert (status, body["code"]) == (400, "VALIDATION_FAILED"), raw


def test_helpers() -> None:
    assert is_json_media_type(None)
    assert not is_json_media_type("text/json")
    assert parse_json('{"a": [1, 2]}') == {"a": [1, 2]}
