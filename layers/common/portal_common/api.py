"""The one way HTTP functions are built: a Powertools REST resolver with our error handling.

``create_app()`` returns an ``APIGatewayRestResolver`` with pydantic validation on, whose exception
handlers render every failure as an RFC 9457 problem in the caller's language:

- a body that is not UTF-8 or not JSON within bounds -> ``400 VALIDATION_FAILED``, one sent with a
  media type other than ``application/json`` -> ``415 UNSUPPORTED_MEDIA_TYPE``
  (:mod:`portal_common.request_body`, before any route or validation runs);
- pydantic / request validation errors -> ``400 VALIDATION_FAILED`` with one entry per bad field;
- :class:`~portal_common.problems.DomainError` -> its own status and code;
- an unknown route -> ``404 NOT_FOUND``; anything else -> ``500 INTERNAL_ERROR`` (logged, no details).

Every response carries ``X-Request-Id`` and ``Content-Language``.

A function with several route groups (one ``Router`` module each) names them with ``route_groups``:
each group's module is imported, and its router included, on the first request whose path is
under one of the group's prefixes (:class:`PortalResolver`), so a cold ``GET /v1/me`` does not
import the claim submission models. The OpenAPI document still sees every route.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.types import EventHandlerInstance
from aws_lambda_powertools.shared.json_encoder import Encoder

from portal_common.config import get_settings
from portal_common.i18n import negotiate
from portal_common.models import OutputModel
from portal_common.problems import PROBLEM_CONTENT_TYPE, DomainError, FieldError, ValidationFailed
from portal_common.request_body import screen

# pydantic error types -> our stable field error codes (the catalogue has a message for each).
_PYDANTIC_CODES = {
    "missing": "REQUIRED",
    "json_invalid": "MALFORMED_JSON",
    "model_attributes_type": "INVALID_TYPE",
    "dict_type": "INVALID_TYPE",
    "list_type": "INVALID_TYPE",
    "string_type": "INVALID_TYPE",
    "int_type": "INVALID_TYPE",
    "int_parsing": "INVALID_TYPE",
    "int_from_float": "INVALID_TYPE",
    "float_type": "INVALID_TYPE",
    "float_parsing": "INVALID_TYPE",
    "bool_type": "INVALID_TYPE",
    "bool_parsing": "INVALID_TYPE",
    "decimal_type": "INVALID_TYPE",
    "decimal_parsing": "INVALID_TYPE",
    "date_type": "INVALID_DATE",
    "date_parsing": "INVALID_DATE",
    "date_from_datetime_parsing": "INVALID_DATE",
    "date_from_datetime_inexact": "INVALID_DATE",
    "datetime_parsing": "INVALID_DATE",
    "string_too_short": "TOO_SHORT",
    "string_too_long": "TOO_LONG",
    "too_short": "TOO_FEW",
    "too_long": "TOO_MANY",
    "greater_than": "OUT_OF_RANGE",
    "greater_than_equal": "OUT_OF_RANGE",
    "less_than": "OUT_OF_RANGE",
    "less_than_equal": "OUT_OF_RANGE",
    "string_pattern_mismatch": "INVALID_FORMAT",
    "literal_error": "NOT_ALLOWED",
    "enum": "NOT_ALLOWED",
    "extra_forbidden": "UNKNOWN_FIELD",
    "value_error": "INVALID",
    "decimal_max_digits": "INVALID_AMOUNT",
    "decimal_max_places": "INVALID_AMOUNT",
    "decimal_whole_digits": "INVALID_AMOUNT",
}
_SAFE_CTX = ("min_length", "max_length", "ge", "gt", "le", "lt", "expected", "limit_value")


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "treatments", 1, "amount")`` -> ``treatments[1].amount``."""
    parts = list(loc)
    if len(parts) == 2 and parts[0] in ("header", "headers"):
        # Powertools reports header names lower-cased: say them as the contract spells them.
        return "-".join(word.capitalize() for word in str(parts[1]).split("-"))
    if parts and parts[0] in ("body", "query", "path", "header", "headers", "cookie"):
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith(("function-", "tagged-union")):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def field_errors_from_pydantic(errors: list[dict[str, Any]]) -> list[FieldError]:
    """Translate pydantic's error list into our field errors (custom error types pass through)."""
    out: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for error in errors:
        kind = str(error.get("type", "value_error"))
        code = _PYDANTIC_CODES.get(kind) or (kind if kind.isupper() else "INVALID")
        ctx = error.get("ctx") or {}
        params = {k: str(ctx[k]) for k in _SAFE_CTX if k in ctx}
        path = field_path(error.get("loc", ()))
        if (path, code) in seen:
            continue
        seen.add((path, code))
        out.append(FieldError(path, code, params))
    return out


