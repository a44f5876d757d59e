"""The worked estimate example of the README, generated from the real code.

``python -m tools.estimate_examples`` runs, against moto (tables from template.yaml, the repository's
plans and demo roster) and at a fixed instant: an earlier claim submitted through the claims
service and paid by the claim processor; ``GET /v1/me/balances``' service; then
``POST /v1/claims/estimate``'s service on a new claim; then the identical claim submitted and
processed. It rewrites the block between the markers in the README. ``--check`` fails when the
README is out of date (an integration test runs it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from local.inprocess_aws import create_stack, reset_process_caches, seed_plans_and_demo_roster, use_fake_aws_environment

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN = "<!-- BEGIN GENERATED ESTIMATE EXAMPLE (python -m tools.estimate_examples) -->"
END = "<!-- END GENERATED ESTIMATE EXAMPLE -->"

CERTIFICATE = ("G1001", "100001")  # Marie Tremblay, PLAN-ESSENTIEL
NOW = "2026-03-10T14:00:00Z"
EARLIER = [("2026-02-10", "85.00")]
CLAIM = [("2026-03-03", "85.00"), ("2026-03-09", "40.00")]
PHYSIO_PROVIDER = "PDEMO0000000000000000000001"


def _body(person_id: str, lines: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "claimType": "PHYSIOTHERAPY",
        "patientId": person_id,
        "providerId": PHYSIO_PROVIDER,
        "answers": {"accident": False, "otherCoverage": False},
        "treatments": [{"dateOfService": d, "amount": a} for d, a in lines],
    }


def generate() -> str:
    """Run the example and return the Markdown block (the environment is restored afterwards)."""
    saved = dict(os.environ)
    try:
        use_fake_aws_environment(POWERTOOLS_LOG_LEVEL="WARNING")
        for folder in ("layers/common", "functions/claims", "functions/claim_processing", "functions/providers"):
            path = str(ROOT / folder)
            if path not in sys.path:
                sys.path.insert(0, path)
        from moto import mock_aws

        from portal_common import clock

        fixed = datetime.fromisoformat(NOW.replace("Z", "+00:00")).astimezone(UTC).timestamp()
        # The fixed instant is months away from the real one: CloudWatch's EMF timestamp warning is noise here.
        with mock_aws(), mock.patch.object(clock, "epoch_seconds", return_value=fixed), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            create_stack()
            os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
            return _run()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_process_caches()


def _run() -> str:
    from claim_estimate import estimate_claim
    from claim_processing import Notifier, process_claim
    from claim_submission import submit_claim
    from claims_models import ClaimEstimateRequest, ClaimSubmission
    from member_balances import member_balances

    from local.seed_providers import directory_items
    from portal_common import clock
    from portal_common.config import get_settings
    from portal_common.dynamo import batch_write, get_item
    from portal_common.identity import Caller
    from portal_common.members import get_member
    from portal_common.plans import get_plan

    seed_plans_and_demo_roster()
    demo = [i for i in directory_items() if str(i.get("providerId", "")).startswith("PDEMO")]
    batch_write(get_settings().providers_table, demo)
    caller = Caller("example", "marie.tremblay@example.com", *CERTIFICATE)
    member = get_member(*CERTIFICATE)
    assert member is not None
    assert member.self_person is not None
    plan = get_plan(member.plan_id)
    assert plan is not None
    marie = member.self_person.person_id
    quiet = Notifier(publish=lambda claim, changes: None, email=lambda claim, member: None)

    def submit_and_pay(body: dict[str, Any], key: str) -> Any:
        raw = {**body, "receiptIds": [], "authorization": {"accepted": True}}
        created = submit_claim(caller, ClaimSubmission.model_validate(raw), raw, key, "fr-CA")
        return process_claim(member.key, created.claim_id, notifier=quiet)

    earlier = submit_and_pay(_body(marie, EARLIER), "example-earlier")
    balance = member_balances(member, plan, marie, clock.today(), "fr-CA")
    physio = next(i for i in balance.items if i.code == "PHYSIOTHERAPY")
    body = _body(marie, CLAIM)
    estimate = estimate_claim(caller, ClaimEstimateRequest.model_validate(body), "fr-CA")
    paid = submit_and_pay(body, "example-next")
    stored = get_item(get_settings().claims_table, {"PK": member.key, "SK": f"CLAIM#{paid.claim_id}"}) or {}
    assert paid.status == stored.get("status")
    total_paid = f"{stored['totalPaid']:.2f}"
    assert total_paid == estimate.total_payable, (total_paid, estimate.total_payable)
    shown_body = {**body, "patientId": "<Marie>"}
    answer = json.dumps(
        estimate.model_dump(by_alias=True, mode="json", exclude_none=True), ensure_ascii=False, indent=2
    )
    deductible = balance.deductible.per_person if balance.deductible else None
    lines = [
        "### PLAN-ESSENTIEL — physiotherapy, Marie Tremblay (fr): an estimate, then the same claim paid",
        "",
        f"At {NOW}. Marie's earlier physiotherapy claim ({EARLIER[0][0]}, {EARLIER[0][1]}) was "
        f"{earlier.status}. `GET /v1/me/balances` then shows physiotherapy used {physio.used} of "
        f"{physio.maximum}, and the deductible used {deductible.used if deductible else '-'} of "
        f"{deductible.amount if deductible else '-'}.",
        "",
        "`POST /v1/claims/estimate` (`Accept-Language: fr-CA`):",
        "",
        "```json",
        json.dumps(shown_body, ensure_ascii=False, indent=2),
        "```",
        "",
        "`200`:",
        "",
        "```json",
        answer,
        "```",
        "",
        f"The identical claim, submitted right after (`POST /v1/claims`) and processed: **{paid.status}**, "
        f"total paid **{total_paid}** = `totalPayable`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the README is out of date")
    args = parser.parse_args(argv)
    block = generate()
    text = README.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    updated = text[:start] + "\n" + block + "\n" + text[end:]
    if args.check:
        if updated != text:
            print("README.md is out of date: run python -m tools.estimate_examples")
            return 1
        return 0
    README.write_text(updated, encoding="utf-8")
    print("wrote the estimate example to README.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
