"""Request and response models of the providers function (the stored provider: ``portal_common.provider_records``)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from provider_rules import PROVINCES
from pydantic import StringConstraints

from portal_common.models import InputModel, OutputModel
from portal_common.provider_records import ProviderSource

_TEXT = r"^[^\x00-\x1F\x7F]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=_TEXT)]
Province = Literal["NL", "NS", "PE", "NB", "QC", "ON", "MB", "SK", "AB", "BC", "YT", "NT", "NU"]
assert set(PROVINCES) == set(get_args(Province))  # one list of provinces


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
    # Member-added providers only: PENDING (usable by the member who added it, in no search) until
    # the insurer verifies it.
    verification: Literal["PENDING", "VERIFIED"] | None = None


class ProviderList(OutputModel):
    keep_null = frozenset({"next_cursor"})  # a bounded look-up, not a browse: always null

    items: list[ProviderOut]
    next_cursor: str | None = None
