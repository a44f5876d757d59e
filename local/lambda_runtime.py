"""Runs the template's Lambda handlers in this process, the way the Lambda runtime would.

Every function folder goes on ``sys.path`` (module names are unique across folders, as in the
tests), the handler is imported once (a warm container) and called with a :class:`LambdaContext`
that has the attributes the real runtime's context has. One lock per function: a Lambda execution
environment serves one invocation at a time, and Powertools resolvers keep the current event on
the module-level ``app`` object, so two concurrent calls of one handler must not interleave.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.cfn import FunctionSpec, Stack

Handler = Callable[[dict[str, Any], Any], Any]
log = logging.getLogger("local.functions")


@dataclass
class LambdaContext:
    """The attributes and method of the Python runtime's context object."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_epoch_ms: int
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, self.deadline_epoch_ms - int(time.time() * 1000))


def make_context(stack: Stack, spec: FunctionSpec, request_id: str | None = None) -> LambdaContext:
    """A fresh context for one invocation of ``spec``."""
    name = stack.name(spec.logical_id)
    arn = stack.physical[spec.logical_id]["Arn"]
    memory = int(
        (stack.resources[spec.logical_id].get("Properties") or {}).get(
            "MemorySize", ((stack.template.get("Globals") or {}).get("Function") or {}).get("MemorySize", 128)
        )
    )
    stream_day = time.strftime("%Y/%m/%d", time.gmtime())
    return LambdaContext(
        function_name=name,
        function_version="$LATEST",
        invoked_function_arn=arn,
        memory_limit_in_mb=memory,
        aws_request_id=request_id or str(uuid.uuid4()),
        log_group_name=f"/aws/lambda/{name}",
        log_stream_name=f"{stream_day}/[$LATEST]{uuid.uuid4().hex}",
        deadline_epoch_ms=int(time.time() * 1000) + spec.timeout * 1000,
    )


@dataclass
class FunctionRuntime:
    """Imports and invokes the functions of one stack (thread-safe)."""

    stack: Stack
    specs: dict[str, FunctionSpec] = field(init=False)
    _handlers: dict[str, Handler] = field(init=False, default_factory=dict)
    _locks: dict[str, threading.Lock] = field(init=False, default_factory=dict)
    _import_lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.specs = self.stack.functions()
        for spec in self.specs.values():
            self._locks[spec.logical_id] = threading.Lock()
        add_function_paths(self.specs.values())

    def available(self, logical_id: str) -> bool:
        """Whether the function's handler module can be imported.

        A module that fails to import (a bug in it) makes this function unavailable, never the
        whole stack: the error is logged and its routes answer 502."""
        try:
            self.handler(logical_id)
        except Exception:
            log.error(
                "%s: handler %s cannot be imported:\n%s",
                logical_id,
                self.specs[logical_id].handler,
                traceback.format_exc().rstrip(),
            )
            return False
        return True

    def handler(self, logical_id: str) -> Handler:
        """The function's handler (imported once, like a warm container)."""
        found = self._handlers.get(logical_id)
        if found is not None:
            return found
        spec = self.specs[logical_id]
        with self._import_lock:
            if logical_id not in self._handlers:
                module = importlib.import_module(spec.module)
                self._handlers[logical_id] = getattr(module, spec.function_name)
            return self._handlers[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any], request_id: str | None = None) -> Any:
        """Call the function with ``event`` and a fresh context; exceptions propagate (a failed invocation)."""
        spec = self.specs[logical_id]
        handler = self.handler(logical_id)
        context = make_context(self.stack, spec, request_id)
        with self._locks[logical_id]:
            return handler(event, context)


def add_function_paths(specs: Any) -> None:
    """Put the layer and every function folder on ``sys.path`` (once each)."""
    from local.cfn import ROOT

    folders = [str(ROOT / "layers" / "common"), *sorted({str(spec.code_uri) for spec in specs})]
    for folder in folders:
        if folder not in sys.path:
            sys.path.append(folder)
