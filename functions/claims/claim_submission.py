"""Claim submission: the contract's rules (pure) and the orchestration around the transaction.

The body has already passed the pydantic model (types, lengths, formats, 1..20 treatments,
authorization accepted). Here are the rules that need the member, the plan, the catalogue, the
provider and the receipts; every failure becomes one field error (``treatments[1].dateOfService``,
``answers.accidentDate``, ``receiptIds[0]``...) so the member sees them all at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from claim_store import ClaimWrite, write_claim
from claims_models import ClaimCreated, ClaimSubmission, Treatment
from receipt_store import get_receipts

from portal_common import clock
from portal_common.claim_records import ClaimRecord, DrugRecord, StatusEntry, TreatmentRecord
from portal_common.claim_types import DRUG_CODE, ClaimTypes, Question, claim_types
from portal_common.identity import Caller
from portal_common.ids import sortable_id
from portal_common.member_profile import load_member
from portal_common.members import Member, eligibility_on
from portal_common.models import money_to_str
from portal_common.patterns import DATE_PATTERN, MAX_CLAIM_TOTAL, MONEY_PATTERN
from portal_common.plans import Plan
from portal_common.problems import FieldError, ValidationFailed
from portal_common.provider_records import StoredProvider, get_provider_for
from portal_common.receipt_records import UPLOADED, ReceiptRecord


@dataclass(frozen=True)
class RuleInputs:
    """Everything the rules look at, loaded beforehand (so the rules stay pure)."""

    member: Member
    plan: Plan
    provider: StoredProvider | None
    receipts: dict[str, ReceiptRecord]
    today: date


def visible(question_id: str, questions: dict[str, Question], answers: dict[str, Any]) -> bool:
    """Whether a question is shown given the answers (conditions chain: a hidden parent hides it)."""
    seen: set[str] = set()
    current = questions[question_id]
    while current.show_if is not None:
        parent = current.show_if.question_id
        if parent in seen or parent not in questions:
            return False
        seen.add(parent)
        if answers.get(parent) != current.show_if.equals:
            return False
        current = questions[parent]
    return True


def _check_answer(qid: str, question: Question, value: Any, today: date) -> str | None:
    """The error code for one answer, or ``None`` when it is valid for its question."""
    if question.type == "boolean":
        return None if isinstance(value, bool) else "INVALID_TYPE"
    if not isinstance(value, str):
        return "INVALID_TYPE"
    if value == "":
        return "REQUIRED"
    if question.type == "date":
        if not DATE_PATTERN.match(value):
            return "INVALID_DATE"
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            return "INVALID_DATE"
        return "DATE_IN_FUTURE" if parsed > today else None
    if question.type == "amount":
        return None if MONEY_PATTERN.match(value) else "INVALID_AMOUNT"
    if question.type == "choice":
        return None if value in {c.value for c in question.choices or []} else "NOT_ALLOWED"
    return None


def check_answers(
    code: str, catalogue: ClaimTypes, plan: Plan, answers: dict[str, Any], today: date
) -> tuple[dict[str, Any], list[FieldError]]:
    """Answers kept (those of visible questions) and the field errors."""
    questions = dict(catalogue.questions_for(code, plan))
    errors: list[FieldError] = []
    kept: dict[str, Any] = {}
    for qid in answers:
        if qid not in questions:
            errors.append(FieldError(f"answers.{qid}", "UNKNOWN_QUESTION"))
    for qid, question in questions.items():
        if not visible(qid, questions, answers):
            continue  # an answer to a hidden question (a stale form field) is dropped, not refused
        if qid not in answers:
            if question.required:
                errors.append(FieldError(f"answers.{qid}", "REQUIRED"))
            continue
        problem = _check_answer(qid, question, answers[qid], today)
        if problem:
            errors.append(FieldError(f"answers.{qid}", problem))
        else:
            kept[qid] = answers[qid]
    return kept, errors


def check_receipts(receipt_ids: list[str], receipts: dict[str, ReceiptRecord], member_key: str) -> list[FieldError]:
    """Receipts: the caller's own, checked (``UPLOADED``), not already backing a claim, no duplicates
    (a submission and an answer to an information request follow the same rules)."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, receipt_id in enumerate(receipt_ids):
        path = f"receiptIds[{index}]"
        receipt = receipts.get(receipt_id)
        if receipt_id in seen:
            errors.append(FieldError(path, "DUPLICATE"))
        elif receipt is None or receipt.member_key != member_key:
            errors.append(FieldError(path, "RECEIPT_NOT_FOUND"))
        elif receipt.claim_id:
            errors.append(FieldError(path, "RECEIPT_ALREADY_USED"))
        elif receipt.status != UPLOADED:
            errors.append(FieldError(path, "RECEIPT_NOT_UPLOADED", {"status": receipt.status}))
        seen.add(receipt_id)
    return errors


