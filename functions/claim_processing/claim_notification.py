"""What the claim processor tells the world: ``ClaimStatusChanged`` on the bus, and an e-mail to the
member in their language (text and HTML) showing what a benefits statement shows: claim number,
claim type, patient's first name, status, and per line date of service, claimed, eligible, paid and
the explanation. No participant number, date of birth or receipt content.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from claim_adjudication import money_text

from portal_common.aws_clients import client
from portal_common.claim_types import claim_types
from portal_common.config import get_settings
from portal_common.i18n import ENGLISH, language_from_preference, translate
from portal_common.members import Member

EVENT_SOURCE = "ca.portal.claims"
STATUS_CHANGED = "ClaimStatusChanged"
DETAIL_VERSION = "1"


class PublishFailed(Exception):
    """EventBridge refused an entry (the record is retried)."""


@dataclass(frozen=True)
class StatusChange:
    """One transition of a claim made by the processor."""

    previous: str
    status: str
    at: str


def status_changed_detail(item: dict[str, Any], change: StatusChange) -> dict[str, Any]:
    """``ClaimStatusChanged`` detail, version 1 (see docs/events.md)."""
    detail: dict[str, Any] = {
        "version": DETAIL_VERSION,
        "claimId": str(item["claimId"]),
        "memberKey": str(item["PK"]),
        "claimType": str(item["claimType"]),
        "patientId": str(item["patientId"]),
        "previousStatus": change.previous,
        "status": change.status,
        "changedAt": change.at,
        "totalClaimed": str(item.get("totalClaimed", "0")),
    }
    if item.get("totalPaid") is not None and change.status in {"PAID", "PARTIALLY_PAID", "DENIED"}:
        detail["totalPaid"] = f"{Decimal(str(item['totalPaid'])):.2f}"
    if change.status == "PENDING_INFORMATION" and item.get("pendingReason"):
        detail["pendingReason"] = str(item["pendingReason"])
    return detail


def publish_status_changes(item: dict[str, Any], changes: list[StatusChange]) -> None:
    """Put one ``ClaimStatusChanged`` per transition (one ``PutEvents`` call)."""
    if not changes:
        return
    entries = [
        {
            "Source": EVENT_SOURCE,
            "DetailType": STATUS_CHANGED,
            "Detail": json.dumps(status_changed_detail(item, change)),
            "EventBusName": get_settings().event_bus_name,
            "Resources": [],
        }
        for change in changes
    ]
    response = client("events").put_events(Entries=entries)
    if response.get("FailedEntryCount"):
        raise PublishFailed(f"{response['FailedEntryCount']} ClaimStatusChanged entries refused")


def claim_type_name(code: str, lang: str) -> str:
    """The claim type's display name (claim-type catalogue), the code when unknown."""
    return claim_types().name(code, lang)


def email_language(item: dict[str, Any], member: Member | None) -> str:
    """The claim's language (the member's preference at submission), else the profile's."""
    preferred = item.get("language") or (member.language if member else None)
    return language_from_preference(str(preferred) if preferred else None)


@dataclass(frozen=True)
class Email:
    """A rendered notification."""

    to: str
    subject: str
    text: str
    html: str


