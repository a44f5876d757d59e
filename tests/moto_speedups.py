"""Process-wide caches for the integration tests' per-test moto stacks (what they share is
read-only, so no test sees another's state).

Every ``aws`` fixture creates template.yaml's resources in a fresh ``mock_aws`` and then forgets the
functions' boto3 clients and session (``reset_process_caches``: each test has its own environment).
Two costs of that were the same work redone for every test, about a third of an integration
test's CPU:

- a new botocore session parses the service models and the endpoint rules again from botocore's
  JSON files: sessions now share one loader (botocore's own per-instance cache of parsed files),
  and the functions' sessions one ``aws_clients.ServiceLoader`` made from it;
- the plans and the demo roster (the ``seeded`` fixture) were written through the functions' code
  for every test (about 0.2 CPU-s, most of it moto parsing a roster member's update expressions):
  the first test of a process still does that, the later ones get the items it wrote put straight
  into their own moto's members table (:func:`seed`);
- moto's ``CreateUserPool`` imports the one RSA key it signs every pool's tokens with (a key moto
  ships, the same for every pool) and recomputes its primes: the imported key is kept.

Installed by ``tests/conftest.py`` for every test process; the local stack's own process does not
need it (it creates one stack).
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

_installed: list[bool] = []
_lock = threading.Lock()


class _UniquePaths(list[str]):
    """A search path list that ignores a path it already holds."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


_shared_loaders: dict[str | None, Any] = {}


def _share_botocore_loaders() -> None:
    import botocore.loaders
    import botocore.session

    original = botocore.loaders.create_loader
    loaders = _shared_loaders

    def create_loader(search_path_string: str | None = None) -> Any:
        with _lock:
            if search_path_string not in loaders:
                loader = original(search_path_string)
                # Every boto3 Session appends boto3's data folder to its loader's search paths: on a
                # shared loader the list would grow with each session (and each model load search it).
                loader._search_paths = _UniquePaths(loader._search_paths)
                loaders[search_path_string] = loader
            return loaders[search_path_string]

    botocore.session.create_loader = create_loader  # the name Session calls


def _share_service_loaders() -> None:
    """The functions' session loads its data with ``aws_clients.ServiceLoader``, made anew from the
    session's botocore loader for each session: every test's clients parsed their service models
    and endpoint rules again (about 50 ms of CPU per integration test). Made from a shared botocore
    loader, the ServiceLoader is shared too; one made from a loader of its own (a test of the
    loader, a cold process) stays its own."""
    from portal_common.aws_clients import ServiceLoader

    original = ServiceLoader.like
    made: dict[int, Any] = {}

    def like(loader: Any) -> Any:
        if not any(loader is shared for shared in _shared_loaders.values()):
            return original(loader)
        with _lock:
            if id(loader) not in made:
                service_loader = original(loader)
                service_loader._search_paths = _UniquePaths(service_loader._search_paths)
                made[id(loader)] = service_loader
            return made[id(loader)]

    ServiceLoader.like = staticmethod(like)  # type: ignore[method-assign]


def _keep_moto_signing_key() -> None:
    from types import SimpleNamespace

    from joserfc import jwk
    from moto.cognitoidp import models

    imported: dict[str, Any] = {}

    def import_key(data: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(data, dict | str):
            return jwk.RSAKey.import_key(data, *args, **kwargs)
        key = data if isinstance(data, str) else json.dumps(data, sort_keys=True)
        with _lock:
            if key not in imported:
                imported[key] = jwk.RSAKey.import_key(data)
            return imported[key]

    # moto's models module calls ``jwk.RSAKey.import_key`` for each new pool and nothing else of jwk.
    models.jwk = SimpleNamespace(RSAKey=SimpleNamespace(import_key=import_key))  # type: ignore[assignment]


# The members table's items after this process's first seed (DynamoDB JSON), for the later tests.
_seed_items: list[dict[str, Any]] = []


def _members_table(stack: Any) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    from portal_common.config import get_settings

    return dynamodb_backends[stack.account_id][stack.region].get_table(get_settings().members_table)


def seed(stack: Any) -> None:
    """Load the repository's plans and the demo roster into ``stack`` (created in the current
    ``mock_aws``). The first call of a process writes them with the functions' own code
    (``write_plans``, ``write_roster``) and keeps the items written; later calls put those items
    into moto's members table: the only table that load writes; it has no stream and its items hold
    no time (``test_the_seeded_fixture_puts_what_the_seed_writes`` compares both ways)."""
    from local.inprocess_aws import seed_plans_and_demo_roster

    table = _members_table(stack)
    if not _seed_items:
        seed_plans_and_demo_roster()
        _seed_items.extend(copy.deepcopy(item.to_json()["Attributes"]) for item in table.all_items())
    else:
        put_seed_items(stack)


def put_seed_items(stack: Any) -> None:
    """Put the first seed's items into ``stack``'s members table (moto, in this process)."""
    table = _members_table(stack)
    for attributes in _seed_items:
        table.put_item(copy.deepcopy(attributes))


def install() -> None:
    """Install both caches once per process."""
    if not _installed:
        _share_botocore_loaders()
        _share_service_loaders()
        _keep_moto_signing_key()
        _installed.append(True)
