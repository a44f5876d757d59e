"""The local stack's view of the business metrics: what the operations dashboard would show.

The functions print one CloudWatch EMF line per event (``portal_common.metrics``); in the local
stack every document is also handed here, kept (the last 1,000), and summed per metric,
service and dimensions. ``GET /_local/metrics`` answers
``{"totals": {"MemberPortal/ClaimsProcessed{service=claim-processing,status=PAID}": 2.0, ...},
"items": [<EMF document>, ...]}`` (items newest first; ``?name=ClaimsProcessed`` keeps one metric).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any


class MetricsView:
    """EMF documents seen in this process, with running totals."""

    def __init__(self, keep: int = 1000) -> None:
        self._lock = threading.Lock()
        self._items: deque[dict[str, Any]] = deque(maxlen=keep)
        self._totals: dict[str, float] = {}

    def __call__(self, document: dict[str, Any]) -> None:
        """Record one document (registered with ``portal_common.metrics.add_listener``)."""
        with self._lock:
            self._items.appendleft(document)
            for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
                for dimensions in directive.get("Dimensions", []):
                    labels = ",".join(f"{d}={document.get(d)}" for d in sorted(dimensions))
                    for metric in directive.get("Metrics", []):
                        values = document.get(metric["Name"])
                        total = sum(values) if isinstance(values, list) else float(values or 0)
                        key = f"{directive.get('Namespace')}/{metric['Name']}{{{labels}}}"
                        self._totals[key] = self._totals.get(key, 0.0) + total

    def as_json(self, name: str | None = None) -> dict[str, Any]:
        """Totals and documents, optionally only those of the metric ``name``."""
        with self._lock:
            items = [d for d in self._items if name is None or name in d]
            totals = {k: v for k, v in self._totals.items() if name is None or f"/{name}{{" in k}
        return {"totals": dict(sorted(totals.items())), "items": items}
