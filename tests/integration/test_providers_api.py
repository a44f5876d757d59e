"""Providers function against moto: search by phone and name, claim-type filter, add without duplicates."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.claims_support import SOPHIE, providers_call, seed_directory
from tests.moto_isolation import serialised_dynamodb


@pytest.fixture
def directory(seeded: Any) -> Any:
    seed_directory(full=True)
    return seeded


@pytest.mark.parametrize("phone", ["(514) 555-0199", "514.555.0199", "+1 514 555 0199", "1-514-555-0199", "5145550199"])
def test_search_by_phone_in_any_format(directory: Any, phone: str) -> None:
    status, body, _ = providers_call("GET", "/providers", query={"phone": phone})
    assert status == 200
    assert [p["providerId"] for p in body["items"]] == ["PDEMO0000000000000000000001"]
    assert body["items"][0]["phone"] == "+15145550199"
    assert body["items"][0]["source"] == "DIRECTORY"


def test_search_by_name_prefix_ignoring_case_and_accents(directory: Any) -> None:
    _, body, _ = providers_call("GET", "/providers", query={"lastName": "LAVO", "firstName": "jul"})
    assert "PDEMO0000000000000000000001" in [p["providerId"] for p in body["items"]]
    _, body, _ = providers_call("GET", "/providers", query={"name": "pharmacie belanger"})
    assert "PDEMO0000000000000000000004" in [p["providerId"] for p in body["items"]]
    _, body, _ = providers_call("GET", "/providers", query={"lastName": "côté"})
    assert body["items"]
    assert all(p["lastName"] == "Côté" for p in body["items"])


def test_claim_type_filter_keeps_its_provider_types(directory: Any) -> None:
    _, body, _ = providers_call("GET", "/providers", query={"lastName": "la", "claimType": "PHYSIOTHERAPY"})
    assert body["items"]
    assert {p["providerType"] for p in body["items"]} <= {"PHYSIOTHERAPIST", "PHYSIOTHERAPY_TECHNOLOGIST"}
    status, body, _ = providers_call("GET", "/providers", query={"lastName": "tr", "claimType": "NOPE"})
    assert status == 400


def test_directory_covers_every_type_and_province(directory: Any) -> None:
    from provider_rules import POSTAL_PREFIXES, normalize_phone, postal_code_matches_province

    from local.provider_generator import generate

    providers = list(generate())
    assert len(providers) >= 400
    assert {p["address"]["province"] for p in providers} == set(POSTAL_PREFIXES)
    for p in providers:
        assert normalize_phone(p["phone"]) == p["phone"]
        assert postal_code_matches_province(p["address"]["postalCode"], p["address"]["province"])
    assert providers == list(generate())  # deterministic


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ({}, "query", "SEARCH_CRITERION_REQUIRED"),
        ({"phone": "555-0199"}, "phone", "INVALID_PHONE"),
        ({"phone": "(014) 555-0199"}, "phone", "INVALID_PHONE"),
        ({"lastName": "a"}, "lastName", "TOO_SHORT"),
    ],
)
def test_search_needs_a_valid_criterion(directory: Any, query: dict[str, str], field: str, code: str) -> None:
    status, body, _ = providers_call("GET", "/providers", query=query)
    assert status == 400
    assert {e["field"]: e["code"] for e in body["errors"]} == {field: code}


NEW = {
    "firstName": "Anne",
    "lastName": "Bérubé",
    "providerType": "OSTEOPATH",
    "phone": "(819) 555-0299",
    "address": {"line1": "12, rue Principale", "city": "Sherbrooke", "province": "QC", "postalCode": "j1h4a1"},
}


PHYSIO_NEW = {**NEW, "providerType": "PHYSIOTHERAPIST"}


def test_add_provider_then_same_one_is_not_duplicated(directory: Any) -> None:
    status, created, _ = providers_call("POST", "/providers", body=NEW)
    assert status == 201, created
    assert created["source"] == "MEMBER_ADDED"
    assert created["verification"] == "PENDING"
    assert created["phone"] == "+18195550299"
    assert created["address"]["postalCode"] == "J1H 4A1"
    same = {**NEW, "phone": "819.555.0299", "lastName": "BERUBE"}
    status, again, _ = providers_call("POST", "/providers", body=same)
    assert status == 200
    assert again["providerId"] == created["providerId"]
    # The directory's own providers are unique too.
    status, existing, _ = providers_call(
        "POST",
        "/providers",
        body={
            "firstName": "Julie", "lastName": "Lavoie", "businessName": "Physio Plateau",
            "providerType": "PHYSIOTHERAPIST", "phone": "514 555 0199",
            "address": {"line1": "1", "city": "Montréal", "province": "QC", "postalCode": "H2J 2K9"},
        },
    )  # fmt: skip
    assert status == 200
    assert existing["providerId"] == "PDEMO0000000000000000000001"


def _verify(provider_id: str) -> int:
    from tools.verify_providers import main

    return main(["--aws", "verify", provider_id])


def test_a_member_added_provider_is_the_members_alone_until_verified(
    seeded: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """As another member holding a token would try: find Marie's new provider by phone or name,
    re-add it to get its id, claim with it. All see nothing until the insurer verifies it. The
    directory holds the demo providers only: every search below answers a short list, so a search
    that misses the provider misses it because it is hidden, not because a page of others came
    first (and each search costs moto a tenth of the time)."""
    from tests.claims_support import MARIE, claims_call, person_id, physio_claim, seed_directory, submit

    seed_directory()

    status, added, _ = providers_call(
        "POST", "/providers", member=MARIE, body={**NEW, "providerType": "PHYSIOTHERAPIST"}
    )
    assert status == 201
    pid = added["providerId"]
    for query in ({"phone": "8195550299"}, {"lastName": "berube"}, {"name": "anne berube"}, {"firstName": "anne"}):
        for member in (MARIE, SOPHIE):
            _, found, _ = providers_call("GET", "/providers", member=member, query=query)
            assert pid not in [p["providerId"] for p in found["items"]], (query, member)
    # Sophie adding the same provider gets her own pending addition, never Marie's.
    status, hers, _ = providers_call(
        "POST", "/providers", member=SOPHIE, body={**NEW, "providerType": "PHYSIOTHERAPIST"}
    )
    assert status == 201
    assert hers["providerId"] != pid
    # Marie claims with it at once, and it is among her recent providers.
    status, created, _ = submit(physio_claim(person_id(MARIE, "Marie"), providerId=pid))
    assert status == 201, created
    _, recent, _ = providers_call("GET", "/providers/recent", member=MARIE, query={"claimType": "PHYSIOTHERAPY"})
    assert [p["providerId"] for p in recent["items"]] == [pid]
    # Sophie naming it is refused exactly as an id that does not exist.
    sophie = person_id(SOPHIE, "Sophie")
    refused = submit(physio_claim(sophie, providerId=pid), member=SOPHIE)
    unknown = submit(physio_claim(sophie, providerId="P01JZZZZZZZZZZZZZZZZZZZZZZZ"), member=SOPHIE)
    assert refused[0] == unknown[0] == 400
    assert refused[1]["errors"] == unknown[1]["errors"]
    assert refused[1]["errors"] == [{"field": "providerId", "code": "UNKNOWN_PROVIDER", "message": ANY_MESSAGE}]

    # The insurer verifies it (the operator's tool): from now on everyone finds and uses it.
    from tools.verify_providers import main

    assert main(["--aws", "list"]) == 0
    listed = capsys.readouterr().out
    assert pid in listed
    assert hers["providerId"] in listed
    assert _verify(pid) == 0
    assert _verify(pid) == 1  # not pending any more
    assert _verify(hers["providerId"]) == 1  # the same provider is now in the directory
    _, found, _ = providers_call("GET", "/providers", member=SOPHIE, query={"phone": "(819) 555-0299"})
    assert [(p["providerId"], p["verification"]) for p in found["items"]] == [(pid, "VERIFIED")]
    _, found, _ = providers_call("GET", "/providers", member=SOPHIE, query={"lastName": "Bérubé"})
    assert pid in [p["providerId"] for p in found["items"]]
    status, created, _ = submit(physio_claim(sophie, providerId=pid), member=SOPHIE)
    assert status == 201, created
    assert claims_call("GET", f"/claims/{created['claimId']}", member=SOPHIE)[1]["providerId"] == pid
    # Adding it again now gives the shared one.
    status, again, _ = providers_call(
        "POST", "/providers", member=SOPHIE, body={**NEW, "providerType": "PHYSIOTHERAPIST"}
    )
    assert (status, again["providerId"]) == (200, pid)


class _AnyMessage:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other)


ANY_MESSAGE = _AnyMessage()


def test_a_member_adds_at_most_25_providers_a_year(seeded: Any) -> None:
    from provider_directory import MAX_ADDITIONS_PER_YEAR

    assert MAX_ADDITIONS_PER_YEAR == 25
    for n in range(MAX_ADDITIONS_PER_YEAR):
        body = {**NEW, "phone": f"(819) 555-{n:04d}"}
        status, _, _ = providers_call("POST", "/providers", body=body)
        assert status == 201, n
    status, problem, _ = providers_call("POST", "/providers", body={**NEW, "phone": "(819) 555-0999"})
    assert status == 409
    assert problem["code"] == "PROVIDER_ADDITION_LIMIT"
    assert "25" in problem["detail"]
    status, problem, _ = providers_call(
        "POST", "/providers", body={**NEW, "phone": "(819) 555-0999"}, headers={"Accept-Language": "en-CA"}
    )
    assert (status, problem["title"]) == (409, "Addition limit reached")
    # What the member already added is still answered (200), and another member is not limited.
    assert providers_call("POST", "/providers", body={**NEW, "phone": "(819) 555-0000"})[0] == 200
    assert providers_call("POST", "/providers", member=SOPHIE, body={**NEW, "phone": "(819) 555-0999"})[0] == 201


def test_concurrent_adds_make_one_provider(seeded: Any) -> None:
    """The same member adding the same provider five times at once (a double-tapped button) makes one."""
    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(5)

    def worker() -> None:
        barrier.wait()
        status, body, _ = providers_call("POST", "/providers", body=NEW)
        results.append((status, body["providerId"]))

    threads = [threading.Thread(target=worker) for _ in range(5)]
    with serialised_dynamodb():  # DynamoDB applies a transaction atomically; moto needs the help
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len({pid for _, pid in results}) == 1
    assert sorted(s for s, _ in results).count(201) == 1


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"address": {**NEW["address"], "postalCode": "K1A 0B1"}}, "address.postalCode", "POSTAL_CODE_PROVINCE_MISMATCH"),  # noqa: E501
        ({"address": {**NEW["address"], "postalCode": "D1H 4A1"}}, "address.postalCode", "INVALID_POSTAL_CODE"),
        ({"address": {**NEW["address"], "province": "XX"}}, "address.province", "NOT_ALLOWED"),
        ({"phone": "(819) 155-0177"}, "phone", "INVALID_PHONE"),
        ({"phone": "(911) 555-0177"}, "phone", "INVALID_PHONE"),
        ({"phone": "+44 20 7946 0958"}, "phone", "INVALID_PHONE"),
        ({"providerType": "WIZARD"}, "providerType", "NOT_ALLOWED"),
        ({"lastName": None}, "lastName", "NAME_REQUIRED"),
    ],
)  # fmt: skip
def test_add_provider_validates_canadian_data(seeded: Any, change: dict[str, Any], field: str, code: str) -> None:
    body = {k: v for k, v in {**NEW, **change}.items() if v is not None}
    status, problem, _ = providers_call("POST", "/providers", body=body)
    assert status == 400, problem
    assert {e["field"]: e["code"] for e in problem["errors"]}.get(field) == code, problem["errors"]


def test_recent_requires_a_known_claim_type(seeded: Any) -> None:
    status, body, _ = providers_call("GET", "/providers/recent", query={"claimType": "NOPE"})
    assert status == 400
    status, body, _ = providers_call("GET", "/providers/recent", query={"claimType": "DRUG"})
    assert status == 200
    assert body == {"items": [], "nextCursor": None}
    assert providers_call("GET", "/providers/recent", member=None, query={"claimType": "DRUG"})[0] == 401
