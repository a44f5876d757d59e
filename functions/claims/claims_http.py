"""The HTTP side shared by the claims function's routers: who calls, and how a ``200`` answer is
declared in the OpenAPI document (the language is ``portal_common.api.request_language``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from pydantic import BaseModel

from portal_common.identity import Caller, caller_from_event


def ok(model: type[BaseModel]) -> dict[int, Any]:
    """OpenAPI description of a 200 answer whose body is ``model`` (absent fields are left out)."""
    return {200: {"description": "OK", "content": {"application/json": {"model": model}}}}


def current_caller(router: BaseRouter) -> Caller:
    """The signed-in member (from the authorizer's claims)."""
    return caller_from_event(router.current_event.raw_event)
