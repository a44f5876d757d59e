"""The served OpenAPI document is exact without a token too: schemathesis, all checks, every operation.

Its own module (and so its own local stack, the ``own_stack`` fixture of
``test_openapi_conformance.py``, module-scoped) so that ``make test``'s pytest-xdist workers
(``--dist loadfile``) run it beside the run with a member's token instead of after it. Same bounds,
seed and rules as that module.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import LocalStackProcess
from tests.e2e.test_openapi_conformance import _assert_clean, own_stack, run_schemathesis

__all__ = ["own_stack"]  # the module-scoped fixture, used here by name


def test_schemathesis_without_a_token(own_stack: LocalStackProcess, tmp_path: Path) -> None:
    _assert_clean(own_stack, run_schemathesis(own_stack, tmp_path))
