"""``/v1/auth/*``: the backend-for-frontend over Cognito (HTTP shape only; rules in ``auth_service``).

One resolver for the function, one ``Router`` per route group: registration
(``auth_registration_api``), sign-in (``auth_signin_api``), password (``auth_password_api``) and
tokens (``auth_tokens_api``), and the signed-in member's account settings (``auth_account_api``).
Each group is imported on the first request for its paths (``portal_common.api.PortalResolver``).
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from portal_common import cold_start
from portal_common.api import create_app
from portal_common.log import get_logger

logger = get_logger("auth")
app = create_app(
    logger,
    requires=("user_pool_id", "user_pool_client_id"),
    route_groups={
        "auth_registration_api": ("/auth/register",),
        "auth_signin_api": ("/auth/login",),
        "auth_password_api": ("/auth/password",),
        "auth_tokens_api": ("/auth/token", "/auth/logout"),
        "auth_account_api": ("/me",),
    },
)


@cold_start.settles
@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway entry point."""
    return app.resolve(event, context)
