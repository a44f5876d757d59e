"""Cost of the claims routes: a page of history with 10 vs 5,000 claims, and AWS calls per route.

Runs the real handlers against moto in-process (tables from template.yaml, plans, demo roster and
demo providers). AWS calls are counted with a botocore ``before-call`` event hook on every client,
so the count is what Lambda would send to DynamoDB/S3. The history page must cost the same number
of calls and about the same time whatever the member's history length (ratio near 1).
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for sub in ("", "layers/common", "functions/claims", "functions/providers", "functions/claim_processing"):
    path = str(ROOT / sub) if sub else str(ROOT)
    if path not in sys.path:
        sys.path.insert(0, path)

from bench.aws_call_counter import AwsCallCounter  # noqa: E402
from local.inprocess_aws import create_stack, seed_plans_and_demo_roster, use_fake_aws_environment  # noqa: E402

use_fake_aws_environment(POWERTOOLS_LOG_LEVEL="ERROR")

COUNTER = AwsCallCounter()
CALLS = COUNTER.calls


def _instrument() -> None:
    from portal_common import aws_clients

    original = aws_clients.client

    def counted(service: str) -> Any:
        made = original(service)
        COUNTER.attach(made)
        return made

    aws_clients.client = counted  # type: ignore[assignment]
    # Modules that imported ``client`` by name before instrumentation.
    instrumented = (
        "portal_common.dynamo",
        "receipt_store",
        "claim_store",
        "claim_routes_api",
        "provider_directory",
        "adjudication_inputs",
    )
    for module_name in instrumented:
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, "client"):
            module.client = counted  # type: ignore[attr-defined]


def _setup() -> None:
    from tests.claims_support import seed_directory

    create_stack()
    seed_plans_and_demo_roster()
    seed_directory()


def _fill_history(member_key: str, contract: str, participant: str, patient_id: str, count: int) -> None:
    """Write ``count`` claims directly (the shape submission writes), oldest first."""
    from portal_common.claim_records import ClaimRecord, StatusEntry, TreatmentRecord
    from portal_common.config import get_settings
    from portal_common.dynamo import batch_write
    from portal_common.ids import sortable_id

    base_ms = int(time.time() * 1000) - count * 60_000
    items = []
    for n in range(count):
        claim_id = sortable_id(now_ms=base_ms + n * 60_000)
        at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime((base_ms + n * 60_000) / 1000))
        claim = ClaimRecord(
            member_key=member_key, claim_id=claim_id, contract_number=contract, participant_number=participant,
            plan_id="PLAN-PLUS", claim_type="PHYSIOTHERAPY", category="PARAMEDICAL", patient_id=patient_id,
            provider_id="PDEMO0000000000000000000001", provider_display_name="Julie Lavoie (Physio Plateau)",
            answers={"accident": False}, receipt_ids=[],
            treatments=[TreatmentRecord(date_of_service=at[:10], amount=Decimal("85.00"))],
            status="PAID" if n % 3 else "SUBMITTED", status_history=[StatusEntry(status="SUBMITTED", at=at)],
            submitted_at=at, total_claimed=Decimal("85.00"), language="fr", version=1,
        )  # fmt: skip
        items.append(claim.to_item())
    batch_write(get_settings().claims_table, items)


READ_OPERATIONS = {"GetItem", "BatchGetItem", "Query", "Scan"}


def _estimate_and_balance_routes(marie: str) -> list[tuple[str, Any]]:
    """``GET /me/balances`` (bound: 2 reads) and ``POST /claims/estimate`` (bound: 3 reads) for a
    paramedical claim (with its provider) and a drug claim by DIN (product and interchangeable group),
    after a paid claim so the running totals exist."""
    import json

    import boto3
    from claim_processing import Notifier, process_claim

    from portal_common.config import get_settings
    from portal_common.dynamo import to_item
    from tests.claims_support import MARIE, claims_call, physio_claim, submit

    created = submit(physio_claim(marie))[1]
    process_claim("MEMBER#G1001#100001", created["claimId"], notifier=Notifier(lambda c, s: None, lambda c, m: None))
    table = get_settings().drugs_table
    brand = {"din": "02230711", "schedules": ["PRESCRIPTION"], "atcCodes": ["C10AA05"], "prices": {"unitPrice": "2.00"}}
    generic = {**brand, "din": "02310899", "prices": {"unitPrice": "0.50"}}
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(
        TableName=table,
        Item=to_item(
            {
                "PK": "DIN#02230711",
                "SK": "DRUG",
                "din": "02230711",
                "status": "MARKETED",
                "interchangeableGroup": "G1",
                "document": json.dumps(brand),
            }
        ),
    )
    dynamodb.put_item(
        TableName=table,
        Item=to_item(
            {
                "PK": "IGROUP#G1",
                "SK": "MEMBERS",
                "members": json.dumps([{**brand, "status": "MARKETED"}, {**generic, "status": "MARKETED"}]),
            }
        ),
    )
    physio = {k: v for k, v in physio_claim(marie).items() if k not in {"receiptIds", "authorization"}}
    drug = {
        "claimType": "DRUG",
        "patientId": marie,
        "treatments": [{"dateOfService": physio["treatments"][0]["dateOfService"], "amount": "71.00"}],
        "answers": {"provincialDrugPlan": False, "otherCoverage": False, "accident": False},
        "drug": {"din": "02230711", "quantity": 30, "dispensingFee": "11.00"},
    }

    def estimate(body: dict[str, Any]) -> Any:
        status, answer, _ = claims_call("POST", "/claims/estimate", member=MARIE, body=body)
        assert status == 200, answer
        return answer

    return [
        ("GET /me/balances", lambda: claims_call("GET", "/me/balances", member=MARIE)),
        ("POST /claims/estimate", lambda: estimate(physio)),
        ("POST /claims/estimate (DIN)", lambda: estimate(drug)),
    ]  # fmt: skip


def _measure(call: Any, repeat: int) -> tuple[float, float]:
    """Median milliseconds and AWS calls per request."""
    times, calls = [], []
    call()  # warm
    for _ in range(repeat):
        CALLS.clear()
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
        calls.append(sum(CALLS.values()))
    return statistics.median(times), statistics.mean(calls)


def main() -> None:
    from moto import mock_aws

    with mock_aws():
        _setup()
        _instrument()
        from tests.claims_support import MARIE, OLIVIA, SOPHIE, claims_call, person_id, physio_claim, submit

        print(
            "AWS calls per route (one request each, warm; measured before the large history is loaded,\n"
            "because moto copies whole tables on every TransactWriteItems)"
        )
        marie = person_id(MARIE, "Marie")
        created = submit(physio_claim(marie))[1]
        routes: list[tuple[str, Any]] = [
            ("GET /me", lambda: claims_call("GET", "/me")),
            ("GET /claim-types?q=physio", lambda: claims_call("GET", "/claim-types", query={"q": "physio"})),
            ("GET /claim-types/DRUG", lambda: claims_call("GET", "/claim-types/DRUG")),
            ("POST /receipts", lambda: claims_call("POST", "/receipts", body={"fileName": "r.pdf",
                                                   "contentType": "application/pdf", "sizeBytes": 100})),
            ("GET /receipts/{id}", lambda: claims_call("GET", "/receipts/r00000000000000000000000000")),
            ("POST /claims", lambda: submit(physio_claim(marie), key=f"bench-{uuid.uuid4()}")),
            ("GET /claims", lambda: claims_call("GET", "/claims")),
            ("GET /claims/{id}", lambda: claims_call("GET", f"/claims/{created['claimId']}")),
        ]  # fmt: skip
        from tests.claims_support import providers_call

        routes += [
            ("GET /providers?phone=", lambda: providers_call("GET", "/providers", query={"phone": "514-555-0199"})),
            ("GET /providers?lastName=", lambda: providers_call("GET", "/providers", query={"lastName": "lav"})),
            ("GET /providers/recent", lambda: providers_call("GET", "/providers/recent",
                                                              query={"claimType": "PHYSIOTHERAPY"})),
        ]  # fmt: skip
        routes += _estimate_and_balance_routes(marie)
        for label, call in routes:
            call()
            CALLS.clear()
            started = time.perf_counter()
            call()
            ms = (time.perf_counter() - started) * 1000
            detail = ", ".join(f"{k.split('.', 1)[1]}×{v}" for k, v in sorted(CALLS.items()))
            reads = sum(v for k, v in CALLS.items() if k.split(".", 1)[1] in READ_OPERATIONS)
            print(f"  {label:<28} {sum(CALLS.values()):2d} calls  {ms:7.2f} ms  ({detail}; {reads} reads)")

        small, large = SOPHIE, OLIVIA  # two PLAN-PLUS certificates
        _fill_history("MEMBER#G2002#200001", *small, person_id(small, "Sophie"), 10)
        _fill_history("MEMBER#G2002#200003", *large, person_id(large, "Olivia"), 5000)

        print("\nClaim history page (limit 20), handler + moto in-process")
        rows = []
        for label, member in (("10 claims", small), ("5,000 claims", large)):
            ms, calls = _measure(lambda m=member: claims_call("GET", "/claims", member=m, query={"limit": "20"}), 15)
            ms_f, calls_f = _measure(
                lambda m=member: claims_call("GET", "/claims", member=m, query={"limit": "20", "status": "PAID"}), 15
            )
            rows.append((label, ms, calls, ms_f, calls_f))
            print(
                f"  {label:>13}: {ms:7.2f} ms, {calls:.1f} AWS calls | status=PAID: {ms_f:7.2f} ms, {calls_f:.1f} calls"
            )
        (_, ms_small, calls_small, msf_small, _), (_, ms_large, calls_large, msf_large, _) = rows
        print(f"  ratio 5,000/10: time {ms_large / ms_small:.2f}, calls {calls_large / calls_small:.2f}, "
              f"filtered time {msf_large / msf_small:.2f}")  # fmt: skip

        # Baseline measured in the same run: the bare DynamoDB Query (Limit 20) that the page makes.
        # moto evaluates a Query by walking the whole partition in Python, DynamoDB does not, so
        # the handler's time ratio should follow this baseline's ratio; the call count is the bound.
        from portal_common.config import get_settings
        from portal_common.dynamo import query

        bare = []
        for pk in ("MEMBER#G2002#200001", "MEMBER#G2002#200003"):
            ms, _ = _measure(
                lambda pk=pk: query(
                    get_settings().claims_table,
                    key_condition="PK = :pk AND begins_with(SK, :c)",
                    values={":pk": pk, ":c": "CLAIM#"},
                    forward=False,
                    limit=20,
                ),
                15,
            )
            bare.append(ms)
        print(f"  baseline bare Query (moto): {bare[0]:.2f} ms vs {bare[1]:.2f} ms, ratio {bare[1] / bare[0]:.2f}")
        print(f"  handler overhead beyond the Query: {ms_small - bare[0]:.2f} ms vs {ms_large - bare[1]:.2f} ms")

        # Last page of the long history through cursors: each page costs the same.
        _, first, _ = claims_call("GET", "/claims", member=large, query={"limit": "100"})
        CALLS.clear()
        claims_call("GET", "/claims", member=large, query={"limit": "100", "cursor": first["nextCursor"]})
        print(f"  page 2 (limit 100) of 5,000: {sum(CALLS.values())} AWS calls")


if __name__ == "__main__":
    main()
