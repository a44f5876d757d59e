"""``make run``: the whole service on this machine, no AWS account, no containers.

    python -m local.run [--port 3000] [--host 127.0.0.1] [--roster FILE.csv]
                        [--state-dir .local-stack] [--no-seed-background] [--allowed-origin URL]
                        [--outbox-console full|headers] [--drugs allfiles.zip] [--providers all|sample]

Starts moto server in this process on loopback, creates every stateful resource of
template.yaml, starts the Cognito front (custom-auth emulator), the event-source pollers and the
e-mail outbox, runs the seeds (``local/seed_*.py``) with a progress display, then serves the API
gateway. Prints ``LOCAL_STACK_READY url=...`` once it answers (the end-to-end tests wait for that
line). Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent
READY_MARKER = "LOCAL_STACK_READY"
STATE_DIR = ROOT / ".local-stack"
STATE_FILE_NAME = "stack.json"

# The fake account every local resource lives in; nothing here can reach a real AWS account.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ca-central-1",
    "AWS_REGION": "ca-central-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}

log = logging.getLogger("local")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m local.run", description="Run the portal backend locally.")
    parser.add_argument("--port", type=int, default=3000, help="gateway port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="gateway address (default loopback only)")
    parser.add_argument("--roster", type=Path, help="an eligibility CSV to load after the demo roster")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help=f"where {STATE_FILE_NAME} is written")
    parser.add_argument(
        "--no-seed-background", action="store_true", help="skip the seeds that run after the gateway opens"
    )
    parser.add_argument(
        "--drugs",
        type=Path,
        help="the DPD allfiles.zip the drugs seed loads (default data/drugs/dpd-allfiles.zip; the tests give "
        "their shared stacks a small sample of it)",
    )
    parser.add_argument(
        "--providers",
        choices=("all", "sample"),
        default="all",
        help="seed the whole generated provider directory, or the demo providers and a tenth of the rest "
        "(the tests' stacks)",
    )
    parser.add_argument("--allowed-origin", help="CORS origin of the SPA (template parameter AllowedOrigin)")
    parser.add_argument(
        "--outbox-console",
        choices=("full", "headers"),
        default="full",
        help="print whole e-mails (codes included) or only recipient and subject",
    )
    return parser.parse_args(argv)


def use_running_stack(state_dir: Path = STATE_DIR) -> bool:
    """Give this process the environment of the running local stack (endpoints and resource names,
    from the state file it writes), as the operator commands do; ``False``, said on stderr, when
    no local stack is running."""
    state_file = state_dir / STATE_FILE_NAME
    if not state_file.exists():
        print("The local stack is not running (start it with `make run`).", file=sys.stderr)
        return False
    os.environ.update(json.loads(state_file.read_text(encoding="utf-8"))["environment"])
    return True


def _isolate_environment() -> None:
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            del os.environ[name]
    os.environ.update(FAKE_CREDENTIALS)


@dataclass
class LocalStack:
    """Everything that runs, so that it can be stopped in the reverse order."""

    args: argparse.Namespace
    moto: Any = None
    moto_url: str = ""
    stack: Any = None
    runtime: Any = None
    front: Any = None
    pollers: Any = None
    outbox: Any = None
    metrics: Any = None
    seeds: Any = None
    gateway: Any = None
    state_file: Path | None = None
    environment: dict[str, str] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _warm_thread: threading.Thread | None = None

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        """Bring every part up (raises if a part cannot start)."""
        started = time.monotonic()
        _isolate_environment()
        from moto.server import ThreadedMotoServer

        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        print(f"moto server on {self.moto_url}", flush=True)

        import boto3

        from local.cfn import Stack

        parameters = {"AllowedOrigin": self.args.allowed_origin} if self.args.allowed_origin else None
        self.stack = Stack(parameters=parameters)
        self.stack.create(boto3.session.Session(region_name=self.stack.region), endpoint_url=self.moto_url)
        pool_id = self.stack.name("UserPool")
        client_id = self.stack.name("UserPoolClient")

        from local.cognito_emulator import CognitoEmulator
        from local.cognito_front import CognitoFront, TriggerInvoker
        from local.lambda_runtime import FunctionRuntime

        self.runtime = FunctionRuntime(self.stack)
        invoke_trigger = TriggerInvoker(self.stack, self.runtime)
        emulator = CognitoEmulator(self.stack.account_id, self.stack.region, pool_id, client_id, invoke_trigger)
        # Admin* (and every other IAM-authorized operation) needs the stack's own credentials.
        self.front = CognitoFront(self.moto_url, emulator, access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"])
        self.front.start()
        self.cognito_info = {"endpoint": self.front.url, "userPoolId": pool_id, "clientId": client_id}

        self.environment = {
            **self.stack.environment(),
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": self.front.url,
            "PORTAL_LOCAL_STACK": "1",
        }
        if self.args.roster:
            self.environment["PORTAL_LOCAL_ROSTER"] = str(self.args.roster.resolve())
        if self.args.drugs:
            self.environment["PORTAL_LOCAL_DRUG_EXTRACT"] = str(self.args.drugs.resolve())
        if self.args.providers == "sample":
            self.environment["PORTAL_LOCAL_PROVIDERS"] = "sample"
        os.environ.update(self.environment)

        from local.metrics_view import MetricsView
        from portal_common import metrics

        self.metrics = MetricsView()
        metrics.add_listener(self.metrics)

        from local.event_pollers import PollerGroup, build_pollers
        from local.outbox import Outbox

        session = boto3.session.Session(region_name=self.stack.region)
        self.outbox = Outbox(self.stack.account_id, self.stack.region, printer=self._print_email)
        self.pollers = PollerGroup([*build_pollers(self.stack, self.runtime, session, self.moto_url), self.outbox])
        # Idle pollers slow down; any call to moto but theirs (a function's write, a direct S3
        # upload, Cognito's e-mail) wakes them, so nothing waits for their longer interval.
        server = self.moto._server  # ThreadedMotoServer's werkzeug server: it calls server.app per request
        server.app = WakePollers(server.app, self.pollers.wake)
        self.pollers.start()

        from local.seeds import SeedRunner, discover

        self.seeds = SeedRunner(discover())
        print("Seeding:", flush=True)
        self.seeds.run_foreground()

        from local.authorizer import CognitoAuthorizer, fetch_jwks
        from local.gateway import Gateway
        from portal_common.clock import epoch_seconds

        # The stack's one clock (tests move it to expire tokens, as they expire codes).
        authorizer = CognitoAuthorizer(
            user_pool_id=pool_id, client_id=client_id, jwks=fetch_jwks(self.moto_url, pool_id), now=epoch_seconds
        )
        try:
            self.gateway = Gateway(
                self.stack,
                self.runtime,
                authorizer,
                host=self.args.host,
                port=self.args.port,
                local_handler=self.local_route,
            )
        except OSError as error:
            raise SystemExit(
                f"cannot listen on {self.args.host}:{self.args.port} ({error.strerror}); "
                "is another `make run` running? Try `make run PORT=3001`."
            ) from error
        self.gateway.start()
        self._write_state()
        self._banner(time.monotonic() - started)
        print(f"{READY_MARKER} url={self.gateway.url}", flush=True)
        self._warm_thread = threading.Thread(target=self._warm_up, name="warm-up", daemon=True)
        self._warm_thread.start()
        if not self.args.no_seed_background:
            self.seeds.start_background()
        else:
            for seed in self.seeds.seeds:
                if seed.background:
                    seed.state, seed.summary = "done", "skipped (--no-seed-background)"

    def _warm_up(self) -> None:
        """Import every handler now (a warm container each), so first requests are fast and a
        handler that cannot even be imported shows up at start rather than on its first request."""
        for logical_id in self.runtime.specs:
            if self._stopping.is_set():
                return
            self.runtime.available(logical_id)  # logs a handler that cannot be imported

    def _print_email(self, message: Any) -> None:
        print(f"\n[outbox] to {message.to}: {message.subject}", flush=True)
        if self.args.outbox_console == "full":
            for line in message.text.splitlines():
                print(f"[outbox]   {line}")
            print(flush=True)

    def _write_state(self) -> None:
        self.args.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_file = self.args.state_dir / STATE_FILE_NAME
        state = {
            "pid": os.getpid(),
            "urls": {
                "api": self.gateway.url,
                "docs": f"{self.gateway.url}/v1/docs",
                "outbox": f"{self.gateway.url}/_local/outbox",
                "metrics": f"{self.gateway.url}/_local/metrics",
                "moto": self.moto_url,
                "cognito": self.front.url,
            },
            "environment": self.environment,
            # Logical id -> physical name or URL (queues, tables, pool...), for the operator tools.
            "resources": {logical_id: values["Ref"] for logical_id, values in self.stack.physical.items()},
        }
        self.state_file.write_text(json.dumps(state, indent=2), encoding="utf-8")

    def _banner(self, seconds: float) -> None:
        url = self.gateway.url
        lines = [
            "",
            f"The member portal API is up ({seconds:.1f} s):",
            f"  API          {url}/v1   (health: {url}/v1/health)",
            f"  API docs     {url}/v1/docs   (OpenAPI: {url}/v1/openapi.json)",
            f"  E-mails      {url}/_local/outbox?to=EMAIL   (also printed below)",
            f"  Status       {url}/_local/status",
            f"  Metrics      {url}/_local/metrics   (the EMF lines the dashboard would show)",
            "",
            *self.seeds.descriptions(),
            "",
            "Ctrl-C stops everything.",
        ]
        print("\n".join(lines), flush=True)

    # ------------------------------------------------------------------ /_local
    def local_route(self, method: str, path: str, query: str, body: bytes) -> tuple[int, Any] | None:
        """``/_local/outbox``, ``/_local/status`` and ``/_local/metrics``."""
        params = parse_qs(query)
        if path == "/_local/outbox" and method == "GET":
            to = params["to"][0] if params.get("to") else None
            return 200, {"items": [m.as_json() for m in self.outbox.items(to)]}
        if path == "/_local/metrics" and method == "GET":
            return 200, self.metrics.as_json(params["name"][0] if params.get("name") else None)
        if path == "/_local/status" and method == "GET":
            return 200, {
                "ready": True,
                "seeds": [s.as_json() for s in self.seeds.seeds],
                "seedsFinished": self.seeds.finished(),
                "pollersIdle": self.pollers.idle(),
                # Where the local Cognito answers (an access token names its issuer and client on
                # AWS too): security tests call it directly, as an attacker would.
                "cognito": self.cognito_info,
            }
        return None

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        """Stop in the reverse order; never raises."""
        self._stopping.set()
        if self.seeds is not None:
            self.seeds.stopping.set()
        if self._warm_thread is not None:
            self._warm_thread.join(10)  # an import in progress finishes (and logs) before we stop
        print("\nStopping...", flush=True)
        steps = [
            ("gateway", lambda: self.gateway and self.gateway.stop()),
            ("pollers", lambda: self.pollers and self.pollers.stop()),
            ("seeds", lambda: self.seeds and self.seeds.join(2)),
            ("cognito front", lambda: self.front and self.front.stop()),
            ("moto", lambda: self.moto and self.moto.stop()),
        ]
        for name, step in steps:
            try:
                step()
            except Exception as error:
                print(f"stopping {name}: {type(error).__name__}: {error}", file=sys.stderr)
        if self.state_file is not None:
            self.state_file.unlink(missing_ok=True)


class WakePollers:
    """WSGI middleware of the moto server: every request that may write (not a read, and not a
    poller's own) wakes the pollers before and after moto handles it, so a write is never followed
    by an idle report, and reads (the sweeper's queries, GET routes) leave idle pollers asleep."""

    READS = ("Get", "Query", "Scan", "Describe", "List", "BatchGet", "TransactGet")

    def __init__(self, app: Any, wake: Any) -> None:
        from local.event_pollers import POLLER_USER_AGENT

        self.app = app
        self.wake = wake
        self.marker = POLLER_USER_AGENT

    def may_write(self, environ: dict[str, Any]) -> bool:
        """JSON protocols name the operation in ``X-Amz-Target``; S3 reads are GET and HEAD; any
        other request (SES and STS forms, S3 PUT/POST/DELETE) counts as a write."""
        if self.marker in environ.get("HTTP_USER_AGENT", ""):
            return False
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return not target.rsplit(".", 1)[-1].startswith(self.READS)
        return environ.get("REQUEST_METHOD") not in ("GET", "HEAD")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not self.may_write(environ):
            return self.app(environ, start_response)
        # Before (pollers start at once) and after moto has applied the write (two empty polls
        # must follow it before the group reports idle, however long moto took).
        self.wake()
        try:
            return self.app(environ, start_response)
        finally:
            self.wake()


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stdout)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("botocore").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    """Run until Ctrl-C or SIGTERM."""
    args = parse_args(argv)
    if args.roster and not args.roster.is_file():
        print(f"roster file not found: {args.roster}", file=sys.stderr)
        return 2
    _configure_logging()
    stop = threading.Event()

    def on_terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_terminate)
    signal.signal(signal.SIGINT, on_terminate)
    local = LocalStack(args)
    code = 0
    try:
        local.start()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    except SystemExit as error:
        print(error, file=sys.stderr)
        code = 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        local.stop()
        print("Stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
