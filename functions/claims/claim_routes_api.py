"""``/claims``: submit a claim (with an ``Idempotency-Key``), the claim history and one claim."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any

import claim_history
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from claim_information import answer_information
from claim_submission import submit_claim
from claims_models import (
    ClaimCreated,
    ClaimDetail,
    ClaimEstimate,
    ClaimEstimateRequest,
    ClaimList,
    ClaimStatus,
    ClaimSubmission,
    InformationAccepted,
    InformationAnswer,
)
from idempotency_store import DynamoDBIdempotencyStore

from portal_common.api import answer, problems, request_language, respond
from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.identity import Caller, caller_from_event
from portal_common.log import get_logger
from portal_common.member_profile import load_member
from portal_common.problems import invalid_field

router = Router()
logger = get_logger("claims")

# Idempotency keys: visible ASCII, 8 to 128 characters (a UUID fits).
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7E]{8,128}$")
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_TTL_SECONDS = 24 * 3600

idempotency_config = IdempotencyConfig(
    # The record key hashes the caller's certificate *and* their key: two members' keys never meet.
    event_key_jmespath="[member, key]",
    payload_validation_jmespath="body",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
    hash_function="sha256",
)


@lru_cache(maxsize=4)
def _persistence(table: str, dynamodb: Any) -> DynamoDBIdempotencyStore:
    return DynamoDBIdempotencyStore(table, dynamodb)


@lru_cache(maxsize=4)
def _idempotent_submit(table: str, dynamodb: Any) -> Any:
    persistence = _persistence(table, dynamodb)

    @idempotent_function(
        data_keyword_argument="request",
        persistence_store=persistence,
        config=idempotency_config,
        key_prefix="claims-submit",
        output_serializer=PydanticSerializer(ClaimCreated),
    )
    def run(
        *, request: dict[str, Any], caller: Caller, submission: ClaimSubmission, lang: str, stored: list[ClaimCreated]
    ) -> ClaimCreated:
        created = submit_claim(caller, submission, request["body"], request["key"], lang)
        stored.append(created)  # committed: the answer is 201 whatever happens to the record
        return created

    run.persistence = persistence  # type: ignore[attr-defined]
    return run


def _forget_in_progress(run: Any, request: dict[str, Any], error: Exception) -> None:
    """Best effort: delete the idempotency record left ``INPROGRESS``, so that a retry with the
    same key is answered from the claim's own marker (``claim_store``) instead of a ``409``."""
    try:
        run.persistence.delete_record(data=request, exception=error)
    except Exception as cleanup:
        logger.warning("idempotency record left in progress", extra={"error": type(cleanup).__name__})


def _idempotency_key(value: str) -> str:
    if value == "":
        raise invalid_field(IDEMPOTENCY_HEADER, "REQUIRED")
    if not _IDEMPOTENCY_KEY.match(value):
        raise invalid_field(IDEMPOTENCY_HEADER, "INVALID_IDEMPOTENCY_KEY")
    return value


@router.post(
    "/claims",
    summary="Submit a claim (Idempotency-Key header required)",
    tags=["Claims"],
    responses={
        **answer(ClaimCreated, 201, "Claim accepted"),
        **problems(
            404,
            409,
            d404="MEMBER_NOT_FOUND (the account has no roster entry)",
            d409="IDEMPOTENCY_KEY_REUSED or IDEMPOTENCY_REQUEST_IN_PROGRESS (retry after 1 s)",
        ),
    },
)
def post_claim(
    body: ClaimSubmission,
    idempotency_key: Annotated[
        str,
        Header(
            alias=IDEMPOTENCY_HEADER,
            description="8 to 128 visible ASCII characters (a UUID fits): the same key with the same body "
            "answers the same claim; with another body 409 IDEMPOTENCY_KEY_REUSED",
            json_schema_extra={"minLength": 8, "maxLength": 128, "pattern": "^[!-~]+$"},
        ),
    ],
) -> Response[str]:
    """Medical, dental and drug claims. The same key with the same body answers the same claim."""
    who = caller_from_event(router.current_event.raw_event)
    key = _idempotency_key(idempotency_key)
    raw = router.current_event.json_body
    run = _idempotent_submit(get_settings().idempotency_table, client("dynamodb"))
    request = {"member": who.member_key, "key": key, "body": raw}
    stored: list[ClaimCreated] = []
    try:
        created: ClaimCreated = run(
            request=request, caller=who, submission=body, lang=request_language(router), stored=stored
        )
    except IdempotencyPersistenceLayerError as error:
        if not stored:
            raise
        # The claim committed; only the idempotency record's completion failed: a stored claim is
        # answered as stored.
        logger.warning("claim stored, idempotency record not completed", extra={"claimId": stored[0].claim_id})
        _forget_in_progress(run, request, error)
        created = stored[0]
    return respond(created, 201, headers={"Location": f"/v1/claims/{created.claim_id}"})


