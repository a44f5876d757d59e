"""Adjudicating one stored claim on the member's current running totals: the one code path that the
claim processor (which then commits the result) and the estimate route (which writes nothing) share.

It lives in the layer, next to the pure rules (``claim_adjudication``), the running-total records
(``usage_records``) and the drug ruling (``claim_drug_ruling``), because two code folders run it:
``functions/claim_processing`` and ``functions/claims`` (``POST /v1/claims/estimate``). So an
estimate is, by construction, what the processor would pay for the same claim on the same totals.

Reads: one consistent ``BatchGetItem`` (every running-total record the claim needs and, for a drug
claim, the DIN's product in the drugs table), plus one ``GetItem`` of the product's interchangeable
group when the plan substitutes generics. Constant cost whatever the member's history.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from claim_adjudication import (
    Adjudication,
    ClaimToAdjudicate,
    DrugDetails,
    DrugRuling,
    Treatment,
    Usage,
    UsageKeys,
    adjudicate,
    usage_keys,
)
from claim_drug_ruling import claimed_din, ruling_for_item
from usage_records import usage_from_items, usage_sort_keys

from portal_common.aws_clients import client
from portal_common.claim_records import ClaimRecord
from portal_common.config import get_settings
from portal_common.drug_catalog import drug_key
from portal_common.dynamo import from_item, to_item
from portal_common.members import Member
from portal_common.plans import Plan

# BatchGetItem: at most 100 keys per call; a claim needs a handful (its benefit years and rolling scopes).
_BATCH_LIMIT = 100


def _decimal(value: Decimal | int | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def claim_to_adjudicate(claim: ClaimRecord) -> ClaimToAdjudicate:
    """The adjudication view of a claim (``ValueError`` on a malformed date)."""
    treatments = tuple(
        Treatment(index=i, date_of_service=date.fromisoformat(t.date_of_service), amount=t.amount)
        for i, t in enumerate(claim.treatments)
    )
    drug = None
    if claim.drug is not None:
        drug = DrugDetails(
            din=claim.drug.din or None,
            quantity=_decimal(claim.drug.quantity),
            dispensing_fee=_decimal(claim.drug.dispensing_fee),
        )
    submitted = datetime.fromisoformat(claim.submitted_at.replace("Z", "+00:00"))
    return ClaimToAdjudicate(
        claim_id=claim.claim_id,
        claim_type=claim.claim_type,
        patient_id=claim.patient_id,
        submitted_on=submitted.date(),
        treatments=treatments,
        answers=dict(claim.answers),
        drug=drug,
    )


def batch_get_tables(requests: dict[str, tuple[list[dict[str, Any]], bool]]) -> dict[str, list[dict[str, Any]]]:
    """One ``BatchGetItem`` over several tables (``{table: (plain keys, consistent)}``, at most 100
    keys in all), retrying unprocessed keys; the items found, per table."""
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in requests}
    if sum(len(keys) for keys, _ in requests.values()) > _BATCH_LIMIT:
        raise ValueError("more than 100 keys in one BatchGetItem")
    pending: dict[str, Any] = {
        table: {"Keys": [to_item(k) for k in keys], "ConsistentRead": consistent}
        for table, (keys, consistent) in requests.items()
        if keys
    }
    for _ in range(8):
        if not pending:
            return found
        response = client("dynamodb").batch_get_item(RequestItems=pending)
        for table, items in response.get("Responses", {}).items():
            found[table].extend(from_item(i) or {} for i in items)
        pending = response.get("UnprocessedKeys") or {}
    if pending:
        raise RuntimeError("BatchGetItem left unprocessed keys")
    return found


def read_usage(pk: str, keys: UsageKeys) -> Usage:
    """The running-total records ``keys`` names (one consistent ``BatchGetItem``)."""
    usage, _ = read_usage_and_product(pk, keys, None)
    return usage


def read_usage_and_product(pk: str, keys: UsageKeys, din: str | None) -> tuple[Usage, dict[str, Any] | None]:
    """The running totals ``keys`` names (consistent) and, when ``din`` is given, the stored product
    of that DIN (``None`` when unknown), in one ``BatchGetItem``."""
    settings = get_settings()
    requests: dict[str, tuple[list[dict[str, Any]], bool]] = {
        settings.claims_table: ([{"PK": pk, "SK": sk} for sk in usage_sort_keys(keys)], True)
    }
    if din is not None:
        requests[settings.drugs_table] = ([drug_key(din)], False)
    found = batch_get_tables(requests)
    product = next(iter(found.get(settings.drugs_table, [])), None)
    return usage_from_items(keys, found[settings.claims_table]), product


def adjudicate_claim(claim: ClaimRecord, member: Member | None, plan: Plan) -> Adjudication:
    """The processor's adjudication of ``claim`` on the member's running totals as stored now
    (writes nothing: the processor commits the result, an estimate only shows it)."""
    to_adjudicate = claim_to_adjudicate(claim)
    din = claimed_din(to_adjudicate) if to_adjudicate.is_drug else None
    usage, product = read_usage_and_product(claim.member_key, usage_keys(plan, to_adjudicate), din)
    ruling: DrugRuling | None = None
    if to_adjudicate.is_drug:
        ruling = ruling_for_item(plan, product)
    return adjudicate(plan, member, to_adjudicate, usage, ruling)
