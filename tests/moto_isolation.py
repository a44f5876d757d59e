"""DynamoDB's write isolation for tests that race threads against moto in-process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_DYNAMO_LOCK = threading.RLock()


@contextmanager
def serialised_dynamodb() -> Iterator[None]:
    """moto applies a conditional write in several Python steps without a lock, and a transaction
    that fails is rolled back by putting back a copy of the whole table taken before it: a read
    between the two sees writes that never committed, and a write of another thread in between is
    lost. Real DynamoDB serialises writes to an item and never shows an uncommitted transaction
    (read-committed). Wrap every moto operation that reads or writes items in one lock so that
    threads see DynamoDB's guarantees (the code under test is unchanged).

    A Powertools resolver is not thread-safe either (the current event is a class attribute): race
    threads below the HTTP layer, or interleave whole requests (``tests/integration/test_claims_api.py``),
    as Lambda does (one invocation at a time per execution environment)."""
    from moto.dynamodb.models import DynamoDBBackend

    names = (
        "put_item",
        "update_item",
        "delete_item",
        "transact_write_items",
        "get_item",
        "batch_get_item",
        "batch_write_item",
        "transact_get_items",
        "query",
        "scan",
    )
    originals = {name: getattr(DynamoDBBackend, name) for name in names}

    def wrap(function: Any) -> Any:
        def locked(*args: Any, **kwargs: Any) -> Any:
            with _DYNAMO_LOCK:
                return function(*args, **kwargs)

        return locked

    for name, function in originals.items():
        setattr(DynamoDBBackend, name, wrap(function))
    # moto's response layer also reads the item outside the backend (a deep copy of it for
    # ``ReturnValues``), while another thread may be changing it: hold the same lock there too.
    from moto.dynamodb.responses import DynamoHandler

    handler_names = ("update_item", "put_item", "delete_item", "transact_write_items")
    handler_originals = {name: getattr(DynamoHandler, name) for name in handler_names}
    for name, function in handler_originals.items():
        setattr(DynamoHandler, name, wrap(function))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(DynamoDBBackend, name, function)
        for name, function in handler_originals.items():
            setattr(DynamoHandler, name, function)