@router.get(
    "/claims",
    summary="Claim history, newest first",
    tags=["Claims"],
    responses={**answer(ClaimList), **problems(404, d404="MEMBER_NOT_FOUND (the account has no roster entry)")},
)
def get_claims(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    status: Annotated[ClaimStatus | None, Query()] = None,
) -> ClaimList:
    """One page of the member's claims (and their dependants'), optionally with one status."""
    member, _ = load_member(caller_from_event(router.current_event.raw_event))
    return claim_history.page(member, request_language(router), status=status, limit=limit, cursor=cursor)


@router.get(
    "/claims/<claimId>",
    summary="One claim with its status history",
    tags=["Claims"],
    responses={**answer(ClaimDetail), **problems(404)},
)
def get_claim(claimId: str) -> ClaimDetail:
    """The claim as submitted, its status history and, once processed, its adjudication."""
    member, _ = load_member(caller_from_event(router.current_event.raw_event))
    return claim_history.detail(member, claimId, request_language(router))


@lru_cache(maxsize=4)
def _idempotent_answer(table: str, dynamodb: Any) -> Any:
    """The answer under the caller's ``Idempotency-Key`` (the key and its body, claim id included)."""
    return idempotent_function(
        data_keyword_argument="request",
        persistence_store=_persistence(table, dynamodb),
        config=idempotency_config,
        key_prefix="claims-information",
        output_serializer=PydanticSerializer(InformationAccepted),
    )(_answer)


def _answer(*, request: dict[str, Any], caller: Caller, information: InformationAnswer) -> InformationAccepted:
    body = request["body"]
    return answer_information(caller, body["claimId"], information, body["answer"], request["key"])


@router.post(
    "/claims/<claimId>/information",
    summary="Answer a claim's information requests (Idempotency-Key header required)",
    tags=["Claims"],
    responses={
        **answer(InformationAccepted, 202, "Answer accepted: the claim is processed again"),
        **problems(
            404,
            409,
            d404="CLAIM_NOT_FOUND (or MEMBER_NOT_FOUND)",
            d409="CLAIM_NOT_PENDING, IDEMPOTENCY_KEY_REUSED or IDEMPOTENCY_REQUEST_IN_PROGRESS (retry after 1 s)",
        ),
    },
)
def post_claim_information(
    claimId: str,
    body: InformationAnswer,
    idempotency_key: Annotated[
        str,
        Header(
            alias=IDEMPOTENCY_HEADER,
            description="8 to 128 visible ASCII characters: the same key with the same body answers the same "
            "result; with another body 409 IDEMPOTENCY_KEY_REUSED",
            json_schema_extra={"minLength": 8, "maxLength": 128, "pattern": "^[!-~]+$"},
        ),
    ],
) -> Response[str]:
    """Documents (the first payer's statement, a new receipt) and corrected answers for a claim in
    ``PENDING_INFORMATION``: its open requests become ``FULFILLED`` and it is processed again."""
    who = caller_from_event(router.current_event.raw_event)
    key = _idempotency_key(idempotency_key)
    run = _idempotent_answer(get_settings().idempotency_table, client("dynamodb"))
    accepted: InformationAccepted = run(
        request={
            "member": who.member_key,
            "key": key,
            "body": {"claimId": claimId, "answer": router.current_event.json_body},
        },
        caller=who,
        information=body,
    )
    return respond(accepted, 202, headers={"Location": f"/v1/claims/{accepted.claim_id}"})


@router.post(
    "/claims/estimate",
    summary="Estimate what a claim would pay now (writes nothing)",
    tags=["Claims"],
    responses={
        **answer(ClaimEstimate, 200, "What the claim processor would pay for this claim submitted now"),
        **problems(404, d404="MEMBER_NOT_FOUND (the account has no roster entry)"),
    },
)
def post_claim_estimate(body: ClaimEstimateRequest) -> ClaimEstimate:
    """ "Combien me sera remboursé?": the processor's own adjudication of this claim on the member's
    current running totals (maximums, deductible, frequency limits; drugs by DIN with the lowest cost
    alternative and the dispensing-fee cap). Same validation as a submission; `receiptIds` and
    `authorization` are not needed. Nothing is written: the same claim submitted next, with no other
    claim of the certificate processed in between, is paid exactly `totalPayable`."""
    # Imported here: the adjudication modules are only needed by this route (ClaimsApi's cold start).
    from claim_estimate import estimate_claim

    who = caller_from_event(router.current_event.raw_event)
    return estimate_claim(who, body, request_language(router))
