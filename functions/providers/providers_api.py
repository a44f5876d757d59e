"""HTTP routes of the providers function: recent providers, search, member-added providers."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from provider_directory import (
    MIN_PREFIX,
    add_provider,
    new_member_provider,
    provider_view,
    recent_providers,
    search_by_name,
    search_by_phone,
)
from provider_rules import (
    PROVINCES,
    name_prefix,
    normalize_phone,
    normalize_postal_code,
    postal_code_matches_province,
)
from pydantic import StringConstraints

from portal_common import clock
from portal_common.api import create_app, json_response, request_language
from portal_common.claim_types import claim_types
from portal_common.identity import caller_from_event
from portal_common.log import get_logger
from portal_common.models import InputModel, OutputModel, dump
from portal_common.problems import FieldError, ValidationFailed, invalid_field

logger = get_logger("providers")
app = create_app(logger, requires=("cursor_secret",))

_TEXT = r"^[^\x00-\x1F\x7F]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=_TEXT)]
Province = Literal["NL", "NS", "PE", "NB", "QC", "ON", "MB", "SK", "AB", "BC", "YT", "NT", "NU"]
assert set(PROVINCES) == set(get_args(Province))  # one list of provinces


class AddressIn(InputModel):
    line1: Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=_TEXT)]
    line2: Annotated[str, StringConstraints(max_length=120, pattern=_TEXT)] | None = None
    city: Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=_TEXT)]
    province: Province
    postal_code: Annotated[str, StringConstraints(min_length=6, max_length=7)]


class ProviderIn(InputModel):
    """``POST /v1/providers``."""

    first_name: Name | None = None
    last_name: Name | None = None
    business_name: Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=_TEXT)] | None = None
    provider_type: Annotated[str, StringConstraints(min_length=2, max_length=40, pattern=r"^[A-Z][A-Z_]+$")]
    phone: Annotated[str, StringConstraints(min_length=10, max_length=25)]
    address: AddressIn
    registration_number: (
        Annotated[str, StringConstraints(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9\-]+$")] | None
    ) = None


class AddressOut(OutputModel):
    line1: str
    line2: str | None = None
    city: str
    province: str
    postal_code: str


class ProviderOut(OutputModel):
    provider_id: str
    display_name: str
    first_name: str | None = None
    last_name: str | None = None
    business_name: str | None = None
    provider_type: str
    provider_type_name: str
    phone: str
    address: AddressOut
    source: Literal["DIRECTORY", "MEMBER_ADDED"]
    registration_number: str | None = None
    last_used_at: str | None = None


class ProviderList(OutputModel):
    items: list[ProviderOut]
    next_cursor: str | None = None


def _ok(model: type[OutputModel], status: int = 200, description: str = "OK") -> dict[int, Any]:
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}


def _list(items: list[dict[str, Any]]) -> Response[str]:
    lang = request_language(app)
    views = [provider_view(i, lang) | ({"lastUsedAt": i["lastUsedAt"]} if i.get("lastUsedAt") else {}) for i in items]
    body = dump(ProviderList.model_validate({"items": views}))
    body["nextCursor"] = None
    return json_response(body)


def _provider_types(claim_type: str | None, field: str = "claimType") -> list[str] | None:
    if claim_type is None:
        return None
    found = claim_types().get(claim_type)
    if found is None:
        raise invalid_field(field, "UNKNOWN_CLAIM_TYPE")
    return list(found.provider_types)


@app.get(
    "/providers/recent",
    summary="Providers the member used before for a claim type",
    tags=["Providers"],
    responses=_ok(ProviderList),
)
def get_recent(claimType: Annotated[str, Query(min_length=2, max_length=40)]) -> Response[str]:
    """Most recent first; empty when the member never claimed this type with a provider."""
    caller = caller_from_event(app.current_event.raw_event)
    _provider_types(claimType)
    return _list(recent_providers(caller.member_key, claimType))


@app.get(
    "/providers", summary="Search providers by phone or name prefix", tags=["Providers"], responses=_ok(ProviderList)
)
def search(
    phone: Annotated[str | None, Query(max_length=25)] = None,
    firstName: Annotated[str | None, Query(max_length=80)] = None,
    lastName: Annotated[str | None, Query(max_length=80)] = None,
    name: Annotated[str | None, Query(max_length=120)] = None,
    claimType: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> Response[str]:
    """Phone in any format (E.164 match), or names by prefix ignoring case and accents."""
    caller_from_event(app.current_event.raw_event)
    types = _provider_types(claimType)
    first = name_prefix(firstName or "")
    last = name_prefix(lastName or "")
    free = name_prefix(name or "")
    if phone:
        e164 = normalize_phone(phone)
        if e164 is None:
            raise invalid_field("phone", "INVALID_PHONE")
        found = search_by_phone(e164, types, limit)
        # Names narrow a phone search (a clinic's number is shared by its practitioners).
        if last:
            found = [p for p in found if name_prefix(str(p.get("lastName", ""))).startswith(last)]
        if first:
            found = [p for p in found if name_prefix(str(p.get("firstName", ""))).startswith(first)]
        return _list(found)
    errors = [
        FieldError(field, "TOO_SHORT", {"min_length": MIN_PREFIX})
        for field, value in (("lastName", last), ("firstName", first), ("name", free))
        if value and len(value) < MIN_PREFIX
    ]
    if errors:
        raise ValidationFailed(errors=errors)
    if last:
        found = search_by_name("L", last, types, limit, narrow=bool(first))
        if first:
            found = [p for p in found if name_prefix(str(p.get("firstName", ""))).startswith(first)][:limit]
    elif first:
        found = search_by_name("F", first, types, limit)
    elif free:
        merged: dict[str, dict[str, Any]] = {}
        for kind in ("B", "L", "F"):
            for item in search_by_name(kind, free, types, limit):
                merged.setdefault(str(item["providerId"]), item)
        found = sorted(merged.values(), key=lambda p: name_prefix(str(p.get("displayName", ""))))[:limit]
    else:
        raise invalid_field("query", "SEARCH_CRITERION_REQUIRED")
    return _list(found)


@app.post(
    "/providers",
    summary="Add a provider (or get the existing identical one)",
    tags=["Providers"],
    responses={**_ok(ProviderOut, 201, "Created"), **_ok(ProviderOut, 200, "Already in the directory")},
)
def post_provider(body: ProviderIn) -> Response[str]:
    """Validates the Canadian address and NANP phone; the same phone, type and name is never added twice."""
    caller_from_event(app.current_event.raw_event)
    errors: list[FieldError] = []
    if claim_types().catalogue.provider_types.get(body.provider_type) is None:
        errors.append(FieldError("providerType", "NOT_ALLOWED"))
    if not body.business_name and not (body.first_name and body.last_name):
        errors.append(FieldError("lastName" if body.first_name else "businessName", "NAME_REQUIRED"))
    phone = normalize_phone(body.phone)
    if phone is None:
        errors.append(FieldError("phone", "INVALID_PHONE"))
    postal = normalize_postal_code(body.address.postal_code)
    if postal is None:
        errors.append(FieldError("address.postalCode", "INVALID_POSTAL_CODE"))
    elif not postal_code_matches_province(postal, body.address.province):
        errors.append(FieldError("address.postalCode", "POSTAL_CODE_PROVINCE_MISMATCH"))
    if errors:
        raise ValidationFailed(errors=errors)
    address = {
        "line1": body.address.line1,
        "line2": body.address.line2,
        "city": body.address.city,
        "province": body.address.province,
        "postalCode": postal,
    }
    fields = {
        "first_name": body.first_name,
        "last_name": body.last_name,
        "business_name": body.business_name,
        "provider_type": body.provider_type,
        "phone": phone,
        "address": address,
        "registration_number": body.registration_number,
    }
    created_at = clock.now_iso("seconds")
    provider, created = add_provider(new_member_provider(fields, created_at))
    view = dump(ProviderOut.model_validate(provider_view(provider, request_language(app))))
    return json_response(view, status=201 if created else 200)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway entry point."""
    return app.resolve(event, context)
