"""Balances and estimates over HTTP against the local stack (claims API -> stream -> bus -> SQS -> the
real claim processor): an estimate, then the identical submission paid exactly the estimate; the
balances before and after that paid claim; and the attack side (another member's person is 404, an
estimate writes nothing)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

SOPHIE = "sophie.gagnon@example.com"  # demo account, PLAN-PLUS (no deductible, 90 % physiotherapy, 90.00 per visit)
MARIE = "marie.tremblay@example.com"  # demo account, PLAN-ESSENTIEL
PHYSIO_PROVIDER = "PDEMO0000000000000000000001"


def _claim(patient: str, amounts: list[str]) -> dict[str, Any]:
    return {
        "claimType": "PHYSIOTHERAPY",
        "patientId": patient,
        "providerId": PHYSIO_PROVIDER,
        "answers": {"accident": False, "otherCoverage": False},
        "treatments": [
            {"dateOfService": (date.today() - timedelta(days=2 + i)).isoformat(), "amount": amount}
            for i, amount in enumerate(amounts)
        ],
    }


def _self_id(stack: LocalStackProcess, headers: dict[str, str]) -> str:
    me = stack.get("/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    return str(next(p for p in me.json()["persons"] if p["relationship"] == "SELF")["personId"])


def _items(balances: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["code"]: item for item in balances["items"]}


def test_estimate_then_the_identical_submission_is_paid_the_estimate_and_balances_move(
    stack: LocalStackProcess,
) -> None:
    stack.wait_for_seeds(timeout=300)
    headers = {**stack.bearer(SOPHIE), "Accept-Language": "en-CA"}
    sophie = _self_id(stack, headers)
    stack.wait_until_idle()  # no other claim of the certificate in flight

    before = stack.get("/v1/me/balances", headers=headers)
    assert before.status_code == 200, before.text
    assert before.json()["personId"] == sophie

    body = _claim(sophie, ["120.00", "60.00"])
    estimated = stack.post("/v1/claims/estimate", headers=headers, json=body)
    assert estimated.status_code == 200, estimated.text
    estimate = estimated.json()
    assert estimate["totalClaimed"] == "180.00"
    assert [line["treatmentIndex"] for line in estimate["lines"]] == [0, 1]
    assert estimate["lines"][0]["eligible"] == "90.00"  # PLAN-PLUS: 90.00 per visit
    assert "per visit" in estimate["lines"][0]["explanation"]

    submitted = stack.post(
        "/v1/claims",
        headers={**headers, "Idempotency-Key": f"e2e-{uuid.uuid4().hex}"},
        json={**body, "receiptIds": [], "authorization": {"accepted": True}},
    )
    assert submitted.status_code == 201, submitted.text
    claim = stack.wait_for_decision(submitted.json()["claimId"], headers)
    assert claim["adjudication"]["totalPaid"] == estimate["totalPayable"]
    assert [line["paid"] for line in claim["adjudication"]["lines"]] == [line["paid"] for line in estimate["lines"]]

    after = stack.get("/v1/me/balances", headers=headers)
    assert after.status_code == 200, after.text
    paid = Decimal(estimate["totalPayable"])
    old, new = _items(before.json())["PHYSIOTHERAPY"], _items(after.json())["PHYSIOTHERAPY"]
    assert Decimal(new["used"]) - Decimal(old["used"]) == paid
    assert Decimal(new["remaining"]) == max(Decimal(new["maximum"]) - Decimal(new["used"]), Decimal("0"))
    assert new["name"] == "Physiotherapy"
    french = stack.get("/v1/me/balances", headers={**headers, "Accept-Language": "fr-CA"}).json()
    assert _items(french)["PHYSIOTHERAPY"]["name"] == "Physiothérapie"


def test_estimate_writes_nothing_over_http(stack: LocalStackProcess) -> None:
    """Attack side: estimates, however many, create no claim and move no balance."""
    stack.wait_for_seeds(timeout=300)
    headers = stack.bearer(SOPHIE)
    sophie = _self_id(stack, headers)
    stack.wait_until_idle()
    claims_before = stack.get("/v1/claims", headers=headers, params={"limit": "100"}).json()["items"]
    balances_before = stack.get("/v1/me/balances", headers=headers).json()
    for amounts in (["85.00"], ["900.00", "40.00"]):
        response = stack.post("/v1/claims/estimate", headers=headers, json=_claim(sophie, amounts))
        assert response.status_code == 200, response.text
    stack.wait_until_idle()
    assert stack.get("/v1/claims", headers=headers, params={"limit": "100"}).json()["items"] == claims_before
    assert stack.get("/v1/me/balances", headers=headers).json() == balances_before


def test_another_members_person_is_404_and_bad_input_is_400(stack: LocalStackProcess) -> None:
    """Attack side: Sophie's token with a person id of Marie's certificate, for balances and estimates."""
    stack.wait_for_seeds(timeout=300)
    marie = _self_id(stack, stack.bearer(MARIE))
    headers = stack.bearer(SOPHIE)
    response = stack.get("/v1/me/balances", headers=headers, params={"personId": marie})
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "PERSON_NOT_FOUND"
    estimate = stack.post("/v1/claims/estimate", headers=headers, json=_claim(marie, ["85.00"]))
    assert estimate.status_code == 400, estimate.text
    assert {(e["field"], e["code"]) for e in estimate.json()["errors"]} == {("patientId", "UNKNOWN_PATIENT")}
    assert stack.get("/v1/me/balances", headers=headers, params={"asOf": "2026-02-30"}).status_code == 400
    assert stack.get("/v1/me/balances", params={"personId": marie}).status_code == 401
