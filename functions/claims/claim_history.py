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

from claim_store import CLAIM_KEY_NAMES, STATUS_KEY_NAMES, get_claim, list_claims

from portal_common.claim_types import claim_types
from portal_common.members import Member
from portal_common.models import money_to_str
from portal_common.pagination import decode_cursor, encode_cursor
from portal_common.problems import NotFound

CLAIM_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def _money(value: Any) -> str:
    return money_to_str(Decimal(str(value)))


def summary(item: dict[str, Any], member: Member, lang: str) -> dict[str, Any]:
    """A claim as a list entry."""
    person = member.person(str(item.get("patientId")))
    body: dict[str, Any] = {
        "claimId": item["claimId"],
        "claimType": item["claimType"],
        "claimTypeName": claim_types().name(str(item["claimType"]), lang),
        "patient": {"personId": item["patientId"], "firstName": person.first_name if person else ""},
        "status": item["status"],
        "submittedAt": item["submittedAt"],
        "totalClaimed": _money(item["totalClaimed"]),
    }
    if item.get("providerId"):
        body["provider"] = {"providerId": item["providerId"], "displayName": item.get("providerDisplayName") or ""}
    if item.get("totalPaid") is not None:
        body["totalPaid"] = _money(item["totalPaid"])
    return body


def page(member: Member, lang: str, *, status: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """``GET /v1/claims``: one page, newest first, with an opaque cursor scoped to member and filter."""
    scope = f"claims|{member.key}|{status or '*'}"
    start = decode_cursor(cursor, scope, STATUS_KEY_NAMES if status else CLAIM_KEY_NAMES)
    items, last = list_claims(member.key, status=status, limit=limit, start_key=start)
    return {"items": [summary(i, member, lang) for i in items], "nextCursor": encode_cursor(last, scope)}


def detail(member: Member, claim_id: str, lang: str) -> dict[str, Any]:
    """``GET /v1/claims/{claimId}``: the claim as submitted, its status history and adjudication."""
    if not CLAIM_ID.match(claim_id):
        raise NotFound("CLAIM_NOT_FOUND")
    item = get_claim(member.key, claim_id)
    if item is None:
        raise NotFound("CLAIM_NOT_FOUND")
    body = summary(item, member, lang)
    treatments = []
    for t in item.get("treatments", []):
        out = {k: v for k, v in t.items() if k != "amount"}
        out["amount"] = _money(t["amount"])
        if "quantity" in out:
            out["quantity"] = int(out["quantity"])
        treatments.append(out)
    drug = item.get("drug")
    if isinstance(drug, dict) and drug.get("quantity") is not None:
        drug = {**drug, "quantity": str(drug["quantity"])}
    body.update(
        {
            "category": item.get("category"),
            "answers": item.get("answers", {}),
            "treatments": treatments,
            "receiptIds": list(item.get("receiptIds", [])),
            "statusHistory": [{"status": h["status"], "at": h["at"]} for h in item.get("statusHistory", [])],
        }
    )
    if drug:
        body["drug"] = drug
    if item.get("additionalInfo"):
        body["additionalInfo"] = item["additionalInfo"]
    adjudication = item.get("adjudication")
    if isinstance(adjudication, dict):
        body["adjudication"] = _adjudication(adjudication, lang)
    return body


def _adjudication(adj: dict[str, Any], lang: str) -> dict[str, Any]:
    lines = []
    for line in adj.get("lines", []):
        explanation = line.get("explanation")
        if isinstance(explanation, dict):  # the processor may store both languages
            explanation = explanation.get("en" if lang.startswith("en") else "fr")
        out: dict[str, Any] = {
            "treatmentIndex": int(line.get("treatmentIndex", 0)),
            "claimed": _money(line.get("claimed", 0)),
            "eligible": _money(line.get("eligible", 0)),
            "paid": _money(line.get("paid", 0)),
        }
        if line.get("reasonCode"):
            out["reasonCode"] = line["reasonCode"]
        if explanation:
            out["explanation"] = str(explanation)
        lines.append(out)
    return {"lines": lines, "totalPaid": _money(adj.get("totalPaid", 0)), "processedAt": adj.get("processedAt")}
