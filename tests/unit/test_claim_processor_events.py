"""ClaimSubmitted parsing: anything that is not a version-1 ClaimSubmitted envelope is refused with
MalformedEvent (the record fails alone and is dead-lettered), never another exception."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_common.claim_events import ClaimSubmittedV1, MalformedEvent

GOOD = {
    "version": "0",
    "source": "ca.portal.claims",
    "detail-type": "ClaimSubmitted",
    "detail": {
        "version": "1",
        "claimId": "01KB2M3N4P5Q6R7S8T9V0W1X2Y",
        "memberKey": "MEMBER#G1001#100001",
        "claimType": "PHYSIOTHERAPY",
        "patientId": "p_1a2b3c4d5e6f7a8b",
        "submittedAt": "2026-11-27T14:03:22.512Z",
        "totalClaimed": "180.00",
        "treatmentCount": 2,
    },
}


def test_version_1_envelope_is_parsed_with_member_key_or_pk() -> None:
    event = ClaimSubmittedV1.from_envelope(json.dumps(GOOD))
    assert (event.member_key, event.claim_id) == ("MEMBER#G1001#100001", "01KB2M3N4P5Q6R7S8T9V0W1X2Y")
    legacy = {**GOOD, "detail": {**GOOD["detail"], "pk": GOOD["detail"]["memberKey"]}}
    del legacy["detail"]["memberKey"]
    assert ClaimSubmittedV1.from_envelope(json.dumps(legacy)).member_key == "MEMBER#G1001#100001"


@pytest.mark.parametrize(
    "change",
    [
        {"detail-type": "ClaimStatusChanged"},
        {"source": "someone.else"},
        {"detail": {**GOOD["detail"], "version": "2"}},
        {"detail": {**GOOD["detail"], "memberKey": "RECEIPT#x"}},
        {"detail": {**GOOD["detail"], "claimId": "../../etc"}},
        {"detail": "text"},
    ],
)
def test_other_events_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(MalformedEvent):
        ClaimSubmittedV1.from_envelope(json.dumps({**GOOD, **change}))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(st.text(max_size=200), json_values.map(json.dumps)), detail=json_values)
def test_any_body_is_parsed_or_refused_cleanly(body: str, detail: object) -> None:
    for candidate in (body, json.dumps({**GOOD, "detail": detail})):
        with contextlib.suppress(MalformedEvent):
            ClaimSubmittedV1.from_envelope(candidate)
