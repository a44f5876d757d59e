"""Pure drug coverage rules (portal_common.drug_coverage), against the demo plans."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from local.seed_roster import load_plans_from_repo
from portal_common import i18n
from portal_common.drug_coverage import (
    DrugPrice,
    DrugProfile,
    evaluate,
    generic_substitution,
    localized_reasons,
    matching_prefix,
)
from portal_common.members import Eligibility

PLANS = {p.plan_id: p for p in load_plans_from_repo()}
ESSENTIEL = PLANS["PLAN-ESSENTIEL"].drugs
PLUS = PLANS["PLAN-PLUS"].drugs
OK = Eligibility(True)


def rx(din: str = "02230711", atc: str = "C10AA05", price: DrugPrice | None = None, **kw: object) -> DrugProfile:
    return DrugProfile(
        din=din,
        brand_name=str(kw.pop("brand", "LIPITOR")),
        schedules=("PRESCRIPTION",),
        atc_codes=(atc,),
        price=price,
        **kw,
    )  # type: ignore[arg-type]


def test_prescription_drug_is_covered_with_the_plan_coinsurance() -> None:
    decision = evaluate(rx(), [], ESSENTIEL, OK)
    assert decision.covered
    assert decision.coinsurance_percent == 80
    assert not decision.prior_authorization_required
    assert not decision.generic_substitution_applies
    assert "COINSURANCE" in decision.reason_codes
    assert evaluate(rx(), [], PLUS, OK).coinsurance_percent == 90


def test_non_prescription_only_when_the_plan_lists_the_schedule() -> None:
    otc = DrugProfile(din="00000001", brand_name="X", schedules=("NON-PRESCRIPTION DRUGS",))
    assert not evaluate(otc, [], ESSENTIEL, OK).covered
    assert evaluate(otc, [], ESSENTIEL, OK).reason_codes == ["SCHEDULE_NOT_COVERED"]
    ethical = DrugProfile(din="00000002", brand_name="Y", schedules=("ETHICAL",))
    assert not evaluate(ethical, [], ESSENTIEL, OK).covered
    assert evaluate(ethical, [], PLUS, OK).covered
    unscheduled = DrugProfile(din="00000003", brand_name="Z", schedules=())
    assert not evaluate(unscheduled, [], PLUS, OK).covered


def test_excluded_and_prior_authorization_classes() -> None:
    weight_loss = rx(atc="A08AB01")
    assert evaluate(weight_loss, [], ESSENTIEL, OK).reason_codes == ["ATC_EXCLUDED"]
    contraceptive = rx(atc="G03AA07")
    assert not evaluate(contraceptive, [], ESSENTIEL, OK).covered
    assert evaluate(contraceptive, [], PLUS, OK).covered  # PLUS does not exclude G03A
    biologic = rx(atc="L04AB02")
    decision = evaluate(biologic, [], ESSENTIEL, OK)
    assert decision.covered
    assert decision.prior_authorization_required
    assert "PRIOR_AUTHORIZATION_ATC" in decision.reason_codes
    # L04AA is prior-auth in ESSENTIEL only
    assert evaluate(rx(atc="L04AA27"), [], ESSENTIEL, OK).prior_authorization_required
    assert not evaluate(rx(atc="L04AA27"), [], PLUS, OK).prior_authorization_required


def test_limited_use_flag_requires_prior_authorization_and_says_why() -> None:
    drug = rx(price=DrugPrice(unit_price=Decimal("10"), limited_use=True))
    decision = evaluate(drug, [], PLUS, OK)
    assert decision.covered
    assert decision.prior_authorization_required
    assert "PRIOR_AUTHORIZATION_LIMITED_USE" in decision.reason_codes
    text = localized_reasons(decision, "en-CA")
    assert any("BC PharmaCare" in r["message"] for r in text)


def test_ineligible_person_is_not_covered_with_the_reason_in_both_languages() -> None:
    decision = evaluate(rx(), [], ESSENTIEL, Eligibility(False, "COVERAGE_ENDED"))
    assert not decision.covered
    assert decision.coinsurance_percent is None
    fr = localized_reasons(decision, "fr-CA")[0]
    en = localized_reasons(decision, "en-CA")[0]
    assert fr["code"] == en["code"] == "PERSON_NOT_ELIGIBLE"
    assert "couverture a pris fin" in fr["message"]
    assert "coverage has ended" in en["message"]


def test_not_marketed_is_not_covered() -> None:
    assert "DRUG_NOT_MARKETED" in evaluate(rx(status="NOT_MARKETED"), [], PLUS, OK).reason_codes


BRAND = rx(price=DrugPrice(unit_price=Decimal("2.3497"), lca_price=Decimal("0.1882")))
GEN_A = rx(din="02295261", brand="APO-ATORVASTATIN", price=DrugPrice(unit_price=Decimal("0.1882")))
GEN_B = rx(din="02310899", brand="TEVA-ATORVASTATIN", price=DrugPrice(unit_price=Decimal("0.1882")))
GEN_C = rx(din="02313707", brand="TARO-ATORVASTATIN", price=DrugPrice(unit_price=Decimal("0.3000")))
GEN_UNPRICED = rx(din="02324946", brand="SANDOZ ATORVASTATIN")


def test_lca_brand_is_paid_up_to_the_lowest_cost_alternative() -> None:
    decision = evaluate(BRAND, [GEN_C, GEN_B, GEN_A, GEN_UNPRICED], ESSENTIEL, OK)
    assert decision.covered
    assert decision.generic_substitution_applies
    assert decision.max_eligible_unit_price == Decimal("0.1882")
    assert [a.din for a in decision.lowest_cost_alternatives] == ["02295261", "02310899"]
    assert "GENERIC_SUBSTITUTION_LCA" in decision.reason_codes
    assert "0.1882" in localized_reasons(decision, "fr-CA")[1]["message"]


def test_no_substitution_under_a_plan_without_it() -> None:
    decision = evaluate(BRAND, [GEN_A], PLUS, OK)
    assert not decision.generic_substitution_applies
    assert decision.lowest_cost_alternatives == ()
    assert decision.max_eligible_unit_price is None


def test_cheapest_product_is_not_substituted() -> None:
    sub = generic_substitution(GEN_A, [BRAND, GEN_B, GEN_C])
    assert not sub.applies
    assert sub.reason is not None
    assert sub.reason.code == "LOWEST_COST_PRODUCT"


def test_pricier_generic_is_capped_at_the_cheapest_one() -> None:
    sub = generic_substitution(GEN_C, [GEN_A, GEN_B, GEN_UNPRICED])
    assert sub.applies
    assert sub.max_unit_price == Decimal("0.1882")


def test_unpriced_group_lists_alternatives_without_a_cap() -> None:
    a = rx(din="00000010", brand="B")
    b = rx(din="00000011", brand="A")
    sub = generic_substitution(rx(din="00000012"), [a, b])
    assert sub.applies
    assert sub.max_unit_price is None
    assert [x.din for x in sub.alternatives] == ["00000011", "00000010"]
    assert sub.reason is not None
    assert sub.reason.code == "GENERIC_SUBSTITUTION_UNPRICED"


def test_alone_in_its_group_or_alternatives_not_marketed() -> None:
    assert not generic_substitution(BRAND, []).applies
    assert not generic_substitution(BRAND, [rx(din="00000099", status="NOT_MARKETED")]).applies


def test_matching_prefix() -> None:
    assert matching_prefix(["L04AB02"], ["L04AA", "L04AB"]) == "L04AB"
    assert matching_prefix([], ["A"]) is None
    assert matching_prefix(["c10aa05"], ["C10"]) == "C10"


@given(
    atc=st.from_regex(r"[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}", fullmatch=True),
    schedule=st.sampled_from(["PRESCRIPTION", "NON-PRESCRIPTION DRUGS", "ETHICAL", "SCHEDULE D", "X"]),
    eligible=st.booleans(),
    price=st.one_of(st.none(), st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1000), places=4)),
)
def test_decision_invariants(atc: str, schedule: str, eligible: bool, price: Decimal | None) -> None:
    drug = DrugProfile(
        din="01234567",
        brand_name="X",
        schedules=(schedule,),
        atc_codes=(atc,),
        price=DrugPrice(unit_price=price) if price else None,
    )
    for rules in (ESSENTIEL, PLUS):
        decision = evaluate(drug, [GEN_A, GEN_UNPRICED], rules, Eligibility(eligible, None if eligible else "X"))
        assert decision.covered == (
            eligible and schedule in rules.covered_schedules and not matching_prefix([atc], rules.excluded_atc_prefixes)
        )
        assert decision.reasons
        if not decision.covered:
            assert decision.coinsurance_percent is None
            assert not decision.generic_substitution_applies
        if decision.generic_substitution_applies and decision.max_eligible_unit_price is not None:
            assert price is None or decision.max_eligible_unit_price < price
        for lang in i18n.LANGUAGES:
            for reason in localized_reasons(decision, lang):
                assert not reason["message"].startswith("drugs.")
