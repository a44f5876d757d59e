"""Drug search, look-up by DIN and coverage check: the rules behind ``/v1/drugs*``.

Every read is a key read (``GetItem``/``BatchGetItem``) or the caller's own certificate (one small
``Query``), so a request costs the same whatever the size of the drugs table.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from drug_search import MAX_PAGES_PER_REQUEST, ParsedQuery, decode_entry, parse_query
from pydantic import Field

from portal_common import clock
from portal_common.config import get_settings
from portal_common.drug_catalog import (
    drug_document,
    get_drug_item,
    get_drug_items,
    interchangeable_alternatives,
    profile_from_document,
)
from portal_common.drug_coverage import MARKETED, evaluate, localized_reasons
from portal_common.dynamo import get_item
from portal_common.identity import Caller
from portal_common.members import eligibility_on, get_member
from portal_common.models import OutputModel
from portal_common.pagination import decode_cursor, encode_cursor
from portal_common.plans import get_plan
from portal_common.problems import DomainError, NotFound, invalid_field

_CURSOR_KEYS = frozenset({"page", "offset"})


# ---------------------------------------------------------------- response models
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

    din: str = Field(pattern=r"^\d{8}$")
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

    keep_null = frozenset({"next_cursor"})  # these answer null when unknown

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


# ---------------------------------------------------------------- views
def _pick(document: dict[str, Any], name: str, lang: str) -> Any:
    if lang.startswith("fr") and document.get(f"{name}Fr"):
        return document[f"{name}Fr"]
    return document.get(name)


def drug_view(document: dict[str, Any], lang: str) -> Drug:
    """The contract's ``Drug`` from a product document, in ``lang`` where the extract has French."""
    french = lang.startswith("fr")
    forms = _pick(document, "forms", lang) or []
    ingredients = [
        DrugIngredient(
            name=(ing.get("nameFr") if french and ing.get("nameFr") else ing["name"]),
            strength=str(ing.get("strength", "")),
            unit=(ing.get("unitFr") if french and ing.get("unitFr") else str(ing.get("unit", ""))),
        )
        for ing in document.get("ingredients") or []
    ]
    atc_codes = document.get("atcCodes") or []
    return Drug(
        din=str(document["din"]),
        brand_name=str(_pick(document, "brandName", lang) or document.get("brandName", "")),
        descriptor=_pick(document, "descriptor", lang),
        company=document.get("company"),
        form=", ".join(forms) or None,
        routes=list(_pick(document, "routes", lang) or []),
        schedule=list(_pick(document, "schedules", lang) or []),
        ingredients=ingredients,
        atc_code=atc_codes[0] if atc_codes else None,
        ai_group_no=document.get("aiGroupNo"),
        status="MARKETED" if document.get("status") == MARKETED else "NOT_MARKETED",
    )


# ---------------------------------------------------------------- search
def _search_page(prefix: str, page: int) -> dict[str, Any] | None:
    return get_item(get_settings().drugs_table, {"PK": f"SEARCH#{prefix}", "SK": f"PAGE#{page:04d}"})


def _scan_pages(
    query: ParsedQuery, limit: int, start: dict[str, Any] | None
) -> tuple[list[str], dict[str, int] | None]:
    """DINs of the next ``limit`` matches and where to continue (``None`` at the end)."""
    page = int(start["page"]) if start else 0
    offset = int(start["offset"]) if start else 0
    found: list[str] = []
    for _ in range(MAX_PAGES_PER_REQUEST):
        item = _search_page(query.lead, page)
        if not item:
            return found, None
        entries = str(item.get("entries") or "").split("\n")
        for index in range(offset, len(entries)):
            if not entries[index]:
                continue
            _, din, entry_words = decode_entry(entries[index])
            if query.matches(entry_words):
                found.append(din)
                if len(found) == limit:
                    if index + 1 < len(entries):
                        return found, {"page": page, "offset": index + 1}
                    more = page + 1 < int(item.get("pages", 1))
                    return found, ({"page": page + 1, "offset": 0} if more else None)
        page, offset = page + 1, 0
        if page >= int(item.get("pages", 1)):
            return found, None
    # Read budget spent (narrow multi-word queries): the client follows the cursor.
    return found, {"page": page, "offset": 0}


