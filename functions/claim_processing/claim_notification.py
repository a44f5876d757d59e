"""What the claim processor tells the world: ``ClaimStatusChanged`` on the bus, and an e-mail to the
member in their language (text and HTML) showing what a benefits statement shows: claim number,
claim type, patient's first name, status, and per line date of service, claimed, eligible, paid and
the explanation. No participant number, date of birth or receipt content.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from claim_adjudication import money_text
from email_confirmations import send_tags

from portal_common.aws_clients import client
from portal_common.claim_events import ClaimStatusChangedV1
from portal_common.claim_records import PENDING_INFORMATION, ClaimRecord
from portal_common.claim_types import claim_types
from portal_common.config import get_settings
from portal_common.i18n import ENGLISH, language_from_preference, translate
from portal_common.members import Member


class PublishFailed(Exception):
    """EventBridge refused an entry (the record is retried)."""


class SendUncertain(Exception):
    """The send request went out but no answer came back (read timeout, connection reset, or an
    SES server error): SES may have accepted the mail. A retry first looks for its confirmation."""


def uncertain(error: Exception) -> bool:
    """Whether a failed ``SendEmail`` may nevertheless have been accepted by SES.

    Certain (nothing sent): a connection never made (``ConnectionError``: connect timeout, DNS,
    TLS, proxy) and every 4xx answer (throttling, ``MessageRejected``, a refused identity).
    Uncertain: the request was written and its answer lost (``ReadTimeoutError``,
    ``ConnectionClosedError``: ``HTTPClientError`` but not a connection error), or SES answered 5xx."""
    if isinstance(error, ClientError):
        status = int((error.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
        return status >= 500
    return isinstance(error, HTTPClientError) and not isinstance(error, ConnectionError)


@dataclass(frozen=True)
class StatusChange:
    """One transition of a claim made by the processor."""

    previous: str
    status: str
    at: str


def publish_status_changes(claim: ClaimRecord, changes: list[StatusChange]) -> None:
    """Put one ``ClaimStatusChanged`` per transition (one ``PutEvents`` call)."""
    if not changes:
        return
    bus = get_settings().event_bus_name
    entries = [ClaimStatusChangedV1.of(claim, c.previous, c.status, c.at).entry(bus) for c in changes]
    response = client("events").put_events(Entries=entries)
    if response.get("FailedEntryCount"):
        raise PublishFailed(f"{response['FailedEntryCount']} ClaimStatusChanged entries refused")


def claim_type_name(code: str, lang: str) -> str:
    """The claim type's display name (claim-type catalogue), the code when unknown."""
    return claim_types().name(code, lang)


def email_language(claim: ClaimRecord, member: Member | None) -> str:
    """The claim's language (the member's preference at submission), else the profile's."""
    return language_from_preference(claim.language or (member.language if member else None))


@dataclass(frozen=True)
class Email:
    """A rendered notification."""

    to: str
    subject: str
    text: str
    html: str


def render_email(claim: ClaimRecord, member: Member, lang: str) -> Email | None:
    """The notification for the claim's current status, or ``None`` when the member has no e-mail."""
    if not member.email:
        return None
    status = claim.status
    submitted = datetime.fromisoformat(claim.submitted_at.replace("Z", "+00:00")).date().isoformat()
    person = member.person(claim.patient_id)
    claim_id = claim.claim_id
    first_name = member.first_name
    status_text = translate(f"adjudication.status.{status}", lang)
    params = {"claimId": claim_id, "claimType": claim_type_name(claim.claim_type, lang), "submittedOn": submitted}
    paragraphs: list[str] = [translate("adjudication.email.greeting", lang, firstName=first_name)]
    rows: list[list[str]] = []
    key = "en" if lang == ENGLISH else "fr"
    total_paid = claim.total_paid or Decimal("0")
    if status == PENDING_INFORMATION:
        paragraphs.append(translate("adjudication.email.introPending", lang, **params))
        paragraphs.append(translate("adjudication.email.status", lang, status=status_text))
        reason = claim.pending_reason or "RECEIPT_MISSING"
        paragraphs.append(translate(f"adjudication.pending.{reason}", lang))
    else:
        paragraphs.append(translate("adjudication.email.intro", lang, **params))
        paragraphs.append(translate("adjudication.email.status", lang, status=status_text))
        if person is not None:
            paragraphs.append(translate("adjudication.email.patient", lang, patient=person.first_name))
        paragraphs.append(
            translate(
                "adjudication.email.totals",
                lang,
                claimed=money_text(claim.total_claimed, lang),
                paid=money_text(total_paid, lang),
            )
        )
        for line in claim.adjudication.lines if claim.adjudication is not None else []:
            explanation = line.explanation if isinstance(line.explanation, dict) else {}
            rows.append(
                [
                    line.date_of_service or "",
                    money_text(line.claimed, lang),
                    money_text(line.eligible, lang),
                    money_text(line.paid, lang),
                    explanation.get(key) or explanation.get("fr") or "",
                ]
            )
    closing = [translate("adjudication.email.payment", lang)] if total_paid > 0 else []
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


def send_email(email: Email, *, claim_id: str, seq: int) -> None:
    """Send through SES from ``SENDER_EMAIL``, in the claim e-mails' configuration set and tagged
    with the outbox entry (``claim_id``, ``seq``), so that SES's ``Send`` event confirms it
    (``email_confirmations``). A failure that leaves the outcome unknown raises :class:`SendUncertain`."""
    settings = get_settings()
    try:
        client("ses").send_email(
            Source=settings.sender_email,
            Destination={"ToAddresses": [email.to]},
            Message={
                "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": email.text, "Charset": "UTF-8"},
                    "Html": {"Data": email.html, "Charset": "UTF-8"},
                },
            },
            ConfigurationSetName=settings.claim_email_configuration_set,
            Tags=send_tags(claim_id, seq),
        )
    except (ClientError, HTTPClientError) as error:
        if uncertain(error):
            raise SendUncertain(type(error).__name__) from error
        raise
