"""The test stacks' provider sample (``local.run --providers sample``) is a real slice of the directory."""

from __future__ import annotations

from local.provider_generator import FIXED
from local.seed_providers import SAMPLE_EVERY, directory_items


def _providers(items: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(i["providerId"]): i for i in items if i.get("entityType") == "PROVIDER"}


def test_the_sample_keeps_every_demo_provider_and_a_tenth_of_the_others_as_they_are() -> None:
    everything = _providers(directory_items())
    sample = _providers(directory_items(sample=True))
    assert {str(p["providerId"]) for p in FIXED} <= set(sample)
    generated = len(everything) - len(FIXED)
    assert len(sample) - len(FIXED) == -(-generated // SAMPLE_EVERY)
    # The same providers, item for item, as in the whole directory (same ids, same search items).
    assert all(everything[provider_id] == item for provider_id, item in sample.items())
    provinces = {str(p["address"]["province"]) for p in sample.values()}  # type: ignore[index]
    assert len(provinces) == 13