def search(q: str, limit: int, cursor: str | None, lang: str) -> DrugPage:
    """``GET /v1/drugs``: a DIN, or brand and ingredient words by prefix (see ``drug_search``)."""
    query = parse_query(q)
    if query is None:
        raise invalid_field("q", "QUERY_TOO_SHORT", min_length=3)
    start = decode_cursor(cursor, query.scope, _CURSOR_KEYS)
    if query.din:
        if start:
            return DrugPage(items=[], next_cursor=None)
        item = get_drug_item(query.din)
        document = drug_document(item) if item else None
        items = [drug_view(document, lang)] if document and document["status"] == MARKETED else []
        return DrugPage(items=items, next_cursor=None)
    if start is not None and not all(isinstance(v, int) and 0 <= v < 1_000_000 for v in start.values()):
        raise invalid_field("cursor", "INVALID_CURSOR")
    dins, next_key = _scan_pages(query, limit, start)
    found = get_drug_items(dins)
    documents = [drug_document(found[din]) for din in dins if din in found]
    items = [drug_view(doc, lang) for doc in documents if doc["status"] == MARKETED]
    return DrugPage(items=items, next_cursor=encode_cursor(next_key, query.scope))


def get_drug(din: str, lang: str) -> Drug:
    """``GET /v1/drugs/{din}`` (a product no longer marketed is still shown, with its status)."""
    item = get_drug_item(din)
    if not item:
        raise NotFound("DRUG_NOT_FOUND")
    return drug_view(drug_document(item), lang)


# ---------------------------------------------------------------- coverage
def _unit_price(value: Any) -> str | None:
    if value is None:
        return None
    text = f"{value:f}" if not isinstance(value, str) else value
    whole, _, decimals = text.partition(".")
    decimals = decimals.rstrip("0")
    return f"{whole}.{decimals.ljust(2, '0')}"


def _schedule_labels(document: dict[str, Any], lang: str) -> dict[str, str] | None:
    """English schedule name -> French one (the extract gives both, row by row)."""
    english, french = document.get("schedules") or [], document.get("schedulesFr") or []
    if not lang.startswith("fr") or len(english) != len(french):
        return None
    return dict(zip(english, french, strict=True))


def check_coverage(caller: Caller, din: str, person_id: str, lang: str, on: date | None = None) -> Coverage:
    """``GET /v1/drugs/{din}/coverage?personId=``: for a person of the caller's certificate only."""
    member = get_member(caller.contract_number, caller.participant_number)
    if member is None:
        raise NotFound("MEMBER_NOT_FOUND")
    person = member.person(person_id)
    if person is None:
        raise NotFound("PERSON_NOT_FOUND")
    plan = get_plan(member.plan_id)
    if plan is None:
        raise DomainError("PLAN_NOT_FOUND", status=404)
    item = get_drug_item(din)
    if not item:
        raise NotFound("DRUG_NOT_FOUND")
    on = on or clock.today()
    document = drug_document(item)
    decision = evaluate(
        profile_from_document(document),
        interchangeable_alternatives(document),
        plan.drugs,
        eligibility_on(person, member, plan, on),
    )
    return Coverage(
        din=din,
        person_id=person_id,
        covered=decision.covered,
        coinsurance_percent=decision.coinsurance_percent,
        prior_authorization_required=decision.prior_authorization_required,
        generic_substitution=GenericSubstitution(
            applies=decision.generic_substitution_applies,
            lowest_cost_alternatives=[
                LowestCostAlternative(
                    din=alt.din,
                    brand_name=alt.brand_name,
                    company=alt.company,
                    unit_price=_unit_price(alt.price.unit_price) if alt.price else None,
                )
                for alt in decision.lowest_cost_alternatives
            ],
            max_eligible_unit_price=_unit_price(decision.max_eligible_unit_price),
        ),
        dispensing_fee_cap=f"{decision.dispensing_fee_cap:.2f}" if decision.dispensing_fee_cap is not None else None,
        reasons=[
            CoverageReason(**reason) for reason in localized_reasons(decision, lang, _schedule_labels(document, lang))
        ],
        checked_on=on,
    )
