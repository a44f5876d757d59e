"""The member guide's two claim journeys over HTTP against the local stack, for a member and a dependant."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from tests.e2e.conftest import LocalStackProcess
from tests.e2e.moto_id_tokens import id_token_for_member

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + b" " * 300 + b"\n%%EOF\n"


class Member:
    """A signed-in member talking to the API."""

    def __init__(self, stack: LocalStackProcess, contract: str, participant: str) -> None:
        self.stack = stack
        token = id_token_for_member(stack.workdir, contract, participant, f"e2e-{participant}@example.ca")
        self.headers = {"Authorization": f"Bearer {token}", "Accept-Language": "fr-CA"}

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.stack.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
        return self.stack.post(path, json=body, headers={**self.headers, **(headers or {})})

    def upload_receipt(self, content: bytes = PDF) -> str:
        """Ask for a presigned POST, send the multipart form to S3, wait for the check."""
        created = self.post("/v1/receipts", {"fileName": "recu.pdf", "contentType": "application/pdf",
                                             "sizeBytes": len(content)})  # fmt: skip
        assert created.status_code == 201, created.text
        upload = created.json()["upload"]
        sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("recu.pdf", content)}, timeout=30)
        assert sent.status_code in (200, 201, 204), sent.text
        receipt_id: str = created.json()["receiptId"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = self.get(f"/v1/receipts/{receipt_id}").json()["status"]
            if status != "PENDING_UPLOAD":
                assert status == "UPLOADED"
                return receipt_id
            time.sleep(0.2)
        raise TimeoutError("receipt never checked")


@pytest.fixture(scope="module")
def ready(stack: LocalStackProcess) -> LocalStackProcess:
    stack.wait_for_seeds()
    return stack


def _today_minus(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


@pytest.mark.parametrize("patient_name", ["Marie", "Léa"])
def test_medical_claim_journey(ready: LocalStackProcess, patient_name: str) -> None:
    member = Member(ready, "G1001", "100001")
    # 2. Choose the claim type by search (the tip: "Autre" lists the other types).
    types = member.get("/v1/claim-types", params={"q": "physio"}).json()["items"]
    claim_type = types[0]
    assert claim_type["code"] == "PHYSIOTHERAPY"
    assert member.get("/v1/claim-types", params={"q": "Autre"}).json()["items"]
    # 3. Recent providers, else search by phone (recommended), else add one.
    recent = member.get("/v1/providers/recent", params={"claimType": "PHYSIOTHERAPY"}).json()["items"]
    found = member.get("/v1/providers", params={"phone": "(514) 555-0199", "claimType": "PHYSIOTHERAPY"}).json()
    provider_id = found["items"][0]["providerId"]
    assert recent == [] or recent[0]["providerId"] == provider_id
    added = member.post(
        "/v1/providers",
        {"firstName": "Nadia", "lastName": "Ouellet", "providerType": "PHYSIOTHERAPIST", "phone": "450 555 0298",
         "address": {"line1": "88, rue Principale", "city": "Granby", "province": "QC", "postalCode": "J2G 2T8"}},
    )  # fmt: skip
    assert added.status_code in (200, 201), added.text
    # 4. Who is it for, the questions, the treatments.
    me = member.get("/v1/me").json()
    patient = next(p for p in me["persons"] if p["firstName"] == patient_name)
    assert patient["eligible"] is True
    answers = {q["id"]: False for q in claim_type["questions"] if q["required"] and q["type"] == "boolean"}
    body = {
        "claimType": "PHYSIOTHERAPY",
        "patientId": patient["personId"],
        "providerId": provider_id,
        "answers": answers,
        "treatments": [{"dateOfService": _today_minus(7), "amount": "90.00"},
                       {"dateOfService": _today_minus(2), "amount": "90.00"}],
        "receiptIds": [member.upload_receipt()],
        "authorization": {"accepted": True},
    }  # fmt: skip
    # 5. Confirm and submit (a retry with the same key is the same claim).
    key = f"e2e-{uuid.uuid4()}"
    created = member.post("/v1/claims", body, headers={"Idempotency-Key": key})
    assert created.status_code == 201, created.text
    again = member.post("/v1/claims", body, headers={"Idempotency-Key": key})
    assert again.status_code == 201
    assert again.json()["claimId"] == created.json()["claimId"]
    claim_id = created.json()["claimId"]
    assert created.json()["totalClaimed"] == "180.00"
    history = member.get("/v1/claims").json()["items"]
    assert history[0]["claimId"] == claim_id
    assert history[0]["patient"]["firstName"] == patient_name
    detail = member.get(f"/v1/claims/{claim_id}").json()
    assert detail["statusHistory"][0]["status"] == "SUBMITTED"
    recent = member.get("/v1/providers/recent", params={"claimType": "PHYSIOTHERAPY"}).json()["items"]
    assert recent[0]["providerId"] == provider_id
    # Another member never sees it.
    other = Member(ready, "G2002", "200003")
    assert other.get(f"/v1/claims/{claim_id}").status_code == 404
    assert other.get(f"/v1/receipts/{body['receiptIds'][0]}").status_code == 404


@pytest.mark.parametrize("patient_name", ["Sophie", "Noah"])
def test_drug_claim_journey(ready: LocalStackProcess, patient_name: str) -> None:
    member = Member(ready, "G2002", "200001")
    # 1. Type "Médicament" in the search bar.
    drug = member.get("/v1/claim-types", params={"q": "Médicament"}).json()["items"][0]
    assert drug["code"] == "DRUG"
    assert drug["name"] == "Médicament"
    # 2. Who, the questions, the receipts, additional information.
    me = member.get("/v1/me").json()
    patient = next(p for p in me["persons"] if p["firstName"] == patient_name)
    answers = {q["id"]: False for q in drug["questions"] if q["required"] and q["type"] == "boolean"}
    body = {
        "claimType": "DRUG",
        "patientId": patient["personId"],
        "answers": answers,
        "treatments": [{"dateOfService": _today_minus(1), "amount": "37.45", "quantity": 30}],
        "drug": {"din": "02242903", "drugName": "Lipitor 20 mg", "pharmacyName": "Pharmacie du Quartier",
                 "daysSupply": 30},
        "receiptIds": [member.upload_receipt()],
        "additionalInfo": "Renouvellement mensuel",
        "authorization": {"accepted": True},
    }  # fmt: skip
    # 3. Confirm and submit.
    created = member.post("/v1/claims", body, headers={"Idempotency-Key": f"e2e-{uuid.uuid4()}"})
    assert created.status_code == 201, created.text
    claim_id = created.json()["claimId"]
    listed = member.get("/v1/claims", params={"limit": "5"}).json()["items"]
    assert claim_id in [c["claimId"] for c in listed]
    detail = member.get(f"/v1/claims/{claim_id}").json()
    assert detail["drug"]["din"] == "02242903"
    assert "provider" not in detail
    ready.wait_until_idle()
