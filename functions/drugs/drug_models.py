"""Response models of the drugs function (the contract; their JSON schema is the OpenAPI document's)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from portal_common.models import OutputModel
from portal_common.patterns import DIN_PATTERN


class DrugIngredient(OutputModel):
    """An active ingredient and its strength."""

    name: str
    strength: str
    unit: str


class Drug(OutputModel):
    """A product of Health Canada's Drug Product Database (names in the caller's language when given)."""

    keep_null = frozenset(
        {"descriptor", "company", "form", "atc_code", "ai_group_no"}
    )  # these answer null when unknown

    din: str = Field(pattern=DIN_PATTERN)
    brand_name: str
    descriptor: str | None = None
    company: str | None = None
    form: str | None = Field(default=None, description="Pharmaceutical form(s), comma separated")
    routes: list[str] = Field(default_factory=list)
    schedule: list[str] = Field(default_factory=list)
    ingredients: list[DrugIngredient] = Field(default_factory=list)
    atc_code: str | None = None
    ai_group_no: str | None = Field(default=None, description="Interchangeable group (same ingredients and strengths)")
    status: Literal["MARKETED", "NOT_MARKETED"]


class DrugPage(OutputModel):
    """One page of search results."""

    keep_null = frozenset({"next_cursor"})  # null on the last page

    items: list[Drug]
    next_cursor: str | None = None


class LowestCostAlternative(OutputModel):
    """An interchangeable product the plan pays in full (before coinsurance)."""

    keep_null = frozenset({"company", "unit_price"})  # these answer null when unknown

    din: str
    brand_name: str
    company: str | None = None
    unit_price: str | None = Field(default=None, description="BC PharmaCare unit price (up to 4 decimals)")


class GenericSubstitution(OutputModel):
    """Generic substitution (lowest cost alternative)."""

    keep_null = frozenset({"max_eligible_unit_price"})  # these answer null when unknown

    applies: bool
    lowest_cost_alternatives: list[LowestCostAlternative] = Field(default_factory=list)
    max_eligible_unit_price: str | None = Field(
        default=None, description="Most the plan recognizes per unit (tablet, mL...), up to 4 decimals"
    )


class CoverageReason(OutputModel):
    """Why: a stable code and a message in the caller's language."""

    code: str
    message: str


class Coverage(OutputModel):
    """ "Vérifier mon admissibilité": is this drug covered for this person today."""

    keep_null = frozenset({"coinsurance_percent", "dispensing_fee_cap"})  # these answer null when unknown

    din: str
    person_id: str
    covered: bool
    coinsurance_percent: int | None = None
    prior_authorization_required: bool
    generic_substitution: GenericSubstitution
    dispensing_fee_cap: str | None = None
    reasons: list[CoverageReason]
    checked_on: date
