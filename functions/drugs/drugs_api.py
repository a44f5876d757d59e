"""``/v1/drugs*``: drug search (name or DIN), one drug, and the coverage check for a covered person.

HTTP shape only; the rules are in ``drug_service`` (search, look-up) and ``drug_coverage_service``.
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from drug_coverage_service import check_coverage
from drug_models import Coverage, Drug, DrugPage
from drug_search import MAX_QUERY_LENGTH
from drug_service import get_drug, search

from portal_common import cold_start
from portal_common.api import answer, create_app, problems, request_language
from portal_common.identity import caller_from_event
from portal_common.log import get_logger
from portal_common.patterns import is_din
from portal_common.problems import invalid_field

logger = get_logger("drugs")
app = create_app(logger, requires=("cursor_secret",))


def _din(value: str) -> str:
    if not is_din(value):
        raise invalid_field("din", "INVALID_DIN")
    return value


@app.get("/drugs", summary="Search drugs by name, ingredient or DIN", tags=["Drugs"], responses=answer(DrugPage))
def search_drugs(
    q: Annotated[
        str,
        Query(
            max_length=MAX_QUERY_LENGTH,
            description="An 8-digit DIN, or words matched by prefix against brand names and active "
            "ingredients (case and accents ignored); at least one word of 3 letters or more",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> DrugPage:
    """Marketed human drugs, exact brand first, then brand prefix, then ingredient matches."""
    caller_from_event(app.current_event.raw_event)
    return search(q, limit, cursor, request_language(app))


@app.get(
    "/drugs/<din>",
    summary="One drug by DIN",
    tags=["Drugs"],
    responses={**answer(Drug), **problems(404, d404="DRUG_NOT_FOUND")},
)
def drug_by_din(din: Annotated[str, Path(max_length=32, json_schema_extra={"pattern": "^[0-9]{8}$"})]) -> Drug:
    """``404 DRUG_NOT_FOUND`` for an unknown DIN, ``400`` when it is not 8 digits."""
    caller_from_event(app.current_event.raw_event)
    return get_drug(_din(din), request_language(app))


@app.get(
    "/drugs/<din>/coverage",
    summary="Is this drug covered for this person",
    tags=["Drugs"],
    responses={**answer(Coverage), **problems(404, d404="DRUG_NOT_FOUND, or no such person on the certificate")},
)
def drug_coverage(
    din: Annotated[str, Path(max_length=32, json_schema_extra={"pattern": "^[0-9]{8}$"})],
    person_id: Annotated[str, Query(alias="personId", min_length=1, max_length=64)],
) -> Coverage:
    """For a person of the caller's certificate (anyone else's is ``404``), under their plan, today."""
    caller = caller_from_event(app.current_event.raw_event)
    return check_coverage(caller, _din(din), person_id, request_language(app))


@cold_start.settles
@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway entry point."""
    return app.resolve(event, context)
