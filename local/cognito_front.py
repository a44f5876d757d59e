"""The local Cognito endpoint (``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER``).

moto stores users and issues tokens but runs no Lambda trigger and checks no code or SRP proof.
This endpoint speaks Cognito's JSON protocol: for each ``X-Amz-Target:
AWSCognitoIdentityProviderService.<Operation>`` request it asks the project's emulator
(``local/cognito_emulator.py``, see docs/conventions.md) first, and forwards the request unchanged
to moto when the emulator does not handle it.

:class:`TriggerInvoker` runs the function that template.yaml attaches to a Cognito trigger.
"""

from __future__ import annotations

import http.client
import json
import logging
import traceback
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from local.cfn import Stack
from local.lambda_runtime import FunctionRuntime
from local.loopback_server import LoopbackServer

if TYPE_CHECKING:
    from local.cognito_emulator import CognitoEmulator

log = logging.getLogger("local.cognito")

TARGET_PREFIX = "AWSCognitoIdentityProviderService."
JSON_TYPE = "application/x-amz-json-1.1"


class TriggerInvoker:
    """``invoke_trigger(trigger_name, event) -> event``: the template's trigger function for a pool."""

    def __init__(self, stack: Stack, runtime: FunctionRuntime) -> None:
        self.runtime = runtime
        self.functions: dict[str, str] = {}
        for spec in runtime.specs.values():
            for source in spec.sources:
                if source.kind == "Cognito":
                    self.functions[str(source.properties["Trigger"])] = spec.logical_id

    def __call__(self, trigger_name: str, event: dict[str, Any]) -> dict[str, Any]:
        """Run the trigger; without one attached, Cognito goes on with the event unchanged."""
        function = self.functions.get(trigger_name)
        if function is None:
            return event
        result = self.runtime.invoke(function, event)
        if not isinstance(result, dict):
            raise TypeError(f"{trigger_name} trigger returned {type(result).__name__}, not the event")
        return result


class CognitoFront(LoopbackServer):
    """An HTTP server on loopback that sits in front of moto's Cognito."""

    def __init__(self, moto_url: str, emulator: CognitoEmulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.moto = urlsplit(moto_url)
        self.emulator = emulator
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                body = self._body()
                target = self.headers.get("X-Amz-Target", "")
                if target.startswith(TARGET_PREFIX):
                    answered = front.emulate(target[len(TARGET_PREFIX) :], body)
                    if answered is not None:
                        status, payload = answered
                        self._send(status, [("Content-Type", JSON_TYPE)], json.dumps(payload).encode())
                        return
                status, headers, answer = front.forward(self.command, self.path, list(self.headers.items()), body)
                self._send(status, headers, answer)

            do_POST = _handle
            do_GET = _handle

        super().__init__(Handler, host, port, "cognito front")

    def emulate(self, operation: str, raw: bytes) -> tuple[int, dict[str, Any]] | None:
        """The emulator's answer, or ``None`` to let moto answer."""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return 400, {"__type": "SerializationException", "message": "Malformed JSON."}
        try:
            result = self.emulator.handle(operation, body)
        except Exception:  # the emulator crashed: Cognito would answer 500
            log.error("Cognito emulator failed on %s:\n%s", operation, traceback.format_exc().rstrip())
            return 500, {"__type": "InternalErrorException", "message": "Internal error."}
        return result

    def forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request unchanged to moto."""
        connection = http.client.HTTPConnection(self.moto.hostname or "127.0.0.1", self.moto.port, timeout=30)
        try:
            forwarded = {k: v for k, v in headers if k.lower() not in ("host", "connection", "content-length")}
            forwarded["Host"] = self.moto.netloc
            connection.request(method, path, body=body, headers=forwarded)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()
