"""``/auth/token/refresh`` and ``/auth/logout``: the tokens of a signed-in member."""

from __future__ import annotations

import auth_service
from auth_http import TAGS, cognito_username, logout_body
from auth_models import RefreshedTokensResponse, RefreshRequest
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from portal_common.api import respond

router = Router()


@router.post("/auth/token/refresh", tags=TAGS, summary="New ID and access tokens from the refresh token")
def refresh(body: RefreshRequest) -> RefreshedTokensResponse:
    return auth_service.refresh_tokens(body.refresh_token)


@router.post(
    "/auth/logout",
    tags=TAGS,
    summary="Sign out: the refresh token stops working",
    responses={204: {"description": "Signed out"}},
)
def logout() -> Response[str]:
    username = cognito_username(router)
    auth_service.logout(username, logout_body(router).refresh_token)
    return respond(None, 204)
