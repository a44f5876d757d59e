"""``/claim-types``: the types the caller's plan covers, searched in both languages, and one type."""

from __future__ import annotations

from typing import Annotated

import claim_type_views
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from claims_models import ClaimTypeList, ClaimTypeOut

from portal_common.api import answer, problems, request_language
from portal_common.claim_types import Category, claim_types
from portal_common.identity import caller_from_event
from portal_common.member_profile import load_member
from portal_common.problems import NotFound

router = Router()


@router.get(
    "/claim-types",
    summary="Search claim types",
    tags=["Claim types"],
    responses={**answer(ClaimTypeList), **problems(404, d404="MEMBER_NOT_FOUND (the account has no roster entry)")},
)
def list_claim_types(
    q: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[Category | None, Query()] = None,
) -> ClaimTypeList:
    """Types covered by the caller's plan matching ``q`` (names and synonyms, both languages, case and
    accents ignored); ``Autre``/``Other`` lists the OTHER category."""
    _, plan = load_member(caller_from_event(router.current_event.raw_event))
    return claim_type_views.covered_types(q, category, request_language(router), plan)


@router.get(
    "/claim-types/<code>",
    summary="One claim type with its questions",
    tags=["Claim types"],
    responses={**answer(ClaimTypeOut), **problems(404, d404="No such claim type (or MEMBER_NOT_FOUND)")},
)
def get_claim_type(code: str) -> ClaimTypeOut:
    """A claim type rendered for the caller's plan (``covered`` says whether the plan pays it)."""
    _, plan = load_member(caller_from_event(router.current_event.raw_event))
    catalogue = claim_types()
    if catalogue.get(code) is None:
        raise NotFound("CLAIM_TYPE_NOT_FOUND")
    return claim_type_views.render(catalogue, code, request_language(router), plan)