def request_language(app: BaseRouter) -> str:
    """fr-CA or en-CA for the current request."""
    headers = app.current_event.headers or {}
    value = next((v for k, v in headers.items() if k.lower() == "accept-language"), None)
    return negotiate(value)


def request_id(app: BaseRouter) -> str | None:
    """API Gateway's request id of the current request."""
    context = app.current_event.raw_event.get("requestContext") or {}
    return context.get("requestId")


def answer(model: type[OutputModel], status: int = 200, description: str = "OK") -> dict[int, Any]:
    """A route's ``responses=`` entry: ``status`` answers a body of ``model`` (OpenAPI document)."""
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}


# What each problem status means, as the OpenAPI document says it (codes in the contract).
PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid input: VALIDATION_FAILED (one entry per bad field) or the route's own code",
    401: "Missing or invalid ID token, or the route's own sign-in refusal",
    403: "Refused for the state of the caller's own account",
    404: "Not found, or not the caller's (never 403)",
    409: "Conflict with the current state",
    413: "The request body exceeds 10 MB (API Gateway)",
    415: "UNSUPPORTED_MEDIA_TYPE: send the body as application/json (UTF-8)",
    429: "TOO_MANY_REQUESTS: wait Retry-After seconds",
}
PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"


def problems(*statuses: int, **descriptions: str) -> dict[int, Any]:
    """The problems a route can answer, for its ``responses=`` (OpenAPI document).

    ``responses={**answer(ClaimCreated, 201), **problems(404, 409)}``. Name only what the route
    itself raises: ``tools/generate_openapi`` adds what every route of a kind answers (``400`` when
    it takes input, ``415``/``413`` when it takes a body, ``401`` when template.yaml protects it).
    A code's own wording: ``problems(409, d409="IDEMPOTENCY_KEY_REUSED")``.
    """
    out: dict[int, Any] = {}
    for status in statuses:
        response: dict[str, Any] = {
            "description": descriptions.get(f"d{status}", PROBLEM_DESCRIPTIONS[status]),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
        if status == 429:
            response["headers"] = {
                "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}
            }
        out[status] = response
    return out


def no_content(description: str) -> dict[int, Any]:
    """A ``204`` answer (no body) for ``responses=``."""
    return {204: {"description": description, "content": {}}}


def to_json(body: Any) -> str:
    """Every body the API sends: compact JSON, UTF-8 as is (French reads as French on the wire)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), cls=Encoder)


def problem_response(app: BaseRouter, error: DomainError) -> Response[str]:
    """Render ``error`` for the current request."""
    lang = request_language(app)
    rid = request_id(app)
    body = error.to_problem(lang, rid)
    # Exception handlers run outside the middleware chain: set the common headers here too.
    headers = {**error.headers, "Content-Language": lang, "Cache-Control": "no-store"}
    if rid:
        headers["X-Request-Id"] = rid
    return Response(
        status_code=error.status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=to_json(body),
        headers=headers,
    )


def respond(model: OutputModel | None, status: int, headers: dict[str, str] | None = None) -> Response[str]:
    """An answer other than ``200`` with a model body (``201``, ``202``), or no body (``204``).

    A ``200`` route returns its output model and Powertools serializes it; this is the one helper
    for the other statuses, so every body is an output model rendered the same way.
    """
    if model is None:
        return Response(status_code=status, body="", headers=headers or {})
    return Response(
        status_code=status,
        content_type="application/json",
        body=to_json(model.model_dump(mode="json", by_alias=True)),
        headers=headers or {},
    )


def _common_headers(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    response = next_middleware(app)
    rid = request_id(app)
    if rid:
        response.headers["X-Request-Id"] = rid
    response.headers.setdefault("Content-Language", request_language(app))
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


class PortalResolver(APIGatewayRestResolver):
    """The REST resolver of ``create_app``, whose route groups are imported on first use.

    ``route_groups`` maps a router module (``"claim_routes_api"``, which defines ``router``) to the
    path prefixes of its routes (``("/claims",)``), in the order the routers would be included. A
    request first imports and includes the groups its path is under (once per process; the rest
    of the request is Powertools' own routing, validation and error handling), so a cold start pays
    only for the group it serves. A path under no group is the resolver's ``404`` as before.
    :meth:`get_openapi_schema` includes every group first: the document lists every route. The
    prefixes of two groups never overlap, so the order groups are loaded in never changes which
    route a path matches (``tests/unit/test_cold_start_imports.py`` checks every route's prefix).
    """

    def __init__(self, *args: Any, route_groups: Mapping[str, tuple[str, ...]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.route_groups: dict[str, tuple[str, ...]] = dict(route_groups or {})
        self._loaded_groups: dict[str, ModuleType] = {}
        self._groups_lock = threading.RLock()  # the local stack serves from several threads

    def load_route_group(self, name: str) -> ModuleType:
        """Import the router module ``name`` and include its router (once)."""
        with self._groups_lock:
            module = self._loaded_groups.get(name)
            if module is None:
                module = importlib.import_module(name)
                self.include_router(module.router)
                self._loaded_groups[name] = module
            return module

    def loaded_route_group(self, name: str) -> ModuleType | None:
        """The router module ``name`` if a request (or the OpenAPI document) has loaded it."""
        return self._loaded_groups.get(name)

    def load_routes_for(self, path: str) -> None:
        """Load the route groups a request for ``path`` may be served by."""
        for name, prefixes in self.route_groups.items():
            if name not in self._loaded_groups and any(_under(path, prefix) for prefix in prefixes):
                self.load_route_group(name)

    def load_all_routes(self) -> None:
        """Load every route group, in declaration order."""
        for name in self.route_groups:
            self.load_route_group(name)

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        if self.route_groups:
            self.load_routes_for(self._remove_prefix(str(event.get("path") or "/")))
        return super().resolve(event, context)

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        self.load_all_routes()
        return super().get_openapi_schema(**kwargs)


class _ScreenedBody(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation (which runs first on every route), preceded by the body's
    screening (:func:`portal_common.request_body.screen`): bad bytes, a wrong media type or a
    hostile JSON document are a ``400``/``415`` problem, never a ``500``."""

    def handler(self, app: EventHandlerInstance, next_middleware: NextMiddleware) -> Response[Any]:
        event = app.current_event
        has_body, parsed = screen(event.raw_event)
        # Powertools caches these on the event: give it the checked text and value.
        event.__dict__["decoded_body"] = event.raw_event.get("body")
        event.__dict__["json_body"] = parsed if has_body else None
        return super().handler(app, next_middleware)


def create_app(
    logger: Logger,
    *,
    requires: tuple[str, ...] = (),
    extra_handlers: dict[type[Exception], Callable[..., Any]] | None = None,
    route_groups: Mapping[str, tuple[str, ...]] | None = None,
) -> PortalResolver:
    """A REST resolver with validation, CORS, problem rendering and request-id headers.

    Called at import time, so the settings are checked at cold start; ``requires`` names the
    optional settings this function needs as well (``"cursor_secret"``, ``"user_pool_id"``...).
    ``route_groups``: the function's router modules and their path prefixes, imported on first use
    (:class:`PortalResolver`).
    """
    settings = get_settings().require(*requires)
    cors = CORSConfig(
        allow_origin=settings.allowed_origin,
        allow_headers=["Authorization", "Content-Type", "Accept-Language", "Idempotency-Key"],
        expose_headers=["X-Request-Id", "Retry-After", "Content-Language"],
        max_age=600,
    )
    app = PortalResolver(enable_validation=True, cors=cors, serializer=to_json, route_groups=route_groups)
    app.use(middlewares=[_common_headers])
    # Powertools runs its request validation before any middleware: screen the body just before it.
    app._request_validation_middleware = _ScreenedBody()

    @app.exception_handler(RequestValidationError)
    def _validation(error: RequestValidationError) -> Response[str]:
        return problem_response(app, ValidationFailed(errors=field_errors_from_pydantic(list(error.errors()))))

    @app.exception_handler(DomainError)
    def _domain(error: DomainError) -> Response[str]:
        if error.status >= 500:
            logger.error("domain error", extra={"code": error.code})
        return problem_response(app, error)

    @app.exception_handler(NotFoundError)
    def _not_found(_: NotFoundError) -> Response[str]:
        return problem_response(app, DomainError("ROUTE_NOT_FOUND", status=404))

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unhandled error", extra={"error_type": type(error).__name__})
        return problem_response(app, DomainError("INTERNAL_ERROR", status=500))

    for exc_class, handler in (extra_handlers or {}).items():
        app.exception_handler(exc_class)(handler)
    return app
