"""The structure rules of docs/conventions.md, checked on the source so they cannot drift.

- one clock: only ``portal_common/clock.py`` reads the wall clock;
- one place for settings: only ``portal_common/config.py`` reads ``os.environ``;
- claim intake (``functions/claims``) and claim processing (``functions/claim_processing``) never
  import each other (they are separate Lambda code folders; what both need is in the layer);
- module names are unique across the function folders and the layer (every folder is on
  ``sys.path``, as in Lambda);
- the settings fail at cold start, by name, when template.yaml would not give them.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from local.cfn import Stack
from portal_common import clock
from portal_common.config import ConfigurationError, load_settings, local_clock_offset

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [ROOT / "functions", ROOT / "layers" / "common" / "portal_common"]


def _modules() -> list[Path]:
    return sorted(p for base in PRODUCT for p in base.rglob("*.py"))


def _calls(tree: ast.AST) -> set[str]:
    """Dotted names of every attribute access (``os.environ``, ``datetime.now``, ``time.time``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            found.add(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in {"os", "time"}:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


WALL_CLOCK = {"datetime.now", "datetime.utcnow", "datetime.today", "date.today", "time.time", "time.time_ns"}
ENVIRONMENT = {"os.environ", "os.getenv", "os.putenv"}


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_calls(ast.parse(path.read_text())) & WALL_CLOCK)
        for path in _modules()
        if path.name != "clock.py"
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_settings_module_reads_the_environment() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_calls(ast.parse(path.read_text())) & ENVIRONMENT)
        for path in _modules()
        if path.name != "config.py"
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def _imported_top_level(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(("folder", "other"), [("claims", "claim_processing"), ("claim_processing", "claims")])
def test_claim_intake_and_processing_never_import_each_other(folder: str, other: str) -> None:
    theirs = {p.stem for p in (ROOT / "functions" / other).glob("*.py")}
    crossing = {p.name: sorted(_imported_top_level(p) & theirs) for p in (ROOT / "functions" / folder).glob("*.py")}
    assert {k: v for k, v in crossing.items() if v} == {}


def test_module_names_are_unique_across_function_folders_and_the_layer() -> None:
    seen: dict[str, Path] = {}
    clashes = []
    for folder in [*(ROOT / "functions").iterdir(), ROOT / "layers" / "common"]:
        for path in folder.glob("*.py") if folder.is_dir() else []:
            if path.stem in seen:
                clashes.append((path.stem, str(seen[path.stem]), str(path)))
            seen[path.stem] = path
        for package in folder.iterdir() if folder.is_dir() else []:
            if (package / "__init__.py").exists():
                if package.name in seen:
                    clashes.append((package.name, str(seen[package.name]), str(package)))
                seen[package.name] = package
    assert clashes == []


# ---------------------------------------------------------------- settings


def test_every_function_gets_the_settings_it_checks_from_the_template() -> None:
    """Each function's environment in template.yaml passes the cold-start check its handler makes."""
    needs = {
        "AuthApiFunction": ("user_pool_id", "user_pool_client_id"),
        "ClaimsApiFunction": ("cursor_secret",),
        "DrugsApiFunction": ("cursor_secret",),
    }
    functions = Stack().functions()
    for name, spec in functions.items():
        load_settings(spec.environment).require(*needs.get(name, ()))
    paging = {n for n, spec in functions.items() if "CURSOR_SECRET" in spec.environment}
    assert paging == {"ClaimsApiFunction", "DrugsApiFunction"}  # least privilege: only they page


def test_a_missing_variable_is_named() -> None:
    environment = dict(Stack().functions()["ClaimsApiFunction"].environment)
    del environment["MEMBERS_TABLE"]
    with pytest.raises(ConfigurationError, match="MEMBERS_TABLE is not set"):
        load_settings(environment)
    environment = dict(Stack().functions()["ClaimsApiFunction"].environment)
    environment["CURSOR_SECRET"] = ""
    with pytest.raises(ConfigurationError, match="CURSOR_SECRET is not set"):
        load_settings(environment).require("cursor_secret")
    with pytest.raises(ConfigurationError, match="AUTH_RESPONSE_FLOOR_MS"):
        load_settings({**environment, "AUTH_RESPONSE_FLOOR_MS": "fast"})
    for bad in ("[1, 2]", '{"login": {"window": 0}}', '{"login": {"ip": -1}}', '{"login": {"email": "many"}}'):
        with pytest.raises(ConfigurationError, match="AUTH_THROTTLE_LIMITS"):
            load_settings({**environment, "AUTH_THROTTLE_LIMITS": bad})
    limits = load_settings({**environment, "AUTH_THROTTLE_LIMITS": '{"login": {"ip": 3, "window": 60}}'})
    assert limits.auth_throttle_limits == {"login": {"ip": 3, "window": 60}}


def test_a_handler_without_its_settings_fails_its_cold_start_by_name() -> None:
    """Importing a handler is its cold start: without the secret it refuses to start, and says why."""
    environment = {**os.environ, **Stack().functions()["ClaimsApiFunction"].environment}
    environment.pop("CURSOR_SECRET")
    # As in Lambda: the function's code folder and the layer, nothing else.
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions" / "claims"), str(ROOT / "layers" / "common")])
    done = subprocess.run(
        [sys.executable, "-c", "import claims_api"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "ConfigurationError: CURSOR_SECRET is not set" in done.stderr


def test_the_template_generates_the_cursor_secret_and_no_code_defaults_it() -> None:
    stack = Stack()
    assert stack.of_type("AWS::SecretsManager::Secret").keys() == {"CursorSecret"}
    secret = stack.functions()["ClaimsApiFunction"].environment["CURSOR_SECRET"]
    assert len(secret) >= 32
    assert Stack().functions()["ClaimsApiFunction"].environment["CURSOR_SECRET"] != secret  # generated per stack


# ---------------------------------------------------------------- clock


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (datetime(2026, 12, 1, 2, 29, tzinfo=UTC), date(2026, 11, 30)),  # 23:59 in St. John's (summer time)
        (datetime(2026, 12, 1, 2, 30, tzinfo=UTC), date(2026, 12, 1)),
        (datetime(2026, 12, 1, 7, 59, tzinfo=UTC), date(2026, 12, 1)),  # 23:59 Nov 30 in Vancouver
    ],
)
def test_today_is_the_latest_date_anywhere_in_canada(instant: datetime, expected: date) -> None:
    assert clock.today(instant) == expected


def test_the_local_offset_moves_the_clock_only_in_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_CLOCK_OFFSET_SECONDS", "86400")
    monkeypatch.delenv("PORTAL_LOCAL_STACK", raising=False)
    assert local_clock_offset() == 0.0
    before = clock.epoch_seconds()
    monkeypatch.setenv("PORTAL_LOCAL_STACK", "1")
    assert local_clock_offset() == 86400.0
    assert clock.epoch_seconds() - before >= 86400
    assert clock.now_iso().endswith("Z")


def test_the_receipt_check_loads_no_model_library() -> None:
    """The S3-triggered check reads and writes receipts only: its cold start stays near boto3's."""
    environment = {**os.environ, **Stack().functions()["ReceiptCheckFunction"].environment}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions" / "claims"), str(ROOT / "layers" / "common")])
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, receipt_check; print(sorted({'pydantic', 'claims_models'} & set(sys.modules)))",
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
