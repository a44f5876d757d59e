"""The claims function: ``/me``, claim types, receipts, claim submission and history.

HTTP shape only. One resolver for the function, one ``Router`` per route group: the member
(``member_api``), claim types (``claim_types_api``), receipts (``receipts_api``) and claims
(``claim_routes_api``). Each group is imported on the first request for its paths
(``portal_common.api.PortalResolver``): a cold ``GET /v1/me`` does not load the claim models. A
``200`` route returns its service's output model, other statuses go through ``portal_common.api.respond``;
errors are ``portal_common.problems`` errors rendered by ``create_app``.
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from portal_common import cold_start
from portal_common.api import create_app, problem_response
from portal_common.log import get_logger
from portal_common.problems import Conflict

logger = get_logger("claims")


def _in_progress(error: IdempotencyAlreadyInProgressError) -> Response[str]:
    return problem_response(app, Conflict("IDEMPOTENCY_REQUEST_IN_PROGRESS", headers={"Retry-After": "1"}))


def _key_reused(error: IdempotencyValidationError) -> Response[str]:
    return problem_response(app, Conflict("IDEMPOTENCY_KEY_REUSED"))


app = create_app(
    logger,
    requires=("cursor_secret",),
    extra_handlers={IdempotencyAlreadyInProgressError: _in_progress, IdempotencyValidationError: _key_reused},
    route_groups={
        "member_api": ("/me",),
        "claim_types_api": ("/claim-types",),
        "receipts_api": ("/receipts",),
        "claim_routes_api": ("/claims",),
    },
)


@cold_start.settles
@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway entry point."""
    app.load_routes_for(str(event.get("path") or "/"))
    claim_routes = app.loaded_route_group("claim_routes_api")  # the idempotent POST /claims
    if claim_routes is not None and hasattr(context, "get_remaining_time_in_millis"):
        claim_routes.idempotency_config.register_lambda_context(context)
    return app.resolve(event, context)
