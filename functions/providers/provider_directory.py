"""The providers repository: the providers table's layout and every DynamoDB call of the providers function.

Providers table layout (one partition per provider):

| item | PK | SK | index keys |
| --- | --- | --- | --- |
| provider | ``PROVIDER#<id>`` | ``PROVIDER`` | ``GSI1PK=PHONE#<E.164>``, ``GSI1SK=<type>#<id>`` |
| name entry | ``PROVIDER#<id>`` | ``NAME#<kind>`` | ``GSI2PK=NAME#<kind>#<2 letters>``, ``GSI2SK=<name>#<id>`` |
| uniqueness | ``UNIQUE#<E.164>#<type>#<name key>`` | ``UNIQUE`` | |

Name entries carry a copy of the provider, so a search is one bounded ``Query`` (``Limit``) with
no second read. Kinds: ``L`` "last first", ``F`` "first last" (persons), ``B`` business name. The
two-letter bucket in the partition key spreads the index and keeps each prefix query inside one
partition: constant cost whatever the directory size. The attributes every item copies are
:class:`portal_common.provider_records.StoredProvider`'s.
"""

from __future__ import annotations

import time
from typing import Any

from provider_rules import MIN_PREFIX, display_name, name_key, name_prefix

from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.dynamo import batch_get, get_item, is_conditional_failure, query, to_item
from portal_common.provider_records import (
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
) -> StoredProvider:
    """A provider as the directory stores it (display name and name key computed, empty address lines left out).

    Directory providers (the seed) and member-added ones are made here.
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


def add_provider(provider: StoredProvider) -> tuple[StoredProvider, bool]:
    """Store a new provider unless the same (phone, type, name) exists: ``(provider, created)``.

    Race-safe: the uniqueness item is written under ``attribute_not_exists`` in the same
    transaction as the provider, so two members adding the same provider at once make one. The
    loser reads the winner's provider (strongly consistent); a transaction conflict with no winner
    yet is retried with back-off.
    """
    table = get_settings().providers_table
    unique = uniqueness_key(provider.phone, provider.provider_type, provider.name_key)
    transact = [
        {"Put": {"TableName": table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(PK)"}}
        for item in provider_items(provider)
    ]
    for attempt in range(6):
        existing = get_item(table, unique, consistent=attempt > 0)
        if existing is not None:
            found = get_provider(str(existing["providerId"]), consistent=True)
            if found is not None:
                return found, False
            # The uniqueness item is visible before its provider only while the winning transaction
            # is being applied (moto applies items one by one): look again shortly.
        else:
            try:
                client("dynamodb").transact_write_items(TransactItems=transact)
                return provider, True
            except Exception as error:
                if not is_conditional_failure(error) and _error_code(error) != "TransactionConflictException":
                    raise
        time.sleep(0.02 * 2**attempt)
    raise RuntimeError("provider uniqueness item without provider")


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
    by_id = {provider.provider_id: provider for provider in map(StoredProvider.from_item, found)}
    return [(by_id[e.provider_id], e.last_used_at) for e in entries if e.provider_id in by_id]
