"""``make import-roster FILE=path.csv``: load an eligibility file (and the plans) into the members table.

Against the running local stack by default (its endpoint and table names are read from
``.local-stack/stack.json``); against AWS when ``--aws`` is given, with the environment's
credentials and the ``MEMBERS_TABLE`` variable.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from local.run import use_running_stack
from local.seed_roster import load_plans_from_repo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path, help="eligibility CSV")
    parser.add_argument("--aws", action="store_true", help="use the real AWS account of the environment")
    args = parser.parse_args(argv)
    if not args.aws and not use_running_stack():
        return 2
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
