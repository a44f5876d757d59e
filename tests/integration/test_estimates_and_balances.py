"""``POST /v1/claims/estimate`` and ``GET /v1/me/balances`` against moto, with the real claim
processor (``claim_processing.process_claim``) paying the claims submitted through the claims API.

Properties (hypothesis): an estimate is exactly what the same claim submitted next is paid; after any
sequence of claims, every maximum's ``used`` balance is the sum of what was paid against it in its
period. Attack side: another member's person is ``404``; an estimate writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal_common.config import get_settings
from portal_common.dynamo import query_all
from portal_common.identity import member_key
from tests.claim_processing_support import put_atorvastatin_group
from tests.claims_support import (
    DENTIST_PROVIDER,
    MARIE,
    OLIVIA,
    PHYSIO_PROVIDER,
    claims_call,
    person_id,
    seed_directory,
    submit,
    uploaded_receipt,
)

MASSAGE_PROVIDER = "PDEMO0000000000000000000003"
PROVIDERS = {
    "PHYSIOTHERAPY": PHYSIO_PROVIDER,
    "MASSAGE_THERAPY": MASSAGE_PROVIDER,
    "DENTAL_PREVENTIVE": DENTIST_PROVIDER,
}


@pytest.fixture
def world(seeded: Any) -> Any:
    seed_directory()
    return seeded


def quiet_notifier() -> Any:
    from claim_processing import Notifier

    return Notifier(publish=lambda claim, changes: None, email=lambda claim, member: None)


def process(certificate: tuple[str, str], claim_id: str) -> dict[str, Any]:
    """Run the real processor on a submitted claim; the claim as the API shows it then."""
    from claim_processing import process_claim

    process_claim(member_key(*certificate), claim_id, notifier=quiet_notifier())
    status, body, _ = claims_call("GET", f"/claims/{claim_id}", member=certificate)
    assert status == 200, body
    return body


def claim_body(claim_type: str, patient: str, lines: list[tuple[str, str]], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "claimType": claim_type,
        "patientId": patient,
        "answers": {"otherCoverage": False},
        "treatments": [{"dateOfService": d, "amount": a} for d, a in lines],
        "receiptIds": [],
        "authorization": {"accepted": True},
        **extra,
    }
    if claim_type in PROVIDERS:
        body["providerId"] = PROVIDERS[claim_type]
    if claim_type in {"PHYSIOTHERAPY", "MASSAGE_THERAPY", "DENTAL_PREVENTIVE", "DRUG"}:
        body["answers"]["accident"] = False
    if claim_type == "DRUG":
        body["answers"]["provincialDrugPlan"] = False
    if claim_type == "MASSAGE_THERAPY":
        body["answers"].update({"referral": True, "referralDate": days_ago(350)})
    return body


def estimate(body: dict[str, Any], certificate: tuple[str, str] = MARIE, **kw: Any) -> tuple[int, Any]:
    status, answer, _ = claims_call("POST", "/claims/estimate", member=certificate, body=body, **kw)
    return status, answer


def partition(certificate: tuple[str, str]) -> list[dict[str, Any]]:
    pk = member_key(*certificate)
    return sorted(
        query_all(get_settings().claims_table, key_condition="PK = :pk", values={":pk": pk}, consistent=True),
        key=lambda item: str(item["SK"]),
    )


def days_ago(n: int) -> str:
    from portal_common import clock

    return (clock.today() - timedelta(days=n)).isoformat()


# ---------------------------------------------------------------- estimates


def test_estimate_is_what_the_same_claim_submitted_next_is_paid(world: Any) -> None:
    marie = person_id(MARIE, "Marie")
    body = claim_body("PHYSIOTHERAPY", marie, [(days_ago(9), "85.00"), (days_ago(2), "55.00")])
    status, first = estimate(body)
    assert status == 200, first
    assert first["totalClaimed"] == "140.00"
    # PLAN-ESSENTIEL: 60.00 per visit, 25.00 deductible, 80 %: 28.00 + 44.00.
    assert first["totalPayable"] == "72.00"
    assert [(x["treatmentIndex"], x["eligible"], x["paid"]) for x in first["lines"]] == [
        (0, "60.00", "28.00"),
        (1, "55.00", "44.00"),
    ]
    assert first["lines"][0]["reasonCode"] == "COINSURANCE"
    assert first["lines"][0]["explanation"].startswith("Montant admissible limité")

    status, created, _ = submit(body)
    assert status == 201, created
    paid = process(MARIE, created["claimId"])
    assert paid["totalPaid"] == first["totalPayable"]
    assert [x["paid"] for x in paid["adjudication"]["lines"]] == [x["paid"] for x in first["lines"]]

    # The totals moved: the same claim again is estimated on them (no deductible left), in English.
    status, second = estimate(body, headers={"Accept-Language": "en-CA"})
    assert status == 200
    assert second["totalPayable"] == "92.00"  # 80 % of 60.00 + 80 % of 55.00
    assert second["lines"][1]["explanation"] == "Paid at 80% of the eligible amount."


def test_estimate_has_the_submission_validation_errors_and_needs_no_receipts(world: Any) -> None:
    marie = person_id(MARIE, "Marie")
    # DRUG requires receipts at submission; an estimate does not (nor the authorization).
    drug = claim_body("DRUG", marie, [(days_ago(1), "40.00")], drug={"din": "09999999"})
    del drug["authorization"], drug["receiptIds"]
    status, body = estimate(drug)
    assert status == 200, body
    assert body["lines"][0]["reasonCode"] == "DRUG_NOT_IDENTIFIED"

    bad = claim_body("PHYSIOTHERAPY", "someone-else", [(days_ago(-5), "85.00")])
    del bad["providerId"]
    status, problem = estimate(bad)
    assert status == 400
    assert problem["code"] == "VALIDATION_FAILED"
    fields = {(e["field"], e["code"]) for e in problem["errors"]}
    assert fields == {
        ("patientId", "UNKNOWN_PATIENT"),
        ("treatments[0].dateOfService", "DATE_IN_FUTURE"),
        ("providerId", "REQUIRED"),
    }
    # The very same errors as a submission of that body.
    status, submitted, _ = submit(bad)
    assert status == 400
    assert {(e["field"], e["code"]) for e in submitted["errors"]} == fields

    status, problem = estimate({"claimType": "PHYSIOTHERAPY", "patientId": marie, "treatments": [], "x": 1})
    assert status == 400
    status, problem, _ = claims_call("POST", "/claims/estimate", member=MARIE, body="not json")
    assert status == 400
    status, _, _ = claims_call("POST", "/claims/estimate", member=None, body=drug)
    assert status == 401


def test_estimate_writes_nothing(world: Any) -> None:
    """Attack side: estimating, however often, adds no item and changes no running total."""
    marie = person_id(MARIE, "Marie")
    status, created, _ = submit(claim_body("PHYSIOTHERAPY", marie, [(days_ago(20), "85.00")]))
    process(MARIE, created["claimId"])
    before = partition(MARIE)
    assert any(str(i["SK"]).startswith("TOTALS#") for i in before)
    for lines in ([(days_ago(3), "85.00")], [(days_ago(4), "500.00"), (days_ago(3), "40.00")]):
        status, body = estimate(claim_body("PHYSIOTHERAPY", marie, lines))
        assert status == 200, body
        assert Decimal(body["totalPayable"]) > 0
    assert partition(MARIE) == before


def test_drug_estimate_by_din_with_lowest_cost_alternative_and_fee_cap_then_paid_exactly(world: Any) -> None:

    put_atorvastatin_group()
    marie = person_id(MARIE, "Marie")
    body = claim_body(
        "DRUG", marie, [(days_ago(2), "71.00")], drug={"din": "02230711", "quantity": 30, "dispensingFee": "11.00"}
    )
    status, estimated = estimate(body, headers={"Accept-Language": "en-CA"})
    assert status == 200, estimated
    # Drug cost 60.00 -> 30 x 0.50 = 15.00; fee 11.00 capped at 8.00; 80 % of 23.00 = 18.40.
    line = estimated["lines"][0]
    assert (line["eligible"], line["paid"], estimated["totalPayable"]) == ("23.00", "18.40", "18.40")
    assert "lowest cost" in line["explanation"].lower()
    receipt, _ = uploaded_receipt(MARIE)
    status, created, _ = submit({**body, "receiptIds": [receipt]})
    assert status == 201, created
    assert process(MARIE, created["claimId"])["totalPaid"] == estimated["totalPayable"]


claim_specs = st.lists(
    st.tuples(
        st.sampled_from(["Marie", "Jean", "Léa"]),
        st.sampled_from(["PHYSIOTHERAPY", "MASSAGE_THERAPY", "DENTAL_PREVENTIVE"]),
        st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=300),
                st.decimals(min_value=Decimal("5.00"), max_value=Decimal("400.00"), places=2),
            ),
            min_size=1,
            max_size=3,
        ),
    ),
    min_size=1,
    max_size=5,
)


def shown(line: dict[str, Any]) -> tuple[Any, ...]:
    return line["treatmentIndex"], line["eligible"], line["paid"], line["reasonCode"]


def reset_partition(certificate: tuple[str, str]) -> None:
    dynamodb = boto3.client("dynamodb", region_name="ca-central-1")
    table = get_settings().claims_table
    for item in partition(certificate):
        if str(item["SK"]).startswith(("TOTALS#", "USAGE#", "CLAIM#", "IDEMPOTENCY#")):
            dynamodb.delete_item(TableName=table, Key={"PK": {"S": item["PK"]}, "SK": {"S": item["SK"]}})


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=claim_specs)
def test_property_estimate_then_payment_and_balances_equal_the_payments(world: Any, specs: list[Any]) -> None:
    """Each claim is estimated, then submitted and processed: paid exactly the estimate, line by line.
    After the sequence, each balance item's ``used`` is the sum of payments in its period."""
    from portal_common.members import get_member
    from portal_common.plans import get_plan

    reset_partition(MARIE)
    member = get_member(*MARIE)
    assert member is not None
    plan = get_plan(member.plan_id)
    assert plan is not None
    ids = {p.first_name: p.person_id for p in member.persons}
    paid_lines: list[tuple[str, str, date, Decimal]] = []  # (person, claim type, date, paid)
    for first_name, claim_type, lines in specs:
        body = claim_body(claim_type, ids[first_name], [(days_ago(d), str(a)) for d, a in lines])
        status, estimated = estimate(body)
        assert status == 200, estimated
        status, created, _ = submit(body)
        assert status == 201, created
        processed = process(MARIE, created["claimId"])
        assert processed["totalPaid"] == estimated["totalPayable"]
        got = [
            (x["treatmentIndex"], x["eligible"], x["paid"], x["reasonCode"]) for x in processed["adjudication"]["lines"]
        ]
        assert got == [(x["treatmentIndex"], x["eligible"], x["paid"], x["reasonCode"]) for x in estimated["lines"]]
        for x in processed["adjudication"]["lines"]:
            on = date.fromisoformat(body["treatments"][x["treatmentIndex"]]["dateOfService"])
            paid_lines.append((ids[first_name], claim_type, on, Decimal(x["paid"])))

    from portal_common import clock

    today = clock.today()
    for first_name in ("Marie", "Jean", "Léa"):
        pid = ids[first_name]
        status, balances, _ = claims_call("GET", "/me/balances", member=MARIE, query={"personId": pid})
        assert status == 200, balances
        for item in balances["items"]:
            start, end = date.fromisoformat(item["periodStart"]), date.fromisoformat(item["periodEnd"])
            expected = sum(
                (
                    paid
                    for who, code, on, paid in paid_lines
                    if who == pid and code in item["claimTypes"] and start <= on <= end
                ),
                Decimal("0"),
            )
            assert Decimal(item["used"]) == expected, item
            if item["maximum"] is not None:
                assert Decimal(item["remaining"]) == max(Decimal(item["maximum"]) - expected, Decimal("0"))
        assert balances["asOf"] == today.isoformat()


