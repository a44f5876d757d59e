"""The served OpenAPI document is exact: schemathesis, with all its checks, over every operation,
with and without a member's token, against a local stack of its own (its fuzzing trips the
sign-in throttles of 127.0.0.1, which would slow the other journeys of the session).

Bounded by examples: one pass of each phase (examples, coverage, fuzzing, stateful) with
``SCHEMATHESIS_MAX_EXAMPLES`` generated cases per operation (default 6, on top of the coverage
phase's boundary cases, which do not depend on it: every operation gets its missing, wrong-typed and
out-of-range values whatever the budget): about 2,100 cases and 50 s per run. A deeper run:
``SCHEMATHESIS_MAX_TIME=600`` (seconds per run; schemathesis then repeats the fuzzing and stateful
phases with new cases until the time is spent: with a time budget the run always lasts that long,
which is why ``make test`` sets none) and/or a larger ``SCHEMATHESIS_MAX_EXAMPLES``. The rules the
document cannot say are in
``tests/e2e/schemathesis.toml``, each with its reason. The run without a token is its own module,
``test_openapi_conformance_anonymous.py`` (its own stack, so ``make test``'s workers run the two
side by side). Run both with
``.venv/bin/python -m pytest tests/e2e/test_openapi_conformance.py tests/e2e/test_openapi_conformance_anonymous.py -q``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalStackProcess

HERE = Path(__file__).parent
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "6")
# Unset: one pass of each phase. Set, schemathesis fills the budget (a run always lasts that long).
MAX_TIME = os.environ.get("SCHEMATHESIS_MAX_TIME", "")
MEMBER = "david.chen@example.com"


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    process = LocalStackProcess(tmp_path_factory.mktemp("schemathesis-stack"))
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def run_schemathesis(stack: LocalStackProcess, workdir: Path, *headers: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{stack.url}/v1/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        MAX_EXAMPLES,
        *(["--max-time", MAX_TIME] if MAX_TIME else []),
        "--seed",
        "20261130",
        "--workers",
        "1",
        "--no-shrink",
        "--output-truncate",
        "true",
        "--report",
        "junit",
        "--report-dir",
        str(workdir),
    ]
    for header in headers:
        command += ["--header", header]
    return subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=int(MAX_TIME or 0) + 600, check=False
    )


def _assert_clean(stack: LocalStackProcess, result: subprocess.CompletedProcess[str]) -> None:
    document = stack.get("/v1/openapi.json").json()
    operations = sum(len(methods) for methods in document["paths"].values())
    assert result.returncode == 0, f"schemathesis found failures:\n{result.stdout[-20000:]}\n{result.stderr[-3000:]}"
    assert f"Tested: {operations}" in result.stdout, result.stdout[-6000:]


def test_schemathesis_with_a_members_token(own_stack: LocalStackProcess, tmp_path: Path) -> None:
    token = own_stack.sign_in(MEMBER)["idToken"]
    _assert_clean(own_stack, run_schemathesis(own_stack, tmp_path, f"Authorization: Bearer {token}"))
