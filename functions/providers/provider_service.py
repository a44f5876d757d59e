"""The rules behind ``/v1/providers*``: search by phone or name, recent providers, adding a provider.

Validation uses ``provider_rules`` (pure); every read and write goes through ``provider_directory``.
Results are :class:`provider_models.ProviderOut` in the caller's language.
"""

from __future__ import annotations

from provider_directory import (
    MAX_ADDITIONS_PER_YEAR,
    AdditionLimitReached,
    add_provider,
    build_provider,
    recent_providers,
    search_by_name,
    search_by_phone,
)
from provider_models import AddressOut, ProviderIn, ProviderList, ProviderOut
from provider_rules import (
    MIN_PREFIX,
    name_prefix,
    normalize_phone,
    normalize_postal_code,
    postal_code_matches_province,
)

from portal_common import clock
from portal_common.claim_types import claim_types
from portal_common.ids import sortable_id
from portal_common.problems import Conflict, FieldError, ValidationFailed, invalid_field
from portal_common.provider_records import StoredProvider


def provider_out(provider: StoredProvider, lang: str, last_used_at: str | None = None) -> ProviderOut:
    """The contract's ``Provider`` (plus ``providerTypeName`` in ``lang``)."""
    return ProviderOut(
        provider_id=provider.provider_id,
        display_name=provider.display_name,
        first_name=provider.first_name,
        last_name=provider.last_name,
        business_name=provider.business_name,
        provider_type=provider.provider_type,
        provider_type_name=claim_types().provider_type_name(provider.provider_type, lang),
        phone=provider.phone,
        address=AddressOut.model_validate(provider.address),
        source=provider.source,
        registration_number=provider.registration_number,
        last_used_at=last_used_at or None,
        verification=provider.verification,
    )


def _page(providers: list[StoredProvider], lang: str) -> ProviderList:
    return ProviderList(items=[provider_out(p, lang) for p in providers])


def _provider_types(claim_type: str | None) -> list[str] | None:
    """The provider types that bill ``claim_type`` (``None``: no filter)."""
    if claim_type is None:
        return None
    found = claim_types().get(claim_type)
    if found is None:
        raise invalid_field("claimType", "UNKNOWN_CLAIM_TYPE")
    return list(found.provider_types)


def list_recent(member_key: str, claim_type: str, lang: str) -> ProviderList:
    """The member's providers for a claim type, most recent first (empty when none)."""
    _provider_types(claim_type)
    found = recent_providers(member_key, claim_type)
    return ProviderList(items=[provider_out(provider, lang, used_at) for provider, used_at in found])


def _starts(value: str | None, prefix: str) -> bool:
    return name_prefix(value or "").startswith(prefix)


def search_providers(
    *,
    phone: str | None,
    first_name: str | None,
    last_name: str | None,
    name: str | None,
    claim_type: str | None,
    limit: int,
    lang: str,
) -> ProviderList:
    """Phone in any format (E.164 match), or names by prefix ignoring case and accents."""
    types = _provider_types(claim_type)
    first = name_prefix(first_name or "")
    last = name_prefix(last_name or "")
    free = name_prefix(name or "")
    if phone:
        e164 = normalize_phone(phone)
        if e164 is None:
            raise invalid_field("phone", "INVALID_PHONE")
        found = search_by_phone(e164, types, limit)
        # Names narrow a phone search (a clinic's number is shared by its practitioners).
        if last:
            found = [p for p in found if _starts(p.last_name, last)]
        if first:
            found = [p for p in found if _starts(p.first_name, first)]
        return _page(found, lang)
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
            found = [p for p in found if _starts(p.first_name, first)][:limit]
    elif first:
        found = search_by_name("F", first, types, limit)
    elif free:
        merged: dict[str, StoredProvider] = {}
        for kind in ("B", "L", "F"):
            for provider in search_by_name(kind, free, types, limit):
                merged.setdefault(provider.provider_id, provider)
        found = sorted(merged.values(), key=lambda p: name_prefix(p.display_name))[:limit]
    else:
        raise invalid_field("query", "SEARCH_CRITERION_REQUIRED")
    return _page(found, lang)


def _checked_phone_and_postal_code(body: ProviderIn) -> tuple[str, str]:
    """The E.164 phone and the formatted postal code, or every field error at once."""
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
    if errors or phone is None or postal is None:
        raise ValidationFailed(errors=errors)
    return phone, postal


def add_member_provider(member_key: str, body: ProviderIn, lang: str) -> tuple[ProviderOut, bool]:
    """Add a ``MEMBER_ADDED`` provider, or find the identical one: ``(provider, created)``.

    Validates the Canadian address and NANP phone; the same phone, type and name is never added
    twice (in the directory, or among the member's own additions). The new provider is usable at
    once by this member only, and in the shared directory once the insurer verifies it; at most
    ``MAX_ADDITIONS_PER_YEAR`` additions a calendar year (``409 PROVIDER_ADDITION_LIMIT``).
    """
    phone, postal = _checked_phone_and_postal_code(body)
    provider = build_provider(
        provider_id=sortable_id("P"),
        provider_type=body.provider_type,
        phone=phone,
        address={
            "line1": body.address.line1,
            "line2": body.address.line2,
            "city": body.address.city,
            "province": body.address.province,
            "postalCode": postal,
        },
        source="MEMBER_ADDED",
        first_name=body.first_name,
        last_name=body.last_name,
        business_name=body.business_name,
        registration_number=body.registration_number,
        created_at=clock.now_iso("seconds"),
        added_by=member_key,
    )
    try:
        stored, created = add_provider(provider, clock.today().year)
    except AdditionLimitReached:
        raise Conflict("PROVIDER_ADDITION_LIMIT", maximum=MAX_ADDITIONS_PER_YEAR) from None
    return provider_out(stored, lang), created
