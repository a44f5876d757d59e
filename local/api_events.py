"""API Gateway REST API (proxy integration, payload 1.0) events and responses.

:func:`build_event` turns an HTTP request into the event API Gateway sends a Lambda proxy
integration (same keys, same types, same null-when-absent rules), and :func:`parse_response`
turns what the handler returns into status, headers and body the way API Gateway does.
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.cfn import Route

_PARAM = re.compile(r"^\{([A-Za-z0-9_]+)\}$")


def _segment_pattern(segment: str) -> str:
    param = _PARAM.match(segment)
    return f"(?P<{param.group(1)}>[^/]+)" if param else re.escape(segment)


@dataclass(frozen=True)
class RouteMatch:
    """A template route matched by a request path, with its path parameters."""

    route: Route
    path_parameters: dict[str, str]


class RouteTable:
    """The template's routes, matched the way API Gateway does (literal segments win over ``{param}``)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes: list[tuple[re.Pattern[str], Route, int]] = []
        for route in routes:
            pattern = "^" + "/".join(_segment_pattern(part) for part in route.path.split("/")) + "$"
            literal_segments = sum(1 for part in route.path.split("/") if part and not part.startswith("{"))
            self._routes.append((re.compile(pattern), route, literal_segments))
        # More literal segments first: /providers/recent before /providers/{id}.
        self._routes.sort(key=lambda entry: -entry[2])

    def match(self, method: str, path: str) -> tuple[RouteMatch | None, list[str]]:
        """The route for ``method`` and ``path`` (``None`` if none), and the methods the path allows."""
        allowed: list[str] = []
        found: RouteMatch | None = None
        for pattern, route, _ in self._routes:
            matched = pattern.match(path)
            if matched is None:
                continue
            allowed.append(route.method)
            if found is None and route.method == method:
                params = {k: unquote(v) for k, v in matched.groupdict().items()}
                found = RouteMatch(route, params)
        return found, allowed

    def resource_of(self, path: str) -> str | None:
        """The template resource path that ``path`` belongs to (any method)."""
        for pattern, route, _ in self._routes:
            if pattern.match(path):
                return route.path
        return None


@dataclass(frozen=True)
class ApiContext:
    """Fixed facts about the API that go into every event."""

    account_id: str
    api_id: str
    stage: str
    domain_name: str


def _multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value  # API Gateway keeps the last value in the single-value map
        multi.setdefault(name, []).append(value)
    if not multi:
        return None, None
    return single, multi


def encode_body(raw: bytes) -> tuple[str | None, bool]:
    """The event's ``body`` and ``isBase64Encoded``: text as is, anything not UTF-8 in base64."""
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True


def request_time(epoch_ms: int) -> str:
    """``$context.requestTime`` (``04/Mar/2020:19:15:17 +0000``)."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000))


def build_event(
    *,
    api: ApiContext,
    match: RouteMatch,
    method: str,
    path: str,
    query_string: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    claims: dict[str, str] | None,
    request_id: str | None = None,
    protocol: str = "HTTP/1.1",
    now_ms: int | None = None,
) -> dict[str, Any]:
    """The REST proxy event for one request (``path`` without the stage prefix)."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    request_id = request_id or str(uuid.uuid4())
    single_headers, multi_headers = _multi(headers)
    single_query, multi_query = _multi(parse_qsl(query_string, keep_blank_values=True))
    user_agent = next((v for k, v in headers if k.lower() == "user-agent"), None)
    text, is_base64 = encode_body(body)
    context: dict[str, Any] = {
        "accountId": api.account_id,
        "apiId": api.api_id,
        "domainName": api.domain_name,
        "domainPrefix": api.domain_name.split(".", 1)[0],
        "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:12]).decode("ascii"),
        "httpMethod": method,
        "identity": {
            "accessKey": None,
            "accountId": None,
            "apiKey": None,
            "apiKeyId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": source_ip,
            "user": None,
            "userAgent": user_agent,
            "userArn": None,
        },
        "path": f"/{api.stage}{path}",
        "protocol": protocol,
        "requestId": request_id,
        "requestTime": request_time(now_ms),
        "requestTimeEpoch": now_ms,
        "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, match.route.path).hex[:6],
        "resourcePath": match.route.path,
        "stage": api.stage,
    }
    if claims is not None:
        context["authorizer"] = {"claims": claims}
    return {
        "resource": match.route.path,
        "path": path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(match.path_parameters) or None,
        "stageVariables": None,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": is_base64,
    }


@dataclass
class ProxyResponse:
    """What API Gateway sends back for a proxy integration result."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class MalformedResponse(Exception):
    """The handler returned something that is not a proxy integration response (API Gateway: 502)."""


def parse_response(result: Any) -> ProxyResponse:
    """Turn a handler's return value into the HTTP response, as API Gateway does."""
    if not isinstance(result, dict):
        raise MalformedResponse(f"handler returned {type(result).__name__}, not an object")
    allowed = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"}
    unknown = set(result) - allowed
    if unknown:
        raise MalformedResponse(f"unexpected keys in the response: {sorted(unknown)}")
    try:
        status = int(result.get("statusCode", 200))
    except (TypeError, ValueError) as error:
        raise MalformedResponse("statusCode is not an integer") from error
    merged: dict[str, list[str]] = {}
    for name, value in (result.get("headers") or {}).items():
        merged[name] = [str(value)]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if not isinstance(values, list):
            raise MalformedResponse("multiValueHeaders values must be lists")
        # API Gateway merges both maps; values from multiValueHeaders are appended.
        existing = merged.setdefault(name, [])
        existing.extend(str(v) for v in values if str(v) not in existing)
    body = result.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise MalformedResponse("body must be a string")
    elif result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError as error:
            raise MalformedResponse("body is not valid base64") from error
    else:
        raw = body.encode("utf-8")
    headers = [(name, value) for name, values in merged.items() for value in values]
    return ProxyResponse(status=status, headers=headers, body=raw)
