"""Fixtures shared by every test level."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from local.cfn import Stack
from local.inprocess_aws import create_stack, reset_process_caches, seed_plans_and_demo_roster, use_fake_aws_environment

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


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """moto in-process with every stateful resource of template.yaml created from the template,
    and the functions' environment variables set."""
    from moto import mock_aws

    with mock_aws():
        yield create_stack(setenv=monkeypatch.setenv)
    reset_process_caches()


@pytest.fixture
def seeded(aws: object) -> object:
    """``aws`` with the repository's plans and the demo roster loaded."""
    seed_plans_and_demo_roster()
    return aws
