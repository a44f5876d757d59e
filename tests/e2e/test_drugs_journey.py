"""The member guide's last journey over HTTP ("Recherche pour la couverture des médicaments"):
sign in, choose the person, search the drug by name and by DIN, check coverage for oneself and for
a dependant; another member's person is 404."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

ROOT = Path(__file__).resolve().parents[2]
MARIE = "marie.tremblay@example.com"

pytestmark = pytest.mark.skipif(
    not (ROOT / "local" / "seed_accounts.py").exists(),
    reason="needs the demo accounts of the identity functions (local/seed_accounts.py)",
)


def persons_of(stack: LocalStackProcess, auth: dict[str, str]) -> dict[str, str]:
    """First name -> personId, from /v1/me when it is served, else from the roster's stable ids."""
    me = stack.get("/v1/me", headers=auth)
    if me.status_code == 200:
        return {p["firstName"]: p["personId"] for p in me.json()["persons"]}
    from portal_common.members import person_id_for

    return {
        "Marie": person_id_for("G1001", "100001", "SELF", "Marie", date(1984, 3, 12)),
        "Léa": person_id_for("G1001", "100001", "CHILD", "Léa", date(2015, 6, 20)),
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    """A stack of this module's own with the whole DPD extract of ``data/drugs`` (the shared stacks
    load a sample): the journey searches the real catalogue."""
    from tests.e2e.conftest import LocalStackProcess

    process = LocalStackProcess(tmp_path_factory.mktemp("drugs-stack"), drugs="full")
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def marie(stack: LocalStackProcess) -> dict[str, Any]:
    stack.wait_for_seeds(timeout=300)
    status = stack.status()
    drugs_seed = next(s for s in status["seeds"] if s["name"] == "drugs")
    assert drugs_seed["state"] == "done", drugs_seed
    auth = stack.bearer(MARIE)
    return {"auth": auth, "persons": persons_of(stack, auth)}


def all_results(stack: LocalStackProcess, auth: dict[str, str], q: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, str] = {"q": q, "limit": "50"}
    for _ in range(50):
        response = stack.get("/v1/drugs", params=params, headers=auth)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["nextCursor"]
        if not cursor:
            return items
        params["cursor"] = cursor
    raise AssertionError("too many pages")


def test_search_by_name_and_by_din(stack: LocalStackProcess, marie: dict[str, Any]) -> None:
    auth = marie["auth"]
    by_ingredient = all_results(stack, auth, "atorva")
    assert "02230711" in {d["din"] for d in by_ingredient}  # LIPITOR through ATORVASTATIN
    assert all(d["status"] == "MARKETED" for d in by_ingredient)
    by_brand = stack.get("/v1/drugs", params={"q": "Lipitor"}, headers=auth).json()["items"]
    assert by_brand[0]["brandName"] == "LIPITOR"
    by_din = stack.get("/v1/drugs", params={"q": "02230711"}, headers=auth).json()
    assert [d["din"] for d in by_din["items"]] == ["02230711"]
    drug = by_din["items"][0]
    assert drug["descriptor"] is None or isinstance(drug["descriptor"], str)
    assert drug["ingredients"][0]["strength"] == "10"
    one = stack.get("/v1/drugs/02230711", headers=auth)
    assert one.status_code == 200
    assert one.json()["atcCode"] == "C10AA05"
    too_short = stack.get("/v1/drugs", params={"q": "li"}, headers={**auth, "Accept-Language": "en-CA"})
    assert too_short.status_code == 400
    assert too_short.json()["errors"][0]["field"] == "q"


def test_coverage_for_self_and_for_a_dependant(stack: LocalStackProcess, marie: dict[str, Any]) -> None:
    auth, persons = marie["auth"], marie["persons"]
    mine = stack.get("/v1/drugs/02230711/coverage", params={"personId": persons["Marie"]}, headers=auth)
    assert mine.status_code == 200, mine.text
    coverage = mine.json()
    assert coverage["covered"] is True
    assert coverage["coinsurancePercent"] == 80
    assert coverage["genericSubstitution"]["applies"] is True
    alternatives = coverage["genericSubstitution"]["lowestCostAlternatives"]
    assert alternatives
    assert all(re.fullmatch(r"\d{8}", a["din"]) for a in alternatives)
    assert any("rembourse" in r["message"] for r in coverage["reasons"])
    child = stack.get(
        "/v1/drugs/02230711/coverage",
        params={"personId": persons["Léa"]},
        headers={**auth, "Accept-Language": "en-CA"},
    )
    assert child.status_code == 200
    assert child.json()["covered"] is True
    assert any("reimburses 80%" in r["message"] for r in child.json()["reasons"])


def test_another_members_person_is_404_and_a_token_is_needed(stack: LocalStackProcess, marie: dict[str, Any]) -> None:
    from portal_common.members import person_id_for

    david = person_id_for("G1001", "100002", "SELF", "David", date(1978, 7, 30))
    response = stack.get("/v1/drugs/02230711/coverage", params={"personId": david}, headers=marie["auth"])
    assert response.status_code == 404
    assert response.json()["code"] == "PERSON_NOT_FOUND"
    assert stack.get("/v1/drugs", params={"q": "atorva"}).status_code == 401
