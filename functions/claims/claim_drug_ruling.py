"""Formulary ruling for a drug claim: is the claimed DIN covered by the plan, does it need prior
authorization, and what does the lowest cost alternative cost.

The rules themselves (schedule, excluded and prior-authorization ATC classes, generic substitution)
are the plan's ``drugs`` section; the drug's facts come from the drugs table (one ``GetItem``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from claim_adjudication import ClaimToAdjudicate, DrugRuling

from portal_common.config import get_settings
from portal_common.dynamo import get_item
from portal_common.members import Member
from portal_common.plans import Plan


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def ruling_from_drug(plan: Plan, drug: Mapping[str, Any] | None) -> DrugRuling:
    """Apply the plan's formulary rules to a drug item (``None``: unknown DIN)."""
    if not drug:
        return DrugRuling(denial="DRUG_NOT_IDENTIFIED")
    rules = plan.drugs
    schedules = {s.upper() for s in _strings(drug.get("schedule") or drug.get("schedules"))}
    covered = {s.upper() for s in rules.covered_schedules}
    if not schedules & covered:
        return DrugRuling(denial="DRUG_SCHEDULE_NOT_COVERED")
    atc = str(drug.get("atcCode") or "").upper()
    if atc and any(atc.startswith(p.upper()) for p in rules.excluded_atc_prefixes):
        return DrugRuling(denial="DRUG_EXCLUDED")
    prior = bool(atc) and any(atc.startswith(p.upper()) for p in rules.prior_authorization_atc_prefixes)
    lca = drug.get("lowestCostUnitPrice") or drug.get("lcaPrice")
    lca_price = Decimal(str(lca)) if lca not in (None, "") and rules.generic_substitution else None
    return DrugRuling(prior_authorization_required=prior, lowest_cost_unit_price=lca_price)


def drug_key(din: str) -> dict[str, str]:
    """Key of a drug item in the drugs table."""
    return {"PK": f"DRUG#{din}", "SK": "DRUG"}


def drug_ruling(plan: Plan, claim: ClaimToAdjudicate, member: Member | None) -> DrugRuling:
    """The ruling for the DIN of a drug claim (one ``GetItem``)."""
    din = claim.drug.din if claim.drug else None
    if not din or not din.isdigit() or len(din) != 8:
        return DrugRuling(denial="DRUG_NOT_IDENTIFIED")
    return ruling_from_drug(plan, get_item(get_settings().drugs_table, drug_key(din)))
