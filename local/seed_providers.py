"""Local-stack seed: the generated provider directory (``local/provider_generator.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ORDER = 30
TITLE = "Provider directory"
BACKGROUND = False


def directory_items() -> list[dict[str, Any]]:
    """Every providers-table item of the generated directory."""
    from provider_directory import build_provider, provider_items

    from local.provider_generator import generate

    items: list[dict[str, Any]] = []
    for spec in generate():
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
    """Write the directory into the providers table."""
    from portal_common.config import get_settings
    from portal_common.dynamo import batch_write

    items = directory_items()
    table = get_settings().providers_table
    total = len(items)
    for start in range(0, total, 100):
        batch_write(table, items[start : start + 100])
        progress(min(start + 100, total), total)
    providers = sum(1 for i in items if i.get("entityType") == "PROVIDER")
    return f"{providers} providers ({total} items)"


def describe() -> list[str]:
    """Demo providers to search for."""
    return [
        "Providers: search phone (514) 555-0199 (Julie Lavoie, physiotherapy), 418-555-0142 (dentist),",
        "           416.555.0123 (massage therapy), or names by prefix (e.g. lastName=lav).",
    ]
