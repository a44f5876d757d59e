"""No garbage collection during a Lambda cold start; what it built is frozen afterwards.

A cold start allocates a few hundred thousand objects (modules, botocore's service models, the
clients, pydantic's validators) and nearly all of them live as long as the process. CPython's
collector examines them again and again as they pile up, and finds nothing to free: measured with
``gc.callbacks`` in ``make bench``'s cold starts, 25-35 ms of CPU per function (about 15 in the
boto3 baseline), about a tenth of each cold start (docs/performance.md).

So in a Lambda function (``AWS_LAMBDA_FUNCTION_NAME`` is set, as Lambda always does), the first
import of :mod:`portal_common` (every handler's first line) pauses the collector (:func:`pause`),
and the handler's decorator :func:`settles` ends the pause when the first invocation returns or
raises: ``gc.freeze()`` moves every object that exists to the permanent generation (never
traversed again, so the warm invocations' collections are cheaper too) and the collector resumes.
A function whose first invocation can be long (a whole file import) ends the pause as the
invocation starts instead (``settles(before=True)``), so that no long job runs without the
collector. Anywhere else (tests, the local stack, the tools) nothing changes.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any, TypeVar

from portal_common.config import lambda_function_name

Handler = TypeVar("Handler", bound=Callable[..., Any])

_state = {"paused": False}
# The attribute every template handler carries: when its first invocation ends the pause, "after" it
# or "before" it (tests/unit/test_cold_start_imports.py checks every handler of template.yaml).
MARK = "__portal_cold_start_settles__"


def pause() -> None:
    """Pause the collector for the cold start, in a Lambda function only (once per process)."""
    if lambda_function_name() and gc.isenabled() and not _state["paused"]:
        gc.disable()
        _state["paused"] = True


def settle() -> None:
    """End the pause (nothing if there is none): freeze what exists, resume collecting."""
    if _state["paused"]:
        _state["paused"] = False
        gc.freeze()
        gc.enable()


def settles(handler: Handler | None = None, *, before: bool = False) -> Any:
    """Decorate a Lambda handler (outermost): its first invocation ends the cold start's pause, when
    it returns or raises, or as it starts with ``before=True``."""

    def decorate(function: Handler) -> Handler:
        @functools.wraps(function)
        def wrapper(event: Any, context: Any) -> Any:
            if not _state["paused"]:
                return function(event, context)
            if before:
                settle()
                return function(event, context)
            try:
                return function(event, context)
            finally:
                settle()

        setattr(wrapper, MARK, "before" if before else "after")
        return wrapper  # type: ignore[return-value]

    return decorate(handler) if handler is not None else decorate
