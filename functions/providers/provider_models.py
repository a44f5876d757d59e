"""Models of the providers function: request bodies, response bodies and the stored provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from provider_rules import PROVINCES
from pydantic import StringConstraints

from portal_common.models import InputModel, OutputModel

_TEXT = r"^[^\x00-\x1F\x7F]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=_TEXT)]
Province = Literal["NL", "NS", "PE", "NB", "QC", "ON", "MB", "SK", "AB", "BC", "YT", "NT", "NU"]
assert set(PROVINCES) == set(get_args(Province))  # one list of provinces
ProviderSource = Literal["DIRECTORY", "MEMBER_ADDED"]


# ---------------------------------------------------------------- requests
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


# ---------------------------------------------------------------- responses
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
    source: ProviderSource
    registration_number: str | None = None
    last_used_at: str | None = None


class ProviderList(OutputModel):
    keep_null = frozenset({"next_cursor"})  # a bounded look-up, not a browse: always null

    items: list[ProviderOut]
    next_cursor: str | None = None


# ---------------------------------------------------------------- stored entity
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
        )
