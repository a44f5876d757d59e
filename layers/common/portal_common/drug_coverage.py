"""Drug coverage rules: is a drug covered for one person under their plan, and on what terms.

Pure functions, no AWS: the drugs API ("Vérifier mon admissibilité") and the claim processor
(adjudication of drug claims) call the same :func:`evaluate`, so a member is never told one thing
and paid another.

Inputs:

- ``drug``: a :class:`DrugProfile` (what the DPD extract and BC PharmaCare say about one DIN);
- ``alternatives``: the *other* marketed products interchangeable with it (same ``AI_GROUP_NO``,
  same pharmaceutical forms and routes), as :class:`DrugProfile` too
  (:func:`portal_common.drug_catalog.interchangeable_alternatives` reads them);
- ``rules``: the plan's :class:`~portal_common.plans.DrugRules` (``plan.drugs``);
- ``eligibility``: :func:`portal_common.members.eligibility_on` for the person on the date.

Rules, in order (every failing rule adds a reason; the drug is covered when none fails):

1. the person is eligible on the date (``PERSON_NOT_ELIGIBLE``);
2. the plan covers drugs at all (``PLAN_NO_DRUG_COVERAGE``);
3. the product is marketed (``DRUG_NOT_MARKETED``);
4. schedule: covered when one of the product's schedules is in ``coveredSchedules``
   (prescription and controlled schedules in both demo plans; non-prescription only if listed)
   (``SCHEDULE_NOT_COVERED``; a product without any schedule counts as non-prescription);
5. ATC class: excluded when one of its ATC codes starts with an ``excludedAtcPrefixes`` entry
   (``ATC_EXCLUDED``).

When covered, the terms:

- prior authorization when an ATC code starts with a ``priorAuthorizationAtcPrefixes`` entry
  (``PRIOR_AUTHORIZATION_ATC``) or BC PharmaCare flags the DIN as limited use / special authority
  (``PRIOR_AUTHORIZATION_LIMITED_USE``);
- generic substitution (plans with ``genericSubstitution``), see :func:`generic_substitution`;
- coinsurance ``coinsurancePercent`` (``COINSURANCE``) and the dispensing-fee cap
  (``DISPENSING_FEE_CAP``).

Reasons are codes with parameters; :func:`localized_reasons` renders them in fr-CA or en-CA from
the ``drugs.reason.<CODE>`` keys of ``messages/*/drugs.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from portal_common.i18n import translate
from portal_common.members import Eligibility
from portal_common.plans import DrugRules

MARKETED = "MARKETED"
NON_PRESCRIPTION = "NON-PRESCRIPTION DRUGS"
MAX_LISTED_ALTERNATIVES = 10


@dataclass(frozen=True)
class DrugPrice:
    """BC PharmaCare prices of one DIN (per unit: tablet, capsule, mL, ...), when it has any.

    ``unit_price`` is PharmaCare's maximum price for the DIN; ``lca_price`` its lowest cost
    alternative price (set for brands paid only up to the generic price); ``limited_use`` the
    "Ltd Use Flag" (special authority needed).
    """

    unit_price: Decimal | None = None
    lca_price: Decimal | None = None
    limited_use: bool = False

    @property
    def reference_price(self) -> Decimal | None:
        """What the product costs for substitution purposes: its own maximum price."""
        return self.unit_price


@dataclass(frozen=True)
class DrugProfile:
    """What coverage needs to know about one product (one DIN)."""

    din: str
    brand_name: str
    status: str = MARKETED
    schedules: tuple[str, ...] = ()
    atc_codes: tuple[str, ...] = ()
    company: str | None = None
    price: DrugPrice | None = None


@dataclass(frozen=True)
class Reason:
    """One reason of a decision: a stable code and the parameters of its message."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CoverageDecision:
    """The answer of :func:`evaluate`.

    ``max_eligible_unit_price`` is the most the plan recognizes per unit when generic substitution
    applies and a price is known (``None``: no cap from substitution, or the cap is the price of the
    lowest cost alternative at the pharmacy). ``lowest_cost_alternatives`` lists the products the
    plan pays in full (before coinsurance), cheapest first.
    """

    din: str
    covered: bool
    coinsurance_percent: int | None
    prior_authorization_required: bool
    generic_substitution_applies: bool
    lowest_cost_alternatives: tuple[DrugProfile, ...]
    max_eligible_unit_price: Decimal | None
    dispensing_fee_cap: Decimal | None
    reasons: tuple[Reason, ...]

    @property
    def reason_codes(self) -> list[str]:
        """The reason codes, in order."""
        return [reason.code for reason in self.reasons]


