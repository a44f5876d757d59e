"""The providers repository: the providers table's layout and every DynamoDB call of the providers function.

Providers table layout (one partition per provider):

| item | PK | SK | index keys |
| --- | --- | --- | --- |
| provider | ``PROVIDER#<id>`` | ``PROVIDER`` | ``GSI1PK=PHONE#<E.164>``, ``GSI1SK=<type>#<id>`` |
| name entry | ``PROVIDER#<id>`` | ``NAME#<kind>`` | ``GSI2PK=NAME#<kind>#<2 letters>``, ``GSI2SK=<name>#<id>`` |
| uniqueness | ``UNIQUE#<E.164>#<type>#<name key>`` | ``UNIQUE`` | |
| pending member-added | ``PROVIDER#<id>`` | ``PROVIDER`` | ``GSI1PK=VERIFICATION#PENDING``, ``GSI1SK=<created>#<id>`` |
| its uniqueness, for its member | ``UNIQUE#<E.164>#<type>#<name key>#BY#<memberKey>`` | ``UNIQUE`` | |
| additions of a member in a year | ``ADDITIONS#<memberKey>`` | ``YEAR#<yyyy>`` | ``count`` |

A provider a member adds is **unverified** until the insurer verifies it (``tools/verify_providers``):
it has no phone key and no name entries, so no search finds it; only the member who added it can
use it (their claims, their recent providers: ``StoredProvider.visible_to``). Verifying it writes
its phone key, its name entries and the shared uniqueness item in one transaction. A member adds at
most :data:`MAX_ADDITIONS_PER_YEAR` providers a calendar year (the counter item, updated in the
addition's transaction under a condition).

Name entries carry a copy of the provider, so a search is one bounded ``Query`` (``Limit``) with
no second read. Kinds: ``L`` "last first", ``F`` "first last" (persons), ``B`` business name. The
two-letter bucket in the partition key spreads the index and keeps each prefix query inside one
partition: constant cost whatever the directory size. The attributes every item copies are
:class:`portal_common.provider_records.StoredProvider`'s.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from provider_rules import MIN_PREFIX, display_name, name_key, name_prefix

from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.dynamo import batch_get, get_item, is_conditional_failure, query, to_item
from portal_common.provider_records import (
    PENDING_VERIFICATION,
    VERIFIED,
    ProviderSource,
    RecentProviders,
    StoredProvider,
    get_provider,
    provider_key,
)


def uniqueness_key(phone: str, provider_type: str, key: str) -> dict[str, str]:
    """Key of the item that makes (phone, type, name) unique."""
    return {"PK": f"UNIQUE#{phone}#{provider_type}#{key}", "SK": "UNIQUE"}


def build_provider(
    *,
    provider_id: str,
    provider_type: str,
    phone: str,
    address: dict[str, Any],
    source: ProviderSource,
    first_name: str | None = None,
    last_name: str | None = None,
    business_name: str | None = None,
    registration_number: str | None = None,
    created_at: str | None = None,
    added_by: str | None = None,
) -> StoredProvider:
    """A provider as the directory stores it (display name and name key computed, empty address lines left out).

    Directory providers (the seed) and member-added ones (``added_by``: unverified) are made here.
    """
    return StoredProvider(
        provider_id=provider_id,
        display_name=display_name(first_name, last_name, business_name),
        provider_type=provider_type,
        phone=phone,
        address={k: v for k, v in address.items() if v},
        source=source,
        name_key=name_key(first_name, last_name, business_name),
        first_name=first_name or None,
        last_name=last_name or None,
        business_name=business_name or None,
        registration_number=registration_number or None,
        created_at=created_at or None,
        added_by=added_by,
        verification=PENDING_VERIFICATION if added_by else None,
    )


def _name_entries(provider: StoredProvider) -> list[tuple[str, str]]:
    first, last, business = provider.first_name, provider.last_name, provider.business_name
    entries: list[tuple[str, str]] = []
    if last:
        entries.append(("L", name_prefix(f"{last} {first or ''}")))
    if first:
        entries.append(("F", name_prefix(f"{first} {last or ''}")))
    if business:
        entries.append(("B", name_prefix(business)))
    return [(kind, key) for kind, key in entries if len(key) >= MIN_PREFIX]


def provider_items(provider: StoredProvider) -> list[dict[str, Any]]:
    """Every item that stores ``provider``: the provider, its name entries, its uniqueness item."""
    pid = provider.provider_id
    attributes = provider.to_item()
    items: list[dict[str, Any]] = [
        {
            **attributes,
            **provider_key(pid),
            "entityType": "PROVIDER",
            "GSI1PK": f"PHONE#{provider.phone}",
            "GSI1SK": f"{provider.provider_type}#{pid}",
        }
    ]
    for kind, key in _name_entries(provider):
        items.append(
            {
                **attributes,
                **provider_key(pid),
                "SK": f"NAME#{kind}",
                "entityType": "PROVIDER_NAME",
                "GSI2PK": f"NAME#{kind}#{key[:MIN_PREFIX]}",
                "GSI2SK": f"{key}#{pid}",
            }
        )
    items.append(
        {
            **uniqueness_key(provider.phone, provider.provider_type, provider.name_key),
            "entityType": "PROVIDER_UNIQUE",
            "providerId": pid,
        }
    )
    return items


MAX_ADDITIONS_PER_YEAR = 25
PENDING_INDEX_PK = "VERIFICATION#PENDING"


def member_uniqueness_key(phone: str, provider_type: str, key: str, member_key: str) -> dict[str, str]:
    """Key of the item that makes a member's unverified (phone, type, name) unique for that member."""
    return {"PK": f"UNIQUE#{phone}#{provider_type}#{key}#BY#{member_key}", "SK": "UNIQUE"}


