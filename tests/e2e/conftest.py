"""End-to-end harness: one local stack per test session (per pytest-xdist worker), over HTTP, as a
client uses it.

The session fixture ``stack`` starts ``python -m local.run --port 0`` in a subprocess (the same
command ``make run`` uses, on free ports, with its state in a temporary directory), waits for its
``LOCAL_STACK_READY url=...`` line, and stops it (SIGTERM) at the end of the session. Its whole
output is captured in a file: ``stack.log_text()`` lets a test assert that no secret ever reaches
the logs (the outbox prints only recipients and subjects in this mode, so e-mailed codes found in
the log would be a real leak).

A new e2e module uses ``stack`` (shared, free): it makes its own data (its own claims, receipts,
registrations) and never assumes the stack is fresh. A module starts a stack of its own
(``LocalStackProcess`` in a module-scoped fixture, ~10 CPU-seconds) only when it must change
something for everyone (the clock offset is put back by its fixture, so it does not count) or needs
other start options. Stacks load a small sample of the drug extract (``drug_sample.py``) unless
started with ``drugs="full"`` (only ``test_drugs_journey.py``).

Every test in ``tests/e2e`` is marked ``e2e``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
READY_MARKER = "LOCAL_STACK_READY url="
# A bound, not a wait (the ready line ends it): seeding a stack's provider directory took over 90 s
# when four other test suites shared the machine's 2 cores.
START_TIMEOUT = float(os.environ.get("E2E_START_TIMEOUT", "240"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e as ``e2e``."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


# Password of the demo accounts that local/seed_accounts.py registers.
DEMO_PASSWORD = "Demo-Portail-2026"

_sample_lock = threading.Lock()
_sample: list[Path] = []


def drug_sample() -> Path:
    """The sample drug extract of this test process (written once, on first use)."""
    from tests.e2e.drug_sample import write_sample

    with _sample_lock:
        if not _sample:
            folder = Path(tempfile.mkdtemp(prefix="e2e-drugs-"))
            _sample.append(write_sample(folder / "dpd-sample.zip"))
        return _sample[0]


def signin_subjects() -> set[str]:
    """The subject of the sign-in code e-mail in every language of the message catalogues."""
    import json

    folder = ROOT / "layers" / "common" / "portal_common" / "messages"
    return {
        json.loads((language / "auth.json").read_text(encoding="utf-8"))["auth.email.signin.subject"]
        for language in folder.iterdir()
        if (language / "auth.json").is_file()
    }


class LocalStackProcess:
    """A running ``python -m local.run`` and helpers to talk to it."""

    def __init__(
        self, workdir: Path, extra_args: list[str] | None = None, drugs: str = "sample", providers: str = "sample"
    ) -> None:
        """``drugs="full"`` loads the whole DPD extract of ``data/drugs`` (about a CPU-minute in the
        background); the default loads the sample of ``drug_sample.py``. ``providers="all"`` seeds
        the whole generated provider directory (676 providers); the default seeds the demo
        providers and a tenth of the others (``local.run --providers sample``)."""
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
            *(["--drugs", str(drug_sample())] if drugs == "sample" else []),
            "--providers",
            providers,
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
        code = self.wait_for_signin_code(email, before)
        verified = self.post(
            "/v1/auth/login/verify", json={"email": email, "session": started.json()["session"], "code": code}
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

    def wait_for_decision(self, claim_id: str, headers: dict[str, str], timeout: float = 30.0) -> dict[str, Any]:
        """The claim once the processor has decided it (paid, denied, or held for information)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            claim: dict[str, Any] = self.get(f"/v1/claims/{claim_id}", headers=headers).json()
            if claim["status"] in {"PAID", "PARTIALLY_PAID", "DENIED", "PENDING_INFORMATION"}:
                return claim
            time.sleep(0.2)
        raise AssertionError(f"claim {claim_id} not processed within {timeout:.0f} s")

    def wait_for_signin_code(self, to: str, before: int, timeout: float = 15.0) -> str:
        """The code of the newest sign-in e-mail among those ``to`` received after the first
        ``before``. Another e-mail can arrive meanwhile (the claim notice of an earlier test on the
        shared stack), so the code e-mail is told by its subject (either language's catalogue)."""
        subjects = signin_subjects()
        deadline = time.monotonic() + timeout
        while True:
            items = self.outbox(to)
            for mail in items[: max(0, len(items) - before)]:
                if mail["subject"] in subjects:
                    code = re.search(r"\b(\d{6})\b", mail["text"])
                    assert code is not None, mail["subject"]
                    return code.group(1)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no sign-in code e-mail in {timeout} s; received: {[m['subject'] for m in items]}"
                )
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


class SharedStack:
    """The stack that e2e modules share in this process (one per pytest-xdist worker): started when
    a module first asks for it, stopped as soon as no later test of this worker uses it (an idle
    stack still polls its queues and streams, about a tenth of a core)."""

    def __init__(self) -> None:
        self.process: LocalStackProcess | None = None

    def get(self, tmp_path_factory: pytest.TempPathFactory) -> LocalStackProcess:
        if self.process is None:
            process = LocalStackProcess(tmp_path_factory.mktemp("local-stack"))
            try:
                process.wait_ready()
            except BaseException:
                process.stop()
                raise
            self.process = process
        return self.process

    def stop(self) -> None:
        if self.process is not None:
            process, self.process = self.process, None
            process.stop()


_shared = SharedStack()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> LocalStackProcess:
    """The shared local stack of this worker (see the module docstring)."""
    return _shared.get(tmp_path_factory)


def _uses_shared_stack(item: pytest.Item) -> bool:
    definitions = getattr(item, "_fixtureinfo", None)
    stack_defs = list(definitions.name2fixturedefs.get("stack", ())) if definitions else []
    # A module that defines its own ``stack`` (its own start options) does not use the shared one.
    return bool(stack_defs) and getattr(stack_defs[-1].func, "__module__", None) == __name__


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the shared stack when the next test file of this worker does not use it."""
    if _shared.process is None or (nextitem is not None and nextitem.path == item.path):
        return
    if nextitem is None or not any(_uses_shared_stack(i) for i in item.session.items if i.path == nextitem.path):
        _shared.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used the shared stack shows the end of the stack's log (a 500's traceback
    is there, and the stack's temporary directory may be gone when someone reads the report)."""
    report = yield
    if report.failed and _shared.process is not None and _uses_shared_stack(item):
        report.sections.append(("local stack log (last 6000 characters)", _shared.process.log_text()[-6000:]))
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the shared stack (if a test was interrupted before the teardown above)."""
    _shared.stop()
