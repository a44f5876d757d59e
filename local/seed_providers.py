"""Local-stack seed: the generated provider directory (``local/provider_generator.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

ORDER = 30
TITLE = "Provider directory"
BACKGROUND = False


# ``local.run --providers sample`` (the test stacks): the demo providers and every SAMPLE_EVERY-th
# generated one, every province and most provider types, in a tenth of the seeding time.
SAMPLE_EVERY = 10


def directory_items(sample: bool = False) -> list[dict[str, Any]]:
    """Every providers-table item of the generated directory (or of its sample)."""
    from provider_directory import build_provider, provider_items

    from local.provider_generator import FIXED, generate

    items: list[dict[str, Any]] = []
    for index, spec in enumerate(generate()):
        if sample and index >= len(FIXED) and (index - len(FIXED)) % SAMPLE_EVERY:
            continue
        provider = build_provider(
            provider_id=spec["providerId"],
            provider_type=spec["providerType"],
            phone=spec["phone"],
            address=spec["address"],
            source="DIRECTORY",
            first_name=spec.get("firstName"),
            last_name=spec.get("lastName"),
            business_name=spec.get("businessName"),
            registration_number=spec.get("registrationNumber"),
        )
        items.extend(provider_items(provider))
    return items


def seed(progress: Callable[[int, int], None]) -> str:
    """Write the directory (or its sample: ``PORTAL_LOCAL_PROVIDERS=sample``) into the providers table."""
    from portal_common.config import get_settings
    from portal_common.dynamo import batch_write

    sample = os.environ.get("PORTAL_LOCAL_PROVIDERS") == "sample"
    items = directory_items(sample=sample)
    table = get_settings().providers_table
    total = len(items)
    for start in range(0, total, 100):
        batch_write(table, items[start : start + 100])
        progress(min(start + 100, total), total)
    providers = sum(1 for i in items if i.get("entityType") == "PROVIDER")
    return f"{providers} providers ({total} items{', a sample' if sample else ''})"


def describe() -> list[str]:
    """Demo providers to search for."""
    return [
        "Providers: search phone (514) 555-0199 (Julie Lavoie, physiotherapy), 418-555-0142 (dentist),",
        "           416.555.0123 (massage therapy), or names by prefix (e.g. lastName=lav).",
    ]
