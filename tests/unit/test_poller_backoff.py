"""The local stack's pollers slow down when idle and wake at once when something is written."""

from __future__ import annotations

import threading
import time

from local.event_pollers import POLLER_USER_AGENT, Poller, PollerGroup
from local.run import WakePollers


class CountingPoller(Poller):
    """Finds work when told to; records when it polled."""

    def __init__(self) -> None:
        self.name = "counting"
        self.polls: list[float] = []
        self.work = threading.Event()

    def poll_once(self) -> bool:
        self.polls.append(time.monotonic())
        if self.work.is_set():
            self.work.clear()
            self.found()
            return True
        return False


def _wait(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_an_idle_poller_backs_off_and_a_wake_brings_it_back_at_once() -> None:
    poller = CountingPoller()
    group = PollerGroup([poller], interval=0.05, max_interval=0.8)
    group.start()
    try:
        _wait(lambda: len(poller.polls) >= 8)
        gaps = [b - a for a, b in zip(poller.polls, poller.polls[1:], strict=False)]
        # Two short waits (idle() needs two empty polls), then each wait doubles up to the cap
        # (a wait never ends early; a loaded machine can only make it longer).
        for gap, nominal in zip(gaps, (0.05, 0.05, 0.1, 0.2, 0.4, 0.8, 0.8), strict=False):
            assert gap >= 0.95 * nominal
        assert gaps[0] < 0.8
        assert group.idle()

        # Asleep in its longest wait: a wake makes it poll now, and the group is busy until two
        # empty polls have followed the wake.
        _wait(lambda: time.monotonic() - poller.polls[-1] > 0.1)
        before = len(poller.polls)
        poller.work.set()
        woken_at = time.monotonic()
        group.wake()
        assert not group.idle()
        _wait(lambda: len(poller.polls) > before)
        assert poller.polls[before] - woken_at < 0.6
        _wait(group.idle)
    finally:
        group.stop()
    assert not any(thread.is_alive() for thread in group._threads)


def test_the_moto_server_wakes_the_pollers_before_and_after_writes_only() -> None:
    wakes: list[int] = []
    calls: list[str] = []

    def app(environ: dict[str, str], start_response: object) -> list[bytes]:
        calls.append(environ["REQUEST_METHOD"])
        return [b""]

    middleware = WakePollers(app, lambda: wakes.append(1))

    def request(method: str, target: str | None = None, agent: str = "Boto3/1.35 md/Botocore#1.35") -> int:
        environ = {"REQUEST_METHOD": method, "HTTP_USER_AGENT": agent}
        if target:
            environ["HTTP_X_AMZ_TARGET"] = target
        before = len(wakes)
        middleware(environ, lambda *args: None)
        return len(wakes) - before

    assert request("POST", "DynamoDB_20120810.PutItem") == 2
    assert request("POST", "DynamoDB_20120810.TransactWriteItems") == 2
    assert request("POST", "AmazonSQS.SendMessage") == 2
    assert request("PUT") == 2  # an S3 upload (a presigned URL: no botocore user agent)
    assert request("POST") == 2  # a presigned POST, or SES's form-encoded SendEmail
    assert request("POST", "DynamoDB_20120810.Query") == 0
    assert request("POST", "DynamoDB_20120810.GetItem") == 0
    assert request("POST", "DynamoDB_20120810.BatchGetItem") == 0
    assert request("GET") == 0
    assert request("POST", "AmazonSQS.ReceiveMessage", agent=f"Boto3/1.35 {POLLER_USER_AGENT}") == 0
    assert request("DELETE", agent=f"Boto3/1.35 {POLLER_USER_AGENT}") == 0
    assert len(calls) == 11  # every request still reaches moto
