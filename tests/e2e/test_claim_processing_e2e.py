"""A claim submitted over HTTP reaches its final status within seconds, with its explanation of
benefits, and the member's notification is in the outbox (local stack: stream publisher -> bus ->
SQS -> claim processor)."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

MARIE = "marie.tremblay@example.com"  # demo account (local/seed_accounts.py), PLAN-ESSENTIEL
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048


def _uploaded_receipt(stack: LocalStackProcess, headers: dict[str, str]) -> str:
    created = stack.post(
        "/v1/receipts",
        json={"fileName": "receipt.png", "contentType": "image/png", "sizeBytes": len(PNG)},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    upload = body["upload"]
    response = requests.post(upload["url"], data=upload["fields"], files={"file": ("receipt.png", PNG)}, timeout=30)
    assert response.status_code in (200, 201, 204), response.text
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = stack.get(f"/v1/receipts/{body['receiptId']}", headers=headers).json()["status"]
        if status == "UPLOADED":
            return str(body["receiptId"])
        time.sleep(0.2)
    raise AssertionError("receipt never became UPLOADED")


def test_submitted_claim_is_adjudicated_and_the_member_is_emailed(stack: LocalStackProcess) -> None:
    stack.wait_for_seeds(timeout=300)
    email = MARIE
    headers = {**stack.bearer(email), "Accept-Language": "en-CA"}
    me = stack.get("/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    patient = next(p for p in me.json()["persons"] if p["relationship"] == "SELF")["personId"]
    receipt = _uploaded_receipt(stack, headers)
    before = len(stack.outbox(email))
    day = (date.today() - timedelta(days=3)).isoformat()
    claim_type = stack.get("/v1/claim-types/CHIROPRACTIC", headers=headers).json()
    provider_id = None
    if claim_type["requiresProvider"]:
        provider = stack.post(
            "/v1/providers",
            headers=headers,
            json={
                "firstName": "Claire",
                "lastName": "Bouchard",
                "providerType": claim_type["providerTypes"][0],
                "phone": "514 555 0142",
                "address": {
                    "line1": "100 rue Principale",
                    "city": "Montréal",
                    "province": "QC",
                    "postalCode": "H2X 1Y4",
                },
            },
        )
        assert provider.status_code in (200, 201), provider.text
        provider_id = provider.json()["providerId"]
    submitted = stack.post(
        "/v1/claims",
        headers={**headers, "Idempotency-Key": f"e2e-{uuid.uuid4().hex}"},
        json={
            "claimType": "CHIROPRACTIC",
            "patientId": patient,
            **({"providerId": provider_id} if provider_id else {}),
            "answers": {"accident": False, "otherCoverage": False},
            "treatments": [{"dateOfService": day, "amount": "80.00"}],
            "receiptIds": [receipt],
            "authorization": {"accepted": True},
        },
    )
    assert submitted.status_code == 201, submitted.text
    claim_id = submitted.json()["claimId"]

    claim = stack.wait_for_decision(claim_id, headers)
    assert claim["status"] in {"PAID", "PARTIALLY_PAID", "DENIED"}
    assert [h["status"] for h in claim["statusHistory"]][:2] == ["SUBMITTED", "IN_REVIEW"]
    line = claim["adjudication"]["lines"][0]
    assert line["claimed"] == "80.00"
    assert float(line["paid"]) <= float(line["eligible"]) <= 45.0  # chiropractic: 45.00 per visit
    assert line["explanation"]  # rendered in the caller's language
    assert "per visit" in line["explanation"] or "deductible" in line["explanation"].lower()

    emails = stack.wait_for_email(email, count=before + 1)
    assert len(emails) == before + 1
    assert claim_id in emails[0]["subject"]
    assert claim["adjudication"]["totalPaid"].replace(".", "") in emails[0]["text"].replace(".", "").replace(",", "")
