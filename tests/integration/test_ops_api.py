"""The operations function: health, the OpenAPI document (kept up to date) and Swagger UI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.api_events import ApiContext, RouteTable, build_event
from local.cfn import Stack
from local.lambda_runtime import make_context

ROOT_SPEC = Stack()


def _call(path: str, headers: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    import ops_api

    table = RouteTable(ROOT_SPEC.routes())
    match, _ = table.match("GET", path)
    assert match is not None
    assert match.route.function == "OpsApiFunction"
    event = build_event(
        api=ApiContext("123456789012", "abc", "v1", "abc.execute-api"),
        match=match,
        method="GET",
        path=path,
        query_string="",
        headers=headers or [("Accept", "*/*")],
        body=b"",
        source_ip="203.0.113.1",
        claims=None,
    )
    spec = ROOT_SPEC.functions()["OpsApiFunction"]
    result: dict[str, Any] = ops_api.lambda_handler(event, make_context(ROOT_SPEC, spec))
    return result


def _header(response: dict[str, Any], name: str) -> str:
    """A response header (Powertools answers REST events with ``multiValueHeaders``)."""
    values = (response.get("multiValueHeaders") or {}).get(name) or [(response.get("headers") or {}).get(name)]
    assert values[0] is not None, f"no {name} header"
    return str(values[0])


def test_health_is_public_and_cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    from portal_common.config import get_settings

    monkeypatch.setenv("APP_VERSION", "9.9.9")
    get_settings.cache_clear()
    try:
        response = _call("/health")
    finally:
        get_settings.cache_clear()
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok", "version": "9.9.9"}
    assert _header(response, "X-Request-Id")
    routes = {(r.method, r.path): r for r in ROOT_SPEC.routes()}
    assert routes[("GET", "/health")].authorized is False


def test_openapi_document_is_served_as_committed() -> None:
    from tools.generate_openapi import OUTPUT

    response = _call("/openapi.json")
    assert response["statusCode"] == 200
    assert _header(response, "Content-Type") == "application/json"
    assert json.loads(response["body"]) == json.loads(OUTPUT.read_text(encoding="utf-8"))


def test_swagger_ui_works_offline() -> None:
    response = _call("/docs", headers=[("Accept-Language", "en-CA")])
    assert response["statusCode"] == 200
    assert _header(response, "Content-Type").startswith("text/html")
    page = response["body"]
    assert "SwaggerUIBundle" in page
    assert "https://" not in page.split("<body", 1)[0].replace("https://portail", "")  # no CDN assets
    assert '"openapi": "3.1.0"' in page or '"openapi":"3.1.0"' in page


def test_committed_openapi_document_is_up_to_date() -> None:
    from tools.generate_openapi import OUTPUT, render

    assert render() == OUTPUT.read_text(encoding="utf-8"), "run `make openapi` and commit functions/ops/openapi.json"


def test_openapi_documents_every_route() -> None:
    from tools.generate_openapi import OUTPUT

    document = json.loads(OUTPUT.read_text(encoding="utf-8"))
    hidden = {("GET", "/openapi.json"), ("GET", "/docs")}  # the document and its viewer, on purpose
    for spec in ROOT_SPEC.functions().values():
        for route in spec.routes:
            if (route.method, route.path) in hidden:
                continue
            operation = document["paths"].get(route.path, {}).get(route.method.lower())
            assert operation is not None, f"{route.method} {route.path} is not documented"
            assert bool(operation.get("security")) == route.authorized, f"{route.method} {route.path} security"


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    from tools.generate_openapi import OUTPUT

    document = json.loads(OUTPUT.read_text(encoding="utf-8"))
    return [(method.upper(), path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_openapi_declares_what_each_route_answers_and_nothing_else() -> None:
    """No Powertools 422 (never answered), problems as application/problem+json with the shared
    schema, 401 exactly where template.yaml protects, 415/413 where a body is taken, 204 bodiless."""
    from tools.generate_openapi import OUTPUT

    text = OUTPUT.read_text(encoding="utf-8")
    assert '"422"' not in text
    assert "HTTPValidationError" not in text
    protected = {(r.method, r.path) for r in ROOT_SPEC.routes() if r.authorized}
    for method, path, operation in _operations():
        responses = operation["responses"]
        where = f"{method} {path}"
        assert ("401" in responses) == ((method, path) in protected or path.startswith("/auth/login")
                                        or path == "/auth/token/refresh"), where  # fmt: skip
        assert ("415" in responses) == ("requestBody" in operation), where
        for status, response in responses.items():
            if status >= "400":
                problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
                assert response["content"] == problem, where
            elif status == "204":
                assert "content" not in response, where
            else:
                assert list(response["content"]) == ["application/json"], where
                assert response["content"]["application/json"]["schema"].get("$ref"), f"{where} {status} has no model"
        names = [p.get("name") or p["$ref"] for p in operation["parameters"]]
        assert "#/components/parameters/AcceptLanguage" in names, where


def test_openapi_idempotency_key_and_field_constraints() -> None:
    from tools.generate_openapi import OUTPUT

    document = json.loads(OUTPUT.read_text(encoding="utf-8"))
    post_claim = document["paths"]["/claims"]["post"]
    key = next(p for p in post_claim["parameters"] if p.get("name") == "Idempotency-Key")
    assert key["in"] == "header"
    assert key["required"] is True
    assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (8, 128)
    schemas = document["components"]["schemas"]
    register = schemas["RegisterRequest"]["properties"]
    assert register["email"]["pattern"].startswith("^")
    assert register["password"]["minLength"] == 10
    assert schemas["ConfirmRequest"]["properties"]["code"]["pattern"] == "^[0-9]{6}$"
    assert schemas["Treatment"]["properties"]["amount"]["type"] == "string"
    assert document["paths"]["/auth/register"]["post"]["responses"]["202"]["content"]["application/json"]
    assert set(document["paths"]["/auth/logout"]["post"]["responses"]) == {"204", "400", "401", "413", "415", "429"}
    assert document["paths"]["/health"]["get"]["responses"].keys() == {"200"}