# ---------------------------------------------------------------- balances


def test_balances_before_and_after_a_paid_claim(world: Any) -> None:
    marie = person_id(MARIE, "Marie")
    status, before, _ = claims_call("GET", "/me/balances", member=MARIE, headers={"Accept-Language": "en-CA"})
    assert status == 200, before
    assert before["personId"] == marie  # the member by default
    items = {i["code"]: i for i in before["items"]}
    assert items["PHYSIOTHERAPY"]["name"] == "Physiotherapy"
    assert (items["PHYSIOTHERAPY"]["maximum"], items["PHYSIOTHERAPY"]["used"]) == ("500.00", "0.00")
    assert items["PARAMEDICAL_COMBINED"]["claimTypes"][:1] == ["PHYSIOTHERAPY"]
    assert items["VISION_CARE"]["period"] == "ROLLING_24_MONTHS"
    assert items["EYE_EXAM"]["maximum"] is None
    assert items["EYE_EXAM"]["remaining"] is None
    assert items["EYE_EXAM"]["frequency"] == {"count": 1, "months": 24, "used": 0, "nextEligibleDate": None}
    assert before["deductible"]["perPerson"] == {"amount": "25.00", "used": "0.00", "remaining": "25.00"}
    assert before["deductible"]["perFamily"]["remaining"] == "50.00"

    body = claim_body("PHYSIOTHERAPY", marie, [(days_ago(9), "85.00"), (days_ago(2), "55.00")])
    status, created, _ = submit(body)
    assert process(MARIE, created["claimId"])["totalPaid"] == "72.00"
    _, after, _ = claims_call("GET", "/me/balances", member=MARIE)
    items = {i["code"]: i for i in after["items"]}
    assert items["PHYSIOTHERAPY"]["name"] == "Physiothérapie"
    assert (items["PHYSIOTHERAPY"]["used"], items["PHYSIOTHERAPY"]["remaining"]) == ("72.00", "428.00")
    assert (items["PARAMEDICAL_COMBINED"]["used"], items["PARAMEDICAL_COMBINED"]["remaining"]) == ("72.00", "928.00")
    assert items["MASSAGE_THERAPY"]["used"] == "0.00"
    assert after["deductible"]["perPerson"] == {"amount": "25.00", "used": "25.00", "remaining": "0.00"}
    assert after["deductible"]["perFamily"]["used"] == "25.00"


