"""``make bench``: run every ``bench/bench_*.py`` module's ``main()`` in turn."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main() -> int:
    names = sorted(info.name for info in pkgutil.iter_modules([str(BENCH_DIR)]) if info.name.startswith("bench_"))
    failures = 0
    for name in names:
        print(f"\n{'=' * 78}\n{name}\n{'=' * 78}", flush=True)
        started = time.monotonic()
        try:
            result = importlib.import_module(f"bench.{name}").main()
            if isinstance(result, int) and result != 0:
                failures += 1
        except Exception:
            traceback.print_exc()
            failures += 1
        print(f"({name}: {time.monotonic() - started:.1f} s)", flush=True)
    if not names:
        print("no bench/bench_*.py module")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
