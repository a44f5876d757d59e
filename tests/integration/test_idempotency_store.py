"""``idempotency_store.DynamoDBIdempotencyStore`` against Powertools' own ``DynamoDBPersistenceLayer``,
both on the idempotency table of template.yaml (moto): the same operations leave the same records
and raise the same errors, and each reads what the other wrote (the store replaced Powertools'
layer, so the records of requests in flight at a deployment stay valid)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
    IdempotencyValidationError,
)

STORES = ("ours", "powertools")


@pytest.fixture
def table(aws: Any) -> str:
    from portal_common.config import get_settings

    return get_settings().idempotency_table


def _store(kind: str, table: str) -> Any:
    """A store configured as ``claim_routes_api`` configures its own (same config, same key prefix)."""
    import claim_routes_api
    from idempotency_store import DynamoDBIdempotencyStore

    from portal_common.aws_clients import client

    if kind == "ours":
        store: Any = DynamoDBIdempotencyStore(table, client("dynamodb"))
    else:
        store = DynamoDBPersistenceLayer(
            table_name=table, boto3_client=boto3.client("dynamodb", region_name="ca-central-1")
        )
    store.configure(claim_routes_api.idempotency_config, key_prefix="claims-submit")
    return store


def _request(body: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"member": "CONTRACT#G1001#100001", "key": str(uuid.uuid4()), "body": body or {"amount": "85.00"}}


def _items(table: str) -> list[dict[str, Any]]:
    """The table's records, their times replaced by how far they are from now (whole seconds)."""
    items = boto3.client("dynamodb", region_name="ca-central-1").scan(TableName=table)["Items"]
    now_s, now_ms = time.time(), time.time() * 1000
    shown = []
    for item in items:
        item = dict(item)
        for name, now, unit in (("expiration", now_s, 1), ("in_progress_expiration", now_ms, 1000)):
            if name in item:
                item[name] = {"N~": round((int(item[name]["N"]) - now) / unit / 10) * 10}
        shown.append(item)
    return sorted(shown, key=lambda item: item["id"]["S"])


def _clear(table: str) -> None:
    dynamodb = boto3.client("dynamodb", region_name="ca-central-1")
    for item in dynamodb.scan(TableName=table)["Items"]:
        dynamodb.delete_item(TableName=table, Key={"id": item["id"]})


def _outcome(step: Callable[[], Any]) -> Any:
    try:
        found = step()
    except (IdempotencyItemAlreadyExistsError, IdempotencyValidationError, IdempotencyItemNotFoundError) as error:
        held = getattr(error, "old_data_record", None)
        return type(error).__name__, None if held is None else (held.status, held.response_data)
    if found is None:
        return None
    return found.status, found.response_data, found.payload_hash is not None


def _journey(store: Any, first: dict[str, Any], second: dict[str, Any]) -> list[Any]:
    """A request's life with its retries, a key reused with another body, then a failed request."""
    reused = {**first, "body": {"amount": "999.00"}}
    return [
        _outcome(lambda: store.save_inprogress(first, remaining_time_in_millis=30_000)),
        _outcome(lambda: store.save_inprogress(first, remaining_time_in_millis=30_000)),  # a retry, in flight
        _outcome(lambda: store.save_inprogress(reused, remaining_time_in_millis=30_000)),  # another body
        _outcome(lambda: store.save_success(first, {"claimId": "CLM-1", "status": "RECEIVED"})),
        _outcome(lambda: store.get_record(first)),
        _outcome(lambda: store.save_inprogress(first, remaining_time_in_millis=30_000)),  # a retry, answered
        _outcome(lambda: store.get_record(reused)),
        _outcome(lambda: store.save_inprogress(second, remaining_time_in_millis=30_000)),
        _outcome(lambda: store.delete_record(second, RuntimeError("failed"))),
        _outcome(lambda: store.get_record(second)),
    ]


def test_both_stores_leave_the_same_records_and_raise_the_same_errors(table: str) -> None:
    first, second = _request(), _request({"amount": "12.50"})
    seen = {}
    for kind in STORES:
        _clear(table)
        outcomes = _journey(_store(kind, table), first, second)
        seen[kind] = (outcomes, _items(table))
    assert seen["ours"] == seen["powertools"]
    outcomes, items = seen["ours"]
    assert outcomes[1] == ("IdempotencyItemAlreadyExistsError", ("INPROGRESS", None))
    assert outcomes[2] == ("IdempotencyValidationError", None)
    assert outcomes[5][0] == "IdempotencyItemAlreadyExistsError"
    assert outcomes[5][1][0] == "COMPLETED"
    assert outcomes[-1] == ("IdempotencyItemNotFoundError", None)
    assert [item["status"]["S"] for item in items] == ["COMPLETED"]
    assert items[0]["expiration"] == {"N~": 24 * 3600}


@pytest.mark.parametrize(("writer", "reader"), [("ours", "powertools"), ("powertools", "ours")])
def test_each_store_reads_and_honours_the_others_records(table: str, writer: str, reader: str) -> None:
    done, running = _request(), _request({"amount": "40.00"})
    written = _store(writer, table)
    written.save_inprogress(done, remaining_time_in_millis=30_000)
    written.save_success(done, {"claimId": "CLM-2"})
    written.save_inprogress(running, remaining_time_in_millis=30_000)
    other = _store(reader, table)
    record = other.get_record(done)
    assert (record.status, record.response_data) == ("COMPLETED", '{"claimId": "CLM-2"}')
    with pytest.raises(IdempotencyItemAlreadyExistsError) as held:
        other.save_inprogress(running, remaining_time_in_millis=30_000)
    old = held.value.old_data_record
    assert old is not None
    assert old.status == "INPROGRESS"


@pytest.mark.parametrize("kind", STORES)
def test_a_record_left_in_progress_by_a_timed_out_invocation_is_taken_over(table: str, kind: str) -> None:
    """The conditional write lets a new invocation take a record whose holder's time ran out (its
    in-progress expiry is past), or whose whole expiry is past; never one still held."""
    store = _store(kind, table)
    held, timed_out, expired = _request(), _request({"amount": "1.00"}), _request({"amount": "2.00"})
    for request in (held, timed_out, expired):
        store.save_inprogress(request, remaining_time_in_millis=30_000)
    dynamodb = boto3.client("dynamodb", region_name="ca-central-1")
    past_ms, past_s = str(int((time.time() - 5) * 1000)), str(int(time.time() - 5))
    for request, attribute, value in ((timed_out, "in_progress_expiration", past_ms), (expired, "expiration", past_s)):
        key = store._get_hashed_idempotency_key(request)
        dynamodb.update_item(
            TableName=table,
            Key={"id": {"S": key}},
            UpdateExpression="SET #a = :v",
            ExpressionAttributeNames={"#a": attribute},
            ExpressionAttributeValues={":v": {"N": value}},
        )
    fresh = _store(kind, table)  # another environment: nothing cached
    with pytest.raises(IdempotencyItemAlreadyExistsError):
        fresh.save_inprogress(held, remaining_time_in_millis=30_000)
    fresh.save_inprogress(timed_out, remaining_time_in_millis=30_000)
    fresh.save_inprogress(expired, remaining_time_in_millis=30_000)
    assert {fresh.get_record(r).status for r in (timed_out, expired)} == {"INPROGRESS"}
