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
