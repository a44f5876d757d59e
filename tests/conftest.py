"""Fixtures shared by every test level."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# No test ever talks to a real AWS account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "ca-central-1",
        "AWS_REGION": "ca-central-1",
        "POWERTOOLS_DEV": "false",
    }
)
for _name in list(os.environ):
    if _name.startswith("AWS_ENDPOINT_URL") or _name == "AWS_PROFILE":
        del os.environ[_name]


def reset_process_caches() -> None:
    """Forget cached settings, clients and plans (each test builds its own resources)."""
    from portal_common import aws_clients, config, plans

    config.get_settings.cache_clear()
    aws_clients.reset_clients()
    plans.clear_plan_cache()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """moto in-process with every stateful resource of template.yaml created from the template,
    and the functions' environment variables set."""
    from moto import mock_aws

    from local.cfn import Stack

    with mock_aws():
        stack = Stack()
        stack.create()
        for name, value in stack.environment().items():
            monkeypatch.setenv(name, value)
        reset_process_caches()
        yield stack
    reset_process_caches()


@pytest.fixture
def seeded(aws: object) -> object:
    """``aws`` with the repository's plans and the demo roster loaded."""
    from portal_common.roster import parse_roster
    from portal_common.roster_store import write_plans, write_roster
    from tools.import_roster import load_plans_from_repo

    plans = load_plans_from_repo()
    write_plans(plans)
    text = (ROOT / "data" / "roster" / "demo-roster.csv").read_text(encoding="utf-8")
    write_roster(parse_roster(text, known_plans={p.plan_id for p in plans}))
    return aws
