"""Drug search and coverage: cost per request with 1,000 drugs and with the whole extract loaded.

Prints, for the same queries against a catalogue of 1,000 products and against all 11,529:
median latency through the handler (moto in-process), DynamoDB calls per request and items read per
request, and their ratios (all vs 1,000; near 1 means the cost does not grow with the table). Also
the time to import the full extract and to re-import it unchanged.

    python -m bench.bench_drugs
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT, ROOT / "layers" / "common", ROOT / "functions" / "drugs"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

EXTRACT = ROOT / "data" / "drugs" / "dpd-allfiles.zip"
PRICES = ROOT / "data" / "drugs" / "bc-pharmacare-prices.csv.gz"
QUERIES = ["atorva", "lipitor", "metformin", "acetaminophene", "apo atorvastatin", "amoxi 500", "02230711"]
REPEAT = 15


def _event(stack: Any, path: str, params: dict[str, str]) -> dict[str, Any]:
    from urllib.parse import urlencode

    from local.api_events import ApiContext, RouteTable, build_event

    match, _ = RouteTable(stack.routes()).match("GET", path)
    assert match is not None
    return build_event(
        api=ApiContext("123456789012", "bench", "v1", "bench.execute-api.ca-central-1.amazonaws.com"),
        match=match,
        method="GET",
        path=path,
        query_string=urlencode(params),
        headers=[("Accept-Language", "fr-CA")],
        body=b"",
        source_ip="203.0.113.1",
        claims={"sub": "s", "custom:contract_number": "G1001", "custom:participant_number": "100001"},
    )


def _copy_table(dynamodb: Any, source: str, name: str) -> None:
    table = dynamodb.describe_table(TableName=source)["Table"]
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
        GlobalSecondaryIndexes=[
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
            for g in table.get("GlobalSecondaryIndexes", [])
        ],
    )


def run() -> dict[str, Any]:
    """Two drugs tables in one moto (all products, and 1,000), requests alternated between them so
    that machine noise hits both alike."""
    import datetime
    import json

    from dpd_extract import ParsedExtract, load_prices, parse_extract
    from drug_catalog_import import write_catalog
    from moto import mock_aws

    from bench.aws_call_counter import AwsCallCounter
    from local.inprocess_aws import create_stack, seed_plans_and_demo_roster
    from local.lambda_runtime import make_context
    from portal_common import config
    from portal_common.aws_clients import client
    from portal_common.members import person_id_for

    with mock_aws():
        stack = create_stack()
        seed_plans_and_demo_roster()
        full_table = os.environ["DRUGS_TABLE"]
        small_table = full_table + "-1k"
        _copy_table(client("dynamodb"), full_table, small_table)

        def use(table: str) -> None:
            os.environ["DRUGS_TABLE"] = table
            config.get_settings.cache_clear()

        parsed = parse_extract(EXTRACT)
        prices = load_prices(PRICES)
        use(full_table)
        started = time.perf_counter()
        full_report = write_catalog(parsed, prices)
        full_import = time.perf_counter() - started
        started = time.perf_counter()
        write_catalog(parsed, prices)
        full_reimport = time.perf_counter() - started

        import drugs_api

        spec = stack.functions()["DrugsApiFunction"]
        marie = person_id_for("G1001", "100001", "SELF", "Marie", datetime.date(1984, 3, 12))
        requests = [(q, "/drugs", {"q": q, "limit": "20"}) for q in QUERIES]
        requests.append(("coverage 02230711", "/drugs/02230711/coverage", {"personId": marie}))

        def call(path: str, params: dict[str, str]) -> tuple[float, dict[str, Any]]:
            event = _event(stack, path, params)
            began = time.perf_counter()
            response = drugs_api.lambda_handler(event, make_context(stack, spec))
            elapsed = time.perf_counter() - began
            assert response["statusCode"] == 200, response["body"][:300]
            return elapsed, json.loads(response["body"])

        # The 1,000-product catalogue keeps what the full one answers (same pages in both) and the
        # interchangeable group of the coverage check, then is filled up in DIN order.
        keep = {din for din, d in parsed.drugs.items() if d.ai_group_no == parsed.drugs["02230711"].ai_group_no}
        for _, path, params in requests:
            keep |= {item["din"] for item in call(path, params)[1].get("items", [])}
        for din in sorted(parsed.drugs):
            if len(keep) >= 1000:
                break
            keep.add(din)
        subset = ParsedExtract({d: parsed.drugs[d] for d in keep}, [])
        use(small_table)
        started = time.perf_counter()
        small_report = write_catalog(subset, prices)
        small_import = time.perf_counter() - started

        counter = AwsCallCounter(count_items=True)
        counter.attach(client("dynamodb"))
        results: dict[str, dict[str, Any]] = {}
        for label, path, params in requests:
            per: dict[str, dict[str, Any]] = {}
            for table in (small_table, full_table):
                use(table)
                call(path, params)  # warm (plan cache)
                per[table] = {"timings": [], "calls": 0, "items": 0, "dins": None}
            for _ in range(REPEAT):
                for table in (small_table, full_table):
                    use(table)
                    counter.reset()
                    elapsed, body = call(path, params)
                    entry = per[table]
                    entry["timings"].append(elapsed)
                    entry["calls"] += sum(counter.calls.values())
                    entry["items"] += counter.items
                    entry["dins"] = [item["din"] for item in body.get("items", [])] or body.get("din")
            results[label] = {
                name: {
                    "ms": statistics.median(per[table]["timings"]) * 1000,
                    "calls": per[table]["calls"] / REPEAT,
                    "items": per[table]["items"] / REPEAT,
                    "dins": per[table]["dins"],
                }
                for name, table in (("small", small_table), ("full", full_table))
            }
        return {
            "small": {"drugs": small_report.marketed, "items": small_report.written, "import": small_import},
            "full": {
                "drugs": full_report.marketed,
                "items": full_report.written,
                "import": full_import,
                "reimport": full_reimport,
            },
            "requests": results,
        }


def main() -> None:
    print("drugs: search and coverage cost vs catalogue size (moto in-process, through the handler)")
    from local.inprocess_aws import reset_process_caches, use_fake_aws_environment

    saved = dict(os.environ)
    try:
        use_fake_aws_environment(POWERTOOLS_LOG_LEVEL="ERROR")
        result = run()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_process_caches()
    small, full = result["small"], result["full"]
    print(f"  1,000 drugs: {small['drugs']} products, {small['items']} items, import {small['import']:.1f} s")
    print(
        f"  all drugs:   {full['drugs']} products, {full['items']} items, import {full['import']:.1f} s, "
        f"unchanged re-import {full['reimport']:.1f} s"
    )
    print(f"  {'request':<22} {'ms 1k':>7} {'ms all':>7} {'ratio':>6}  {'calls 1k/all':>12}  {'items 1k/all':>12}")
    ratios, call_ratios = [], []
    for label, run_ in result["requests"].items():
        a, b = run_["small"], run_["full"]
        assert a["dins"] == b["dins"], f"{label}: the two catalogues answered differently"
        ratios.append(b["ms"] / a["ms"])
        call_ratios.append(b["calls"] / a["calls"])
        print(
            f"  {label:<22} {a['ms']:7.2f} {b['ms']:7.2f} {b['ms'] / a['ms']:6.2f}  "
            f"{a['calls']:5.1f}/{b['calls']:<5.1f}   {a['items']:5.1f}/{b['items']:<5.1f}"
        )
    print(
        f"  median ratio all/1k: latency {statistics.median(ratios):.2f}, "
        f"DynamoDB calls {statistics.median(call_ratios):.2f}"
    )
    print(f"  full extract import: {full['import']:.1f} s ({full['items']} items); unchanged: {full['reimport']:.1f} s")


if __name__ == "__main__":
    main()