def test_frequency_limit_gives_the_next_eligible_date(world: Any) -> None:
    olivia = person_id(OLIVIA, "Olivia")
    # EYE_EXAM needs an optometrist and the demo directory has none: the claim is stored as
    # submission writes it, and the real processor pays it.
    from portal_common import clock
    from tests.claim_processing_support import claim_item, store_claim

    served = date.fromisoformat(days_ago(30))
    item = store_claim(
        claim_item(OLIVIA, "EYE_EXAM", olivia, [(served, "100.00")], receipt_ids=[], submitted_at=clock.now_iso())
    )
    from claim_processing import process_claim

    assert process_claim(str(item["PK"]), str(item["claimId"]), notifier=quiet_notifier()).status == "PAID"
    status, body, _ = claims_call("GET", "/me/balances", member=OLIVIA, query={"personId": olivia})
    assert status == 200
    frequency = next(i for i in body["items"] if i["code"] == "EYE_EXAM")["frequency"]
    from claim_adjudication import add_months

    assert frequency == {"count": 1, "months": 12, "used": 1, "nextEligibleDate": add_months(served, 12).isoformat()}
    assert body["deductible"] is None  # PLAN-PLUS has none
    # As of the day before, the exam was not yet made.
    day_before = (served - timedelta(days=1)).isoformat()
    _, earlier, _ = claims_call("GET", "/me/balances", member=OLIVIA, query={"personId": olivia, "asOf": day_before})
    assert next(i for i in earlier["items"] if i["code"] == "EYE_EXAM")["frequency"]["used"] == 0


