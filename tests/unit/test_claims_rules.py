"""Pure rules of claims and providers: catalogue, answers, receipts' magic bytes, phones, postal codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal_common.claim_types import claim_types
from portal_common.provider_records import MAX_RECENT, RecentProviders

ROOT = Path(__file__).resolve().parents[2]


def test_catalogue_has_every_code_the_plans_use() -> None:
    codes = set(claim_types().by_code)
    for path in (ROOT / "data" / "plans").glob("*.json"):
        assert set(json.loads(path.read_text())["benefits"]) <= codes, path.name
    assert claim_types().get("DRUG") is not None


def test_every_catalogue_text_is_bilingual_and_distinct() -> None:
    for t in claim_types().catalogue.claim_types:
        assert t.name.fr
        assert t.name.en
    for q in claim_types().catalogue.questions.values():
        assert q.label.fr
        assert q.label.en
        assert q.label.fr != q.label.en
        if q.type == "choice":
            assert q.choices


@pytest.mark.parametrize(
    ("q", "first"),
    [("physio", "PHYSIOTHERAPY"), ("Médicament", "DRUG"), ("lunettes", "EYEWEAR"), ("glasses", "EYEWEAR"),
     ("massage", "MASSAGE_THERAPY"), ("chiro", "CHIROPRACTIC"), ("soins dentaires de base", "DENTAL_BASIC")],
)  # fmt: skip
def test_search_ranks_names_first(q: str, first: str) -> None:
    assert claim_types().search(q)[0].code == first


@given(st.text(max_size=60))
def test_search_never_fails(q: str) -> None:
    claim_types().search(q)


def test_visibility_follows_show_if_chains() -> None:
    from claim_submission import visible

    questions = dict(claim_types().questions_for("PHYSIOTHERAPY", None))
    assert not visible("workInjuryClaim", questions, {"accident": False, "accidentType": "WORK"})
    assert visible("workInjuryClaim", questions, {"accident": True, "accidentType": "WORK"})
    assert not visible(
        "workInjuryClaimNumber", questions, {"accident": True, "accidentType": "SPORT", "workInjuryClaim": True}
    )


def test_recent_providers_are_bounded_and_most_recent_first() -> None:
    recent = RecentProviders.from_item(None, "MEMBER#C#P", "PHYSIO")
    for n in range(15):
        recent = recent.used(f"P{n}", f"2026-01-{n + 1:02d}")
    recent = recent.used("P10", "2026-02-01")
    item = recent.to_item()
    entries = item["providers"]
    assert len(entries) == MAX_RECENT
    assert [e["providerId"] for e in entries[:3]] == ["P10", "P14", "P13"]
    assert len({e["providerId"] for e in entries}) == MAX_RECENT
    assert item["version"] == 16
    # What is read back is what was written, and the next write is conditional on that version.
    again = RecentProviders.from_item(item, "MEMBER#C#P", "PHYSIO")
    assert again == recent
    assert again.used("P1", "2026-03-01").put_condition() == ("version = :v", {":v": 16})
    assert RecentProviders.from_item(None, "MEMBER#C#P", "PHYSIO").used("P1", "x").put_condition() == (
        "attribute_not_exists(PK)",
        {},
    )


@pytest.mark.parametrize(
    ("head", "declared", "size", "status", "reason"),
    [
        (b"%PDF-1.4", "application/pdf", 100, "UPLOADED", None),
        (b"\xff\xd8\xff\xdb", "image/jpeg", 100, "UPLOADED", None),
        (b"\x89PNG\r\n\x1a\n", "image/png", 100, "UPLOADED", None),
        (b"\x00\x00\x00\x1cftypmif1", "image/heic", 100, "UPLOADED", None),
        (b"\x00\x00\x00\x1cftypisom", "image/heic", 100, "REJECTED", "UNRECOGNIZED_CONTENT"),
        (b"%PDF-1.4", "image/png", 100, "REJECTED", "TYPE_MISMATCH"),
        (b"%PDF-1.4", "application/pdf", 99, "REJECTED", "SIZE_MISMATCH"),
        (b"", "application/pdf", 0, "REJECTED", "EMPTY_FILE"),
        (b"%PDF-1.4", "application/pdf", 10 * 1024 * 1024 + 1, "REJECTED", "TOO_LARGE"),
    ],
)
def test_receipt_judgement(head: bytes, declared: str, size: int, status: str, reason: str | None) -> None:
    from receipt_store import judge

    verdict = judge(declared, 100 if reason != "TOO_LARGE" else size, size, head)
    assert (verdict.status, verdict.reason) == (status, reason)


@pytest.mark.parametrize(
    "text", ["(514) 555-0199", "514.555.0199", "+1 514 555 0199", "1-514-555-0199", "5145550199", " 514 555 0199 "]
)
def test_phone_formats_normalize_to_e164(text: str) -> None:
    from provider_rules import normalize_phone

    assert normalize_phone(text) == "+15145550199"


@pytest.mark.parametrize(
    "text", ["555-0199", "(014) 555-0199", "(514) 155-0199", "(411) 555-0199", "(514) 911-0199", "+44 20 7946 0958",
             "51455501999", "abc-def-ghij", "+2 514 555 0199"],
)  # fmt: skip
def test_invalid_phones(text: str) -> None:
    from provider_rules import normalize_phone

    assert normalize_phone(text) is None


@given(st.text(max_size=40))
def test_phone_normalization_is_total(text: str) -> None:
    from provider_rules import normalize_phone

    result = normalize_phone(text)
    assert result is None or (result.startswith("+1") and len(result) == 12)


@pytest.mark.parametrize(
    ("code", "province", "ok"),
    [("h2x1y4", "QC", True), ("K1A 0B1", "ON", True), ("X0A 0H0", "NU", True), ("X1A 2P7", "NT", True),
     ("Y1A 6E6", "YT", True), ("A1C 5M2", "NL", True), ("H2X 1Y4", "ON", False), ("T5J 0N3", "BC", False)],
)  # fmt: skip
def test_postal_codes_by_province(code: str, province: str, ok: bool) -> None:
    from provider_rules import normalize_postal_code, postal_code_matches_province

    normalized = normalize_postal_code(code)
    assert normalized is not None
    assert normalized[3] == " "
    assert postal_code_matches_province(normalized, province) is ok


@pytest.mark.parametrize("code", ["D1H 4A1", "W1A 1A1", "H2X1Y", "H2X 1Y44", "123 456", ""])
def test_invalid_postal_codes(code: str) -> None:
    from provider_rules import normalize_postal_code

    assert normalize_postal_code(code) is None


def test_message_catalogues_define_the_same_keys() -> None:
    base = ROOT / "layers" / "common" / "portal_common" / "messages"
    for name in ("claims.json", "providers.json"):
        fr = json.loads((base / "fr-CA" / name).read_text())
        en = json.loads((base / "en-CA" / name).read_text())
        assert set(fr) == set(en), name


def test_a_stored_receipt_reads_back_as_written() -> None:
    from decimal import Decimal

    from portal_common.receipt_records import UPLOADED, ReceiptRecord

    stored = {
        "PK": "RECEIPT#r01",
        "SK": "RECEIPT",
        "entityType": "RECEIPT",
        "receiptId": "r01",
        "memberKey": "MEMBER#C#P",
        "status": UPLOADED,
        "fileName": "reçu.pdf",
        "contentType": "application/pdf",
        "sizeBytes": Decimal("1234"),  # DynamoDB numbers arrive as Decimal
        "createdAt": "2026-11-30T18:00:00.000Z",
        "checkedEtag": "abc",
        "actualSizeBytes": Decimal("1234"),
    }
    receipt = ReceiptRecord.from_item(stored)
    assert receipt.size_bytes == 1234
    assert receipt.claim_id is None
    assert receipt.to_item() == {**stored, "sizeBytes": 1234, "actualSizeBytes": 1234}
