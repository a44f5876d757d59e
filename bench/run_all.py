"""``make bench``: run every ``bench/bench_*.py`` module, each in a fresh interpreter.

Each bench sets up its own moto, environment and cached clients; a fresh process per bench keeps
one bench's state (endpoints, caches, patched modules) from leaking into the next, and means the
cold-start bench really starts cold.
"""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


def main() -> int:
    names = sorted(info.name for info in pkgutil.iter_modules([str(BENCH_DIR)]) if info.name.startswith("bench_"))
    selected = set(sys.argv[1:])
    failures = 0
    for name in names:
        if selected and name not in selected:
            continue
        print(f"\n{'=' * 78}\n{name}\n{'=' * 78}", flush=True)
        started = time.monotonic()
        code = f"import sys, bench.{name} as b; r = b.main(); sys.exit(r if isinstance(r, int) else 0)"
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=os.environ.copy(), check=False)
        if result.returncode != 0:
            failures += 1
            print(f"({name} failed with exit code {result.returncode})", flush=True)
        print(f"({name}: {time.monotonic() - started:.1f} s)", flush=True)
    if not names:
        print("no bench/bench_*.py module")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
