"""The whole stack in this process under moto, as the tests, benches and worked examples use it.

One place for the fake account, the stack built from template.yaml and the demo data, so that
every in-process run starts from the same state the ``aws``/``seeded`` test fixtures give.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local.cfn import Stack

REGION = "ca-central-1"


def use_fake_aws_environment(**extra_variables: str) -> None:
    """Fake credentials in ca-central-1 and no endpoint or profile, so nothing reaches a real account."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name == "AWS_PROFILE":
            del os.environ[name]
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            **extra_variables,
        }
    )


def reset_process_caches() -> None:
    """Forget cached settings, clients and plans: they belong to the previous stack or environment."""
    from portal_common import aws_clients, config, plans

    config.get_settings.cache_clear()
    aws_clients.reset_clients()
    plans.clear_plan_cache()


def create_stack(setenv: Callable[[str, str], object] = os.environ.__setitem__) -> Stack:
    """Create template.yaml's resources (inside ``moto.mock_aws()``) and give this process the
    functions' environment; ``setenv`` lets pytest's monkeypatch undo it."""
    from local.cfn import Stack

    stack = Stack()
    stack.create()
    for name, value in stack.environment().items():
        setenv(name, value)
    reset_process_caches()
    return stack


def seed_plans_and_demo_roster() -> None:
    """Load the repository's plans and the demo roster into the stack's tables."""
    from local.seed_roster import load_plans_from_repo, read_demo_roster
    from portal_common.roster import parse_roster
    from portal_common.roster_store import write_plans, write_roster

    repo_plans = load_plans_from_repo()
    write_plans(repo_plans)
    write_roster(parse_roster(read_demo_roster(), known_plans={p.plan_id for p in repo_plans}))
