"""Keys shared by the claims and providers functions: provider items and recent providers.

- providers table: ``PK=PROVIDER#<providerId>``, ``SK=PROVIDER`` (written by the providers function
  and the directory seed; read by claim submission to check the provider);
- claims table: ``PK=MEMBER#<contract>#<participant>``, ``SK=RECENT#<claimType>``: the member's
  recent providers for one claim type, most recent first, at most :data:`MAX_RECENT` (written in
  the claim's transaction; read by ``GET /v1/providers/recent``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

MAX_RECENT = 10


class RecentProvider(NamedTuple):
    """One entry of a recent-providers item."""

    provider_id: str
    last_used_at: str | None


def provider_key(provider_id: str) -> dict[str, str]:
    """Key of a provider item in the providers table."""
    return {"PK": f"PROVIDER#{provider_id}", "SK": "PROVIDER"}


def recent_providers_key(member_key: str, claim_type: str) -> dict[str, str]:
    """Key of the member's recent-providers item for a claim type in the claims table."""
    return {"PK": member_key, "SK": f"RECENT#{claim_type}"}


def push_recent(entries: list[dict[str, Any]], provider_id: str, used_at: str) -> list[dict[str, Any]]:
    """``entries`` with ``provider_id`` moved (or added) first, bounded to :data:`MAX_RECENT`."""
    rest = [e for e in entries if e.get("providerId") != provider_id]
    return [{"providerId": provider_id, "lastUsedAt": used_at}, *rest][:MAX_RECENT]


def read_recent(item: dict[str, Any] | None) -> list[RecentProvider]:
    """The entries of a recent-providers item (none when there is no item), most recent first."""
    entries = (item or {}).get("providers") or []
    return [RecentProvider(str(e["providerId"]), e.get("lastUsedAt")) for e in entries]
