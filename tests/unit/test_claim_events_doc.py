"""docs/events.md and portal_common.claim_events say the same: for each event, its detail-type and
version, the fields of its table, and an example that the model reads and writes back unchanged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from portal_common.claim_events import SOURCE, ClaimEvent, ClaimStatusChangedV1, ClaimSubmittedV1

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"
EVENTS: list[type[ClaimEvent]] = [ClaimSubmittedV1, ClaimStatusChangedV1]


def _sections() -> dict[str, tuple[str, str]]:
    """``{detail-type: (version, section text)}`` of every ``## <DetailType> (version "<v>")``."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r'^## (\w+) \(version "(\w+)"\)$', text, flags=re.MULTILINE)
    return {parts[i]: (parts[i + 1], parts[i + 2]) for i in range(1, len(parts), 3)}


def _fields(model: type[ClaimEvent]) -> set[str]:
    return {info.serialization_alias or info.alias or name for name, info in model.model_fields.items()}


def test_every_event_is_documented_and_nothing_else() -> None:
    assert set(_sections()) == {event.detail_type for event in EVENTS}


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.detail_type)
def test_the_documented_fields_are_the_models(event: type[ClaimEvent]) -> None:
    version, section = _sections()[event.detail_type]
    assert version == event.model_fields["version"].default
    table = section[section.index("| field | meaning |") :].split("\n\n")[0]
    documented = {name for row in table.splitlines()[2:] for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert documented | {"version"} == _fields(event)


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.detail_type)
def test_the_documented_example_is_what_the_model_writes(event: type[ClaimEvent]) -> None:
    _, section = _sections()[event.detail_type]
    example = json.loads(
        section[section.index("```json") + len("```json") : section.index("```\n", section.index("```json") + 7)]
    )
    assert (example["source"], example["detail-type"]) == (SOURCE, event.detail_type)
    parsed = event.model_validate(example["detail"])
    assert parsed.detail() == example["detail"]
