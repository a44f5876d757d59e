"""The stored provider and the recent-providers item, shared by the claims and providers functions.

- providers table: ``PK=PROVIDER#<providerId>``, ``SK=PROVIDER``: :class:`StoredProvider` owns its
  attributes (written by the providers function and the directory seed; read by claim submission
  to check the provider and copy its name and type onto the claim);
- claims table: ``PK=MEMBER#<contract>#<participant>``, ``SK=RECENT#<claimType>``: the member's
  recent providers for one claim type, most recent first, at most :data:`MAX_RECENT`:
  :class:`RecentProviders` (written in the claim's transaction; read by ``GET /v1/providers/recent``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from portal_common.config import get_settings
from portal_common.dynamo import get_item

MAX_RECENT = 10

ProviderSource = Literal["DIRECTORY", "MEMBER_ADDED"]
PENDING_VERIFICATION = "PENDING"
VERIFIED = "VERIFIED"


class RecentProvider(NamedTuple):
    """One entry of a recent-providers item."""

    provider_id: str
    last_used_at: str | None


def provider_key(provider_id: str) -> dict[str, str]:
    """Key of a provider item in the providers table."""
    return {"PK": f"PROVIDER#{provider_id}", "SK": "PROVIDER"}


@dataclass(frozen=True)
class RecentProviders:
    """The member's recent-providers item for one claim type (``to_item`` / ``from_item``)."""

    member_key: str
    claim_type: str
    entries: tuple[RecentProvider, ...] = ()
    version: int = 0  # 0: no item stored yet

    @staticmethod
    def key(member_key: str, claim_type: str) -> dict[str, str]:
        """Key of the item in the claims table."""
        return {"PK": member_key, "SK": f"RECENT#{claim_type}"}

    @classmethod
    def from_item(cls, item: dict[str, Any] | None, member_key: str, claim_type: str) -> RecentProviders:
        """The stored item, or an empty list (version 0) when there is none."""
        if not item:
            return cls(member_key, claim_type)
        entries = tuple(RecentProvider(str(e["providerId"]), e.get("lastUsedAt")) for e in item.get("providers") or [])
        return cls(member_key, claim_type, entries, int(item.get("version", 0)))

    def used(self, provider_id: str, used_at: str) -> RecentProviders:
        """This list with ``provider_id`` moved (or added) first, bounded to :data:`MAX_RECENT`."""
        rest = tuple(e for e in self.entries if e.provider_id != provider_id)
        entries = (RecentProvider(provider_id, used_at), *rest)[:MAX_RECENT]
        return RecentProviders(self.member_key, self.claim_type, entries, self.version + 1)

    def to_item(self) -> dict[str, Any]:
        """The stored item."""
        return {
            **self.key(self.member_key, self.claim_type),
            "entityType": "RECENT_PROVIDERS",
            "claimType": self.claim_type,
            "providers": [{"providerId": e.provider_id, "lastUsedAt": e.last_used_at} for e in self.entries],
            "version": self.version,
        }

    def put_condition(self) -> tuple[str, dict[str, Any]]:
        """Condition (and values) that the item is still the version this one was made from."""
        if self.version <= 1:
            return "attribute_not_exists(PK)", {}
        return "version = :v", {":v": self.version - 1}


@dataclass(frozen=True)
class StoredProvider:
    """The provider attributes every providers-table item of a provider carries.

    ``to_item`` / ``from_item`` own the attribute names; the keys and indexes of the items that
    store a provider are ``provider_directory``'s (see its docstring).
    """

    provider_id: str
    display_name: str
    provider_type: str
    phone: str  # E.164
    address: dict[str, str]  # line1, line2?, city, province, postalCode
    source: ProviderSource
    name_key: str  # with phone and type, what makes a provider unique
    first_name: str | None = None
    last_name: str | None = None
    business_name: str | None = None
    registration_number: str | None = None
    created_at: str | None = None
    # Member-added providers: who added it (member key) and whether the insurer verified it.
    # ``PENDING``: usable only by that member (their claims, their recent providers), in no search;
    # ``VERIFIED``: in the shared directory like any other. Directory providers carry neither.
    added_by: str | None = None
    verification: str | None = None
    verified_at: str | None = None

    def visible_to(self, member_key: str) -> bool:
        """Whether ``member_key`` may see and use this provider: an unverified member-added provider
        exists for the member who added it only (anyone else gets "unknown provider")."""
        return self.verification != PENDING_VERIFICATION or self.added_by == member_key

    def to_item(self) -> dict[str, Any]:
        """The stored attributes (absent optional ones left out)."""
        item: dict[str, Any] = {
            "providerId": self.provider_id,
            "displayName": self.display_name,
            "providerType": self.provider_type,
            "phone": self.phone,
            "address": dict(self.address),
            "source": self.source,
            "nameKey": self.name_key,
        }
        for name, value in (
            ("firstName", self.first_name),
            ("lastName", self.last_name),
            ("businessName", self.business_name),
            ("registrationNumber", self.registration_number),
            ("createdAt", self.created_at),
            ("addedBy", self.added_by),
            ("verification", self.verification),
            ("verifiedAt", self.verified_at),
        ):
            if value:
                item[name] = value
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredProvider:
        """A provider item or one of its name entries (they carry a copy of the provider)."""
        return cls(
            provider_id=str(item["providerId"]),
            display_name=str(item["displayName"]),
            provider_type=str(item["providerType"]),
            phone=str(item["phone"]),
            address={str(k): str(v) for k, v in dict(item["address"]).items()},
            source=item["source"],
            name_key=str(item.get("nameKey", "")),
            first_name=item.get("firstName"),
            last_name=item.get("lastName"),
            business_name=item.get("businessName"),
            registration_number=item.get("registrationNumber"),
            created_at=item.get("createdAt"),
            added_by=item.get("addedBy"),
            verification=item.get("verification"),
            verified_at=item.get("verifiedAt"),
        )


def get_provider(provider_id: str, *, consistent: bool = False) -> StoredProvider | None:
    """A provider by id (one ``GetItem``), ``None`` when unknown."""
    item = get_item(get_settings().providers_table, provider_key(provider_id), consistent=consistent)
    return StoredProvider.from_item(item) if item else None


def get_provider_for(member_key: str, provider_id: str) -> StoredProvider | None:
    """A provider as ``member_key`` may use it: ``None`` when unknown or when it is another
    member's provider that the insurer has not verified yet (as if it did not exist)."""
    provider = get_provider(provider_id)
    return provider if provider is not None and provider.visible_to(member_key) else None
