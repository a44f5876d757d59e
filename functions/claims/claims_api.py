"""HTTP routes of the claims function: /me, claim types, receipts, claim submission and history.

HTTP shape only: each route reads the caller and its inputs, calls a service module, and shapes
the answer: a ``200`` route returns the service's output model, other statuses go through
``portal_common.api.respond``. Errors are ``portal_common.problems`` errors rendered by ``create_app``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any

import claim_history
import claim_type_views
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext
from claim_submission import submit_claim
from claims_models import (
    ClaimCreated,
    ClaimDetail,
    ClaimList,
    ClaimStatus,
    ClaimSubmission,
    ClaimTypeList,
    ClaimTypeOut,
    MeOut,
    ReceiptCreated,
    ReceiptOut,
    ReceiptRequest,
)
from member_context import load_member, me_view
from pydantic import BaseModel
from receipt_store import create_receipt, get_receipt, receipt_view

from portal_common.api import create_app, problem_response, request_language, respond
from portal_common.aws_clients import client
from portal_common.claim_types import Category, claim_types
from portal_common.config import get_settings
from portal_common.identity import Caller, caller_from_event
from portal_common.log import get_logger
from portal_common.problems import Conflict, NotFound, invalid_field

logger = get_logger("claims")

# Idempotency keys: visible ASCII, 8 to 128 characters (a UUID fits).
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7E]{8,128}$")
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_TTL_SECONDS = 24 * 3600

_idempotency_config = IdempotencyConfig(
    # The record key hashes the caller's certificate *and* their key: two members' keys never meet.
    event_key_jmespath="[member, key]",
    payload_validation_jmespath="body",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
    hash_function="sha256",
)


def _in_progress(error: IdempotencyAlreadyInProgressError) -> Response[str]:
    return problem_response(app, Conflict("IDEMPOTENCY_REQUEST_IN_PROGRESS", headers={"Retry-After": "1"}))


def _key_reused(error: IdempotencyValidationError) -> Response[str]:
    return problem_response(app, Conflict("IDEMPOTENCY_KEY_REUSED"))


app = create_app(
    logger,
    requires=("cursor_secret",),
    extra_handlers={IdempotencyAlreadyInProgressError: _in_progress, IdempotencyValidationError: _key_reused},
)


def _ok(model: type[BaseModel]) -> dict[int, Any]:
    """OpenAPI description of a 200 answer whose body is ``model`` (absent fields are left out)."""
    return {200: {"description": "OK", "content": {"application/json": {"model": model}}}}


def _caller() -> Caller:
    return caller_from_event(app.current_event.raw_event)


def _lang() -> str:
    return request_language(app)


# ---------------------------------------------------------------- member


@app.get("/me", summary="The signed-in member, their plan and covered persons", tags=["Member"], responses=_ok(MeOut))
def get_me() -> MeOut:
    """Profile, plan and the persons covered under the certificate with their eligibility today."""
    caller = _caller()
    member, plan = load_member(caller)
    return me_view(member, plan, caller, _lang())


# ---------------------------------------------------------------- claim types


@app.get("/claim-types", summary="Search claim types", tags=["Claim types"], responses=_ok(ClaimTypeList))
def list_claim_types(
    q: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[Category | None, Query()] = None,
) -> ClaimTypeList:
    """Types covered by the caller's plan matching ``q`` (names and synonyms, both languages, case and
    accents ignored); ``Autre``/``Other`` lists the OTHER category."""
    _, plan = load_member(_caller())
    return claim_type_views.covered_types(q, category, _lang(), plan)


@app.get(
    "/claim-types/<code>",
    summary="One claim type with its questions",
    tags=["Claim types"],
    responses=_ok(ClaimTypeOut),
)
def get_claim_type(code: str) -> ClaimTypeOut:
    """A claim type rendered for the caller's plan (``covered`` says whether the plan pays it)."""
    _, plan = load_member(_caller())
    catalogue = claim_types()
    if catalogue.get(code) is None:
        raise NotFound("CLAIM_TYPE_NOT_FOUND")
    return claim_type_views.render(catalogue, code, _lang(), plan)


