"""Lambda event-source filtering (``FilterCriteria``): the EventBridge-style pattern language.

Supported, as Lambda documents it: nested object patterns, lists of exact values (strings,
numbers, booleans, ``null``), and the content filters ``prefix``, ``suffix``,
``equals-ignore-case``, ``anything-but`` (values or ``{"prefix": ...}``), ``exists`` and
``numeric`` ranges. A record matches a set of filters when at least one filter matches.
"""

from __future__ import annotations

import json
from typing import Any

_MISSING = object()


def _numeric_ok(value: Any, spec: list[Any]) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    index = 0
    while index + 1 < len(spec):
        operator, bound = spec[index], spec[index + 1]
        if operator == "=" and value != bound:
            return False
        if operator == "<" and not value < bound:
            return False
        if operator == "<=" and not value <= bound:
            return False
        if operator == ">" and not value > bound:
            return False
        if operator == ">=" and not value >= bound:
            return False
        index += 2
    return True


def _value_matches(value: Any, condition: Any) -> bool:
    """One actual value (never a list) against one element of a pattern list."""
    if not isinstance(condition, dict):
        return value is not _MISSING and value == condition and type(value) is type(condition)
    if "exists" in condition:
        return (value is not _MISSING) == bool(condition["exists"])
    if value is _MISSING:
        return False
    if "prefix" in condition:
        return isinstance(value, str) and value.startswith(str(condition["prefix"]))
    if "suffix" in condition:
        return isinstance(value, str) and value.endswith(str(condition["suffix"]))
    if "equals-ignore-case" in condition:
        return isinstance(value, str) and value.lower() == str(condition["equals-ignore-case"]).lower()
    if "numeric" in condition:
        return _numeric_ok(value, list(condition["numeric"]))
    if "anything-but" in condition:
        excluded = condition["anything-but"]
        if isinstance(excluded, dict) and "prefix" in excluded:
            return not (isinstance(value, str) and value.startswith(str(excluded["prefix"])))
        excluded_values = excluded if isinstance(excluded, list) else [excluded]
        return value not in excluded_values
    raise ValueError(f"unsupported filter operator: {sorted(condition)}")


def _leaf_matches(actual: Any, conditions: list[Any]) -> bool:
    values = actual if isinstance(actual, list) else [actual]
    if not values:
        values = [_MISSING]
    for condition in conditions:
        if isinstance(condition, dict) and "exists" in condition:
            if (actual is not _MISSING) == bool(condition["exists"]):
                return True
            continue
        if any(_value_matches(value, condition) for value in values):
            return True
    return False


def matches(pattern: dict[str, Any], record: Any) -> bool:
    """Whether ``record`` matches one filter ``pattern``."""
    if not isinstance(record, dict):
        return False
    for key, expected in pattern.items():
        actual = record.get(key, _MISSING)
        if isinstance(expected, dict):
            if actual is _MISSING or not matches(expected, actual):
                return False
        elif isinstance(expected, list):
            if not _leaf_matches(actual, expected):
                return False
        else:
            raise ValueError(f"pattern values must be objects or lists (key {key!r})")
    return True


class FilterCriteria:
    """The ``FilterCriteria`` of an event source mapping (no filters: everything passes)."""

    def __init__(self, criteria: dict[str, Any] | None) -> None:
        self.patterns: list[dict[str, Any]] = []
        for entry in (criteria or {}).get("Filters") or []:
            raw = entry["Pattern"]
            self.patterns.append(json.loads(raw) if isinstance(raw, str) else raw)

    def accepts(self, record: dict[str, Any]) -> bool:
        """Whether Lambda would deliver ``record``."""
        return not self.patterns or any(matches(pattern, record) for pattern in self.patterns)
