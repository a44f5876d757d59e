"""Answers to a claim's information requests (``POST /v1/claims/{claimId}/information``).

The processor held the claim in ``PENDING_INFORMATION`` with requests on it (the other payer's
statement, a new receipt). The member answers with documents (receipts uploaded like any other,
same rules as a submission) and, when needed, corrected answers (``otherInsurerFirst: true`` with
``otherInsurerPaid``...), checked against the claim type's questions on the merged answers. The
claim is written back to ``SUBMITTED`` with its open requests ``FULFILLED`` in one conditional
transaction (``claim_store.write_answer``), and the table's stream publishes ``ClaimSubmitted``
again: the processor takes it up the way it takes up a new claim.
"""

from __future__ import annotations

from claim_history import CLAIM_ID
from claim_store import AnswerWrite, get_claim, write_answer
from claim_submission import check_answers, check_receipts, payload_hash
from claims_models import InformationAccepted, InformationAnswer
from receipt_store import get_receipts

from portal_common import clock
from portal_common.claim_records import PENDING_INFORMATION
from portal_common.claim_types import claim_types
from portal_common.identity import Caller
from portal_common.member_profile import load_member
from portal_common.problems import Conflict, NotFound, ValidationFailed


def answer_information(
    caller: Caller, claim_id: str, answer: InformationAnswer, raw_body: object, idempotency_key: str
) -> InformationAccepted:
    """Check the answer, then write it (``404`` another member's or an unknown claim, ``409
    CLAIM_NOT_PENDING`` a claim that waits for nothing, ``400`` a bad receipt or answer)."""
    member, plan = load_member(caller)
    claim = get_claim(member.key, claim_id) if CLAIM_ID.match(claim_id) else None
    if claim is None:
        raise NotFound("CLAIM_NOT_FOUND")
    if claim.status != PENDING_INFORMATION:
        raise Conflict("CLAIM_NOT_PENDING")
    receipt_ids = list(answer.receipt_ids)
    receipts = get_receipts(receipt_ids)
    errors = check_receipts(receipt_ids, receipts, member.key)
    merged = {**claim.answers, **answer.answers}
    kept, answer_errors = check_answers(claim.claim_type, claim_types(), plan, merged, clock.today())
    errors.extend(answer_errors)
    if errors:
        raise ValidationFailed(errors=errors)
    versions = {rid: v for rid in receipt_ids if (v := receipts[rid].checked_version_id) is not None}
    answered = claim.answered(kept, versions, receipt_ids, clock.now_iso())
    write_answer(
        AnswerWrite(
            claim=claim,
            answered=answered,
            new_receipt_ids=receipt_ids,
            idempotency_key=idempotency_key,
            payload_hash=payload_hash({"claimId": claim_id, "body": raw_body}),
        )
    )
    return InformationAccepted(claim_id=claim.claim_id, status="SUBMITTED")
