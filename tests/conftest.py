"""Fixtures shared by every test level."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from local.cfn import Stack
from local.inprocess_aws import create_stack, reset_process_caches, use_fake_aws_environment
from tests import moto_speedups

# One botocore loader per process and moto's pool signing key imported once (tests/moto_speedups.py).
moto_speedups.install()

# No test ever talks to a real AWS account.
use_fake_aws_environment(POWERTOOLS_DEV="false")
# The functions check their settings when imported (as at a Lambda cold start): give this process
# the environment template.yaml gives them, with the names the ``aws`` fixture's stack will use.
os.environ.update(Stack().environment())

# Property tests judge results, never wall-clock time: on a loaded 2-core machine Hypothesis's default
# 200 ms deadline and its too-slow health check fail tests whose properties hold. A test's own
# ``@settings`` still chooses its number of examples.
settings.register_profile("portal", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("portal")


# The longest files start first, so that make test's workers end together (longest first; make
# test passes --no-loadscope-reorder, or pytest-xdist would order the files by their number of tests):
# the two schemathesis runs and the drugs journey (its own stack with the whole drug extract),
# then the other e2e files, then integration, then unit.
LONGEST_FIRST = (
    "tests/e2e/test_openapi_conformance.py",
    "tests/e2e/test_openapi_conformance_anonymous.py",
    "tests/e2e/test_drugs_journey.py",
)
_LEVELS = ("tests/e2e/", "tests/integration/", "tests/unit/")


def _start_rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    if path in LONGEST_FIRST:
        return LONGEST_FIRST.index(path)
    level = next((i for i, prefix in enumerate(_LEVELS) if path.startswith(prefix)), len(_LEVELS))
    return len(LONGEST_FIRST) + level


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the run longest files first (stable: a file's tests keep their order)."""
    items.sort(key=_start_rank)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported (boto3's service models, moto, pydantic, Powertools: hundreds of
    thousands of objects) lives as long as the process: move it out of the garbage collector's
    sight, so that each full collection (and pytest's five at the end of a session) costs only what
    the tests themselves allocate."""
    gc.collect()
    gc.freeze()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """moto in-process with every stateful resource of template.yaml created from the template,
    and the functions' environment variables set."""
    from moto import mock_aws

    with mock_aws():
        yield create_stack(setenv=monkeypatch.setenv)
    reset_process_caches()


@pytest.fixture
def seeded(aws: Stack) -> Stack:
    """``aws`` with the repository's plans and the demo roster loaded (the first test of a process
    through the functions' code, the later ones from its result: ``moto_speedups.seed``)."""
    moto_speedups.seed(aws)
    return aws
