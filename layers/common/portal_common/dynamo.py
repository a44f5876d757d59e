"""Thin DynamoDB helpers on the low-level client (lighter to import than boto3's resource layer).

Items cross this module as plain Python values (``str``, ``int``, ``Decimal``, ``bool``, lists,
dicts); floats are refused by the serializer on purpose, money is ``Decimal``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from portal_common.aws_clients import client
from portal_common.dynamo_types import deserialize, serialize


def _plain_number(value: Any) -> Any:
    if isinstance(value, Decimal) and value == value.to_integral_value() and abs(value) < 2**53:
        return int(value)
    return value


def to_attr(value: Any) -> dict[str, Any]:
    """One Python value -> DynamoDB AttributeValue."""
    return serialize(value)


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Python dict -> DynamoDB item (``None`` values are left out)."""
    return {k: serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """DynamoDB item -> Python dict (integral numbers become ``int``)."""
    if item is None:
        return None
    return {k: _deep_plain(deserialize(v)) for k, v in item.items()}


def _deep_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_deep_plain(v) for v in value]
    if isinstance(value, set):
        return {_deep_plain(v) for v in value}
    return _plain_number(value)


def key_from_plain(key: dict[str, Any]) -> dict[str, Any]:
    """Plain key (as stored in a cursor) -> AttributeValue key."""
    return {k: serialize(v) for k, v in key.items()}


def key_to_plain(key: dict[str, Any] | None) -> dict[str, Any] | None:
    """AttributeValue key (``LastEvaluatedKey``) -> plain key."""
    return from_item(key) if key else None


def get_item(table: str, key: dict[str, Any], *, consistent: bool = False) -> dict[str, Any] | None:
    """``GetItem`` by plain key; ``None`` when absent."""
    response = client("dynamodb").get_item(TableName=table, Key=to_item(key), ConsistentRead=consistent)
    return from_item(response.get("Item"))


def query(
    table: str,
    *,
    key_condition: str,
    values: dict[str, Any],
    names: dict[str, str] | None = None,
    index: str | None = None,
    limit: int | None = None,
    start_key: dict[str, Any] | None = None,
    forward: bool = True,
    filter_expression: str | None = None,
    consistent: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One ``Query`` page: ``(items, last_evaluated_key_plain)``."""
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": key_condition,
        "ExpressionAttributeValues": to_item(values),
        "ScanIndexForward": forward,
    }
    if names:
        params["ExpressionAttributeNames"] = names
    if index:
        params["IndexName"] = index
    if limit:
        params["Limit"] = limit
    if start_key:
        params["ExclusiveStartKey"] = key_from_plain(start_key)
    if filter_expression:
        params["FilterExpression"] = filter_expression
    if consistent and not index:
        params["ConsistentRead"] = True
    response = client("dynamodb").query(**params)
    items = [from_item(item) or {} for item in response.get("Items", [])]
    return items, key_to_plain(response.get("LastEvaluatedKey"))


def query_all(table: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a query, page after page (for bounded partitions and offline jobs only)."""
    start: dict[str, Any] | None = None
    while True:
        items, start = query(table, start_key=start, **kwargs)
        yield from items
        if not start:
            return


def batch_get(table: str, keys: list[dict[str, Any]], *, attempts: int = 6) -> list[dict[str, Any]]:
    """``BatchGetItem`` in chunks of 100, retrying unprocessed keys with back-off."""
    found: list[dict[str, Any]] = []
    unique = list({tuple(sorted(k.items())): k for k in keys}.values())
    for start in range(0, len(unique), 100):
        pending: dict[str, Any] = {table: {"Keys": [to_item(k) for k in unique[start : start + 100]]}}
        for attempt in range(attempts):
            response = client("dynamodb").batch_get_item(RequestItems=pending)
            found.extend(from_item(item) or {} for item in response.get("Responses", {}).get(table, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
        else:
            raise RuntimeError("BatchGetItem left unprocessed keys")
    return found


def batch_write(
    table: str, puts: Iterable[dict[str, Any]] = (), deletes: Iterable[dict[str, Any]] = (), *, attempts: int = 8
) -> int:
    """``BatchWriteItem`` puts and deletes in chunks of 25 with retries; returns how many were written."""
    requests = [{"PutRequest": {"Item": to_item(item)}} for item in puts]
    requests += [{"DeleteRequest": {"Key": to_item(key)}} for key in deletes]
    for start in range(0, len(requests), 25):
        pending: dict[str, Any] = {table: requests[start : start + 25]}
        for attempt in range(attempts):
            response = client("dynamodb").batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(min(0.05 * 2**attempt, 2.0))
        else:
            raise RuntimeError("BatchWriteItem left unprocessed items")
    return len(requests)


def cancellation_reasons(error: Exception) -> list[str]:
    """The per-item ``Code`` list of a ``TransactionCanceledException`` (``"None"`` for items that passed)."""
    response = getattr(error, "response", {}) or {}
    return [str(reason.get("Code", "None")) for reason in response.get("CancellationReasons", [])]


def is_conditional_failure(error: Exception) -> bool:
    """Whether a boto3 ``ClientError`` is a failed condition (plain or in a transaction)."""
    code = (getattr(error, "response", {}) or {}).get("Error", {}).get("Code")
    if code == "ConditionalCheckFailedException":
        return True
    return code == "TransactionCanceledException" and "ConditionalCheckFailed" in cancellation_reasons(error)