@dataclass(frozen=True)
class Substitution:
    """Result of :func:`generic_substitution`."""

    applies: bool
    alternatives: tuple[DrugProfile, ...] = ()
    max_unit_price: Decimal | None = None
    reason: Reason | None = None


def matching_prefix(codes: Iterable[str], prefixes: Iterable[str]) -> str | None:
    """The first ``prefixes`` entry that one of the ATC ``codes`` starts with (case-insensitive)."""
    upper_codes = [code.upper() for code in codes if code]
    for prefix in prefixes:
        wanted = prefix.strip().upper()
        if wanted and any(code.startswith(wanted) for code in upper_codes):
            return prefix
    return None


def schedule_covered(schedules: Sequence[str], covered_schedules: Sequence[str]) -> bool:
    """Whether one of the product's schedules is covered (no schedule = non-prescription)."""
    allowed = {s.strip().upper() for s in covered_schedules}
    return any(s.strip().upper() in allowed for s in (schedules or (NON_PRESCRIPTION,)))


def _price_of(profile: DrugProfile) -> Decimal | None:
    price = profile.price.reference_price if profile.price else None
    return price if price is not None and price > 0 else None


def _sorted_alternatives(alternatives: Iterable[DrugProfile]) -> tuple[DrugProfile, ...]:
    return tuple(sorted(alternatives, key=lambda a: (_price_of(a) or Decimal(0), a.brand_name, a.din)))


def generic_substitution(drug: DrugProfile, alternatives: Sequence[DrugProfile]) -> Substitution:
    """Lowest cost alternative rule (for a plan with generic substitution).

    Only marketed alternatives count. With price data (BC PharmaCare):

    - the DIN has an LCA price: the plan pays up to it; the alternatives priced at or below it are
      listed (``GENERIC_SUBSTITUTION_LCA``);
    - otherwise, alternatives cheaper than the DIN's own price exist: the plan pays up to the lowest
      of them, listed (``GENERIC_SUBSTITUTION_LCA``);
    - the DIN is itself the cheapest priced product of its group: no substitution
      (``LOWEST_COST_PRODUCT``);
    - the DIN has no price but some alternatives do: the plan pays up to the lowest known
      alternative price (``GENERIC_SUBSTITUTION_LCA``).

    Without any price in the group but with interchangeable products: substitution applies, the
    alternatives are listed (at most :data:`MAX_LISTED_ALTERNATIVES`, by name) and the plan pays up to
    the price of the least expensive of them at the pharmacy (``GENERIC_SUBSTITUTION_UNPRICED``,
    ``max_unit_price`` is ``None``).
    """
    others = [a for a in alternatives if a.din != drug.din and a.status == MARKETED]
    if not others:
        return Substitution(applies=False)
    priced = [a for a in others if _price_of(a) is not None]
    own_price = _price_of(drug)
    lca = drug.price.lca_price if drug.price and drug.price.lca_price and drug.price.lca_price > 0 else None

    if lca is not None:
        at_lca = [a for a in priced if (_price_of(a) or Decimal(0)) <= lca]
        listed = _sorted_alternatives(at_lca or priced or others)[:MAX_LISTED_ALTERNATIVES]
        return Substitution(True, listed, lca, Reason("GENERIC_SUBSTITUTION_LCA", {"price": _money4(lca)}))
    if priced:
        lowest = min(p for a in priced if (p := _price_of(a)) is not None)
        if own_price is not None and own_price <= lowest:
            return Substitution(applies=False, reason=Reason("LOWEST_COST_PRODUCT"))
        cheapest = [a for a in priced if _price_of(a) == lowest]
        listed = _sorted_alternatives(cheapest)[:MAX_LISTED_ALTERNATIVES]
        return Substitution(True, listed, lowest, Reason("GENERIC_SUBSTITUTION_LCA", {"price": _money4(lowest)}))
    listed = tuple(sorted(others, key=lambda a: (a.brand_name, a.din)))[:MAX_LISTED_ALTERNATIVES]
    return Substitution(True, listed, None, Reason("GENERIC_SUBSTITUTION_UNPRICED", {"count": len(others)}))


