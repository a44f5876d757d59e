"""Hostile input on every claims and providers route: a problem document, never a 5xx."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.claims_support import MARIE, claims_call, days_ago, physio_claim, providers_call, seed_directory

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELDS = ["claimType", "patientId", "providerId", "answers", "treatments", "drug", "receiptIds", "additionalInfo",
          "authorization"]  # fmt: skip
TREATMENT_FIELDS = ["dateOfService", "amount", "description", "quantity", "procedureCode", "toothNumber"]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _ok(status: int, body: Any) -> None:
    assert status < 500, body
    if status >= 400:
        assert body["code"]
        assert body["title"]
        assert body["status"] == status


@FUZZ
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_submission_fields_never_5xx(seeded: Any, field: str, value: Any) -> None:
    body = physio_claim("p_0000000000000000")
    body[field] = value
    status, out, _ = claims_call("POST", "/claims", body=body, headers={"Idempotency-Key": "fuzz-key-0001"})
    _ok(status, out)


@FUZZ
@given(field=st.sampled_from(TREATMENT_FIELDS), value=json_values, lang=st.sampled_from(["fr-CA", "en-CA", "xx"]))
def test_treatment_fields_never_5xx(seeded: Any, field: str, value: Any, lang: str) -> None:
    body = physio_claim("p_0000000000000000")
    body["treatments"] = [{"dateOfService": days_ago(1), "amount": "10.00", field: value}]
    headers = {"Idempotency-Key": "fuzz-key-0002", "Accept-Language": lang}
    status, out, _ = claims_call("POST", "/claims", body=body, headers=headers)
    _ok(status, out)


@FUZZ
@given(raw=st.one_of(st.text(max_size=80), st.binary(max_size=40).map(lambda b: b.decode("latin-1"))),
       key=st.text(max_size=140))  # fmt: skip
def test_raw_bodies_and_keys_never_5xx(seeded: Any, raw: str, key: str) -> None:
    status, out, _ = claims_call("POST", "/claims", body=raw, headers={"Idempotency-Key": key})
    _ok(status, out)
    status, out, _ = claims_call("POST", "/receipts", body=raw)
    _ok(status, out)


@FUZZ
@given(
    path=st.sampled_from(["/claims/{}", "/receipts/{}", "/claim-types/{}"]),
    ident=st.text(min_size=1, max_size=60).filter(lambda s: "/" not in s and "?" not in s and "#" not in s),
    query=st.dictionaries(st.sampled_from(["limit", "cursor", "status", "q", "category"]), st.text(max_size=40)),
)
def test_reads_never_5xx(seeded: Any, path: str, ident: str, query: dict[str, str]) -> None:
    status, out, _ = claims_call("GET", path.format(ident))
    _ok(status, out)
    for route in ("/claims", "/claim-types"):
        status, out, _ = claims_call("GET", route, query=query or None)
        _ok(status, out)


@FUZZ
@given(
    query=st.dictionaries(st.sampled_from(["phone", "firstName", "lastName", "name", "claimType", "limit"]),
                          st.text(max_size=30)),
    body=st.dictionaries(st.sampled_from(["firstName", "lastName", "businessName", "providerType", "phone", "address",
                                          "registrationNumber"]), json_values),
)  # fmt: skip
def test_provider_routes_never_5xx(seeded: Any, query: dict[str, str], body: dict[str, Any]) -> None:
    status, out, _ = providers_call("GET", "/providers", query=query or None)
    _ok(status, out)
    status, out, _ = providers_call("GET", "/providers/recent", query=query or None)
    _ok(status, out)
    status, out, _ = providers_call("POST", "/providers", body=json.dumps(body))
    _ok(status, out)


def test_fuzz_smoke_with_directory(seeded: Any) -> None:
    seed_directory()
    status, out, _ = providers_call("GET", "/providers", member=MARIE, query={"phone": "(514) 555-0199"})
    assert status == 200
    assert out["items"]