def additions_key(member_key: str, year: int) -> dict[str, str]:
    """Key of the counter of a member's additions in one calendar year."""
    return {"PK": f"ADDITIONS#{member_key}", "SK": f"YEAR#{year}"}


def unverified_items(provider: StoredProvider) -> list[dict[str, Any]]:
    """The items of a member-added provider awaiting verification: the provider (in the pending
    index only) and its uniqueness item for the member who added it."""
    assert provider.added_by is not None
    return [
        {
            **provider.to_item(),
            **provider_key(provider.provider_id),
            "entityType": "PROVIDER",
            "GSI1PK": PENDING_INDEX_PK,
            "GSI1SK": f"{provider.created_at or ''}#{provider.provider_id}",
        },
        {
            **member_uniqueness_key(provider.phone, provider.provider_type, provider.name_key, provider.added_by),
            "entityType": "PROVIDER_UNIQUE",
            "providerId": provider.provider_id,
        },
    ]


class AdditionLimitReached(Exception):
    """The member already added :data:`MAX_ADDITIONS_PER_YEAR` providers this year."""


def _existing_for(member_key: str, keys: list[dict[str, str]]) -> StoredProvider | None:
    """The provider behind the first uniqueness item of ``keys`` that ``member_key`` may see."""
    table = get_settings().providers_table
    for key in keys:
        unique = get_item(table, key, consistent=True)
        if unique is not None:
            found = get_provider(str(unique["providerId"]), consistent=True)
            if found is not None and found.visible_to(member_key):
                return found
    return None


