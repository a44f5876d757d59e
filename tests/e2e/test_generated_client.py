"""What the app teams do: generate a client from the served OpenAPI document with a maintained
generator (openapi-python-client), then run the member guide's main journey with it: sign in with
the emailed code, /v1/me, claim types, a provider, upload a receipt, submit a claim, list and read it.

The client is generated at test time into a temporary directory (never committed).
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from tests.e2e.conftest import DEMO_PASSWORD, LocalStackProcess

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "portal_api_client"
MEMBER = "marie.tremblay@example.com"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + b" " * 300 + b"\n%%EOF\n"


@pytest.fixture(scope="module")
def generated(stack: LocalStackProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package generated from the document the stack serves (fails on any generator warning)."""
    workdir = tmp_path_factory.mktemp("client")
    document = workdir / "openapi.json"
    served = stack.get("/v1/openapi.json")
    assert served.status_code == 200
    document.write_bytes(served.content)
    config = workdir / "config.yaml"
    config.write_text("post_hooks: []\n", encoding="utf-8")
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(document), "--output-path", str(workdir / PACKAGE),
         "--meta", "none", "--config", str(config), "--fail-on-warning"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def api(package: ModuleType, name: str) -> Any:
    """``api("authentication.login")`` -> the generated module of that operation."""
    return importlib.import_module(f"{package.__name__}.api.{name}")


def model(package: ModuleType, name: str) -> Any:
    return getattr(importlib.import_module(f"{package.__name__}.models"), name)


def test_main_journey_with_the_generated_client(stack: LocalStackProcess, generated: ModuleType) -> None:
    stack.wait_for_seeds()
    public = generated.Client(base_url=f"{stack.url}/v1", raise_on_unexpected_status=True)
    # 1. Sign in: the password, then the emailed code.
    before = len(stack.outbox(MEMBER))
    login_request = model(generated, "LoginRequest")(email=MEMBER, password=DEMO_PASSWORD)
    sent = api(generated, "authentication.login").sync(client=public, body=login_request)
    assert type(sent).__name__ == "CodeSentResponse", sent
    mail = stack.wait_for_email(MEMBER, before + 1)[0]
    code = re.search(r"\b(\d{6})\b", mail["text"])
    assert code is not None
    verify_request = model(generated, "VerifyRequest")(email=MEMBER, session=sent.session, code=code.group(1))
    tokens = api(generated, "authentication.verify").sync(client=public, body=verify_request)
    assert type(tokens).__name__ == "TokensResponse", tokens
    member = generated.AuthenticatedClient(
        base_url=f"{stack.url}/v1", token=tokens.id_token, raise_on_unexpected_status=True
    )
    # A wrong code is a typed problem, not an exception: the 401 is declared with its schema.
    wrong = model(generated, "VerifyRequest")(email=MEMBER, session=sent.session, code="000000")
    problem = api(generated, "authentication.verify").sync(client=public, body=wrong, accept_language="en-CA")
    assert type(problem).__name__ == "Problem"
    assert problem.status in (401, 429)

    # 2. Who the member is, and who can be claimed for.
    me = api(generated, "member.get_me").sync(client=member, accept_language="en-CA")
    assert me.email == MEMBER
    patient = next(p for p in me.persons if p.eligible)

    # 3. The claim type, by search; a provider found by phone.
    types = api(generated, "claim_types.list_claim_types").sync(client=member, q="physio")
    claim_type = types.items[0]
    assert claim_type.code == "PHYSIOTHERAPY"
    found = api(generated, "providers.search").sync(client=member, phone="(514) 555-0199", claim_type="PHYSIOTHERAPY")
    provider_id = found.items[0].provider_id

    # 4. Upload a receipt: the presigned form goes straight to S3, then the check.
    receipt_request = model(generated, "ReceiptRequest").from_dict(
        {"fileName": "recu.pdf", "contentType": "application/pdf", "sizeBytes": len(PDF)}
    )
    created = api(generated, "receipts.post_receipt").sync(client=member, body=receipt_request)
    assert type(created).__name__ == "ReceiptCreated", created
    form = created.upload
    posted = requests.post(form.url, data=form.fields.to_dict(), files={"file": ("recu.pdf", PDF)}, timeout=30)
    assert posted.status_code in (200, 201, 204), posted.text
    deadline = time.monotonic() + 30
    status = None
    while time.monotonic() < deadline:
        status = api(generated, "receipts.get_receipt_status").sync(client=member, receipt_id=created.receipt_id)
        if str(status.status) != "PENDING_UPLOAD":
            break
        time.sleep(0.2)
    assert status is not None
    assert str(status.status) == "UPLOADED"

    # 5. Submit the claim (with its Idempotency-Key header), then list and read it.
    answers = {q.id: False for q in claim_type.questions if q.required and str(q.type_) == "boolean"}
    submission = model(generated, "ClaimSubmission").from_dict(
        {
            "claimType": "PHYSIOTHERAPY",
            "patientId": patient.person_id,
            "providerId": provider_id,
            "answers": answers,
            "treatments": [{"dateOfService": (date.today() - timedelta(days=3)).isoformat(), "amount": "85.00"}],
            "receiptIds": [created.receipt_id],
            "authorization": {"accepted": True},
        }
    )
    claim = api(generated, "claims.post_claim").sync(
        client=member, body=submission, idempotency_key=f"client-{uuid.uuid4()}"
    )
    assert type(claim).__name__ == "ClaimCreated", claim
    assert claim.total_claimed == "85.00"
    history = api(generated, "claims.get_claims").sync(client=member, limit=5)
    assert history.items[0].claim_id == claim.claim_id
    detail = api(generated, "claims.get_claim").sync(client=member, claim_id=claim.claim_id)
    assert detail.claim_id == claim.claim_id
    assert str(detail.status_history[0].status) == "SUBMITTED"
    # Someone else's claim id answers the declared 404 problem.
    missing = api(generated, "claims.get_claim").sync(client=member, claim_id="c_does_not_exist")
    assert type(missing).__name__ == "Problem"
    assert missing.status == 404
