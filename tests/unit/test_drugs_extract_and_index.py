"""DPD extract parsing (malformed rows reported and skipped) and the search index (ranks, queries)."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

from dpd_extract import load_prices, parse_extract
from drug_search import (
    RANK_BRAND_FIRST_WORD,
    RANK_BRAND_WORD,
    RANK_EXACT_BRAND,
    RANK_INGREDIENT,
    SearchDocument,
    build_pages,
    decode_entry,
    parse_query,
)
from hypothesis import given
from hypothesis import strategies as st


def make_zip(files: dict[str, list[list[str]]], raw_extra: dict[str, bytes] | None = None) -> bytes:
    """A DPD-shaped zip: every value quoted, no header."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, rows in files.items():
            text = io.StringIO()
            csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
            archive.writestr(name, text.getvalue().encode("utf-8"))
        for name, data in (raw_extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def drug_row(code: str, din: str, brand: str, group: str, klass: str = "Human", brand_fr: str = "") -> list[str]:
    return [code, "", klass, din, brand, "", "N", "00001", "1", "19-DEC-2025", group, "Humain", brand_fr, ""]


def small_extract() -> dict[str, list[list[str]]]:
    return {
        "drug.txt": [
            drug_row("1", "02230711", "LIPITOR", "0123456001"),
            drug_row("2", "02295261", "APO-ATORVASTATIN", "0123456001"),
            drug_row("3", "1234", "BAD DIN", "0123456001"),  # malformed DIN
            drug_row("4", "00000004", "VET PRODUCT", "0999999001", klass="Veterinary"),
            drug_row("5", "00000005", "DORMANT", "0999999002"),  # not marketed
            ["6", "", "Human"],  # too few columns
            drug_row("7", "00000007", "", "0999999003"),  # no brand
        ],
        "status.txt": [
            [c, "Y", "MARKETED", "01-JAN-2020", "COMMERCIALISÉ", "", ""] for c in ("1", "2", "3", "4", "6", "7")
        ]
        + [["5", "Y", "DORMANT", "01-JAN-2020", "DORMANT", "", ""], ["1", "N", "APPROVED", "01-JAN-2000", "", "", ""]],
        "comp.txt": [["1", "", "1", "PFIZER", "DIN_OWNER"], ["2", "", "2", "APOTEX INC", "DIN_OWNER"]],
        "form.txt": [["1", "85", "TABLET", "Comprimé"], ["2", "85", "TABLET", "Comprimé"]],
        "route.txt": [["1", "56", "ORAL", "Orale"], ["2", "56", "ORAL", "Orale"]],
        "schedule.txt": [["1", "PRESCRIPTION", "Ordonnance"], ["2", "PRESCRIPTION", "Ordonnance"]],
        "ther.txt": [["1", "C10AA05", "ATORVASTATIN", ""], ["2", "C10AA05*", "ATORVASTATIN", ""], ["2", "??", "", ""]],
        "ingred.txt": [
            [
                "1",
                "1",
                "ATORVASTATIN (ATORVASTATIN CALCIUM)",
                "I",
                "10",
                "MG",
                "",
                "",
                "N",
                "",
                "",
                "Atorvastatine",
                "MG",
            ],
            ["2", "1", "ATORVASTATIN", "I", "10", "MG", "", "", "N", "", "", "", ""],
        ],
    }


def test_marketed_human_products_are_kept_and_bad_rows_reported() -> None:
    parsed = parse_extract(make_zip(small_extract()))
    assert sorted(parsed.drugs) == ["02230711", "02295261"]
    reasons = {(e.file, e.line, e.reason) for e in parsed.errors}
    assert ("drug.txt", 3, "INVALID_DIN") in reasons
    assert ("drug.txt", 6, "TOO_FEW_COLUMNS") in reasons
    assert ("drug.txt", 7, "MISSING_BRAND_NAME") in reasons
    assert ("ther.txt", 3, "INVALID_ATC_CODE") in reasons
    lipitor = parsed.drugs["02230711"]
    assert lipitor.company == "PFIZER"
    assert lipitor.forms_fr == ["Comprimé"]
    assert lipitor.ingredients[0].name_fr == "Atorvastatine"
    assert lipitor.atc_codes == ["C10AA05"]
    assert parsed.drugs["02295261"].atc_codes == ["C10AA05"]  # the trailing asterisk is dropped
    assert lipitor.interchangeable_group == parsed.drugs["02295261"].interchangeable_group


def test_garbage_is_reported_not_raised() -> None:
    assert parse_extract(b"not a zip").errors[0].reason == "NOT_A_ZIP"
    parsed = parse_extract(make_zip({}, {"drug.txt": b'\xff\xfe\x00garbage\n"unterminated'}))
    assert parsed.drugs == {}
    assert any(e.reason == "FILE_MISSING" for e in parsed.errors)


def test_prices_file() -> None:
    prices = load_prices(b"din,unit_price,lca_price,limited_use\n02230711,2.3497,0.1882,N\nbad,1,1,Y\n00000001,,,Y\n")
    assert prices["02230711"].unit_price == Decimal("2.3497")
    assert prices["02230711"].lca_price == Decimal("0.1882")
    assert prices["00000001"].limited_use
    assert prices["00000001"].unit_price is None
    assert "bad" not in prices


def test_ranks_exact_brand_then_first_word_then_other_words_then_ingredients() -> None:
    lipitor = SearchDocument("02230711", ("LIPITOR",), ("ATORVASTATIN (ATORVASTATIN CALCIUM)",))
    apo = SearchDocument("02295261", ("APO-ATORVASTATIN",), ("ATORVASTATIN",))
    assert lipitor.ranks()["lipitor"] == RANK_EXACT_BRAND
    assert lipitor.ranks()["lip"] == RANK_BRAND_FIRST_WORD
    assert lipitor.ranks()["atorva"] == RANK_INGREDIENT
    assert apo.ranks()["atorva"] == RANK_BRAND_WORD
    assert apo.ranks()["apo"] == RANK_BRAND_FIRST_WORD
    pages = build_pages([lipitor, apo])
    assert [decode_entry(e)[1] for e in pages["atorva"][0]] == ["02295261", "02230711"]
    assert "ap" not in pages  # nothing shorter than 3 letters is indexed


def test_parse_query() -> None:
    assert parse_query("02230711") is not None
    assert parse_query("02230711").din == "02230711"  # type: ignore[union-attr]
    assert parse_query("at") is None
    assert parse_query("  ") is None
    query = parse_query("Apo  ATORVASTATINE-Calcique 10")
    assert query is not None
    assert query.lead == "atorvastatine"[:15]
    assert query.matches(["apo", "atorvastatine", "calcique", "10", "10mg"])
    assert not query.matches(["apo", "atorvastatine", "10"])


@given(st.text(max_size=200))
def test_parse_query_never_fails(text: str) -> None:
    query = parse_query(text)
    if query is not None and query.din is None:
        assert 3 <= len(query.lead) <= 15
