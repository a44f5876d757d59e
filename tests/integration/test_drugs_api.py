"""Drugs API through its handler, with real API Gateway events, against moto loaded with the whole
DPD extract of the repository.

Every expectation is computed here, naively, straight from the raw zip with ``csv`` (every row
checked against every word; no index, no shared code with the import), then compared with what the
API answers.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "data" / "drugs" / "dpd-allfiles.zip"
PRICES = ROOT / "data" / "drugs" / "bc-pharmacare-prices.csv.gz"


# ---------------------------------------------------------------- the raw extract, read naively
@dataclass
class RawDrug:
    code: str
    din: str
    brand: str
    brand_fr: str
    ai_group: str
    company: str = ""
    forms: set[str] = field(default_factory=set)
    routes: set[str] = field(default_factory=set)
    schedules: set[str] = field(default_factory=set)
    atc: list[str] = field(default_factory=list)
    ingredients: list[tuple[str, str, str, str]] = field(default_factory=list)  # name, name_fr, strength, unit


def _read(archive: zipfile.ZipFile, name: str) -> list[list[str]]:
    return list(csv.reader(io.TextIOWrapper(archive.open(name), encoding="utf-8", newline="")))


def load_raw() -> dict[str, RawDrug]:
    with zipfile.ZipFile(EXTRACT) as archive:
        marketed = {r[0] for r in _read(archive, "status.txt") if r[1] == "Y" and r[2] == "MARKETED"}
        drugs = {
            r[0]: RawDrug(r[0], r[3], r[4], r[12], r[10])
            for r in _read(archive, "drug.txt")
            if r[2] == "Human" and r[0] in marketed
        }
        for r in _read(archive, "comp.txt"):
            if r[0] in drugs:
                drugs[r[0]].company = r[3]
        for name, attr in (("form.txt", "forms"), ("route.txt", "routes")):
            for r in _read(archive, name):
                if r[0] in drugs:
                    getattr(drugs[r[0]], attr).add(r[2])
        for r in _read(archive, "schedule.txt"):
            if r[0] in drugs:
                drugs[r[0]].schedules.add(r[1])
        for r in _read(archive, "ther.txt"):
            if r[0] in drugs and r[1] not in drugs[r[0]].atc:
                drugs[r[0]].atc.append(r[1])
        for r in _read(archive, "ingred.txt"):
            if r[0] in drugs:
                drugs[r[0]].ingredients.append((r[2], r[11], r[4], r[5]))
    return {d.din: d for d in drugs.values()}


def fold_words(text: str) -> list[str]:
    """Independent of portal_common.text: NFD, drop marks, lower, split on non-alphanumerics."""
    plain = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn").lower()
    plain = plain.replace("œ", "oe").replace("æ", "ae")
    out, word = [], ""
    for char in plain:
        if char.isascii() and char.isalnum():
            word += char
        elif word:
            out.append(word)
            word = ""
    if word:
        out.append(word)
    return out


def brand_words(drug: RawDrug) -> list[str]:
    return fold_words(drug.brand) + fold_words(drug.brand_fr)


def ingredient_words(drug: RawDrug) -> list[str]:
    return [w for name, name_fr, _, _ in drug.ingredients for w in fold_words(name) + fold_words(name_fr)]


def strength_words(drug: RawDrug) -> list[str]:
    """Strength value words, unit words and value+unit (``500``, ``mg``, ``500mg``)."""
    out = []
    for _, _, strength, unit in drug.ingredients:
        value = strength.rstrip("0").rstrip(".") if "." in strength else strength
        value_words, unit_words = fold_words(value), fold_words(unit)
        if value_words:
            out += value_words + unit_words
            if unit_words:
                out.append("".join(value_words) + unit_words[0])
    return out


def naive_search(raw: dict[str, RawDrug], query: str) -> set[str]:
    """Every product whose brand, ingredient or strength words start with every query word."""
    wanted = fold_words(query)
    found = set()
    for drug in raw.values():
        pool = brand_words(drug) + ingredient_words(drug) + strength_words(drug)
        if all(any(w.startswith(q) for w in pool) for q in wanted):
            found.add(drug.din)
    return found


def naive_prices() -> dict[str, tuple[Decimal | None, Decimal | None, bool]]:
    import gzip

    text = gzip.decompress(PRICES.read_bytes()).decode()
    return {
        r["din"]: (
            Decimal(r["unit_price"]) if r["unit_price"] else None,
            Decimal(r["lca_price"]) if r["lca_price"] else None,
            r["limited_use"] == "Y",
        )
        for r in csv.DictReader(io.StringIO(text))
    }


# ---------------------------------------------------------------- the stack
@dataclass
class Api:
    stack: Any
    raw: dict[str, RawDrug]

    def call(
        self,
        path: str,
        params: dict[str, str] | None = None,
        *,
        member: tuple[str, str] | None = ("G1001", "100001"),
        lang: str | None = None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        import drugs_api

        from local.api_events import ApiContext, RouteTable, build_event, parse_response
        from local.lambda_runtime import make_context

        routes = RouteTable(self.stack.routes())
        match, _ = routes.match("GET", path)
        assert match is not None, path
        headers = [("Host", "api.example.ca"), ("User-Agent", "pytest")]
        if lang:
            headers.append(("Accept-Language", lang))
        claims = None
        if member:
            claims = {
                "sub": f"sub-{member[1]}",
                "email": f"m{member[1]}@example.ca",
                "custom:contract_number": member[0],
                "custom:participant_number": member[1],
            }
        event = build_event(
            api=ApiContext("123456789012", "abc123", "v1", "abc123.execute-api.ca-central-1.amazonaws.com"),
            match=match,
            method="GET",
            path=path,
            query_string=urlencode(params or {}),
            headers=headers,
            body=b"",
            source_ip="203.0.113.9",
            claims=claims,
        )
        spec = self.stack.functions()["DrugsApiFunction"]
        response = parse_response(drugs_api.lambda_handler(event, make_context(self.stack, spec)))
        return response.status, json.loads(response.body or b"null"), dict(response.headers)

    def search_all(self, q: str, limit: int = 100) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(200):
            params = {"q": q, "limit": str(limit)}
            if cursor:
                params["cursor"] = cursor
            status, body, _ = self.call("/drugs", params)
            assert status == 200, body
            items += body["items"]
            cursor = body["nextCursor"]
            if not cursor:
                return items
        raise AssertionError("too many pages")


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    from dpd_extract import load_prices, parse_extract
    from drug_catalog_import import write_catalog
    from moto import mock_aws

    from local.cfn import Stack
    from local.seed_roster import load_plans_from_repo
    from portal_common.roster import parse_roster
    from portal_common.roster_store import write_plans, write_roster
    from tests.conftest import reset_process_caches

    patch = pytest.MonkeyPatch()
    with mock_aws():
        stack = Stack()
        stack.create()
        for name, value in stack.environment().items():
            patch.setenv(name, value)
        reset_process_caches()
        plans = load_plans_from_repo()
        write_plans(plans)
        roster = (ROOT / "data" / "roster" / "demo-roster.csv").read_text(encoding="utf-8")
        write_roster(parse_roster(roster, known_plans={p.plan_id for p in plans}))
        report = write_catalog(parse_extract(EXTRACT), load_prices(PRICES))
        assert report.errors == []
        yield Api(stack, load_raw())
    patch.undo()
    reset_process_caches()


def person(contract: str, participant: str, relationship: str, first: str, born: str) -> str:
    from portal_common.members import person_id_for

    return person_id_for(contract, participant, relationship, first, date.fromisoformat(born))


MARIE = person("G1001", "100001", "SELF", "Marie", "1984-03-12")
LEA = person("G1001", "100001", "CHILD", "Léa", "2015-06-20")
LUCAS = person("G1001", "100002", "CHILD", "Lucas", "2004-10-03")  # 22, not a student
DAVID = person("G1001", "100002", "SELF", "David", "1978-07-30")
SOPHIE = person("G2002", "200001", "SELF", "Sophie", "1972-05-22")


# ---------------------------------------------------------------- search
def test_the_whole_marketed_human_extract_is_searchable_by_din(api: Api) -> None:
    assert len(api.raw) == 11529
    for din in ["02230711", "00015741", "00037818", sorted(api.raw)[-1], sorted(api.raw)[len(api.raw) // 2]]:
        status, body, _ = api.call("/drugs", {"q": din}, lang="en-CA")
        assert status == 200
        raw = api.raw[din]
        assert [i["din"] for i in body["items"]] == [din]
        drug = body["items"][0]
        assert drug["brandName"] == raw.brand
        assert drug["company"] == raw.company
        assert set(drug["schedule"]) == raw.schedules
        assert set(drug["routes"]) == raw.routes
        assert drug["atcCode"] == (raw.atc[0] if raw.atc else None)
        assert [(i["name"], i["strength"]) for i in drug["ingredients"]] == [(n, s) for n, _, s, _ in raw.ingredients]
        assert drug["status"] == "MARKETED"
        assert body["nextCursor"] is None


@pytest.mark.parametrize(
    "query", ["atorva", "lipitor", "metformin", "acétaminophène", "apo atorva", "Amoxi 500", "lipitor 10 mg"]
)
def test_word_prefix_search_returns_exactly_what_the_extract_says(api: Api, query: str) -> None:
    expected = naive_search(api.raw, query)
    assert expected, query
    found = [item["din"] for item in api.search_all(query)]
    assert len(found) == len(set(found)), "a product appears twice"
    assert set(found) == expected


def test_atorva_finds_lipitor_through_its_ingredient(api: Api) -> None:
    dins = [i["din"] for i in api.search_all("atorva")]
    assert "02230711" in dins
    lipitor_brands = {d for d in dins if api.raw[d].brand == "LIPITOR"}
    assert lipitor_brands


def test_ranking_exact_brand_then_brand_prefix_then_ingredient(api: Api) -> None:
    items = api.search_all("lipitor")
    assert items[0]["brandName"] == "LIPITOR"
    # every product named exactly LIPITOR comes before any other
    exact = [i for i, item in enumerate(items) if api.raw[item["din"]].brand == "LIPITOR"]
    assert exact == list(range(len(exact)))
    items = api.search_all("atorvastatin")
    brand_hit = [
        any(w.startswith("atorvastatin") for w in brand_words(api.raw[i["din"]])) for i in items
    ]  # True for brand matches, False for ingredient-only matches
    assert brand_hit == sorted(brand_hit, reverse=True)
    assert brand_hit.count(False) > 0


def test_search_ignores_case_and_accents_and_narrows_with_more_words(api: Api) -> None:
    upper = {i["din"] for i in api.search_all("ACETAMINOPHENE")}
    accented = {i["din"] for i in api.search_all("acétaminophène")}
    assert upper == accented
    assert upper
    narrow = {i["din"] for i in api.search_all("apo atorvastatin")}
    assert narrow
    assert narrow < {i["din"] for i in api.search_all("atorvastatin")}
    assert all("APO" in api.raw[d].brand for d in narrow)


def test_search_pages_with_an_opaque_cursor(api: Api) -> None:
    status, first, _ = api.call("/drugs", {"q": "metformin", "limit": "7"})
    assert status == 200
    assert len(first["items"]) == 7
    assert first["nextCursor"]
    _, second, _ = api.call("/drugs", {"q": "metformin", "limit": "7", "cursor": first["nextCursor"]})
    assert not {i["din"] for i in first["items"]} & {i["din"] for i in second["items"]}
    # a cursor made for another query is refused
    status, problem, _ = api.call("/drugs", {"q": "atorva", "cursor": first["nextCursor"]})
    assert status == 400
    assert problem["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "at"}, "q"),
        ({"q": "a b"}, "q"),
        ({}, "q"),
        ({"q": "atorva", "limit": "0"}, "limit"),
        ({"q": "atorva", "limit": "101"}, "limit"),
        ({"q": "atorva", "cursor": "garbage"}, "cursor"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_bad_search_input_is_a_localized_400(api: Api, params: dict[str, str], field: str) -> None:
    status, problem, headers = api.call("/drugs", params, lang="en-CA")
    assert status == 400
    assert problem["code"] == "VALIDATION_FAILED"
    assert problem["errors"][0]["field"] == field
    assert headers["Content-Type"] == "application/problem+json"
    _, french, _ = api.call("/drugs", params)
    assert french["errors"][0]["message"] != problem["errors"][0]["message"]


def test_short_query_message_explains_the_minimum(api: Api) -> None:
    _, problem, _ = api.call("/drugs", {"q": "at"}, lang="en-CA")
    assert "3" in problem["errors"][0]["message"]


def test_unknown_and_malformed_din(api: Api) -> None:
    assert api.call("/drugs/00000000")[0] == 404
    assert api.call("/drugs/00000000")[1]["code"] == "DRUG_NOT_FOUND"
    for bad in ["1234567", "123456789", "abcdefgh"]:
        status, problem, _ = api.call(f"/drugs/{bad}")
        assert status == 400
        assert problem["errors"][0]["field"] == "din"
    assert api.call("/drugs", {"q": "00000000"})[1]["items"] == []


def test_drug_by_din_in_french_uses_the_french_names(api: Api) -> None:
    status, drug, headers = api.call("/drugs/00015229")
    assert status == 200
    assert headers["Content-Language"] == "fr-CA"
    assert drug["ingredients"][0]["name"] == api.raw["00015229"].ingredients[0][1]  # Nortriptyline (Chlorhydrate ...)
    assert drug["form"] == "Capsule"
    assert drug["routes"] == ["Orale"]


def test_routes_need_a_caller(api: Api) -> None:
    status, problem, _ = api.call("/drugs", {"q": "atorva"}, member=None)
    assert status == 401
    assert problem["code"] == "UNAUTHORIZED"


# ---------------------------------------------------------------- coverage
def naive_alternatives(raw: dict[str, RawDrug], din: str) -> set[str]:
    me = raw[din]
    return {
        d.din
        for d in raw.values()
        if d.din != din and d.ai_group == me.ai_group and d.forms == me.forms and d.routes == me.routes
    }


def test_lipitor_under_essential_plan_is_paid_up_to_the_lowest_cost_alternative(api: Api) -> None:
    prices = naive_prices()
    group = naive_alternatives(api.raw, "02230711")
    assert len(group) > 10
    lca = prices["02230711"][1]
    assert lca is not None
    expected = {d for d in group if d in prices and prices[d][0] is not None and prices[d][0] <= lca}
    status, coverage, _ = api.call("/drugs/02230711/coverage", {"personId": MARIE})
    assert status == 200, coverage
    assert coverage["covered"] is True
    assert coverage["coinsurancePercent"] == 80
    assert coverage["priorAuthorizationRequired"] is False
    substitution = coverage["genericSubstitution"]
    assert substitution["applies"] is True
    assert Decimal(substitution["maxEligibleUnitPrice"]) == lca
    listed = [a["din"] for a in substitution["lowestCostAlternatives"]]
    # cheapest first, then by name; at most 10 listed
    ordered = sorted(expected, key=lambda d: (prices[d][0], api.raw[d].brand, d))
    assert listed == ordered[:10]
    assert set(listed) <= group
    codes = [r["code"] for r in coverage["reasons"]]
    assert "GENERIC_SUBSTITUTION_LCA" in codes
    assert all(r["message"] for r in coverage["reasons"])


def test_same_drug_for_a_dependant_and_under_a_plan_without_substitution(api: Api) -> None:
    status, child, _ = api.call("/drugs/02230711/coverage", {"personId": LEA})
    assert status == 200
    assert child["covered"] is True
    assert child["personId"] == LEA
    status, plus, _ = api.call("/drugs/02230711/coverage", {"personId": SOPHIE}, member=("G2002", "200001"))
    assert status == 200
    assert plus["covered"] is True
    assert plus["coinsurancePercent"] == 90
    assert plus["genericSubstitution"] == {
        "applies": False,
        "lowestCostAlternatives": [],
        "maxEligibleUnitPrice": None,
    }


def test_another_members_person_is_404(api: Api) -> None:
    status, problem, _ = api.call("/drugs/02230711/coverage", {"personId": DAVID})
    assert status == 404
    assert problem["code"] == "PERSON_NOT_FOUND"
    assert api.call("/drugs/02230711/coverage", {"personId": "p_unknown"})[0] == 404
    assert api.call("/drugs/02230711/coverage", {})[0] == 400
    assert api.call("/drugs/0223071/coverage", {"personId": MARIE})[0] == 400
    assert api.call("/drugs/00000000/coverage", {"personId": MARIE})[0] == 404


def test_person_not_eligible_today_is_not_covered_with_the_reason(api: Api) -> None:
    status, coverage, _ = api.call(
        "/drugs/02230711/coverage", {"personId": LUCAS}, member=("G1001", "100002"), lang="en-CA"
    )
    assert status == 200
    assert coverage["covered"] is False
    assert coverage["reasons"][0]["code"] == "PERSON_NOT_ELIGIBLE"
    assert "maximum age" in coverage["reasons"][0]["message"]


def _first(raw: dict[str, RawDrug], predicate: Any) -> RawDrug:
    return next(d for d in sorted(raw.values(), key=lambda d: d.din) if predicate(d))


def test_excluded_class_prior_authorization_and_schedule_rules(api: Api) -> None:
    excluded = _first(api.raw, lambda d: any(a.startswith("A08") for a in d.atc) and "PRESCRIPTION" in d.schedules)
    status, coverage, _ = api.call(f"/drugs/{excluded.din}/coverage", {"personId": MARIE})
    assert status == 200
    assert coverage["covered"] is False
    assert [r["code"] for r in coverage["reasons"]] == ["ATC_EXCLUDED"]

    biologic = _first(api.raw, lambda d: any(a.startswith("L04AB") for a in d.atc) and "SCHEDULE D" in d.schedules)
    _, coverage, _ = api.call(f"/drugs/{biologic.din}/coverage", {"personId": MARIE})
    assert coverage["covered"] is True
    assert coverage["priorAuthorizationRequired"] is True
    assert "PRIOR_AUTHORIZATION_ATC" in [r["code"] for r in coverage["reasons"]]

    otc = _first(api.raw, lambda d: d.schedules == {"NON-PRESCRIPTION DRUGS"})
    _, coverage, _ = api.call(f"/drugs/{otc.din}/coverage", {"personId": MARIE})
    assert coverage["covered"] is False
    assert [r["code"] for r in coverage["reasons"]] == ["SCHEDULE_NOT_COVERED"]


def test_bc_limited_use_flag_requires_prior_authorization(api: Api) -> None:
    prices = naive_prices()
    limited = _first(
        api.raw,
        lambda d: (
            prices.get(d.din, (None, None, False))[2]
            and d.schedules == {"PRESCRIPTION"}
            and not any(a.startswith(("A08", "G03A", "G04BE", "D11AX10", "A14")) for a in d.atc)
        ),
    )
    _, coverage, _ = api.call(f"/drugs/{limited.din}/coverage", {"personId": MARIE})
    assert coverage["covered"] is True
    assert coverage["priorAuthorizationRequired"] is True
    assert "PRIOR_AUTHORIZATION_LIMITED_USE" in [r["code"] for r in coverage["reasons"]]


def test_every_product_of_an_interchangeable_group_sees_the_same_alternatives(api: Api) -> None:
    # A group without prices: substitution applies, the alternatives are the group (naively computed).
    prices = naive_prices()
    groups: dict[tuple[str, frozenset[str], frozenset[str]], list[str]] = defaultdict(list)
    for d in api.raw.values():
        groups[(d.ai_group, frozenset(d.forms), frozenset(d.routes))].append(d.din)
    unpriced = next(
        sorted(dins)
        for dins in sorted(groups.values(), key=lambda g: sorted(g))
        if 3 <= len(dins) <= 10
        and not any(d in prices for d in dins)
        and all(api.raw[d].schedules == {"PRESCRIPTION"} for d in dins)
        and not any(a.startswith(("A08", "G03A", "G04BE", "D11AX10", "A14")) for d in dins for a in api.raw[d].atc)
    )
    for din in unpriced:
        _, coverage, _ = api.call(f"/drugs/{din}/coverage", {"personId": MARIE})
        listed = {a["din"] for a in coverage["genericSubstitution"]["lowestCostAlternatives"]}
        assert coverage["genericSubstitution"]["applies"] is True
        assert listed == naive_alternatives(api.raw, din)
        assert coverage["genericSubstitution"]["maxEligibleUnitPrice"] is None


def test_reasons_come_in_the_callers_language(api: Api) -> None:
    _, fr, _ = api.call("/drugs/02230711/coverage", {"personId": MARIE})
    _, en, _ = api.call("/drugs/02230711/coverage", {"personId": MARIE}, lang="en-CA")
    assert [r["code"] for r in fr["reasons"]] == [r["code"] for r in en["reasons"]]
    assert fr["reasons"][-2]["message"] != en["reasons"][-2]["message"]
    assert "rembourse" in " ".join(r["message"] for r in fr["reasons"])
    # the schedule is named in the caller's language, as the extract gives it
    assert fr["reasons"][0]["code"] == "SCHEDULE_COVERED"
    assert "Médicaments sur ordonnance" in fr["reasons"][0]["message"]
    assert "PRESCRIPTION" in en["reasons"][0]["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    q=st.text(max_size=120),
    limit=st.one_of(st.none(), st.text(max_size=5)),
    cursor=st.one_of(st.none(), st.text(max_size=60)),
    din=st.text(alphabet="0123456789abc%-", min_size=1, max_size=12),
    person_id=st.text(max_size=80),
)
def test_fuzz_never_a_5xx(api: Api, q: str, limit: str | None, cursor: str | None, din: str, person_id: str) -> None:
    params = {"q": q}
    if limit is not None:
        params["limit"] = limit
    if cursor is not None:
        params["cursor"] = cursor
    assert api.call("/drugs", params)[0] < 500
    safe_din = din.replace("/", "").replace("%", "") or "0"
    assert api.call(f"/drugs/{safe_din}")[0] < 500
    assert api.call(f"/drugs/{safe_din}/coverage", {"personId": person_id})[0] < 500
