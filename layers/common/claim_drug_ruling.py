"""Formulary ruling for a drug claim, from the same coverage rules as the drugs API
(``portal_common.drug_coverage.evaluate``), so a member is never told one thing and paid another.

Eligibility on each date of service is checked line by line by the adjudication itself; here the
question is only whether the plan covers the product and on what terms (prior authorization,
lowest cost alternative unit price).
"""

from __future__ import annotations

from typing import Any

from claim_adjudication import ClaimToAdjudicate, DrugRuling

from portal_common.drug_catalog import (
    drug_document,
    get_drug_item,
    interchangeable_alternatives,
    profile_from_document,
)
from portal_common.drug_coverage import CoverageDecision, evaluate
from portal_common.members import Eligibility
from portal_common.plans import Plan

# drug_coverage refusal code -> adjudication line code (first refusal wins).
_DENIALS = {
    "PLAN_NO_DRUG_COVERAGE": "DRUGS_NOT_COVERED",
    "DRUG_NOT_MARKETED": "DRUG_NOT_MARKETED",
    "SCHEDULE_NOT_COVERED": "DRUG_SCHEDULE_NOT_COVERED",
    "ATC_EXCLUDED": "DRUG_EXCLUDED",
}


def ruling_from_decision(decision: CoverageDecision) -> DrugRuling:
    """Translate a coverage decision into what adjudication needs."""
    if not decision.covered:
        for reason in decision.reasons:
            if reason.code in _DENIALS:
                return DrugRuling(denial=_DENIALS[reason.code])
        return DrugRuling(denial="DRUG_SCHEDULE_NOT_COVERED")
    return DrugRuling(
        prior_authorization_required=decision.prior_authorization_required,
        lowest_cost_unit_price=decision.max_eligible_unit_price if decision.generic_substitution_applies else None,
    )


def claimed_din(claim: ClaimToAdjudicate) -> str | None:
    """The claim's DIN when it is one (8 digits), else ``None`` (the drug cannot be identified)."""
    din = claim.drug.din if claim.drug else None
    return din if din and din.isdigit() and len(din) == 8 else None


def drug_ruling(plan: Plan, claim: ClaimToAdjudicate) -> DrugRuling:
    """The ruling for the DIN of a drug claim (two ``GetItem``: the product and its group)."""
    din = claimed_din(claim)
    return ruling_for_item(plan, get_drug_item(din) if din else None)


def ruling_for_item(plan: Plan, item: dict[str, Any] | None) -> DrugRuling:
    """The ruling for the claimed product's stored item (``None``: unknown DIN), already read; one
    ``GetItem`` of its interchangeable group when the plan substitutes generics."""
    if item is None:
        return DrugRuling(denial="DRUG_NOT_IDENTIFIED")
    alternatives = interchangeable_alternatives(item) if plan.drugs.generic_substitution else []
    decision = evaluate(profile_from_document(drug_document(item)), alternatives, plan.drugs, Eligibility(True))
    return ruling_from_decision(decision)
