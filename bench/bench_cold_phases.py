"""Where a cold start's time goes, phase by phase, beside the baseline's own phases (CPU time).

The same runs as ``bench_cold_start`` (a fresh interpreter per run, the function's realistic first
event against moto, each run paired with a baseline run), but each interpreter notes the CPU time
at each step: importing botocore, the rest of the handler's imports, the botocore session, each
client created (by service) and each AWS call (by operation), and the rest of the invocation.
Medians over the runs, in CPU milliseconds (less disturbed by other processes than wall-clock
time). botocore is imported first in the measured interpreter (the functions use its clients, not
the boto3 package), so "handler imports" is what the function adds to it; the baseline imports
boto3 and creates its session and client as the baseline does (plain boto3).

    python -m bench.bench_cold_phases [--runs 5] [--function CreateAuthChallengeFunction ...]

Without ``--function``: the Cognito triggers (issue 14's 1.1x target, docs/performance.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

from bench import bench_cold_start

_PHASES = (
    r"""
import time
marks = [("start", time.process_time())]
def mark(name):
    marks.append((name, time.process_time()))
import importlib, json, sys
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["paths"]
with open(spec["eventFile"], encoding="utf-8") as handle:
    event = json.load(handle)
started = time.perf_counter()
cpu_started = time.process_time()
import botocore.session
mark("import botocore")
module = importlib.import_module(spec["module"])
handler = getattr(module, spec["handler"])
mark("handler imports")
import botocore.client
from portal_common import aws_clients
calling = botocore.client.BaseClient._make_api_call
def call(client, operation, params):
    mark("(handler code)")
    try:
        return calling(client, operation, params)
    finally:
        mark("call " + operation)
botocore.client.BaseClient._make_api_call = call
new_session = aws_clients._new_session
def session():
    mark("(handler code)")
    made = new_session()
    mark("session")
    return made
aws_clients._new_session = session
creating = botocore.session.Session.create_client
def client(self, service, *args, **kwargs):
    mark("(handler code)")
    made = creating(self, service, *args, **kwargs)
    mark("client " + service)
    return made
botocore.session.Session.create_client = client
"""
    + bench_cold_start._CONTEXT
    + r"""outcome = "ok"
try:
    handler(event, Context())
except Exception as error:
    outcome = type(error).__name__
mark("(handler code)")
phases = {}
for (_, before), (name, after) in zip(marks, marks[1:]):
    phases[name] = phases.get(name, 0.0) + (after - before) * 1000
total = time.perf_counter() - started
print("BENCH " + json.dumps({"import": 0, "first": 0, "total": total, "outcome": outcome,
                            "cpu": time.process_time() - cpu_started, "rssKb": 0, "phases": phases}))
"""
)

_BASELINE_PHASES = r"""
import time
marks = [("start", time.process_time())]
started = time.perf_counter()
import boto3
marks.append(("import boto3", time.process_time()))
session = boto3.session.Session()
marks.append(("session", time.process_time()))
session.client("dynamodb", region_name="ca-central-1")
marks.append(("client dynamodb", time.process_time()))
import json
phases = {name: (after - before) * 1000 for (_, before), (name, after) in zip(marks, marks[1:])}
print("BENCH " + json.dumps({"total": time.perf_counter() - started, "cpu": marks[-1][1] - marks[0][1],
                            "rssKb": 0, "phases": phases}))
"""


def _triggers() -> list[str]:
    from local.cfn import Stack

    return sorted(k for k, spec in Stack().functions().items() if spec.sources and spec.sources[0].kind == "Cognito")


def _medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    names = list(dict.fromkeys(name for run in runs for name in run["phases"]))
    return {name: statistics.median(run["phases"].get(name, 0.0) for run in runs) for name in names}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--function", action="append", help="only these logical ids")
    args = parser.parse_args(argv if argv is not None else [])
    functions = args.function or _triggers()
    raw: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    bench_cold_start.measure(
        functions, args.runs, report=lambda line: None, scripts=(_PHASES, _BASELINE_PHASES), raw=raw
    )
    for logical_id, runs in raw.items():
        baseline = _medians([base for base, _ in runs])
        function = _medians([measured for _, measured in runs])
        base_total = statistics.median(base["cpu"] for base, _ in runs) * 1000
        total = statistics.median(measured["cpu"] for _, measured in runs) * 1000
        print(f"{logical_id}: {total:.0f} ms CPU, paired baseline {base_total:.0f} ms ({total / base_total:.2f}x)")
        print(f"  {'phase':<40}{'function':>9}{'baseline':>9}")
        for name in list(dict.fromkeys([*function, *baseline])):
            mine, theirs = function.get(name), baseline.get(name)
            print(
                f"  {name:<40}{'' if mine is None else f'{mine:.1f}':>9}{'' if theirs is None else f'{theirs:.1f}':>9}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