def check_rules(
    sub: ClaimSubmission, inputs: RuleInputs, catalogue: ClaimTypes
) -> tuple[dict[str, Any], list[FieldError]]:
    """Every domain rule of the contract; returns the kept answers and the field errors."""
    errors: list[FieldError] = []
    claim_type = catalogue.get(sub.claim_type)
    if claim_type is None:
        return {}, [FieldError("claimType", "UNKNOWN_CLAIM_TYPE")]
    plan, member, today = inputs.plan, inputs.member, inputs.today
    if not catalogue.is_covered(claim_type.code, plan):
        errors.append(FieldError("claimType", "CLAIM_TYPE_NOT_COVERED"))

    # Patient: a person of the caller's own certificate, covered on every date of service.
    patient = member.person(sub.patient_id)
    if patient is None or not patient.in_roster:
        errors.append(FieldError("patientId", "UNKNOWN_PATIENT"))

    oldest = today - timedelta(days=plan.filing_limit_days)
    ends = [d for d in (member.coverage_end, patient.coverage_end if patient else None) if d is not None]
    filing_closes = min(ends) + timedelta(days=plan.post_termination_filing_days) if ends else None
    for index, treatment in enumerate(sub.treatments):
        path = f"treatments[{index}].dateOfService"
        day = treatment.date_of_service
        if day > today:
            errors.append(FieldError(path, "DATE_IN_FUTURE"))
            continue
        if day < oldest:
            errors.append(FieldError(path, "DATE_TOO_OLD", {"days": plan.filing_limit_days}))
            continue
        if filing_closes is not None and today > filing_closes:
            errors.append(FieldError(path, "FILING_PERIOD_ENDED", {"days": plan.post_termination_filing_days}))
            continue
        if patient is not None:
            verdict = eligibility_on(patient, member, plan, day)
            if not verdict.eligible:
                errors.append(FieldError(path, "PATIENT_NOT_COVERED", {"reason": verdict.reason or ""}))
        if treatment.tooth_number is not None and claim_type.category != "DENTAL":
            errors.append(FieldError(f"treatments[{index}].toothNumber", "NOT_ALLOWED"))

    # Bounds (contract, Claims): each line is at most MAX_TREATMENT_AMOUNT (the model), the claim at
    # most MAX_CLAIM_TOTAL; a larger expense goes to the insurer through its paper process.
    if sum((t.amount for t in sub.treatments), Decimal("0")) > MAX_CLAIM_TOTAL:
        errors.append(FieldError("treatments", "CLAIM_TOTAL_TOO_HIGH", {"maximum": money_to_str(MAX_CLAIM_TOTAL)}))

    # Provider: required by the type (never for drugs), known, and of a type that bills it.
    if claim_type.requires_provider:
        if sub.provider_id is None:
            errors.append(FieldError("providerId", "REQUIRED"))
        elif inputs.provider is None:
            errors.append(FieldError("providerId", "UNKNOWN_PROVIDER"))
        elif inputs.provider.provider_type not in claim_type.provider_types:
            errors.append(FieldError("providerId", "PROVIDER_TYPE_MISMATCH"))
    elif sub.provider_id is not None:
        errors.append(FieldError("providerId", "NOT_ALLOWED"))

    if sub.drug is not None and claim_type.code != DRUG_CODE:
        errors.append(FieldError("drug", "NOT_ALLOWED"))

    errors.extend(check_receipts(sub.receipt_ids, inputs.receipts, member.key))
    if claim_type.requires_receipts and not sub.receipt_ids:
        errors.append(FieldError("receiptIds", "RECEIPTS_REQUIRED"))

    answers, answer_errors = check_answers(claim_type.code, catalogue, plan, dict(sub.answers), today)
    errors.extend(answer_errors)
    return answers, errors


