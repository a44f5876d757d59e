"""AWS API calls counted with botocore's event hooks, which is what Lambda would send to AWS."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any


class AwsCallCounter:
    """Counts the calls of the clients it is attached to, as ``service.Operation``; optionally also
    the items the responses carry (``Item``, ``Items``, batch ``Responses``)."""

    def __init__(self, *, only_when: Callable[[], bool] | None = None, count_items: bool = False) -> None:
        self.calls: Counter[str] = Counter()
        self.items = 0
        self._only_when = only_when
        self._count_items = count_items

    def attach(self, client: Any) -> None:
        """Hook ``client``; attaching the same client twice still counts each call once."""
        events = client.meta.events
        events.register("before-call.*.*", self._count_call, unique_id=f"aws-call-counter-{id(self)}")
        if self._count_items:
            events.register("after-call.*.*", self._count_items_read, unique_id=f"aws-item-counter-{id(self)}")

    def reset(self) -> None:
        self.calls.clear()
        self.items = 0

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def _counting(self) -> bool:
        return self._only_when is None or self._only_when()

    def _count_call(self, model: Any, **_: Any) -> None:
        if self._counting():
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def _count_items_read(self, parsed: dict[str, Any], **_: Any) -> None:
        if not self._counting():
            return
        if "Item" in parsed:
            self.items += 1
        self.items += len(parsed.get("Items", []))
        for found in (parsed.get("Responses") or {}).values():
            self.items += len(found)