def _money4(amount: Decimal) -> str:
    """Unit prices have up to four decimals in PharmaCare's file; show at least two."""
    text = f"{amount.quantize(Decimal('0.0001')):f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def evaluate(
    drug: DrugProfile,
    alternatives: Sequence[DrugProfile],
    rules: DrugRules,
    eligibility: Eligibility,
) -> CoverageDecision:
    """Coverage of ``drug`` for one person (see the module docstring for the rules)."""
    refusals: list[Reason] = []
    if not eligibility.eligible:
        refusals.append(Reason("PERSON_NOT_ELIGIBLE", {"eligibilityReason": eligibility.reason or "NOT_ELIGIBLE"}))
    if not rules.covered:
        refusals.append(Reason("PLAN_NO_DRUG_COVERAGE"))
    if drug.status != MARKETED:
        refusals.append(Reason("DRUG_NOT_MARKETED"))
    if not schedule_covered(drug.schedules, rules.covered_schedules):
        refusals.append(Reason("SCHEDULE_NOT_COVERED", {"schedule": ", ".join(drug.schedules) or NON_PRESCRIPTION}))
    excluded = matching_prefix(drug.atc_codes, rules.excluded_atc_prefixes)
    if excluded:
        refusals.append(Reason("ATC_EXCLUDED", {"atc": excluded}))
    if refusals:
        return CoverageDecision(
            din=drug.din,
            covered=False,
            coinsurance_percent=None,
            prior_authorization_required=False,
            generic_substitution_applies=False,
            lowest_cost_alternatives=(),
            max_eligible_unit_price=None,
            dispensing_fee_cap=None,
            reasons=tuple(refusals),
        )

    reasons: list[Reason] = [Reason("SCHEDULE_COVERED", {"schedule": ", ".join(drug.schedules)})]
    prior_auth = False
    pa_class = matching_prefix(drug.atc_codes, rules.prior_authorization_atc_prefixes)
    if pa_class:
        prior_auth = True
        reasons.append(Reason("PRIOR_AUTHORIZATION_ATC", {"atc": pa_class}))
    if drug.price and drug.price.limited_use:
        prior_auth = True
        reasons.append(Reason("PRIOR_AUTHORIZATION_LIMITED_USE"))

    substitution = generic_substitution(drug, alternatives) if rules.generic_substitution else Substitution(False)
    if substitution.reason:
        reasons.append(substitution.reason)
    reasons.append(Reason("COINSURANCE", {"percent": rules.coinsurance_percent}))
    if rules.dispensing_fee_cap is not None:
        reasons.append(Reason("DISPENSING_FEE_CAP", {"amount": f"{rules.dispensing_fee_cap:.2f}"}))
    return CoverageDecision(
        din=drug.din,
        covered=True,
        coinsurance_percent=rules.coinsurance_percent,
        prior_authorization_required=prior_auth,
        generic_substitution_applies=substitution.applies,
        lowest_cost_alternatives=substitution.alternatives if substitution.applies else (),
        max_eligible_unit_price=substitution.max_unit_price if substitution.applies else None,
        dispensing_fee_cap=rules.dispensing_fee_cap,
        reasons=tuple(reasons),
    )


def reason_message(reason: Reason, lang: str, schedule_labels: Mapping[str, str] | None = None) -> str:
    """The text of one reason in ``lang`` (fr-CA or en-CA).

    ``schedule_labels`` maps the extract's schedule names (``PRESCRIPTION``) to their names in
    ``lang`` (the DPD's French ``SCHEDULE_F``) for the reasons that quote the schedule.
    """
    params = dict(reason.params)
    if schedule_labels and "schedule" in params:
        params["schedule"] = ", ".join(
            schedule_labels.get(name.strip(), name.strip()) for name in str(params["schedule"]).split(",")
        )
    if reason.code == "PERSON_NOT_ELIGIBLE":
        params["detail"] = translate(f"drugs.eligibility.{params.get('eligibilityReason', 'NOT_ELIGIBLE')}", lang)
    return translate(f"drugs.reason.{reason.code}", lang, **params)


def localized_reasons(
    decision: CoverageDecision, lang: str, schedule_labels: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """``[{"code", "message"}]`` as the contract's ``Coverage.reasons``."""
    return [{"code": r.code, "message": reason_message(r, lang, schedule_labels)} for r in decision.reasons]