def payload_hash(body: Any) -> str:
    """Canonical hash of a request body (key order and whitespace do not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _load_inputs(sub: ClaimSubmission, member: Member, plan: Plan) -> RuleInputs:
    provider = get_provider_for(member.key, sub.provider_id) if sub.provider_id else None
    receipts = get_receipts(list(sub.receipt_ids))
    return RuleInputs(member=member, plan=plan, provider=provider, receipts=receipts, today=clock.today())


def _treatment_record(treatment: Treatment) -> TreatmentRecord:
    return TreatmentRecord(
        date_of_service=treatment.date_of_service.isoformat(),
        amount=treatment.amount,
        description=treatment.description,
        quantity=treatment.quantity,
        procedure_code=treatment.procedure_code,
        tooth_number=treatment.tooth_number,
    )


def checked_claim(
    caller: Caller, sub: ClaimSubmission, lang: str, *, receipts_required: bool = True
) -> tuple[ClaimRecord, Member, Plan]:
    """Check every rule (``ValidationFailed`` with every field error), then the claim record as it
    would be written now (not written), with the caller's certificate and plan.
    ``receipts_required=False`` (an estimate, given no receipts) skips the rule that the claim type
    needs receipts."""
    member, plan = load_member(caller)
    catalogue = claim_types()
    inputs = _load_inputs(sub, member, plan)
    answers, errors = check_rules(sub, inputs, catalogue)
    if not receipts_required:
        errors = [e for e in errors if e.code != "RECEIPTS_REQUIRED"]
    if errors:
        raise ValidationFailed(errors=errors)
    claim_type = catalogue.by_code[sub.claim_type]
    submitted_at = clock.now_iso()
    provider = inputs.provider
    claim = ClaimRecord(
        member_key=member.key,
        claim_id=sortable_id(),
        contract_number=member.contract_number,
        participant_number=member.participant_number,
        plan_id=plan.plan_id,
        claim_type=claim_type.code,
        category=claim_type.category,
        patient_id=sub.patient_id,
        answers=answers,
        treatments=[_treatment_record(t) for t in sub.treatments],
        receipt_ids=list(sub.receipt_ids),
        receipt_versions={
            rid: version for rid in sub.receipt_ids if (version := inputs.receipts[rid].checked_version_id) is not None
        },
        status="SUBMITTED",
        status_history=[StatusEntry(status="SUBMITTED", at=submitted_at)],
        submitted_at=submitted_at,
        total_claimed=sum((t.amount for t in sub.treatments), Decimal("0")),
        language="en" if lang.startswith("en") else "fr",
        version=1,
        additional_info=sub.additional_info or None,
        drug=DrugRecord.model_validate(sub.drug.model_dump()) if sub.drug is not None else None,
        provider_id=sub.provider_id if provider is not None else None,
        provider_display_name=provider.display_name if provider is not None else None,
        provider_type=provider.provider_type if provider is not None else None,
    )
    return claim, member, plan


def submit_claim(caller: Caller, sub: ClaimSubmission, raw_body: Any, idempotency_key: str, lang: str) -> ClaimCreated:
    """Check every rule, then write the claim in one conditional transaction; the 201 body."""
    claim, _, _ = checked_claim(caller, sub, lang)
    return write_claim(ClaimWrite(claim=claim, idempotency_key=idempotency_key, payload_hash=payload_hash(raw_body)))
