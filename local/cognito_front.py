"""The local Cognito endpoint (``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER``).

moto stores users and issues tokens but runs no Lambda trigger and checks no code or SRP proof.
This endpoint speaks Cognito's JSON protocol: for each ``X-Amz-Target:
AWSCognitoIdentityProviderService.<Operation>`` request it asks the project's emulator
(``local/cognito_emulator.py``, see docs/conventions.md) first, and forwards the request unchanged
to moto when the emulator does not handle it.

As on AWS, only the operations Cognito serves to anyone (sign-up, sign-in, the user's own
operations with an access token, ...: :data:`PUBLIC_OPERATIONS`) work without IAM
credentials; every other one (``Admin*``, ``ListUsers``, ...) needs a SigV4-signed request with the
local stack's access key (the functions sign theirs with it), or it is refused with
``MissingAuthenticationTokenException`` / ``UnrecognizedClientException``. The signature itself is
not verified (the key is the fake, well-known ``testing``): the check makes an unsigned call, the
attacker's, fail here as it fails on AWS.

:class:`TriggerInvoker` runs the function that template.yaml attaches to a Cognito trigger.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
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

# What Cognito serves without IAM credentials (app client id or the user's access token);
# every other operation (Admin*, ListUsers, DescribeUserPool, ...) needs a SigV4 signature.
PUBLIC_OPERATIONS = frozenset(
    {
        "SignUp",
        "ConfirmSignUp",
        "ResendConfirmationCode",
        "ForgotPassword",
        "ConfirmForgotPassword",
        "InitiateAuth",
        "RespondToAuthChallenge",
        "RevokeToken",
        "GetUser",
        "UpdateUserAttributes",
        "DeleteUserAttributes",
        "GetUserAttributeVerificationCode",
        "VerifyUserAttribute",
        "ChangePassword",
        "DeleteUser",
        "GlobalSignOut",
        "GetTokensFromRefreshToken",
    }
)

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

    def __init__(
        self,
        moto_url: str,
        emulator: CognitoEmulator,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        access_key_id: str = "testing",
    ) -> None:
        self.moto = urlsplit(moto_url)
        self.emulator = emulator
        self.access_key_id = access_key_id
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
                    operation = target[len(TARGET_PREFIX) :]
                    refused = front.refuse_unsigned(operation, self.headers.get("Authorization", ""))
                    if refused is not None:
                        self._send(400, [("Content-Type", JSON_TYPE)], json.dumps(refused).encode())
                        return
                    answered = front.emulate(operation, body)
                    if answered is not None:
                        status, payload = answered
                        self._send(status, [("Content-Type", JSON_TYPE)], json.dumps(payload).encode())
                        return
                status, headers, answer = front.forward(self.command, self.path, list(self.headers.items()), body)
                self._send(status, headers, answer)

            do_POST = _handle
            do_GET = _handle

        super().__init__(Handler, host, port, "cognito front")

    def refuse_unsigned(self, operation: str, authorization: str) -> dict[str, str] | None:
        """Cognito's error for an IAM-authorized operation called without the stack's credentials."""
        if operation in PUBLIC_OPERATIONS:
            return None
        if not authorization.startswith("AWS4-HMAC-SHA256 "):
            return {
                "__type": "MissingAuthenticationTokenException",
                "message": f"{operation} requires IAM credentials (a SigV4-signed request).",
            }
        match = re.search(r"Credential=([^/,\s]+)/", authorization)
        if match is None or match.group(1) != self.access_key_id:
            return {
                "__type": "UnrecognizedClientException",
                "message": "The security token included in the request is invalid.",
            }
        return None

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
