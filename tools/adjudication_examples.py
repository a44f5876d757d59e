"""Worked examples of claim processing, one per demo plan, generated from the real code.

``python -m tools.adjudication_examples`` runs the claim processor's SQS handler against moto
(tables from template.yaml, the repository's plans and demo roster), on claims built in the
conventions' layout, and rewrites the block between the markers in ``docs/adjudication.md``:
the claim in, the explanation of benefits out, and the e-mail the member receives.
``--check`` fails when the document is out of date (a unit test runs it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.inprocess_aws import create_stack, reset_process_caches, seed_plans_and_demo_roster, use_fake_aws_environment

if TYPE_CHECKING:
    from portal_common.claim_records import ClaimRecord

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "adjudication.md"
README = ROOT / "README.md"
# Both files carry the block between the markers (the README shows one example per demo plan).
DOCUMENTS = (DOC, README)
BEGIN = "<!-- BEGIN GENERATED EXAMPLES (python -m tools.adjudication_examples) -->"
END = "<!-- END GENERATED EXAMPLES -->"

# (title, certificate, relationship, claim type, answers, treatments, submittedAt, email, language)
EXAMPLES: list[dict[str, Any]] = [
    {
        "title": "PLAN-ESSENTIEL — physiotherapy, Marie Tremblay (fr), first claim of the benefit year",
        "certificate": ("G1001", "100001"),
        "relationship": "SELF",
        "claimType": "PHYSIOTHERAPY",
        "answers": {},
        "treatments": [["2026-02-10", "85.00"], ["2026-02-17", "55.00"]],
        "submittedAt": "2026-02-20T14:30:00Z",
        "email": "marie.tremblay@example.com",
        "language": "fr",
        "claimId": "c_EXAMPLEESSENTIEL0000000001",
    },
    {
        "title": "PLAN-PLUS — eyewear, Olivia Smith (en): the rolling 24-month vision maximum spans benefit years",
        "certificate": ("G2002", "200003"),
        "relationship": "SELF",
        "claimType": "EYEWEAR",
        "answers": {},
        "treatments": [["2026-04-20", "150.00"]],
        "submittedAt": "2026-04-22T09:00:00Z",
        "email": "olivia.smith@example.com",
        "language": "en",
        "claimId": "c_EXAMPLEPLUS00000000000001",
        "history": [("EYEWEAR", "2025-03-03", "320.00")],
    },
    {
        "title": "PLAN-PLUS — eye exams, Olivia Smith (en): per-visit maximum and one exam per 12 months",
        "certificate": ("G2002", "200003"),
        "relationship": "SELF",
        "claimType": "EYE_EXAM",
        "answers": {},
        "treatments": [["2026-01-12", "135.00"], ["2026-04-20", "110.00"]],
        "submittedAt": "2026-04-23T09:00:00Z",
        "email": "olivia.smith@example.com",
        "language": "en",
        "claimId": "c_EXAMPLEPLUS00000000000002",
    },
    {
        "title": "PLAN-ESSENTIEL — coordination of benefits, Jean Tremblay (fr), spouse with his own group plan: "
        "his plan paid first, this plan pays the rest",
        "certificate": ("G1001", "100001"),
        "relationship": "SPOUSE",
        "claimType": "PHYSIOTHERAPY",
        "answers": {
            "accident": False,
            "otherCoverage": True,
            "otherInsurerName": "Assurances Exemple",
            "otherInsurerFirst": True,
            "otherInsurerPaid": "48.00",
            "provincialPlanFirst": False,
        },
        "treatments": [["2026-03-03", "60.00"], ["2026-03-10", "60.00"]],
        "submittedAt": "2026-03-12T16:00:00Z",
        "email": "marie.tremblay@example.com",
        "language": "fr",
        "claimId": "c_EXAMPLEESSENTIEL0000000002",
    },
]


QUIET_LOGS = {"POWERTOOLS_LOG_LEVEL": "WARNING"}


def _setup() -> Any:
    use_fake_aws_environment(**QUIET_LOGS)
    for folder in ("layers/common", "functions/claim_processing"):
        path = str(ROOT / folder)
        if path not in sys.path:
            sys.path.insert(0, path)


def _claim_item(example: dict[str, Any], person_id: str, plan_id: str, receipt_id: str) -> ClaimRecord:
    from portal_common.claim_records import ClaimRecord, StatusEntry, TreatmentRecord

    contract, participant = example["certificate"]
    rows = [TreatmentRecord(date_of_service=d, amount=Decimal(a)) for d, a in example["treatments"]]
    at = example["submittedAt"]
    return ClaimRecord(
        member_key=f"MEMBER#{contract}#{participant}",
        claim_id=example["claimId"],
        contract_number=contract,
        participant_number=participant,
        plan_id=plan_id,
        claim_type=example["claimType"],
        category="VISION" if example["claimType"].startswith("EYE") else "PARAMEDICAL",
        patient_id=person_id,
        answers=example["answers"],
        treatments=rows,
        receipt_ids=[receipt_id],
        status="SUBMITTED",
        status_history=[StatusEntry(status="SUBMITTED", at=at)],
        submitted_at=at,
        total_claimed=sum((r.amount for r in rows), Decimal("0")),
        language=example["language"],
        version=1,
    )


def _prior_history(example: dict[str, Any]) -> list[dict[str, Any]]:
    """Earlier claims of the same person (so maximums show)."""
    return [
        {
            **example,
            "claimType": claim_type,
            "treatments": [[day, amount]],
            "submittedAt": f"{day}T12:00:00Z",
            "claimId": f"{example['claimId'][:-1]}H{index}",
        }
        for index, (claim_type, day, amount) in enumerate(example.get("history", []))
    ]


def generate() -> str:
    """Run the examples and return the Markdown block (the environment is restored afterwards)."""
    saved = dict(os.environ)
    try:
        return _generate()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_process_caches()


def _generate() -> str:
    _setup()
    from moto import mock_aws

    with mock_aws():
        create_stack()
        os.environ.update(QUIET_LOGS)  # the template's LogLevel would make --check print every claim
        return _run_examples()


def _run_examples() -> str:
    import claim_processor
    from claim_notification import email_language, render_email
    from moto.ses.models import ses_backends

    from portal_common.aws_clients import client
    from portal_common.claim_events import SOURCE, ClaimSubmittedV1
    from portal_common.claim_records import ClaimRecord
    from portal_common.config import get_settings
    from portal_common.dynamo import from_item, to_item
    from portal_common.members import get_member
    from portal_common.receipt_records import UPLOADED, ReceiptRecord

    seed_plans_and_demo_roster()
    dynamodb = client("dynamodb")
    settings = get_settings()
    out: list[str] = []
    for example in EXAMPLES:
        contract, participant = example["certificate"]
        pk = f"MEMBER#{contract}#{participant}"
        dynamodb.update_item(
            TableName=settings.members_table,
            Key=to_item({"PK": pk, "SK": "PROFILE"}),
            UpdateExpression="SET email = :e",
            ExpressionAttributeValues=to_item({":e": example["email"]}),
        )
        member = get_member(contract, participant)
        assert member is not None
        person = next(p for p in member.persons if p.relationship == example["relationship"])
        for claim in [*_prior_history(example), example]:
            receipt = ReceiptRecord(
                receipt_id=f"r{claim['claimId'][2:]}",
                member_key=pk,
                status=UPLOADED,
                file_name="recu.pdf",
                content_type="application/pdf",
                size_bytes=1024,
                created_at=claim["submittedAt"],
            )
            dynamodb.put_item(TableName=settings.claims_table, Item=to_item(receipt.to_item()))
            item = _claim_item(claim, person.person_id, member.plan_id, receipt.receipt_id)
            dynamodb.put_item(TableName=settings.claims_table, Item=to_item(item.to_item()))
            event = ClaimSubmittedV1.of(item)
            envelope = {"source": SOURCE, "detail-type": event.detail_type, "detail": event.detail()}
            record = {
                "messageId": item.claim_id,
                "body": json.dumps(envelope),
                "attributes": {},
                "eventSource": "aws:sqs",
            }
            result = claim_processor.lambda_handler({"Records": [record]}, None)
            assert result == {"batchItemFailures": []}, result
        key = to_item(ClaimRecord.key(pk, item.claim_id))
        stored = ClaimRecord.from_item(
            from_item(dynamodb.get_item(TableName=settings.claims_table, Key=key)["Item"]) or {}
        )
        sent = ses_backends["123456789012"]["ca-central-1"].sent_messages[-1]
        email = render_email(stored, member, email_language(stored, member))
        assert email is not None
        assert sent.subject == email.subject
        out.append(_markdown(example, member.plan_id, stored, email.subject, email.text))
    return "\n".join(out)


def _markdown(example: dict[str, Any], plan_id: str, stored: ClaimRecord, subject: str, body: str) -> str:
    lang = "en" if example["language"] == "en" else "fr"
    claim_in = {
        "claimType": example["claimType"],
        "patientId": "<the member>"
        if example["relationship"] == "SELF"
        else f"<the {example['relationship'].lower()}>",
        "answers": example["answers"],
        "treatments": [{"dateOfService": d, "amount": a} for d, a in example["treatments"]],
    }
    history = _prior_history(example)
    lines = [f"### {example['title']}", ""]
    if history:
        lines.append("Earlier paid claims of the same person:")
        for h in history:
            lines.append(f"- {h['claimType']}: " + ", ".join(f"{d} claimed {a}" for d, a in h["treatments"]))
        lines.append("")
    lines += [f"Plan `{plan_id}`, submitted {example['submittedAt']}. Claim in:", "", "```json"]
    lines.append(json.dumps(claim_in, ensure_ascii=False, indent=2))
    lines += ["```", "", f"Result: **{stored.status}**, total paid **{stored.total_paid or 0:.2f}**.", ""]
    lines.append("| # | date | claimed | eligible | paid | reason | explanation |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    assert stored.adjudication is not None
    for line in stored.adjudication.lines:
        explanation = line.explanation if isinstance(line.explanation, dict) else {}
        lines.append(
            f"| {line.treatment_index} | {line.date_of_service} | {line.claimed:.2f} | "
            f"{line.eligible:.2f} | {line.paid:.2f} | `{line.reason_code}` | {explanation[lang]} |"
        )
    lines += ["", f"E-mail to the member — *{subject}*:", "", "```text", body.strip(), "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/adjudication.md is out of date")
    args = parser.parse_args(argv)
    block = generate()
    stale = 0
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        updated = text[:start] + "\n" + block + "\n" + text[end:]
        if args.check:
            if updated != text:
                print(f"{document.relative_to(ROOT)} is out of date: run python -m tools.adjudication_examples")
                stale += 1
            continue
        document.write_text(updated, encoding="utf-8")
        print(f"wrote {len(EXAMPLES)} examples to {document.relative_to(ROOT)}")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
