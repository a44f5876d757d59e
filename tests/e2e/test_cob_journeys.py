"""Coordination of benefits and information requests over HTTP on the local stack (stream publisher
-> bus -> SQS -> claim processor, and back through POST /v1/claims/{id}/information)."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tests.e2e.test_claim_processing_e2e import _uploaded_receipt

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

MARIE = "marie.tremblay@example.com"  # Marie (March 12), spouse Jean (November 5), children Léa, Félix
DAVID = "david.chen@example.com"  # David (July 30), spouse Priya (February 14), children Emily, Lucas
PHYSIO_PROVIDER = "PDEMO0000000000000000000001"
NOT_BILLED = {
    "accident": False,
    "otherCoverage": True,
    "otherInsurerName": "Assurances Exemple",
    "otherInsurerFirst": False,
}


def _headers(stack: LocalStackProcess, email: str, lang: str = "en-CA") -> dict[str, str]:
    return {**stack.bearer(email), "Accept-Language": lang}


def _person(stack: LocalStackProcess, headers: dict[str, str], first_name: str) -> str:
    persons = stack.get("/v1/me", headers=headers).json()["persons"]
    return str(next(p["personId"] for p in persons if p["firstName"] == first_name))


def _submit(stack: LocalStackProcess, headers: dict[str, str], patient: str, answers: dict[str, Any]) -> str:
    day = (date.today() - timedelta(days=2)).isoformat()
    response = stack.post(
        "/v1/claims",
        headers={**headers, "Idempotency-Key": f"e2e-{uuid.uuid4().hex}"},
        json={
            "claimType": "PHYSIOTHERAPY",
            "patientId": patient,
            "providerId": PHYSIO_PROVIDER,
            "answers": answers,
            "treatments": [{"dateOfService": day, "amount": "60.00"}],
            "receiptIds": [_uploaded_receipt(stack, headers)],
            "authorization": {"accepted": True},
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["claimId"])


def _answer(stack: LocalStackProcess, headers: dict[str, str], claim_id: str, body: dict[str, Any]) -> Any:
    return stack.post(
        f"/v1/claims/{claim_id}/information",
        headers={**headers, "Idempotency-Key": f"e2e-{uuid.uuid4().hex}"},
        json=body,
    )


def _wait_after_answer(stack: LocalStackProcess, claim_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        claim: dict[str, Any] = stack.get(f"/v1/claims/{claim_id}", headers=headers).json()
        if claim["status"] in {"PAID", "PARTIALLY_PAID", "DENIED"}:
            return claim
        time.sleep(0.3)
    raise AssertionError(f"claim {claim_id} not processed again within 30 s")


def test_spouse_with_her_own_plan_is_held_the_statement_sent_and_the_rest_paid(stack: LocalStackProcess) -> None:
    stack.wait_for_seeds(timeout=300)
    headers = _headers(stack, MARIE)
    before = len(stack.outbox(MARIE))
    claim_id = _submit(stack, headers, _person(stack, headers, "Jean"), NOT_BILLED)
    held = stack.wait_for_decision(claim_id, headers)
    assert held["status"] == "PENDING_INFORMATION"
    [request] = held["informationRequests"]
    assert (request["code"], request["status"]) == ("OTHER_PAYER_STATEMENT_REQUIRED", "OPEN")
    emails = stack.wait_for_email(MARIE, count=before + 1)
    assert any(claim_id in e["subject"] for e in emails)

    statement = _uploaded_receipt(stack, headers)
    answered = _answer(
        stack,
        headers,
        claim_id,
        {"receiptIds": [statement], "answers": {"otherInsurerFirst": True, "otherInsurerPaid": "40.00"}},
    )
    assert answered.status_code == 202, answered.text
    assert answered.json() == {"claimId": claim_id, "status": "SUBMITTED"}
    paid = _wait_after_answer(stack, claim_id, headers)
    assert paid["informationRequests"][0]["status"] == "FULFILLED"
    [line] = paid["adjudication"]["lines"]
    assert Decimal("0") < Decimal(line["paid"]) <= Decimal("20.00")  # 60.00 claimed, 40.00 paid by his plan
    assert "The other insurer paid $40.00" in line["explanation"]
    assert [h["status"] for h in paid["statusHistory"]][:4] == [
        "SUBMITTED",
        "IN_REVIEW",
        "PENDING_INFORMATION",
        "SUBMITTED",
    ]

    # Answering again: the claim waits for nothing now.
    again = _answer(stack, headers, claim_id, {"receiptIds": [_uploaded_receipt(stack, headers)]})
    assert (again.status_code, again.json()["code"]) == (409, "CLAIM_NOT_PENDING")


def test_birthday_rule_both_ways(stack: LocalStackProcess) -> None:
    """Léa: Marie's birthday (March 12) comes before Jean's (November 5), so this plan pays first.
    Emily: Priya's (February 14) comes before David's (July 30), so Priya's plan pays first."""
    stack.wait_for_seeds(timeout=300)
    marie = _headers(stack, MARIE)
    lea = _submit(stack, marie, _person(stack, marie, "Léa"), NOT_BILLED)
    first = stack.wait_for_decision(lea, marie)
    assert first["status"] in {"PAID", "PARTIALLY_PAID", "DENIED"}
    assert first["informationRequests"] == []
    david = _headers(stack, DAVID)
    emily = _submit(stack, david, _person(stack, david, "Emily"), NOT_BILLED)
    second = stack.wait_for_decision(emily, david)
    assert second["status"] == "PENDING_INFORMATION"
    assert second["informationRequests"][0]["code"] == "OTHER_PAYER_STATEMENT_REQUIRED"


def test_attacker_cannot_answer_another_members_claim_or_use_their_receipt(stack: LocalStackProcess) -> None:
    stack.wait_for_seeds(timeout=300)
    marie, david = _headers(stack, MARIE), _headers(stack, DAVID)
    claim_id = _submit(stack, marie, _person(stack, marie, "Jean"), NOT_BILLED)
    assert stack.wait_for_decision(claim_id, marie)["status"] == "PENDING_INFORMATION"
    stolen = _answer(stack, david, claim_id, {"receiptIds": [_uploaded_receipt(stack, david)]})
    assert (stolen.status_code, stolen.json()["code"]) == (404, "CLAIM_NOT_FOUND")
    borrowed = _answer(stack, marie, claim_id, {"receiptIds": [_uploaded_receipt(stack, david)]})
    assert borrowed.status_code == 400
    assert borrowed.json()["errors"][0]["code"] == "RECEIPT_NOT_FOUND"
    assert stack.get(f"/v1/claims/{claim_id}", headers=marie).json()["status"] == "PENDING_INFORMATION"
