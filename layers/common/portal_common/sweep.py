"""The sweep index (sparse GSI ``Sweep`` of the claims table), standard library only.

An item carries ``sweepShard`` and ``sweepAt`` only while it has work pending: a claim not yet
processed (``SUBMITTED``/``IN_REVIEW``), a claim whose outbox is not empty, a receipt still
``PENDING_UPLOAD``. The scheduled sweeper (``functions/claim_processing/claim_sweeper.py``) queries
each of the :data:`SHARDS` shards for ``sweepAt <= now``: its cost follows the pending work, never
the size of the table. The shard spreads the index's writes over several partition keys.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

INDEX = "Sweep"
SHARDS = 4


def shard(item_id: str) -> str:
    """``sweepShard`` of an item (a claim id or a receipt id)."""
    return f"SWEEP#{int(hashlib.sha256(item_id.encode()).hexdigest()[:4], 16) % SHARDS}"


def shards() -> list[str]:
    """Every shard's partition key."""
    return [f"SWEEP#{n}" for n in range(SHARDS)]


def after(at: str, seconds: int) -> str:
    """The RFC 3339 UTC time ``seconds`` after ``at`` (the format of ``portal_common.clock.now_iso``)."""
    moment = datetime.fromisoformat(at.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
