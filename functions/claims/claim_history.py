"""Claim history: paged list and detail, shaped for the contract.

Constant cost per page whatever the history length: one ``Query`` with ``Limit`` on the member's
partition (or the status index), one ``Query`` for the certificate (patient first names), and the
in-memory catalogue for claim-type names. Provider names were copied onto the claim when it was
submitted (what the member chose then), so no provider look-up is needed.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from claim_store import CLAIM_KEY_SCHEMA, STATUS_KEY_SCHEMA, get_claim, list_claims
from claims_models import (
    Adjudication,
    AdjudicationLine,
    ClaimDetail,
    ClaimList,
    ClaimSummary,
    DrugOut,
    InformationRequestOut,
    PatientRef,
    ProviderRef,
    StatusChange,
    TreatmentOut,
)

from portal_common.claim_records import AdjudicationRecord, ClaimRecord, DrugRecord, InformationRequestRecord
from portal_common.claim_types import claim_types
from portal_common.i18n import translate
from portal_common.members import Member
from portal_common.models import money_to_str
from portal_common.pagination import decode_cursor, encode_cursor
from portal_common.problems import NotFound

CLAIM_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def _summary_fields(claim: ClaimRecord, member: Member, lang: str) -> dict[str, Any]:
    """The fields of a list entry (the detail has them too)."""
    person = member.person(claim.patient_id)
    provider = None
    if claim.provider_id:
        provider = ProviderRef(provider_id=claim.provider_id, display_name=claim.provider_display_name or "")
    return {
        "claim_id": claim.claim_id,
        "claim_type": claim.claim_type,
        "claim_type_name": claim_types().name(claim.claim_type, lang),
        "patient": PatientRef(person_id=claim.patient_id, first_name=person.first_name if person else ""),
        "provider": provider,
        "status": claim.status,
        "submitted_at": claim.submitted_at,
        "total_claimed": money_to_str(claim.total_claimed),
        "total_paid": money_to_str(claim.total_paid) if claim.total_paid is not None else None,
    }


def page(member: Member, lang: str, *, status: str | None, limit: int, cursor: str | None) -> ClaimList:
    """``GET /v1/claims``: one page, newest first, with an opaque cursor scoped to member and filter."""
    scope = f"claims|{member.key}|{status or '*'}"
    start = decode_cursor(cursor, scope, STATUS_KEY_SCHEMA if status else CLAIM_KEY_SCHEMA)
    claims, last = list_claims(member.key, status=status, limit=limit, start_key=start)
    return ClaimList(
        items=[ClaimSummary(**_summary_fields(c, member, lang)) for c in claims],
        next_cursor=encode_cursor(last, scope),
    )


def detail(member: Member, claim_id: str, lang: str) -> ClaimDetail:
    """``GET /v1/claims/{claimId}``: the claim as submitted, its status history and adjudication."""
    if not CLAIM_ID.match(claim_id):
        raise NotFound("CLAIM_NOT_FOUND")
    claim = get_claim(member.key, claim_id)
    if claim is None:
        raise NotFound("CLAIM_NOT_FOUND")
    treatments = [
        TreatmentOut(
            date_of_service=t.date_of_service,
            amount=money_to_str(t.amount),
            description=t.description,
            quantity=t.quantity,
            procedure_code=t.procedure_code,
            tooth_number=t.tooth_number,
        )
        for t in claim.treatments
    ]
    return ClaimDetail(
        **_summary_fields(claim, member, lang),
        patient_id=claim.patient_id,
        provider_id=claim.provider_id or None,
        category=claim.category,
        answers=claim.answers,
        treatments=treatments,
        drug=_drug(claim.drug) if claim.drug is not None else None,
        receipt_ids=list(claim.receipt_ids),
        additional_info=claim.additional_info or None,
        status_history=[StatusChange(status=h.status, at=h.at) for h in claim.status_history],
        adjudication=_adjudication(claim.adjudication, lang) if claim.adjudication is not None else None,
        information_requests=[_information_request(r, lang) for r in claim.information_requests],
    )


def _information_request(request: InformationRequestRecord, lang: str) -> InformationRequestOut:
    return InformationRequestOut(
        request_id=request.request_id,
        code=request.code,  # type: ignore[arg-type]
        message=translate(f"informationRequest.{request.code}", lang),
        receipt_id=request.receipt_id,
        status=request.status,  # type: ignore[arg-type]
        requested_at=request.requested_at,
    )


def _drug(drug: DrugRecord) -> DrugOut:
    fee = drug.dispensing_fee
    return DrugOut(
        din=drug.din,
        drug_name=drug.drug_name,
        pharmacy_name=drug.pharmacy_name,
        prescription_number=drug.prescription_number,
        quantity=str(drug.quantity) if drug.quantity is not None else None,
        days_supply=drug.days_supply,
        dispensing_fee=money_to_str(Decimal(fee)) if fee is not None else None,
    )


def _adjudication(adj: AdjudicationRecord, lang: str) -> Adjudication:
    lines = []
    for line in adj.lines:
        explanation = line.explanation
        if isinstance(explanation, dict):  # the processor stores both languages
            explanation = explanation.get("en" if lang.startswith("en") else "fr")
        lines.append(
            AdjudicationLine(
                treatment_index=line.treatment_index,
                claimed=money_to_str(line.claimed),
                eligible=money_to_str(line.eligible),
                paid=money_to_str(line.paid),
                reason_code=line.reason_code or None,
                explanation=str(explanation) if explanation else None,
            )
        )
    return Adjudication(lines=lines, total_paid=money_to_str(adj.total_paid), processed_at=adj.processed_at)
