"""Claims function against moto: /me, claim types, receipts, submission rules, idempotency, history."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.claims_support import (
    AHMED,
    DAVID,
    DENTIST_PROVIDER,
    MARIE,
    OLIVIA,
    PDF,
    SOPHIE,
    FakeContext,
    claims_call,
    days_ago,
    person_id,
    physio_claim,
    seed_directory,
    submit,
    uploaded_receipt,
)


@pytest.fixture
def world(seeded: Any) -> Any:
    seed_directory()
    return seeded


# ---------------------------------------------------------------- /me


def test_me_lists_persons_with_eligibility_today(world: Any) -> None:
    status, body, headers = claims_call("GET", "/me", member=DAVID, headers={"Accept-Language": "en-CA"})
    assert status == 200
    assert body["plan"]["planId"] == "PLAN-ESSENTIEL"
    assert body["contractNumber"] == "G1001"
    persons = {p["firstName"]: p for p in body["persons"]}
    assert persons["David"]["relationship"] == "SELF"
    assert persons["David"]["eligible"]
    assert persons["Emily"]["eligible"] is True  # full-time student under 25
    assert persons["Lucas"]["eligible"] is False  # 22, not a student
    assert persons["Lucas"]["ineligibleReasonCode"] == "CHILD_OVER_AGE"
    assert "maximum age" in persons["Lucas"]["ineligibleReason"]
    assert headers["Content-Language"] == "en-CA"


def test_me_disabled_adult_child_and_terminated_member(world: Any) -> None:
    _, body, _ = claims_call("GET", "/me", member=SOPHIE)
    noah = next(p for p in body["persons"] if p["firstName"] == "Noah")
    assert noah["eligible"] is True
    assert body["plan"]["name"] == "Régime Plus"
    _, body, _ = claims_call("GET", "/me", member=AHMED)
    assert all(p["eligible"] is False and p["ineligibleReasonCode"] == "COVERAGE_ENDED" for p in body["persons"])
    assert body["persons"][0]["ineligibleReason"] == "La couverture a pris fin."


def test_me_requires_a_signed_in_caller_with_a_certificate(world: Any) -> None:
    status, body, _ = claims_call("GET", "/me", member=None)
    assert status == 401
    status, body, _ = claims_call("GET", "/me", member=("G9999", "999999"))
    assert status == 404
    assert body["code"] == "MEMBER_NOT_FOUND"


# ---------------------------------------------------------------- claim types


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("medicament", "DRUG"),
        ("MÉDICAMENT", "DRUG"),
        ("physio", "PHYSIOTHERAPY"),
        ("kinésithérapie", "PHYSIOTHERAPY"),
        ("massotherapie", "MASSAGE_THERAPY"),
        ("RMT", "MASSAGE_THERAPY"),
        ("dentiste", "DENTAL_PREVENTIVE"),
        ("nettoyage", "DENTAL_PREVENTIVE"),
        ("pharmacie", "DRUG"),
        ("Prescription drug", "DRUG"),
    ],
)
def test_claim_type_search_ignores_case_and_accents(world: Any, q: str, expected: str) -> None:
    status, body, _ = claims_call("GET", "/claim-types", member=SOPHIE, query={"q": q})
    assert status == 200
    assert expected in [t["code"] for t in body["items"]]


def test_other_lists_the_other_category_and_category_filters(world: Any) -> None:
    for q in ("Autre", "other"):
        _, body, _ = claims_call("GET", "/claim-types", member=SOPHIE, query={"q": q})
        assert {t["category"] for t in body["items"]} == {"OTHER"}
        assert len(body["items"]) >= 3
    _, body, _ = claims_call("GET", "/claim-types", member=SOPHIE, query={"category": "DENTAL"})
    assert {t["code"] for t in body["items"]} == {"DENTAL_PREVENTIVE", "DENTAL_BASIC", "DENTAL_MAJOR", "ORTHODONTICS"}
    status, body, _ = claims_call("GET", "/claim-types", member=SOPHIE, query={"category": "NOPE"})
    assert status == 400
    assert body["errors"][0]["field"] == "category"


def test_drug_type_is_named_per_contract_and_localized(world: Any) -> None:
    _, fr, _ = claims_call("GET", "/claim-types/DRUG")
    _, en, _ = claims_call("GET", "/claim-types/DRUG", headers={"Accept-Language": "en-CA"})
    assert (fr["name"], en["name"]) == ("Médicament", "Prescription drug")
    assert fr["requiresProvider"] is False
    assert fr["requiresReceipts"] is True
    # The prior-authorization number the processor looks for on drugs that need one.
    prior = {q["id"]: q for q in en["questions"]}["priorAuthorizationNumber"]
    assert (prior["type"], prior["required"]) == ("text", False)
    assert prior["label"].startswith("Prior authorization number")
    status, body, _ = claims_call("GET", "/claim-types/NOPE")
    assert status == 404
    assert body["code"] == "CLAIM_TYPE_NOT_FOUND"


def test_plan_referral_requirement_makes_the_question_required(world: Any) -> None:
    # PLAN-ESSENTIEL requires a referral for massage therapy; PLAN-PLUS does not.
    _, essentiel, _ = claims_call("GET", "/claim-types/MASSAGE_THERAPY", member=MARIE)
    _, plus, _ = claims_call("GET", "/claim-types/MASSAGE_THERAPY", member=SOPHIE)
    referral = {q["id"]: q for q in essentiel["questions"]}["referral"]
    assert referral["required"] is True
    assert {q["id"]: q for q in plus["questions"]}["referral"]["required"] is False
    date_q = {q["id"]: q for q in essentiel["questions"]}["accidentDate"]
    assert date_q["showIf"] == {"questionId": "accident", "equals": True}


def test_types_not_covered_by_the_plan_are_not_listed(world: Any) -> None:
    _, body, _ = claims_call("GET", "/claim-types", member=MARIE, query={"q": "orthodontie"})
    assert body["items"] == []  # PLAN-ESSENTIEL has no orthodontics
    _, body, _ = claims_call("GET", "/claim-types/ORTHODONTICS", member=MARIE)
    assert body["covered"] is False


# ---------------------------------------------------------------- receipts


def _policy(fields: dict[str, str]) -> dict[str, Any]:
    return json.loads(base64.b64decode(fields["policy"]))


def test_presigned_post_policy_enforces_key_type_and_size(world: Any) -> None:
    status, body, _ = claims_call(
        "POST", "/receipts", body={"fileName": "recu.pdf", "contentType": "application/pdf", "sizeBytes": 1234}
    )
    assert status == 201
    receipt_id = body["receiptId"]
    assert body["expiresIn"] <= 900
    fields = body["upload"]["fields"]
    assert fields["key"] == f"receipts/{receipt_id}"
    conditions = _policy(fields)["conditions"]
    assert {"key": f"receipts/{receipt_id}"} in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert ["content-length-range", 1234, 1234] in conditions
    assert any(isinstance(c, dict) and "bucket" in c for c in conditions)
    _, got, _ = claims_call("GET", f"/receipts/{receipt_id}")
    assert got["status"] == "PENDING_UPLOAD"


@pytest.mark.parametrize(
    "body",
    [
        {"fileName": "a.exe", "contentType": "application/x-msdownload", "sizeBytes": 10},
        {"fileName": "a.pdf", "contentType": "application/pdf", "sizeBytes": 10 * 1024 * 1024 + 1},
        {"fileName": "a.pdf", "contentType": "application/pdf", "sizeBytes": 0},
        {"fileName": "../etc/passwd", "contentType": "application/pdf", "sizeBytes": 10},
        {"fileName": "a.pdf", "contentType": "application/pdf", "sizeBytes": "10"},
    ],
)
def test_receipt_requests_are_validated(world: Any, body: dict[str, Any]) -> None:
    status, problem, _ = claims_call("POST", "/receipts", body=body)
    assert status == 400
    assert problem["code"] == "VALIDATION_FAILED"


@pytest.mark.parametrize(
    ("content", "content_type", "declared", "expected", "reason"),
    [
        (PDF, "application/pdf", None, "UPLOADED", None),
        (b"\xff\xd8\xff\xe0" + b"1" * 100, "image/jpeg", None, "UPLOADED", None),
        (b"\x89PNG\r\n\x1a\n" + b"1" * 100, "image/png", None, "UPLOADED", None),
        (b"\x00\x00\x00\x18ftypheic" + b"1" * 100, "image/heic", None, "UPLOADED", None),
        (b"MZ\x90\x00 not a pdf" + b"1" * 100, "application/pdf", None, "REJECTED", "UNRECOGNIZED_CONTENT"),
        (b"\x89PNG\r\n\x1a\n" + b"1" * 100, "application/pdf", None, "REJECTED", "TYPE_MISMATCH"),
        (PDF, "application/pdf", len(PDF) + 5, "REJECTED", "SIZE_MISMATCH"),
    ],
)
def test_receipt_check_reads_the_real_object(
    world: Any, content: bytes, content_type: str, declared: int | None, expected: str, reason: str | None
) -> None:
    from portal_common.aws_clients import client
    from portal_common.config import get_settings

    receipt_id, status = uploaded_receipt(content=content, content_type=content_type, size=declared)
    assert status == expected
    _, body, _ = claims_call("GET", f"/receipts/{receipt_id}")
    assert body.get("rejectionReason") == reason
    objects = client("s3").list_objects_v2(Bucket=get_settings().documents_bucket, Prefix=f"receipts/{receipt_id}")
    assert (objects.get("KeyCount", 0) == 1) is (expected == "UPLOADED")  # rejected objects are deleted


def test_receipt_check_is_idempotent_and_deletes_orphans(world: Any) -> None:
    import receipt_check

    from portal_common.aws_clients import client
    from portal_common.config import get_settings
    from tests.claims_support import s3_event

    receipt_id, _status = uploaded_receipt()
    bucket = get_settings().documents_bucket
    again = receipt_check.lambda_handler(s3_event(bucket, f"receipts/{receipt_id}"), FakeContext())
    assert again["outcomes"] == ["skipped-already-checked"]
    client("s3").put_object(Bucket=bucket, Key="receipts/r00000000000000000000000000", Body=PDF)
    out = receipt_check.lambda_handler(s3_event(bucket, "receipts/r00000000000000000000000000"), FakeContext())
    assert out["outcomes"] == ["deleted-orphan"]


def test_another_members_receipt_is_not_found(world: Any) -> None:
    receipt_id, _ = uploaded_receipt(member=MARIE)
    status, body, _ = claims_call("GET", f"/receipts/{receipt_id}", member=SOPHIE)
    assert status == 404
    assert body["code"] == "RECEIPT_NOT_FOUND"
    status, _, _ = claims_call("GET", "/receipts/not-an-id", member=MARIE)
    assert status == 404


# ---------------------------------------------------------------- submission


def test_submit_then_history_and_detail(world: Any) -> None:
    marie = person_id(MARIE, "Marie")
    status, created, _headers = submit(physio_claim(marie))
    assert status == 201, created
    assert created["status"] == "SUBMITTED"
    assert created["totalClaimed"] == "85.00"
    claim_id = created["claimId"]
    status, page, _ = claims_call("GET", "/claims")
    assert status == 200
    assert page["nextCursor"] is None
    item = page["items"][0]
    assert item["claimId"] == claim_id
    assert item["claimTypeName"] == "Physiothérapie"
    assert item["patient"] == {"personId": marie, "firstName": "Marie"}
    assert item["provider"]["displayName"] == "Julie Lavoie (Physio Plateau)"
    status, detail, _ = claims_call("GET", f"/claims/{claim_id}")
    assert status == 200
    assert detail["statusHistory"][0]["status"] == "SUBMITTED"
    assert detail["treatments"][0]["amount"] == "85.00"
    assert detail["answers"] == {"accident": False, "otherCoverage": False}
    # The claim as submitted: every field of the body but the authorization (contract, Claims).
    body = physio_claim(marie)
    assert detail["claimType"] == body["claimType"] == "PHYSIOTHERAPY"
    assert detail["patientId"] == marie
    assert detail["providerId"] == body["providerId"]
    assert detail["treatments"] == body["treatments"]
    assert detail["receiptIds"] == body["receiptIds"]
    assert "authorization" not in detail


def test_claim_item_keeps_the_documented_attributes(world: Any) -> None:
    from portal_common.config import get_settings
    from portal_common.dynamo import get_item

    marie = person_id(MARIE, "Marie")
    _, created, _ = submit(physio_claim(marie))
    item = get_item(get_settings().claims_table, {"PK": "MEMBER#G1001#100001", "SK": f"CLAIM#{created['claimId']}"})
    assert item is not None
    for name in (
        "claimId", "contractNumber", "participantNumber", "planId", "claimType", "category", "patientId",
        "providerId", "answers", "treatments", "receiptIds", "status", "statusHistory", "submittedAt",
        "totalClaimed", "language", "version", "GSI1PK", "GSI1SK",
    ):  # fmt: skip
        assert name in item, name
    assert item["entityType"] == "CLAIM"
    assert item["GSI1PK"] == "MEMBER#G1001#100001#STATUS#SUBMITTED"


def test_dependant_claim_and_recent_providers(world: Any) -> None:
    import providers_api

    from tests.claims_support import api_event, invoke

    lea = person_id(MARIE, "Léa")
    status, _created, _ = submit(physio_claim(lea))
    assert status == 201
    status, body, _ = invoke(
        providers_api.lambda_handler, api_event("GET", "/providers/recent", query={"claimType": "PHYSIOTHERAPY"})
    )
    assert status == 200
    assert [p["providerId"] for p in body["items"]] == ["PDEMO0000000000000000000001"]
    # Another member sees none of Marie's recent providers.
    _, body, _ = invoke(
        providers_api.lambda_handler,
        api_event("GET", "/providers/recent", member=SOPHIE, query={"claimType": "PHYSIOTHERAPY"}),
    )
    assert body["items"] == []


def _errors(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["code"] for e in body.get("errors", [])}


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"authorization": {"accepted": False}}, "authorization.accepted", "AUTHORIZATION_REQUIRED"),
        ({"treatments": []}, "treatments", "TOO_FEW"),
        ({"treatments": [{"dateOfService": days_ago(1), "amount": "10.00"}] * 21}, "treatments", "TOO_MANY"),
        ({"treatments": [{"dateOfService": days_ago(1), "amount": "0.00"}]}, "treatments[0].amount", "AMOUNT_NOT_POSITIVE"),  # noqa: E501
        ({"treatments": [{"dateOfService": days_ago(1), "amount": "-5.00"}]}, "treatments[0].amount", "INVALID_AMOUNT"),
        ({"treatments": [{"dateOfService": days_ago(1), "amount": 85.5}]}, "treatments[0].amount", "INVALID_AMOUNT"),
        ({"treatments": [{"dateOfService": days_ago(1), "amount": "٨٥.٠٠"}]}, "treatments[0].amount", "INVALID_AMOUNT"),
        ({"treatments": [{"dateOfService": days_ago(1), "amount": "８５.００"}]}, "treatments[0].amount", "INVALID_AMOUNT"),  # noqa: E501
        ({"treatments": [{"dateOfService": days_ago(1), "amount": "25000.01"}]}, "treatments[0].amount", "AMOUNT_TOO_HIGH"),  # noqa: E501
        ({"treatments": [{"dateOfService": days_ago(1), "amount": "9999999.99"}]}, "treatments[0].amount", "AMOUNT_TOO_HIGH"),  # noqa: E501
        ({"treatments": [{"dateOfService": days_ago(1), "amount": "10000.00"}] * 6}, "treatments", "CLAIM_TOTAL_TOO_HIGH"),  # noqa: E501
        ({"treatments": [{"dateOfService": "٢٠٢٦-٠١-٠١", "amount": "10.00"}]}, "treatments[0].dateOfService", "INVALID_DATE"),  # noqa: E501
        ({"treatments": [{"dateOfService": days_ago(-2), "amount": "10.00"}]}, "treatments[0].dateOfService", "DATE_IN_FUTURE"),  # noqa: E501
        ({"treatments": [{"dateOfService": days_ago(400), "amount": "10.00"}]}, "treatments[0].dateOfService", "DATE_TOO_OLD"),  # noqa: E501
        ({"treatments": [{"dateOfService": "2026-02-30", "amount": "10.00"}]}, "treatments[0].dateOfService", "INVALID_DATE"),  # noqa: E501
        ({"claimType": "NOPE"}, "claimType", "UNKNOWN_CLAIM_TYPE"),
        ({"claimType": "ORTHODONTICS"}, "claimType", "CLAIM_TYPE_NOT_COVERED"),
        ({"patientId": "p_0000000000000000"}, "patientId", "UNKNOWN_PATIENT"),
        ({"providerId": None}, "providerId", "REQUIRED"),
        ({"providerId": "PDEMO0000000000000000009999"}, "providerId", "UNKNOWN_PROVIDER"),
        ({"providerId": DENTIST_PROVIDER}, "providerId", "PROVIDER_TYPE_MISMATCH"),
        ({"answers": {"otherCoverage": False}}, "answers.accident", "REQUIRED"),
        ({"answers": {"accident": True, "otherCoverage": False}}, "answers.accidentDate", "REQUIRED"),
        ({"answers": {"accident": "yes", "otherCoverage": False}}, "answers.accident", "INVALID_TYPE"),
        ({"answers": {"accident": False, "otherCoverage": False, "bogus": True}}, "answers.bogus", "UNKNOWN_QUESTION"),
        ({"answers": {"accident": True, "accidentDate": "2026-13-01", "accidentType": "SPORT", "otherCoverage": False}},
         "answers.accidentDate", "INVALID_DATE"),
        ({"answers": {"accident": True, "accidentDate": days_ago(5), "accidentType": "NOPE", "otherCoverage": False}},
         "answers.accidentType", "NOT_ALLOWED"),
        ({"answers": {"accident": False, "otherCoverage": True, "otherInsurerName": "Desjardins",
                      "otherInsurerFirst": True}}, "answers.otherInsurerPaid", "REQUIRED"),
        ({"receiptIds": ["r00000000000000000000000000"]}, "receiptIds[0]", "RECEIPT_NOT_FOUND"),
        ({"drug": {"din": "02240000"}}, "drug", "NOT_ALLOWED"),
        ({"treatments": [{"dateOfService": days_ago(1), "amount": "10.00", "toothNumber": "11"}]},
         "treatments[0].toothNumber", "NOT_ALLOWED"),
        ({"extra": 1}, "extra", "UNKNOWN_FIELD"),
    ],
)  # fmt: skip
def test_each_submission_rule(world: Any, change: dict[str, Any], field: str, code: str) -> None:
    body = physio_claim(person_id(MARIE, "Marie"))
    body.update(change)
    status, problem, _ = submit(body)
    assert status == 400, problem
    assert problem["code"] == "VALIDATION_FAILED"
    assert _errors(problem).get(field) == code, problem["errors"]


def test_referral_required_by_the_plan(world: Any) -> None:
    body = physio_claim(
        person_id(MARIE, "Marie"), claimType="MASSAGE_THERAPY", providerId="PDEMO0000000000000000000003"
    )
    status, problem, _ = submit(body)
    assert status == 400
    assert _errors(problem) == {"answers.referral": "REQUIRED"}
    body["answers"] = {**body["answers"], "referral": True, "referralDate": days_ago(30)}
    status, created, _ = submit(body)
    assert status == 201, created


def test_patient_must_be_covered_on_each_date(world: Any) -> None:
    lucas = person_id(DAVID, "Lucas")  # over age today
    status, problem, _ = submit(physio_claim(lucas), member=DAVID)
    assert status == 400
    assert _errors(problem) == {"treatments[0].dateOfService": "PATIENT_NOT_COVERED"}
    emily = person_id(DAVID, "Emily")
    status, _, _ = submit(physio_claim(emily), member=DAVID)
    assert status == 201
    noah = person_id(SOPHIE, "Noah")  # disabled adult child
    status, _, _ = submit(physio_claim(noah), member=SOPHIE)
    assert status == 201
    # Someone else's dependant is not a patient of this certificate.
    status, problem, _ = submit(physio_claim(person_id(MARIE, "Léa")), member=SOPHIE)
    assert _errors(problem) == {"patientId": "UNKNOWN_PATIENT"}


def test_terminated_member_after_the_post_termination_period(world: Any) -> None:
    ahmed = person_id(AHMED, "Ahmed")
    body = physio_claim(ahmed, treatments=[{"dateOfService": "2025-06-01", "amount": "50.00"}])
    status, problem, _ = submit(body, member=AHMED)
    assert status == 400
    assert _errors(problem)["treatments[0].dateOfService"] in ("FILING_PERIOD_ENDED", "DATE_TOO_OLD")


def test_drug_claim_needs_an_uploaded_receipt_and_no_provider(world: Any) -> None:
    olivia = person_id(OLIVIA, "Olivia")
    body = {
        "claimType": "DRUG",
        "patientId": olivia,
        "answers": {"provincialDrugPlan": False, "otherCoverage": False, "accident": False},
        "treatments": [{"dateOfService": days_ago(2), "amount": "42.17", "quantity": 30}],
        "drug": {"din": "02242903", "drugName": "Atorvastatin", "pharmacyName": "Pharmacie X", "daysSupply": 30},
        "receiptIds": [],
        "authorization": {"accepted": True},
    }
    status, problem, _ = submit(body, member=OLIVIA)
    assert _errors(problem) == {"receiptIds": "RECEIPTS_REQUIRED"}
    status, problem, _ = submit({**body, "providerId": "PDEMO0000000000000000000004", "receiptIds": []}, member=OLIVIA)
    assert _errors(problem)["providerId"] == "NOT_ALLOWED"
    status, problem, _ = submit({**body, "drug": {"din": "123"}}, member=OLIVIA)
    assert _errors(problem) == {"drug.din": "INVALID_FORMAT"}
    pending = claims_call(
        "POST", "/receipts", member=OLIVIA, body={"fileName": "r.pdf", "contentType": "application/pdf", "sizeBytes": 9}
    )[1]["receiptId"]
    status, problem, _ = submit({**body, "receiptIds": [pending]}, member=OLIVIA)
    assert _errors(problem) == {"receiptIds[0]": "RECEIPT_NOT_UPLOADED"}
    receipt_id, _ = uploaded_receipt(member=OLIVIA)
    status, created, _ = submit({**body, "receiptIds": [receipt_id]}, member=OLIVIA)
    assert status == 201, created
    _, detail, _ = claims_call("GET", f"/claims/{created['claimId']}", member=OLIVIA)
    assert detail["drug"] == {
        "din": "02242903",
        "drugName": "Atorvastatin",
        "pharmacyName": "Pharmacie X",
        "daysSupply": 30,
    }
    assert "providerId" not in detail
    assert detail["receiptIds"] == [receipt_id]
    assert "provider" not in detail
    # The receipt now backs that claim and cannot back another one.
    status, problem, _ = submit({**body, "receiptIds": [receipt_id]}, member=OLIVIA)
    assert _errors(problem) == {"receiptIds[0]": "RECEIPT_ALREADY_USED"}
    _, receipt, _ = claims_call("GET", f"/receipts/{receipt_id}", member=OLIVIA)
    assert receipt["claimId"] == created["claimId"]


def test_someone_elses_receipt_cannot_be_attached(world: Any) -> None:
    receipt_id, _ = uploaded_receipt(member=MARIE)
    body = physio_claim(person_id(SOPHIE, "Sophie"), receiptIds=[receipt_id])
    _status, problem, _ = submit(body, member=SOPHIE)
    assert _errors(problem) == {"receiptIds[0]": "RECEIPT_NOT_FOUND"}


# ---------------------------------------------------------------- idempotency


def test_idempotency_key_is_required_and_validated(world: Any) -> None:
    body = physio_claim(person_id(MARIE, "Marie"))
    status, problem, _ = claims_call("POST", "/claims", body=body)
    assert status == 400
    assert _errors(problem) == {"Idempotency-Key": "REQUIRED"}
    for bad in ("short", "x" * 129, "has space inside"):
        status, problem, _ = claims_call("POST", "/claims", body=body, headers={"Idempotency-Key": bad})
        assert _errors(problem) == {"Idempotency-Key": "INVALID_IDEMPOTENCY_KEY"}, bad


def _claim_count(member_key: str) -> int:
    from portal_common.config import get_settings
    from portal_common.dynamo import query_all

    return sum(
        1
        for _ in query_all(
            get_settings().claims_table,
            key_condition="PK = :pk AND begins_with(SK, :c)",
            values={":pk": member_key, ":c": "CLAIM#"},
        )
    )


def test_same_key_same_body_gives_the_same_claim(world: Any) -> None:
    body = physio_claim(person_id(MARIE, "Marie"))
    key = f"retry-{uuid.uuid4()}"
    first = submit(body, key=key)
    # Same content, other key order: still the same request.
    second = submit(json.loads(json.dumps(body, sort_keys=True)), key=key)
    assert first[0] == second[0] == 201
    assert first[1]["claimId"] == second[1]["claimId"]
    assert _claim_count("MEMBER#G1001#100001") == 1
    status, problem, _ = submit({**body, "additionalInfo": "autre chose"}, key=key)
    assert status == 409
    assert problem["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_keys_are_scoped_to_the_member(world: Any) -> None:
    key = f"shared-{uuid.uuid4()}"
    a = submit(physio_claim(person_id(MARIE, "Marie")), key=key)
    b = submit(physio_claim(person_id(SOPHIE, "Sophie")), member=SOPHIE, key=key)
    assert a[0] == b[0] == 201
    assert a[1]["claimId"] != b[1]["claimId"]


def test_the_transaction_marker_stops_a_second_claim_even_without_the_powertools_record(world: Any) -> None:
    from portal_common.aws_clients import client
    from portal_common.config import get_settings

    body = physio_claim(person_id(MARIE, "Marie"))
    key = f"lost-{uuid.uuid4()}"
    first = submit(body, key=key)
    table = get_settings().idempotency_table
    for item in client("dynamodb").scan(TableName=table)["Items"]:
        client("dynamodb").delete_item(TableName=table, Key={"id": item["id"]})
    second = submit(body, key=key)
    assert second[0] == 201
    assert second[1]["claimId"] == first[1]["claimId"]
    assert _claim_count("MEMBER#G1001#100001") == 1


def test_concurrent_duplicates_make_one_claim(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Duplicates that arrive while the first request is still running (a client retrying after a
    timeout, a double tap): each is another Lambda execution environment, so they meet the first one
    only in DynamoDB. The first request is paused where it holds the idempotency record (inside the
    submission); the duplicates run then, each one whole, as Lambda runs them (one invocation at a
    time per environment, never two threads in one Powertools resolver)."""
    import claim_routes_api

    body = physio_claim(person_id(MARIE, "Marie"))
    different = {**body, "treatments": [{**body["treatments"][0], "amount": "90.00"}]}
    key = f"race-{uuid.uuid4()}"
    during: list[tuple[int, Any, dict[str, str]]] = []
    paused: list[bool] = []
    submit_claim = claim_routes_api.submit_claim

    def first_request_in_progress(*args: Any, **kwargs: Any) -> Any:
        if not paused:  # only the first request pauses (a duplicate that got this far just runs)
            paused.append(True)
            during.extend(submit(body, key=key) for _ in range(5))
            # Another body under the same key while the first runs: refused as a reused key.
            during.append(submit(different, key=key))
        return submit_claim(*args, **kwargs)

    monkeypatch.setattr(claim_routes_api, "submit_claim", first_request_in_progress)
    # Powertools leases the in-progress record for the invocation's remaining time (10 s, the
    # template's timeout, in FakeContext); Lambda kills an invocation that outlives it, and then a
    # retry may take over. The paused request here is alive, however long a loaded machine takes to
    # run the duplicates: its lease must not run out under them (that was this test's flake).
    monkeypatch.setattr(FakeContext, "get_remaining_time_in_millis", lambda self: 15 * 60 * 1000)
    status, first, _ = submit(body, key=key)
    assert status == 201, first
    assert len(during) == 6
    for status, out, headers in during[:5]:
        assert (status, out.get("code")) == (409, "IDEMPOTENCY_REQUEST_IN_PROGRESS"), out
        assert headers["Retry-After"] == "1"
    assert (during[5][0], during[5][1]["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert _claim_count("MEMBER#G1001#100001") == 1
    # After the first request, a retry gets its claim; another body under the key is refused.
    status, out, _ = submit(body, key=key)
    assert (status, out["claimId"]) == (201, first["claimId"])
    status, out, _ = submit(different, key=key)
    assert (status, out["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert _claim_count("MEMBER#G1001#100001") == 1


def test_racing_duplicates_in_dynamodb_make_one_claim(world: Any) -> None:
    """Six environments race the same key at the same instant: the idempotency record's conditional
    write lets one through, and if two ever got past it the claim transaction's marker would stop
    the second. The threads race below the HTTP layer (each with its own idempotency store, as each
    environment has one) on a moto that applies each operation atomically, as DynamoDB does."""
    import claim_routes_api
    from claims_models import ClaimSubmission

    from portal_common.aws_clients import client
    from portal_common.config import get_settings
    from portal_common.identity import caller_from_event
    from tests.claims_support import api_event
    from tests.moto_isolation import serialised_dynamodb

    body = physio_claim(person_id(MARIE, "Marie"))
    key = f"race-{uuid.uuid4()}"
    caller = caller_from_event(api_event("POST", "/claims", member=MARIE, body=body))
    submission = ClaimSubmission.model_validate(body)
    barrier = threading.Barrier(6)
    results: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def environment() -> None:
        # A cold environment: its own client and idempotency store.
        run = claim_routes_api._idempotent_submit.__wrapped__(get_settings().idempotency_table, client("dynamodb"))
        barrier.wait()
        try:
            created = run(
                request={"member": caller.member_key, "key": key, "body": body},
                caller=caller,
                submission=submission,
                lang="fr",
                stored=[],
            )
            outcome: tuple[str, Any] = ("created", created.claim_id)
        except Exception as error:
            outcome = (type(error).__name__, str(error))
        with lock:
            results.append(outcome)

    with serialised_dynamodb():
        threads = [threading.Thread(target=environment) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    created = {claim_id for kind, claim_id in results if kind == "created"}
    assert len(results) == 6
    assert len(created) == 1, results
    assert all(kind in ("created", "IdempotencyAlreadyInProgressError") for kind, _ in results), results
    assert _claim_count("MEMBER#G1001#100001") == 1
    status, out, _ = submit(body, key=key)
    assert (status, out["claimId"]) == (201, created.pop())


# ---------------------------------------------------------------- history


def test_history_pages_filters_and_isolation(world: Any) -> None:
    marie = person_id(MARIE, "Marie")
    ids = [submit(physio_claim(marie))[1]["claimId"] for _ in range(5)]
    status, page1, _ = claims_call("GET", "/claims", query={"limit": "2"})
    assert [i["claimId"] for i in page1["items"]] == ids[::-1][:2]
    _, page2, _ = claims_call("GET", "/claims", query={"limit": "2", "cursor": page1["nextCursor"]})
    _, page3, _ = claims_call("GET", "/claims", query={"limit": "2", "cursor": page2["nextCursor"]})
    assert [i["claimId"] for i in page1["items"] + page2["items"] + page3["items"]] == ids[::-1]
    _, submitted, _ = claims_call("GET", "/claims", query={"status": "SUBMITTED", "limit": "3"})
    assert [i["claimId"] for i in submitted["items"]] == ids[::-1][:3]
    _, paid, _ = claims_call("GET", "/claims", query={"status": "PAID"})
    assert paid == {"items": [], "nextCursor": None}
    # A cursor is bound to its caller and filter.
    status, problem, _ = claims_call("GET", "/claims", member=SOPHIE, query={"cursor": page1["nextCursor"]})
    assert status == 400
    assert _errors(problem) == {"cursor": "INVALID_CURSOR"}
    status, problem, _ = claims_call("GET", "/claims", query={"status": "SUBMITTED", "cursor": page1["nextCursor"]})
    assert status == 400
    for bad in ({"limit": "0"}, {"limit": "101"}, {"limit": "abc"}, {"status": "NOPE"}, {"cursor": "garbage!"}):
        status, _, _ = claims_call("GET", "/claims", query=bad)
        assert status == 400, bad
    # Another member's claim is 404, never 403.
    status, problem, _ = claims_call("GET", f"/claims/{ids[0]}", member=SOPHIE)
    assert status == 404
    assert problem["code"] == "CLAIM_NOT_FOUND"
    assert claims_call("GET", "/claims/../../etc")[0] == 404


def test_a_cursor_signed_with_the_stacks_secret_but_integer_keys_is_a_400(world: Any) -> None:
    """As an attacker who got hold of the signing secret would: the MAC checks, but integer key
    values (which DynamoDB refuses with a ValidationException, a 500) are refused before the query."""
    from portal_common.pagination import encode_cursor

    marie = person_id(MARIE, "Marie")
    submit(physio_claim(marie))
    for key, scope, query in (
        ({"PK": 1, "SK": 2}, "claims|MEMBER#G1001#100001|*", {}),
        ({"PK": "MEMBER#G1001#100001", "SK": 7}, "claims|MEMBER#G1001#100001|*", {}),
        ({"PK": 1, "SK": 2, "GSI1PK": 3, "GSI1SK": 4}, "claims|MEMBER#G1001#100001|SUBMITTED", {"status": "SUBMITTED"}),
    ):
        forged = encode_cursor(key, scope=scope)
        status, problem, _ = claims_call("GET", "/claims", query={**query, "cursor": forged or ""})
        assert status == 400, (key, problem)
        assert _errors(problem) == {"cursor": "INVALID_CURSOR"}


def test_detail_shows_the_adjudication_once_processed(world: Any) -> None:
    from portal_common.aws_clients import client
    from portal_common.config import get_settings
    from portal_common.dynamo import to_item

    _, created, _ = submit(physio_claim(person_id(MARIE, "Marie")))
    client("dynamodb").update_item(
        TableName=get_settings().claims_table,
        Key=to_item({"PK": "MEMBER#G1001#100001", "SK": f"CLAIM#{created['claimId']}"}),
        UpdateExpression="SET #s = :s, totalPaid = :p, adjudication = :a",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues=to_item(
            {
                ":s": "PAID",
                ":p": __import__("decimal").Decimal("68.00"),
                ":a": {
                    "lines": [{"treatmentIndex": 0, "claimed": "85.00", "eligible": "85.00", "paid": "68.00",
                               "reasonCode": "COINSURANCE", "explanation": {"fr": "Coassurance 80 %", "en": "80% coinsurance"}}],  # noqa: E501
                    "totalPaid": "68.00",
                    "processedAt": "2026-01-01T00:00:00Z",
                },
            }
        ),
    )  # fmt: skip
    _, detail, _ = claims_call("GET", f"/claims/{created['claimId']}", headers={"Accept-Language": "en-CA"})
    assert detail["totalPaid"] == "68.00"
    assert detail["adjudication"]["lines"][0]["explanation"] == "80% coinsurance"


def test_stream_publisher_sends_versioned_claim_submitted(world: Any) -> None:
    import claim_stream_publisher

    from portal_common.aws_clients import client
    from portal_common.config import get_settings

    _, created, _ = submit(physio_claim(person_id(MARIE, "Marie")))
    table = get_settings().claims_table
    raw = client("dynamodb").get_item(
        TableName=table, Key={"PK": {"S": "MEMBER#G1001#100001"}, "SK": {"S": f"CLAIM#{created['claimId']}"}}
    )["Item"]
    recent = client("dynamodb").get_item(
        TableName=table, Key={"PK": {"S": "MEMBER#G1001#100001"}, "SK": {"S": "RECENT#PHYSIOTHERAPY"}}
    )["Item"]
    stream_arn = f"arn:aws:dynamodb:ca-central-1:123456789012:table/{table}/stream/x"
    records = [
        {"eventID": str(n), "eventName": "INSERT", "eventSource": "aws:dynamodb", "eventSourceARN": stream_arn,
         "dynamodb": {"NewImage": image, "SequenceNumber": str(n), "ApproximateCreationDateTime": 0}}
        for n, image in enumerate([raw, recent])
    ]  # fmt: skip
    sent: list[dict[str, Any]] = []
    handler = claim_stream_publisher.make_record_handler(sent.extend)
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    for record in records:
        handler(DynamoDBRecord(record))
    assert len(sent) == 1  # receipts, markers and recent providers are not claims
    detail = json.loads(sent[0]["Detail"])
    assert sent[0]["DetailType"] == "ClaimSubmitted"
    assert sent[0]["Source"] == "ca.portal.claims"
    assert detail["version"] == "1"
    assert detail["claimId"] == created["claimId"]
    assert detail["totalClaimed"] == "85.00"
    assert detail["memberKey"] == "MEMBER#G1001#100001"
    # Through the real handler, to the bus: a partial batch response with no failures.
    event = {"Records": records}
    result = claim_stream_publisher.lambda_handler(event, FakeContext())
    assert result == {"batchItemFailures": []}


def test_publisher_reports_failed_records(world: Any) -> None:
    import claim_stream_publisher

    def refuse(entries: list[dict[str, Any]]) -> None:
        raise claim_stream_publisher.PublishError("down")

    handler = claim_stream_publisher.make_record_handler(refuse)
    from portal_common.claim_records import ClaimRecord, TreatmentRecord
    from portal_common.dynamo import to_item

    claim = ClaimRecord(
        member_key="MEMBER#X#1", claim_id="A", contract_number="X", participant_number="1", claim_type="DRUG",
        category="DRUG", patient_id="p", treatments=[TreatmentRecord(date_of_service="2026-01-01", amount=Decimal(1))],
        status="SUBMITTED", submitted_at="2026-01-01T00:00:00Z", total_claimed=Decimal(1),
    )  # fmt: skip
    image = to_item(claim.to_item())
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    with pytest.raises(claim_stream_publisher.PublishError):
        handler(DynamoDBRecord({"eventName": "INSERT", "dynamodb": {"NewImage": image, "SequenceNumber": "1"}}))
