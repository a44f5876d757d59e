"""``make import-roster FILE=path.csv``: load an eligibility file (and the plans) into the members table.

Against the running local stack by default (its endpoint and table names are read from
``.local-stack/stack.json``); against AWS when ``--aws`` is given, with the environment's
credentials and the ``MEMBERS_TABLE`` variable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".local-stack" / "stack.json"


def load_plans_from_repo() -> list:  # type: ignore[type-arg]
    """Every plan under ``data/plans`` (validated)."""
    from portal_common.plans import Plan

    return [
        Plan.model_validate_json(p.read_text(encoding="utf-8"))
        for p in sorted((ROOT / "data" / "plans").glob("*.json"))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path, help="eligibility CSV")
    parser.add_argument("--aws", action="store_true", help="use the real AWS account of the environment")
    args = parser.parse_args(argv)
    if not args.aws:
        if not STATE.exists():
            print("The local stack is not running (start it with `make run`).", file=sys.stderr)
            return 2
        state = json.loads(STATE.read_text())
        os.environ.update(state["environment"])
    from portal_common.plans import Plan  # noqa: F401 - imported after the environment is set
    from portal_common.roster import parse_roster
    from portal_common.roster_store import write_plans, write_roster

    plans = load_plans_from_repo()
    write_plans(plans)
    parsed = parse_roster(args.file.read_text(encoding="utf-8-sig"), known_plans={p.plan_id for p in plans})
    report = write_roster(parsed)
    for error in report.errors:
        print(f"line {error.line}: skipped ({'; '.join(error.reasons)})")
    print(f"{report.certificates} certificates, {report.persons} persons imported; {len(report.errors)} lines skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
