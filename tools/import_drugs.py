"""``make import-drugs``: load the DPD extract (and BC PharmaCare prices) into the drugs table.

Against the running local stack by default (endpoint and table names from
``.local-stack/stack.json``); against AWS with ``--aws`` (the environment's credentials and
``DRUGS_TABLE``). Re-running it writes only what changed; drugs gone from the extract are marked
``NOT_MARKETED``. Malformed rows are printed (file, line, reason) and skipped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from local.run import use_running_stack

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXTRACT = ROOT / "data" / "drugs" / "dpd-allfiles.zip"
DEFAULT_PRICES = ROOT / "data" / "drugs" / "bc-pharmacare-prices.csv.gz"


def _ensure_path() -> None:
    folder = str(ROOT / "functions" / "drugs")
    if folder not in sys.path:
        sys.path.insert(0, folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--extract", type=Path, default=DEFAULT_EXTRACT, help="DPD allfiles.zip")
    parser.add_argument("--prices", type=Path, default=DEFAULT_PRICES, help="derived BC PharmaCare prices")
    parser.add_argument("--no-prices", action="store_true", help="import without BC PharmaCare prices")
    parser.add_argument("--aws", action="store_true", help="use the real AWS account of the environment")
    args = parser.parse_args(argv)
    if not args.aws and not use_running_stack():
        return 2
    _ensure_path()
    from dpd_extract import load_prices, parse_extract
    from drug_catalog_import import write_catalog

    started = time.monotonic()
    parsed = parse_extract(args.extract)
    prices = {} if args.no_prices else load_prices(args.prices)
    last = [-1.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] > 1:
            last[0] = now
            print(f"\r  writing {done}/{total} items", end="", flush=True)

    report = write_catalog(parsed, prices, progress=progress, source=args.extract.name)
    print()
    for error in report.errors:
        print(f"{error.file} line {error.line}: skipped ({error.reason})")
    print(f"{report.summary()} (total {time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
