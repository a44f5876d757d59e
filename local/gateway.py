"""The local API Gateway: template routes -> Lambda proxy events -> handlers, over HTTP.

Behaves like the deployed REST API for what a client can observe: stage prefix (``/v1``), the
Cognito authorizer on protected routes (``401`` with the template's UNAUTHORIZED gateway
response), CORS preflight from the template's ``Cors`` settings, a 10 MB payload limit, ``502``
when a handler crashes or returns a malformed response, and an ``X-Request-Id`` on every answer.
``/_local/*`` paths are served by the local stack itself (outbox, status).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from local.api_events import ApiContext, MalformedResponse, RouteTable, build_event, parse_response
from local.authorizer import CognitoAuthorizer, Unauthorized
from local.cfn import Stack
from local.lambda_runtime import FunctionRuntime
from local.loopback_server import LoopbackServer

log = logging.getLogger("local.gateway")
access_log = logging.getLogger("local.access")

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
PROBLEM_TYPE = "application/problem+json"

LocalHandler = Callable[[str, str, str, bytes], tuple[int, Any] | None]


def _unquote_literal(value: Any) -> str:
    """CloudFormation header values are quoted literals: ``"'GET,POST'"`` -> ``GET,POST``."""
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


@dataclass(frozen=True)
class ApiSettings:
    """What the template says about the API itself."""

    stage: str
    cors: dict[str, str]
    gateway_responses: dict[str, dict[str, Any]]

    @classmethod
    def from_stack(cls, stack: Stack) -> ApiSettings:
        """Read the ``AWS::Serverless::Api`` resource."""
        props: dict[str, Any] = {}
        for resource in stack.of_type("AWS::Serverless::Api").values():
            props = stack.resolve(resource.get("Properties") or {})
        cors = {k: _unquote_literal(v) for k, v in (props.get("Cors") or {}).items()}
        return cls(
            stage=str(props.get("StageName", "v1")), cors=cors, gateway_responses=props.get("GatewayResponses") or {}
        )

    def gateway_response(
        self, kind: str, status: int, request_id: str, default_body: dict[str, Any]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """A response API Gateway generates itself (``UNAUTHORIZED``, ``DEFAULT_4XX``...)."""
        family = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
        spec = self.gateway_responses.get(kind) or self.gateway_responses.get(family) or {}
        headers_spec = ((spec.get("ResponseParameters") or {}).get("Headers")) or {}
        if kind in self.gateway_responses and family in self.gateway_responses:
            inherited = ((self.gateway_responses[family].get("ResponseParameters") or {}).get("Headers")) or {}
            headers_spec = {**inherited, **headers_spec}
        headers = [(name, _unquote_literal(value)) for name, value in headers_spec.items()]
        status = int(spec.get("StatusCode", status))
        template = (spec.get("ResponseTemplates") or {}).get("application/json")
        if template:
            body = str(template).replace("$context.requestId", request_id).encode()
        else:
            body = json.dumps({**default_body, "requestId": request_id}).encode()
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", PROBLEM_TYPE))
        return status, headers, body


def _problem(status: int, title: str, detail: str, code: str) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, "code": code}


class Gateway(LoopbackServer):
    """The HTTP server; one thread per connection, handlers run in-process."""

    def __init__(
        self,
        stack: Stack,
        runtime: FunctionRuntime,
        authorizer: CognitoAuthorizer | None,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        local_handler: LocalHandler | None = None,
    ) -> None:
        self.stack = stack
        self.runtime = runtime
        self.authorizer = authorizer
        self.settings = ApiSettings.from_stack(stack)
        self.routes = RouteTable(stack.routes())
        self.local_handler = local_handler
        api_id = uuid.uuid5(uuid.NAMESPACE_DNS, stack.stack_name).hex[:10]
        self.api = ApiContext(
            account_id=stack.account_id,
            api_id=api_id,
            stage=self.settings.stage,
            domain_name=f"{api_id}.execute-api.{stack.region}.amazonaws.com",
        )
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "portal-local-gateway"
            sys_version = ""

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                gateway.serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

            def __getattr__(self, name: str) -> Any:
                # Any other method (TRACE, QUERY...) reaches the gateway too: an undeclared one is 405.
                if name.startswith("do_"):
                    return self._handle
                raise AttributeError(name)

        super().__init__(Handler, host, port, "gateway")

    # ------------------------------------------------------------------ one request
    def serve(self, request: BaseHTTPRequestHandler) -> None:
        """Answer one HTTP request."""
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        split = urlsplit(request.path)
        method = request.command.upper()
        length_header = request.headers.get("Content-Length")
        try:
            length = int(length_header) if length_header else 0
        except ValueError:
            length = -1
        if request.headers.get("Transfer-Encoding"):
            request.close_connection = True
            status, headers, body = self.settings.gateway_response(
                "LENGTH_REQUIRED",
                411,
                request_id,
                _problem(411, "Length Required", "Send the body with a Content-Length.", "LENGTH_REQUIRED"),
            )
        elif length < 0 or length > MAX_PAYLOAD_BYTES:
            request.close_connection = True
            status, headers, body = self.settings.gateway_response(
                "REQUEST_TOO_LARGE",
                413,
                request_id,
                _problem(413, "Payload Too Large", "The request body exceeds 10 MB.", "PAYLOAD_TOO_LARGE"),
            )
        else:
            raw_body = request.rfile.read(length) if length else b""
            try:
                status, headers, body = self._answer(request, method, split.path, split.query, raw_body, request_id)
            except Exception:  # the gateway itself failed (JWKS unreachable...): API Gateway's 5xx
                log.error("gateway error on %s %s:\n%s", method, split.path, traceback.format_exc().rstrip())
                status, headers, body = self._bad_gateway(request_id)
        self._write(request, method, status, headers, body, request_id)
        access_log.info("%s %s %d %.0f ms", method, split.path, status, (time.monotonic() - started) * 1000)

    def _write(
        self,
        request: BaseHTTPRequestHandler,
        method: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        request_id: str,
    ) -> None:
        request.send_response(status)
        names = {name.lower() for name, _ in headers}
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                request.send_header(name, value)
        if "x-request-id" not in names:
            request.send_header("X-Request-Id", request_id)
        request.send_header("x-amzn-RequestId", request_id)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if method != "HEAD":
            request.wfile.write(body)

    def _answer(
        self,
        request: BaseHTTPRequestHandler,
        method: str,
        raw_path: str,
        query: str,
        body: bytes,
        request_id: str,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if raw_path.startswith("/_local/") and self.local_handler is not None:
            answered = self.local_handler(method, raw_path, query, body)
            if answered is not None:
                status, payload = answered
                return status, [("Content-Type", "application/json")], json.dumps(payload, ensure_ascii=False).encode()
        prefix = f"/{self.settings.stage}"
        path = unquote(raw_path[len(prefix) :]) if raw_path.startswith(prefix + "/") else None
        resource = self.routes.resource_of(path) if path is not None else None
        if path is None or resource is None:
            return self._not_found(request_id)
        if method == "OPTIONS" and self.settings.cors:
            return 200, self._preflight_headers(), b""
        match, allowed = self.routes.match(method, path)
        if match is None:
            status, headers, payload = self.settings.gateway_response(
                "METHOD_NOT_ALLOWED",
                405,
                request_id,
                _problem(405, "Method Not Allowed", f"{method} is not allowed here.", "METHOD_NOT_ALLOWED"),
            )
            return status, [*headers, ("Allow", ", ".join(sorted(set(allowed))))], payload
        claims: dict[str, str] | None = None
        if match.route.authorized:
            try:
                if self.authorizer is None:
                    raise Unauthorized("no user pool")
                claims = self.authorizer.verify(request.headers.get("Authorization"))
            except Unauthorized as refused:
                log.info("401 on %s %s: %s", method, match.route.path, refused)
                return self.settings.gateway_response(
                    "UNAUTHORIZED",
                    401,
                    request_id,
                    _problem(401, "Unauthorized", "Authentication required.", "UNAUTHORIZED"),
                )
        host = request.headers.get("Host", "")
        headers = list(request.headers.items())
        present = {name.lower() for name, _ in headers}
        client_ip = str(request.client_address[0])
        port = str(self.server.server_address[1])
        for name, value in (
            ("X-Forwarded-For", client_ip),
            ("X-Forwarded-Port", port),
            ("X-Forwarded-Proto", "http"),
            ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"),
        ):
            if name.lower() not in present:
                headers.append((name, value))
        api = dataclasses.replace(self.api, domain_name=host.split(":")[0] or self.api.domain_name)
        event = build_event(
            api=api,
            match=match,
            method=method,
            path=path,
            query_string=query,
            headers=headers,
            body=body,
            source_ip=client_ip,
            claims=claims,
            request_id=request_id,
            protocol=request.request_version,
        )
        return self._invoke(match.route.function, event, request_id)

    def _invoke(
        self, function: str, event: dict[str, Any], request_id: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            result = self.runtime.invoke(function, event, request_id=request_id)
            response = parse_response(result)
        except MalformedResponse as malformed:
            log.error("%s returned a malformed proxy response: %s", function, malformed)
            return self._bad_gateway(request_id)
        except Exception:  # a crashing handler: API Gateway answers 502
            log.error("%s failed:\n%s", function, traceback.format_exc().rstrip())
            return self._bad_gateway(request_id)
        return response.status, response.headers, response.body

    def _bad_gateway(self, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
        return self.settings.gateway_response(
            "DEFAULT_5XX",
            502,
            request_id,
            _problem(502, "Bad Gateway", "The service could not process the request.", "BAD_GATEWAY"),
        )

    def _not_found(self, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
        return self.settings.gateway_response(
            "ROUTE_NOT_FOUND",
            404,
            request_id,
            _problem(404, "Not Found", "No such route.", "ROUTE_NOT_FOUND"),
        )

    def _preflight_headers(self) -> list[tuple[str, str]]:
        names = {
            "AllowOrigin": "Access-Control-Allow-Origin",
            "AllowHeaders": "Access-Control-Allow-Headers",
            "AllowMethods": "Access-Control-Allow-Methods",
            "MaxAge": "Access-Control-Max-Age",
            "AllowCredentials": "Access-Control-Allow-Credentials",
        }
        headers = [(names[key], value) for key, value in self.settings.cors.items() if key in names]
        headers.append(("Content-Type", "application/json"))
        return headers
