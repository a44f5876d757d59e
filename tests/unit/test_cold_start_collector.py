"""``portal_common.cold_start``: no garbage collection from a Lambda function's first import of
``portal_common`` until its first invocation ends; then everything is frozen and collection resumes.

Each case runs in a fresh interpreter (the pause is per process, and pytest's own process must keep
its collector), with or without ``AWS_LAMBDA_FUNCTION_NAME`` (Lambda always sets it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = r"""
import gc, json, sys
states = {"before import": gc.isenabled()}
import portal_common
from portal_common import cold_start
states["after import"] = gc.isenabled()
seen = {}

@cold_start.settles(before=sys.argv[1] == "before")
def handler(event, context):
    seen[event] = gc.isenabled()
    if event == "fails":
        raise ValueError("the first invocation fails")
    return event

first = sys.argv[2]
try:
    handler(first, None)
except ValueError:
    pass
states["in first invocation"] = seen[first]
states["after first invocation"] = gc.isenabled()
states["frozen"] = gc.get_freeze_count() > 0
handler("second", None)
states["in second invocation"] = seen["second"]
states["mark"] = getattr(handler, cold_start.MARK, None)
print(json.dumps(states))
"""


def _run(*arguments: str, in_lambda: bool = True) -> dict[str, Any]:
    environment = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_FUNCTION_NAME"}
    environment["PYTHONPATH"] = str(ROOT / "layers" / "common")
    if in_lambda:
        environment["AWS_LAMBDA_FUNCTION_NAME"] = "cold-start-test"
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, *arguments], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("first", ["ok", "fails"])
def test_a_lambda_cold_start_collects_nothing_until_its_first_invocation_ends(first: str) -> None:
    states = _run("after", first)
    assert states == {
        "before import": True,
        "after import": False,
        "in first invocation": False,
        "after first invocation": True,  # resumed even when the first invocation raised
        "frozen": True,
        "in second invocation": True,
        "mark": "after",
    }


def test_a_long_first_invocation_runs_with_the_collector() -> None:
    states = _run("before", "ok")
    assert states["after import"] is False
    assert states["in first invocation"] is True
    assert states["frozen"] is True
    assert states["mark"] == "before"


def test_nothing_changes_outside_lambda() -> None:
    """Tests, the local stack and the tools import portal_common without Lambda's variable."""
    states = _run("after", "ok", in_lambda=False)
    assert states["after import"] is True
    assert states["in first invocation"] is True
    assert states["frozen"] is False
