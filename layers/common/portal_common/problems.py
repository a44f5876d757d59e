"""Domain errors and their RFC 9457 ``application/problem+json`` rendering.

A domain error carries a stable machine ``code`` (upper snake case) and an HTTP status; its title
and detail come from the message catalogue (``problem.<CODE>.title`` / ``.detail``) in the
caller's language, and field errors from ``field.<CODE>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from portal_common.i18n import translate

PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True)
class FieldError:
    """One bad input field: ``field`` is a path such as ``treatments[1].amount``."""

    field: str
    code: str
    params: dict[str, Any] = dataclass_field(default_factory=dict)


class DomainError(Exception):
    """An expected failure that the API reports as a problem document."""

    status: int = 400
    code: str = "BAD_REQUEST"

    def __init__(
        self,
        code: str | None = None,
        *,
        status: int | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        self.code = code or type(self).code
        self.status = status or type(self).status
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}
        self.params = params
        super().__init__(self.code)

    def to_problem(self, lang: str, request_id: str | None) -> dict[str, Any]:
        """The problem document in ``lang``."""
        body: dict[str, Any] = {
            "type": f"https://portail.example.ca/problems/{self.code.lower().replace('_', '-')}",
            "title": translate(f"problem.{self.code}.title", lang, **self.params),
            "status": self.status,
            "detail": translate(f"problem.{self.code}.detail", lang, **self.params),
            "code": self.code,
        }
        if self.errors:
            body["errors"] = [
                {
                    "field": error.field,
                    "code": error.code,
                    "message": translate(f"field.{error.code}", lang, **error.params),
                }
                for error in self.errors
            ]
        body.update(self.extra)
        body["requestId"] = request_id
        return body


class ValidationFailed(DomainError):
    """``400 VALIDATION_FAILED`` with one entry per bad field."""

    status = 400
    code = "VALIDATION_FAILED"


class NotFound(DomainError):
    """``404``: missing, or someone else's (never 403, so ids cannot be probed)."""

    status = 404
    code = "NOT_FOUND"


class Conflict(DomainError):
    """``409``."""

    status = 409
    code = "CONFLICT"


class Unprocessable(DomainError):
    """``422``: well-formed input that the domain rules refuse."""

    status = 422
    code = "UNPROCESSABLE"


class Unauthorized(DomainError):
    """``401``."""

    status = 401
    code = "UNAUTHORIZED"


class Forbidden(DomainError):
    """``403`` (only for states of the caller's own account, never for others' resources)."""

    status = 403
    code = "FORBIDDEN"


class TooManyRequests(DomainError):
    """``429`` with ``Retry-After`` in seconds."""

    status = 429
    code = "TOO_MANY_REQUESTS"

    def __init__(self, retry_after: int, **kwargs: Any) -> None:
        retry_after = max(1, int(retry_after))
        headers = {"Retry-After": str(retry_after)}
        super().__init__(headers=headers, retry_after=retry_after, **kwargs)


def invalid_field(field_path: str, code: str, **params: Any) -> ValidationFailed:
    """Shortcut for a single-field ``400 VALIDATION_FAILED``."""
    return ValidationFailed(errors=[FieldError(field_path, code, params)])


# ---------------------------------------------------------------- the document's schema (OpenAPI)
def problem_schemas() -> dict[str, Any]:
    """The ``Problem`` and ``ProblemFieldError`` component schemas of the OpenAPI document."""
    field_error = {
        "type": "object",
        "title": "ProblemFieldError",
        "required": ["field", "code", "message"],
        "properties": {
            "field": {"type": "string", "description": "Path of the bad field, e.g. treatments[1].amount"},
            "code": {"type": "string", "description": "Stable machine code (REQUIRED, TOO_LONG...)"},
            "message": {"type": "string", "description": "In the caller's language"},
        },
    }
    problem = {
        "type": "object",
        "title": "Problem",
        "description": "RFC 9457 problem document, in the caller's language (Accept-Language).",
        "required": ["type", "title", "status", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string", "description": "Stable machine code (upper snake case)"},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemFieldError"}},
            "requestId": {"type": ["string", "null"]},
        },
        "additionalProperties": True,
    }
    return {"Problem": problem, "ProblemFieldError": field_error}