def test_balances_of_another_members_person_is_404(world: Any) -> None:
    """Attack side: a person id of another certificate (a real one) answers 404, like an unknown one."""
    olivia = person_id(OLIVIA, "Olivia")
    for probe in (olivia, "nobody"):
        status, problem, _ = claims_call("GET", "/me/balances", member=MARIE, query={"personId": probe})
        assert status == 404, problem
        assert problem["code"] == "PERSON_NOT_FOUND"
    status, _, _ = claims_call("GET", "/me/balances", member=OLIVIA, query={"personId": olivia})
    assert status == 200


@pytest.mark.parametrize("as_of", ["2026-13-01", "2026-02-30", "yesterday", "20260101", "0001-01-01", "9999-12-31"])
def test_bad_as_of_is_400(world: Any, as_of: str) -> None:
    status, problem, _ = claims_call("GET", "/me/balances", member=MARIE, query={"asOf": as_of})
    assert status == 400, problem
    assert problem["errors"][0]["field"] == "asOf"


def test_balances_count_payments_in_the_benefit_year_of_asof(world: Any) -> None:
    """Payments are counted in the benefit year of their date of service; another year is untouched."""
    marie = person_id(MARIE, "Marie")
    counted = defaultdict(Decimal)
    for lines in ([(days_ago(40), "60.00")], [(days_ago(5), "60.00")]):
        _, created, _ = submit(claim_body("PHYSIOTHERAPY", marie, lines))
        processed = process(MARIE, created["claimId"])
        counted[lines[0][0][:4]] += Decimal(processed["totalPaid"])
    for day in (days_ago(5), days_ago(40)):
        _, body, _ = claims_call("GET", "/me/balances", member=MARIE, query={"asOf": day})
        item = next(i for i in body["items"] if i["code"] == "PHYSIOTHERAPY")
        assert Decimal(item["used"]) == counted[body["benefitYear"]["start"][:4]]
    _, long_ago, _ = claims_call("GET", "/me/balances", member=MARIE, query={"asOf": days_ago(800)})
    assert all(i["used"] == "0.00" for i in long_ago["items"] if i["period"] == "BENEFIT_YEAR")


def test_the_readme_estimate_example_is_up_to_date() -> None:
    from tools.estimate_examples import BEGIN, END, README, generate

    text = README.read_text(encoding="utf-8")
    documented = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert documented == generate().strip(), "README.md: run python -m tools.estimate_examples"
