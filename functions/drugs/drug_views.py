"""Views of the drugs function: a stored product and a coverage decision as the contract's models.

Names in the caller's language where the extract has French (``fr``), English otherwise.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from drug_models import Coverage, CoverageReason, Drug, DrugIngredient, GenericSubstitution, LowestCostAlternative

from portal_common.drug_coverage import MARKETED, CoverageDecision, localized_reasons


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


def coverage_view(
    din: str, person_id: str, decision: CoverageDecision, document: dict[str, Any], lang: str, on: date
) -> Coverage:
    """The contract's ``Coverage`` of the product ``din`` (its ``document``) for one person on ``on``."""
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
