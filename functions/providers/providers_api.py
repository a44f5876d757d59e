"""HTTP routes of the providers function: recent providers, search, member-added providers.

HTTP shape only; the rules are in ``provider_service``.
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from provider_models import ProviderIn, ProviderList, ProviderOut
from provider_service import add_member_provider, list_recent, search_providers

from portal_common import cold_start
from portal_common.api import answer, create_app, problems, request_language, respond
from portal_common.identity import caller_from_event
from portal_common.log import get_logger

logger = get_logger("providers")
app = create_app(logger)


@app.get(
    "/providers/recent",
    summary="Providers the member used before for a claim type",
    tags=["Providers"],
    responses=answer(ProviderList),
)
def get_recent(claimType: Annotated[str, Query(min_length=2, max_length=40)]) -> ProviderList:
    """Most recent first; empty when the member never claimed this type with a provider."""
    caller = caller_from_event(app.current_event.raw_event)
    return list_recent(caller.member_key, claimType, request_language(app))


@app.get(
    "/providers", summary="Search providers by phone or name prefix", tags=["Providers"], responses=answer(ProviderList)
)
def search(
    phone: Annotated[str | None, Query(max_length=25)] = None,
    firstName: Annotated[str | None, Query(max_length=80)] = None,
    lastName: Annotated[str | None, Query(max_length=80)] = None,
    name: Annotated[str | None, Query(max_length=120)] = None,
    claimType: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> ProviderList:
    """Phone in any format (E.164 match), or names by prefix ignoring case and accents."""
    caller_from_event(app.current_event.raw_event)
    return search_providers(
        phone=phone,
        first_name=firstName,
        last_name=lastName,
        name=name,
        claim_type=claimType,
        limit=limit,
        lang=request_language(app),
    )


@app.post(
    "/providers",
    summary="Add a provider (or get the existing identical one)",
    tags=["Providers"],
    responses={
        **answer(ProviderOut, 201, "Created"),
        **answer(ProviderOut, 200, "Already in the directory"),
        **problems(409, d409="PROVIDER_ADDITION_LIMIT (at most 25 additions a calendar year)"),
    },
)
def post_provider(body: ProviderIn) -> Response[str]:
    """Validates the Canadian address and NANP phone; the same phone, type and name is never added twice.

    A new provider is usable at once by this member only (``verification: PENDING``) and is found by
    other members once the insurer has verified it; at most 25 additions a calendar year (409)."""
    caller = caller_from_event(app.current_event.raw_event)
    provider, created = add_member_provider(caller.member_key, body, request_language(app))
    return respond(provider, 201 if created else 200)


@cold_start.settles
@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway entry point."""
    return app.resolve(event, context)
