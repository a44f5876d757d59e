"""The HTTP side shared by the ``/auth/*`` routers: their OpenAPI tag, and what they read from the
API Gateway request besides their pydantic body."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from portal_common.problems import Unauthorized

TAGS = ["Authentication"]


def source_ip(router: Router) -> str | None:
    """The caller's address (``requestContext.identity.sourceIp``), for the per-IP throttles."""
    context = router.current_event.raw_event.get("requestContext") or {}
    return (context.get("identity") or {}).get("sourceIp")


def cognito_username(router: Router) -> str:
    """The signed-in caller's Cognito user name, from the authorizer's claims (``401`` without one)."""
    claims = ((router.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    username = claims.get("cognito:username") or claims.get("sub")
    if not username:
        raise Unauthorized()
    return str(username)
