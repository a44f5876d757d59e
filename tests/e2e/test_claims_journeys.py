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
        return self.upload_receipt_keeping_the_form(content)[0]

    def upload_receipt_keeping_the_form(self, content: bytes = PDF) -> tuple[str, dict[str, Any]]:
        """:meth:`upload_receipt`, and the presigned form (to post it again, as an attacker would)."""
        created = self.post("/v1/receipts", {"fileName": "recu.pdf", "contentType": "application/pdf",
                                             "sizeBytes": len(content)})  # fmt: skip
        assert created.status_code == 201, created.text
        upload = created.json()["upload"]
        post_form(upload, content)
        receipt_id: str = created.json()["receiptId"]
        self.wait_until_checked(receipt_id)
        return receipt_id, upload

    def wait_until_checked(self, receipt_id: str) -> None:
        """Wait for the S3-triggered check of the receipt's upload (it must pass)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = self.get(f"/v1/receipts/{receipt_id}").json()["status"]
            if status != "PENDING_UPLOAD":
                assert status == "UPLOADED"
                return
            time.sleep(0.2)
        raise TimeoutError("receipt never checked")


def post_form(upload: dict[str, Any], content: bytes) -> None:
    """Post a presigned S3 form with ``content`` as the file, as a browser would."""
    sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("recu.pdf", content)}, timeout=30)
    assert sent.status_code in (200, 201, 204), sent.text


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


def test_posting_the_receipt_form_again_after_the_claim_changes_nothing(ready: LocalStackProcess) -> None:
    """As an attacker holding a member's token would: upload a checked PDF, submit the claim, then post
    the same presigned form again with an executable's bytes (same size, so the form's policy holds).
    The receipt stays UPLOADED on the claim, and S3 holds only the checked PDF."""
    import boto3

    from tests.e2e.moto_id_tokens import stack_state

    member = Member(ready, "G1001", "100001")
    receipt_id, form = member.upload_receipt_keeping_the_form(PDF)
    me = member.get("/v1/me").json()
    marie = next(p for p in me["persons"] if p["firstName"] == "Marie")
    found = member.get("/v1/providers", params={"phone": "(514) 555-0199", "claimType": "PHYSIOTHERAPY"}).json()
    claim_type = member.get("/v1/claim-types", params={"q": "physio"}).json()["items"][0]
    body = {
        "claimType": "PHYSIOTHERAPY",
        "patientId": marie["personId"],
        "providerId": found["items"][0]["providerId"],
        "answers": {q["id"]: False for q in claim_type["questions"] if q["required"] and q["type"] == "boolean"},
        "treatments": [{"dateOfService": _today_minus(3), "amount": "85.00"}],
        "receiptIds": [receipt_id],
        "authorization": {"accepted": True},
    }
    created = member.post("/v1/claims", body, headers={"Idempotency-Key": f"e2e-{uuid.uuid4()}"})
    assert created.status_code == 201, created.text
    claim_id = created.json()["claimId"]

    executable = (b"MZ\x90\x00\x03" + b"\x00" * len(PDF))[: len(PDF)]
    post_form(form, executable)
    ready.wait_until_idle()

    receipt = member.get(f"/v1/receipts/{receipt_id}").json()
    assert (receipt["status"], receipt["claimId"]) == ("UPLOADED", claim_id)
    detail = member.get(f"/v1/claims/{claim_id}").json()
    assert detail["receiptIds"] == [receipt_id]
    state = stack_state(ready.workdir)
    s3 = boto3.client(
        "s3",
        endpoint_url=state["urls"]["moto"],
        region_name=state["environment"].get("AWS_REGION", "ca-central-1"),
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket, key = state["environment"]["DOCUMENTS_BUCKET"], f"receipts/{receipt_id}"
    # The re-post's S3 event reaches the check asynchronously (the poller may not have picked it up
    # when the stack last looked idle): wait a bounded time for the purge, never for ever.
    deadline = time.monotonic() + 30
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key)
    while len(versions.get("Versions", [])) != 1 and time.monotonic() < deadline:
        time.sleep(0.5)
        ready.wait_until_idle()
        versions = s3.list_object_versions(Bucket=bucket, Prefix=key)
    assert len(versions.get("Versions", [])) == 1
    assert not versions.get("DeleteMarkers")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == PDF
