"""End-to-end harness: one local stack per test session, over HTTP, as a client uses it.

The session fixture ``stack`` starts ``python -m local.run --port 0`` in a subprocess (the same
command ``make run`` uses, on free ports, with its state in a temporary directory), waits for its
``LOCAL_STACK_READY url=...`` line, and stops it (SIGTERM) at the end of the session. Its whole
output is captured in a file: ``stack.log_text()`` lets a test assert that no secret ever reaches
the logs (the outbox prints only recipients and subjects in this mode, so e-mailed codes found in
the log would be a real leak).

Every test in ``tests/e2e`` is marked ``e2e``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
READY_MARKER = "LOCAL_STACK_READY url="
START_TIMEOUT = float(os.environ.get("E2E_START_TIMEOUT", "90"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e as ``e2e``."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


# Password of the demo accounts that local/seed_accounts.py registers.
DEMO_PASSWORD = "Demo-Portail-2026"


class LocalStackProcess:
    """A running ``python -m local.run`` and helpers to talk to it."""

    def __init__(self, workdir: Path, extra_args: list[str] | None = None) -> None:
        self.workdir = workdir
        self.log_path = workdir / "local-stack.log"
        self.url = ""
        self.http = requests.Session()
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL") and k != "AWS_PROFILE"
        }
        environment["PYTHONUNBUFFERED"] = "1"
        # The stack's clock can be moved by tests (code expiry): only the stack's process reads this
        # file, so integration tests in this interpreter keep their own clock.
        self.clock_file = workdir / "clock-offset"
        self.clock_file.write_text("0", encoding="utf-8")
        environment["PORTAL_CLOCK_OFFSET_FILE"] = str(self.clock_file)
        environment.pop("PORTAL_CLOCK_OFFSET_SECONDS", None)
        paths = [str(ROOT), str(ROOT / "layers" / "common")]
        environment["PYTHONPATH"] = os.pathsep.join([*paths, environment.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        command = [
            sys.executable,
            "-m",
            "local.run",
            "--port",
            "0",
            "--state-dir",
            str(workdir / "state"),
            "--outbox-console",
            "headers",
            *(extra_args or []),
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=self._log, stderr=subprocess.STDOUT)

    def set_clock_offset(self, seconds: float) -> None:
        """Move the stack's clock ``seconds`` ahead of real time (0 puts it back)."""
        self.clock_file.write_text(str(seconds), encoding="utf-8")

    # ------------------------------------------------------------------ lifecycle
    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait for the ready line (fails with the log if the stack dies or takes too long)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log_text().splitlines():
                if line.startswith(READY_MARKER):
                    self.url = line[len(READY_MARKER) :].strip()
                    return
            if self.process.poll() is not None:
                raise RuntimeError(f"the local stack exited ({self.process.returncode}):\n{self.log_text()[-5000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"the local stack was not ready in {timeout} s:\n{self.log_text()[-5000:]}")

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C would; kill if it does not stop in 20 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.http.close()
        self._log.close()

    def log_text(self) -> str:
        """Everything the stack printed so far (stdout and stderr)."""
        self._log.flush()
        return self.log_path.read_bytes().decode("utf-8", errors="replace")

    # ------------------------------------------------------------------ HTTP
    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """``path`` is relative to the gateway (``/v1/health``)."""
        kwargs.setdefault("timeout", 30)
        return self.http.request(method, self.url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """GET ``path``."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        """POST ``path`` (``json=...`` for a JSON body)."""
        return self.request("POST", path, **kwargs)

    def status(self) -> dict[str, Any]:
        """``GET /_local/status``."""
        response = self.get("/_local/status")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def outbox(self, to: str | None = None) -> list[dict[str, Any]]:
        """E-mails sent (to ``to``), newest first."""
        params = {"to": to} if to else None
        response = self.get("/_local/outbox", params=params)
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> dict[str, Any]:
        """Sign in as a member does (password, then the e-mailed code); returns the tokens."""
        before = len(self.outbox(email))
        started = self.post("/v1/auth/login", json={"email": email, "password": password})
        assert started.status_code == 200, started.text
        mails = self.wait_for_email(email, before + 1)
        code = re.search(r"\b(\d{6})\b", mails[0]["text"])
        assert code is not None, mails[0]["subject"]
        verified = self.post(
            "/v1/auth/login/verify", json={"email": email, "session": started.json()["session"], "code": code.group(1)}
        )
        assert verified.status_code == 200, verified.text
        tokens: dict[str, Any] = verified.json()
        return tokens

    def bearer(self, email: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
        """``Authorization`` header of a freshly signed-in member."""
        return {"Authorization": f"Bearer {self.sign_in(email, password)['idToken']}"}

    def wait_for_email(self, to: str, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Wait until ``to`` has received at least ``count`` e-mails; returns them, newest first."""
        deadline = time.monotonic() + timeout
        while True:
            items = self.outbox(to)
            if len(items) >= count or time.monotonic() > deadline:
                return items
            time.sleep(0.1)

    def wait_until_idle(self, timeout: float = 30.0) -> None:
        """Wait until every poller has drained its source (streams, queues, S3, outbox)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status()["pollersIdle"]:
                return
            time.sleep(0.1)
        raise TimeoutError(f"pollers still busy after {timeout} s")

    def wait_for_seeds(self, timeout: float = 120.0) -> None:
        """Wait until every seed (background ones included) has finished; fail if one failed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if status["seedsFinished"]:
                failed = [s for s in status["seeds"] if s["state"] == "failed"]
                if failed:
                    raise RuntimeError(f"seeds failed: {failed}")
                return
            time.sleep(0.2)
        raise TimeoutError(f"seeds not finished after {timeout} s")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    """The local stack of this test session (started once, stopped at the end)."""
    process = LocalStackProcess(tmp_path_factory.mktemp("local-stack"))
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()