def add_provider(provider: StoredProvider, year: int) -> tuple[StoredProvider, bool]:
    """Store a member-added provider, unverified, unless the same (phone, type, name) is already in
    the directory or among this member's own additions: ``(provider, created)``.

    Another member's unverified provider with the same phone and name is neither returned nor
    reused (it does not exist for this member). Race-safe: the member's uniqueness item and the
    year's counter are written under conditions in the provider's transaction; a lost race reads
    the winner (strongly consistent), a transaction conflict is retried with back-off.
    Raises :class:`AdditionLimitReached` at the year's limit.
    """
    member_key = provider.added_by
    assert member_key is not None
    table = get_settings().providers_table
    shared = uniqueness_key(provider.phone, provider.provider_type, provider.name_key)
    own = member_uniqueness_key(provider.phone, provider.provider_type, provider.name_key, member_key)
    counter = additions_key(member_key, year)
    transact: list[dict[str, Any]] = [
        {"Put": {"TableName": table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(PK)"}}
        for item in unverified_items(provider)
    ]
    transact.append(
        {
            "Update": {
                "TableName": table,
                "Key": to_item(counter),
                "UpdateExpression": "SET #count = if_not_exists(#count, :zero) + :one",
                "ConditionExpression": "attribute_not_exists(#count) OR #count < :max",
                "ExpressionAttributeNames": {"#count": "count"},
                "ExpressionAttributeValues": to_item({":zero": 0, ":one": 1, ":max": MAX_ADDITIONS_PER_YEAR}),
            }
        }
    )
    for attempt in range(6):
        existing = _existing_for(member_key, [shared, own])
        if existing is not None:
            return existing, False
        added = get_item(table, counter, consistent=True)
        if added is not None and int(added.get("count", 0)) >= MAX_ADDITIONS_PER_YEAR:
            raise AdditionLimitReached
        try:
            client("dynamodb").transact_write_items(TransactItems=transact)
            return provider, True
        except Exception as error:
            if not is_conditional_failure(error) and _error_code(error) != "TransactionConflictException":
                raise
        time.sleep(0.02 * 2**attempt)
    raise RuntimeError("provider uniqueness item without provider")


def pending_providers(limit: int, start_key: dict[str, Any] | None = None) -> tuple[list[StoredProvider], Any]:
    """Member-added providers awaiting verification, oldest first (``GSI1``, one bounded ``Query``)."""
    items, last = query(
        get_settings().providers_table,
        index="GSI1",
        key_condition="GSI1PK = :p",
        values={":p": PENDING_INDEX_PK},
        limit=limit,
        start_key=start_key,
    )
    return [StoredProvider.from_item(item) for item in items], last


class VerificationRefused(Exception):
    """The provider cannot be verified (unknown, not pending, or a duplicate of a shared one)."""


def verify_provider(provider_id: str, at: str) -> StoredProvider:
    """Verify a pending member-added provider: from now on it is in the shared directory (phone key,
    name entries, shared uniqueness item), in one transaction conditional on it still pending."""
    table = get_settings().providers_table
    current = get_provider(provider_id, consistent=True)
    if current is None or current.verification != PENDING_VERIFICATION:
        raise VerificationRefused(f"{provider_id}: no member-added provider awaiting verification")
    verified = replace(current, verification=VERIFIED, verified_at=at)
    items = provider_items(verified)
    transact: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table,
                "Item": to_item(items[0]),
                "ConditionExpression": "verification = :pending",
                "ExpressionAttributeValues": to_item({":pending": PENDING_VERIFICATION}),
            }
        },
        *(
            {"Put": {"TableName": table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(PK)"}}
            for item in items[1:]
        ),
    ]
    try:
        client("dynamodb").transact_write_items(TransactItems=transact)
    except Exception as error:
        if is_conditional_failure(error):
            raise VerificationRefused(
                f"{provider_id}: the same phone, type and name is already in the directory, or it changed meanwhile"
            ) from None
        raise
    return verified


def _error_code(error: Exception) -> str | None:
    return (getattr(error, "response", {}) or {}).get("Error", {}).get("Code")


def _type_filter(provider_types: list[str] | None) -> tuple[str | None, dict[str, Any]]:
    if not provider_types:
        return None, {}
    names = {f":t{i}": t for i, t in enumerate(provider_types)}
    return f"providerType IN ({', '.join(names)})", names


def search_by_phone(phone: str, provider_types: list[str] | None, limit: int) -> list[StoredProvider]:
    """Providers at a phone number (``GSI1``, one bounded ``Query``)."""
    expression, extra = _type_filter(provider_types)
    items, _ = query(
        get_settings().providers_table,
        index="GSI1",
        key_condition="GSI1PK = :p",
        values={":p": f"PHONE#{phone}", **extra},
        filter_expression=expression,
        limit=max(limit, 50),
    )
    return [StoredProvider.from_item(item) for item in items[:limit]]


def search_by_name(
    kind: str, prefix: str, provider_types: list[str] | None, limit: int, *, narrow: bool = False
) -> list[StoredProvider]:
    """Name entries of one kind starting with ``prefix`` (``GSI2``, one bounded ``Query``).

    ``narrow``: the caller filters the results further, so read the bounded window of 100.
    """
    expression, extra = _type_filter(provider_types)
    items, _ = query(
        get_settings().providers_table,
        index="GSI2",
        key_condition="GSI2PK = :p AND begins_with(GSI2SK, :prefix)",
        values={":p": f"NAME#{kind}#{prefix[:MIN_PREFIX]}", ":prefix": prefix, **extra},
        filter_expression=expression,
        # With a type filter, DynamoDB applies Limit before the filter: read a bounded window.
        limit=100 if (expression or narrow) else limit,
    )
    return [StoredProvider.from_item(item) for item in (items if narrow else items[:limit])]


def recent_providers(member_key: str, claim_type: str) -> list[tuple[StoredProvider, str | None]]:
    """The member's recent providers for a claim type and when each was last used, most recent first.

    ``GetItem`` + ``BatchGetItem``; a provider no longer in the directory is left out.
    """
    settings = get_settings()
    item = get_item(settings.claims_table, RecentProviders.key(member_key, claim_type))
    entries = RecentProviders.from_item(item, member_key, claim_type).entries
    if not entries:
        return []
    found = batch_get(settings.providers_table, [provider_key(entry.provider_id) for entry in entries])
    providers = (p for p in map(StoredProvider.from_item, found) if p.visible_to(member_key))
    by_id = {provider.provider_id: provider for provider in providers}
    return [(by_id[e.provider_id], e.last_used_at) for e in entries if e.provider_id in by_id]