# ---------------------------------------------------------------- receipts


@app.post(
    "/receipts",
    summary="Start a receipt upload (S3 presigned POST)",
    tags=["Receipts"],
    responses={201: {"description": "Upload form", "content": {"application/json": {"model": ReceiptCreated}}}},
)
def post_receipt(body: ReceiptRequest) -> Response[str]:
    """A presigned POST whose policy enforces the exact key, the declared type and size (≤ 10 MiB)."""
    caller = _caller()
    return respond(create_receipt(caller.member_key, body.file_name, body.content_type, body.size_bytes), 201)


@app.get("/receipts/<receiptId>", summary="A receipt's status", tags=["Receipts"], responses=_ok(ReceiptOut))
def get_receipt_status(receiptId: str) -> ReceiptOut:
    """``PENDING_UPLOAD`` until the uploaded object is checked, then ``UPLOADED`` or ``REJECTED``."""
    return receipt_view(get_receipt(_caller().member_key, receiptId))


# ---------------------------------------------------------------- claims


@lru_cache(maxsize=4)
def _idempotent_submit(table: str, dynamodb: Any) -> Any:
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=dynamodb)

    @idempotent_function(
        data_keyword_argument="request",
        persistence_store=persistence,
        config=_idempotency_config,
        key_prefix="claims-submit",
        output_serializer=PydanticSerializer(ClaimCreated),
    )
    def run(*, request: dict[str, Any], caller: Caller, submission: ClaimSubmission, lang: str) -> ClaimCreated:
        return submit_claim(caller, submission, request["body"], request["key"], lang)

    return run


def _idempotency_key() -> str:
    headers = app.current_event.headers or {}
    value = next((v for k, v in headers.items() if k.lower() == IDEMPOTENCY_HEADER.lower()), None)
    if value is None or value == "":
        raise invalid_field(IDEMPOTENCY_HEADER, "REQUIRED")
    if not _IDEMPOTENCY_KEY.match(value):
        raise invalid_field(IDEMPOTENCY_HEADER, "INVALID_IDEMPOTENCY_KEY")
    return value


@app.post(
    "/claims",
    summary="Submit a claim (Idempotency-Key header required)",
    tags=["Claims"],
    responses={
        201: {"description": "Claim accepted", "content": {"application/json": {"model": ClaimCreated}}},
        409: {"description": "IDEMPOTENCY_KEY_REUSED or IDEMPOTENCY_REQUEST_IN_PROGRESS (retry after 1 s)"},
    },
)
def post_claim(body: ClaimSubmission) -> Response[str]:
    """Medical, dental and drug claims. The same key with the same body answers the same claim."""
    caller = _caller()
    key = _idempotency_key()
    raw = app.current_event.json_body
    run = _idempotent_submit(get_settings().idempotency_table, client("dynamodb"))
    created: ClaimCreated = run(
        request={"member": caller.member_key, "key": key, "body": raw}, caller=caller, submission=body, lang=_lang()
    )
    return respond(created, 201, headers={"Location": f"/v1/claims/{created.claim_id}"})


@app.get("/claims", summary="Claim history, newest first", tags=["Claims"], responses=_ok(ClaimList))
def get_claims(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    status: Annotated[ClaimStatus | None, Query()] = None,
) -> ClaimList:
    """One page of the member's claims (and their dependants'), optionally with one status."""
    member, _ = load_member(_caller())
    return claim_history.page(member, _lang(), status=status, limit=limit, cursor=cursor)


@app.get("/claims/<claimId>", summary="One claim with its status history", tags=["Claims"], responses=_ok(ClaimDetail))
def get_claim(claimId: str) -> ClaimDetail:
    """The claim as submitted, its status history and, once processed, its adjudication."""
    member, _ = load_member(_caller())
    return claim_history.detail(member, claimId, _lang())


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway entry point."""
    if hasattr(context, "get_remaining_time_in_millis"):
        _idempotency_config.register_lambda_context(context)
    return app.resolve(event, context)
