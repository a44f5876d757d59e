"""Anti-enumeration timing: the answers that must look alike take at least the response floor.

The integration tests run with ``AUTH_RESPONSE_FLOOR_MS=0`` to stay fast (one of them, in
test_auth_flows.py, records the padding of every route that must apply the floor); this checks the floor
itself (on the answer path and on the refusal path, which leaves the block by an exception).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import auth_service
import pytest

from portal_common.config import reload_settings

FLOOR_SECONDS = 0.15


@pytest.fixture
def floor(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AUTH_RESPONSE_FLOOR_MS", str(int(FLOOR_SECONDS * 1000)))
    reload_settings()
    yield
    monkeypatch.undo()
    reload_settings()


def test_a_quick_answer_waits_for_the_floor(floor: None) -> None:
    started = time.monotonic()
    with auth_service.Equalized():
        pass
    assert FLOOR_SECONDS <= time.monotonic() - started < FLOOR_SECONDS + 1


def test_a_quick_refusal_waits_for_the_floor_too(floor: None) -> None:
    started = time.monotonic()
    with pytest.raises(LookupError), auth_service.Equalized():
        raise LookupError
    assert FLOOR_SECONDS <= time.monotonic() - started < FLOOR_SECONDS + 1
