"""``/auth/token/refresh`` and ``/auth/logout``: the tokens of a signed-in member."""

from __future__ import annotations

from typing import Annotated

import auth_service
from auth_http import TAGS, cognito_username
from auth_models import LogoutRequest, RefreshedTokensResponse, RefreshRequest
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from portal_common.api import answer, no_content, problems, respond
from portal_common.problems import invalid_field

router = Router()


@router.post(
    "/auth/token/refresh",
    tags=TAGS,
    summary="New ID and access tokens from the refresh token",
    responses={**answer(RefreshedTokensResponse), **problems(401, 429, d401="INVALID_TOKEN")},
)
def refresh(body: RefreshRequest) -> RefreshedTokensResponse:
    return auth_service.refresh_tokens(body.refresh_token)


@router.post(
    "/auth/logout",
    tags=TAGS,
    summary="Sign out: the refresh token stops working",
    responses={**no_content("Signed out"), **problems(429)},
)
def logout(body: Annotated[LogoutRequest | None, Body()] = None) -> Response[str]:
    """The body is optional: without one (or with no ``refreshToken``) the member is still signed out."""
    username = cognito_username(router)
    if body is None and router.current_event.json_body is not None:  # a JSON value that is not an object
        raise invalid_field("body", "INVALID_TYPE")
    auth_service.logout(username, body.refresh_token if body else None)
    return respond(None, 204)