def render_email(item: dict[str, Any], member: Member, lang: str) -> Email | None:
    """The notification for the claim's current status, or ``None`` when the member has no e-mail."""
    if not member.email:
        return None
    status = str(item["status"])
    submitted = datetime.fromisoformat(str(item["submittedAt"]).replace("Z", "+00:00")).date().isoformat()
    person = member.person(str(item["patientId"]))
    claim_id = str(item["claimId"])
    first_name = member.first_name
    status_text = translate(f"adjudication.status.{status}", lang)
    params = {"claimId": claim_id, "claimType": claim_type_name(str(item["claimType"]), lang), "submittedOn": submitted}
    paragraphs: list[str] = [translate("adjudication.email.greeting", lang, firstName=first_name)]
    rows: list[list[str]] = []
    key = "en" if lang == ENGLISH else "fr"
    if status == "PENDING_INFORMATION":
        paragraphs.append(translate("adjudication.email.introPending", lang, **params))
        paragraphs.append(translate("adjudication.email.status", lang, status=status_text))
        reason = str(item.get("pendingReason") or "RECEIPT_MISSING")
        paragraphs.append(translate(f"adjudication.pending.{reason}", lang))
    else:
        paragraphs.append(translate("adjudication.email.intro", lang, **params))
        paragraphs.append(translate("adjudication.email.status", lang, status=status_text))
        if person is not None:
            paragraphs.append(translate("adjudication.email.patient", lang, patient=person.first_name))
        total_paid = Decimal(str(item.get("totalPaid", "0")))
        paragraphs.append(
            translate(
                "adjudication.email.totals",
                lang,
                claimed=money_text(Decimal(str(item.get("totalClaimed", "0"))), lang),
                paid=money_text(total_paid, lang),
            )
        )
        for line in (item.get("adjudication") or {}).get("lines", []):
            explanation = line.get("explanation") or {}
            rows.append(
                [
                    str(line.get("dateOfService", "")),
                    money_text(Decimal(str(line["claimed"])), lang),
                    money_text(Decimal(str(line["eligible"])), lang),
                    money_text(Decimal(str(line["paid"])), lang),
                    str(explanation.get(key) or explanation.get("fr") or ""),
                ]
            )
    closing = [translate("adjudication.email.payment", lang)] if Decimal(str(item.get("totalPaid", "0"))) > 0 else []
    closing.append(translate("adjudication.email.footer", lang))
    subject = translate("adjudication.email.subject", lang, claimId=claim_id, status=status_text)
    text = _text_body(paragraphs, rows, closing, lang)
    body = _html_body(paragraphs, rows, closing, lang)
    return Email(to=member.email, subject=subject, text=text, html=body)


def _text_body(paragraphs: list[str], rows: list[list[str]], closing: list[str], lang: str) -> str:
    parts = list(paragraphs)
    if rows:
        parts.append(translate("adjudication.email.linesTitle", lang))
        for date_, claimed, eligible, paid, explanation in rows:
            line = translate("adjudication.email.line", lang, date=date_, claimed=claimed, eligible=eligible, paid=paid)
            parts.append(f"- {line}\n  {explanation}")
    parts.extend(closing)
    return "\n\n".join(parts) + "\n"


def _html_body(paragraphs: list[str], rows: list[list[str]], closing: list[str], lang: str) -> str:
    esc = html.escape
    parts = [f"<p>{esc(p)}</p>" for p in paragraphs]
    if rows:
        heads = ["columnDate", "columnClaimed", "columnEligible", "columnPaid", "columnExplanation"]
        head = "".join(f"<th>{esc(translate(f'adjudication.email.{h}', lang))}</th>" for h in heads)
        body = "".join("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>" for row in rows)
        parts.append(f"<h2>{esc(translate('adjudication.email.linesTitle', lang))}</h2>")
        parts.append(f'<table border="1" cellpadding="4" cellspacing="0"><tr>{head}</tr>{body}</table>')
    parts.extend(f"<p>{esc(p)}</p>" for p in closing)
    html_lang = "en-CA" if lang == ENGLISH else "fr-CA"
    return f'<!DOCTYPE html><html lang="{html_lang}"><body>{"".join(parts)}</body></html>'


def send_email(email: Email) -> None:
    """Send through SES from ``SENDER_EMAIL``."""
    client("ses").send_email(
        Source=get_settings().sender_email,
        Destination={"ToAddresses": [email.to]},
        Message={
            "Subject": {"Data": email.subject, "Charset": "UTF-8"},
            "Body": {
                "Text": {"Data": email.text, "Charset": "UTF-8"},
                "Html": {"Data": email.html, "Charset": "UTF-8"},
            },
        },
    )
