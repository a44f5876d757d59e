"""The cold-start budget, guarded by what each handler imports (never by wall-clock time).

``make bench`` measures the times (README "Performance"); these tests keep the structure that
makes them: each function's handler, imported in a fresh interpreter as Lambda does, loads none of
the library modules it does not use, and the lazy library packages still offer every name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from local.cfn import Stack

ROOT = Path(__file__).resolve().parents[2]

# Never needed by a function: the other resolvers and event classes Powertools' package inits import.
NEVER = (
    "aws_lambda_powertools.event_handler.appsync",
    "aws_lambda_powertools.event_handler.bedrock_agent",
    "aws_lambda_powertools.event_handler.vpc_lattice",
    "aws_lambda_powertools.utilities.data_classes.appsync_resolver_event",
    "aws_xray_sdk",  # only with the Tracing parameter on
)
# The Cognito triggers (Cognito waits 5 s and retries): no model library, no REST resolver.
TRIGGER_NEVER = ("pydantic", "aws_lambda_powertools.event_handler.api_gateway", "asyncio")


def _imported(logical_id: str, spec: object) -> set[str]:
    environment = {**os.environ, **spec.environment}  # type: ignore[attr-defined]
    environment["PYTHONPATH"] = os.pathsep.join([str(spec.code_uri), str(ROOT / "layers" / "common")])  # type: ignore[attr-defined]
    done = subprocess.run(
        [sys.executable, "-c", f"import json, sys, {spec.module}; print(json.dumps(sorted(sys.modules)))"],  # type: ignore[attr-defined]
        env=environment,
        cwd=str(ROOT / "tests"),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"{logical_id}: {done.stderr[-2000:]}"
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def imports() -> dict[str, set[str]]:
    """What each function's handler module imports, each in a fresh interpreter."""
    specs = Stack().functions()
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = pool.map(lambda item: (item[0], _imported(*item)), specs.items())
        return dict(found)


def _triggers() -> set[str]:
    return {
        logical_id
        for logical_id, spec in Stack().functions().items()
        if spec.sources and spec.sources[0].kind == "Cognito"
    }


def test_no_handler_imports_the_resolvers_and_events_it_does_not_use(imports: dict[str, set[str]]) -> None:
    loaded = {logical_id: sorted(m for m in NEVER if m in modules) for logical_id, modules in imports.items()}
    assert {k: v for k, v in loaded.items() if v} == {}


def test_the_cognito_triggers_stay_light(imports: dict[str, set[str]]) -> None:
    triggers = _triggers()
    assert len(triggers) == 6
    heavy = {}
    for logical_id in triggers:
        # PreSignUp too: it checks that the member's plan is on file without parsing it.
        found = sorted(m for m in TRIGGER_NEVER if m in imports[logical_id])
        if found:
            heavy[logical_id] = found
    assert heavy == {}


def test_the_lazy_packages_still_offer_every_name() -> None:
    """A deferred package resolves each name of its ``__all__`` to the same object its real init gives."""
    describe = """
def describe(module, names):
    return {name: f"{getattr(getattr(module, name), '__module__', '')}.{name}" for name in sorted(names)}
"""
    code = (
        describe
        + """
import json, importlib, sys
import portal_common
from portal_common.lazy_packages import DEFERRED
names = {}
for package in DEFERRED:
    module = sys.modules[package]
    names[package] = describe(module, module.__all__)
print(json.dumps(names))
"""
    )
    reference = (
        describe
        + """
import json, importlib, sys
DEFERRED = json.loads(sys.argv[1])  # portal_common is not imported: the packages' real inits run
names = {}
for package in DEFERRED:
    module = importlib.import_module(package)
    names[package] = describe(module, module.__all__)
print(json.dumps(names))
"""
    )
    from portal_common.lazy_packages import DEFERRED

    environment = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "common")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", source, json.dumps(DEFERRED)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for source in (code, reference)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    lazy, real = (json.loads(run.stdout) for run in runs)
    assert all(real[package] for package in real)
    assert lazy == real


def test_reexports_are_read_from_the_package_init() -> None:
    from portal_common.lazy_packages import _reexports

    source = (
        "from .alb_event import ALBEvent\n"
        "from pkg.sub.api import (\n    A,\n    B as C,  # note\n)\n"
        "from other.place import D\n"
        "from . import sibling\n"
    )
    assert _reexports("pkg.sub", source) == {"ALBEvent": "pkg.sub.alb_event", "A": "pkg.sub.api", "C": "pkg.sub.api"}
