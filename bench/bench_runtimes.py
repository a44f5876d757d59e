"""Cold starts on Python 3.11, 3.12 and 3.13: the runtime question of issue 14, measured.

For each version, a virtual environment outside the repository (``~/.cache/member-portal/bench``,
or ``$BENCH_VENV_DIR``) holds only what Lambda would have: ``requirements/runtime.txt`` (boto3,
Powertools, pydantic), none of the development tools. ``bench.bench_cold_start`` then measures
every function with that interpreter, each run paired with a baseline run of the same interpreter,
and this prints one table: each function's cold start and ratio per version.

The interpreters are looked up in pyenv's versions (``$PYENV_ROOT``, default ``~/.pyenv``),
then as ``python3.X`` on ``PATH``; a version that is not installed is reported and skipped.

    python -m bench.bench_runtimes [--runs 3] [--version 3.12 ...] [--function ClaimsApiFunction ...]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench import bench_cold_start

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ("3.11", "3.12", "3.13")
REQUIREMENTS = ROOT / "requirements" / "runtime.txt"


def find_python(version: str) -> str | None:
    """An interpreter of ``version``: pyenv's newest ``3.X.*``, else a working ``python3.X`` on PATH."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(
        (p for p in pyenv.glob(f"{version}.*") if (p / "bin" / f"python{version}").exists()),
        key=lambda p: [int(part) if part.isdigit() else 0 for part in p.name.split(".")],
    )
    if candidates:
        return str(candidates[-1] / "bin" / f"python{version}")
    found = shutil.which(f"python{version}")  # a pyenv shim of an inactive version exits non-zero
    if found and subprocess.run([found, "-c", "pass"], capture_output=True, check=False).returncode == 0:
        return found
    return None


def runtime_venv(version: str, python: str) -> str:
    """The venv of ``version`` with exactly ``requirements/runtime.txt`` (rebuilt when it changes)."""
    base = Path(os.environ.get("BENCH_VENV_DIR", Path.home() / ".cache" / "member-portal" / "bench"))
    venv = base / f"py{version}"
    stamp = venv / ".requirements-sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    interpreter = venv / "bin" / "python"
    if not interpreter.exists() or not stamp.exists() or stamp.read_text() != wanted:
        print(f"(creating {venv}: Python {version} with requirements/runtime.txt)", flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        installed = subprocess.run(
            [
                str(interpreter),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(REQUIREMENTS),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if installed.returncode != 0:  # pip's output only when it failed (it warns about absent mirrors)
            print(installed.stdout[-3000:], installed.stderr[-3000:], sep="\n")
            installed.check_returncode()
        stamp.write_text(wanted)
    return str(interpreter)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNTIME_RUNS", "3")))
    parser.add_argument("--version", action="append", help="only these Python versions (3.12 ...)")
    parser.add_argument("--function", action="append", help="only these logical ids")
    args = parser.parse_args(argv if argv is not None else [])
    results: dict[str, tuple[dict[str, float], list[bench_cold_start.Figure]]] = {}
    for version in args.version or VERSIONS:
        python = find_python(version)
        if python is None:
            print(f"Python {version}: not installed here, skipped")
            continue
        interpreter = runtime_venv(version, python)
        print(f"Python {version} ({interpreter}), {args.runs} paired runs per function...", flush=True)
        results[version] = bench_cold_start.measure(args.function, args.runs, interpreter, report=lambda line: None)
    if not results:
        return 1
    versions = list(results)
    print(
        f"\nruntime-only venvs (requirements/runtime.txt); medians of {args.runs} paired runs; load average "
        f"{os.getloadavg()[0]:.1f}; cells: cold ms / x its own baseline / import ms"
    )
    print(f"{'function':<32}" + "".join(f"{'Python ' + v:>24}" for v in versions))
    print(f"{'baseline (boto3 + client)':<32}" + "".join(f"{results[v][0]['total']:>14.0f}{'':>10}" for v in versions))
    by_version = {v: {f.logical_id: f for f in results[v][1]} for v in versions}
    names = sorted(set().union(*(by_version[v] for v in versions)))
    for name in names:
        cells = []
        for v in versions:
            f = by_version[v].get(name)
            cells.append(f"{'-':>24}" if f is None else f"{f.total_ms:>10.0f} {f.ratio:>5.2f}x {f.import_ms:>6.0f}")
        print(f"{name:<32}" + "".join(cells))
    for v in versions:
        figures = results[v][1]
        if figures:
            total = sum(f.total_ms for f in figures)
            print(
                f"Python {v}: sum of cold starts {total:.0f} ms, median ratio "
                f"{sorted(f.ratio for f in figures)[len(figures) // 2]:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
