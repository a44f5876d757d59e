"""Bilingual emails of the identity flows (text and HTML), from the ``auth.email.*`` catalogue keys.

``render(kind, lang, code)`` gives the subject and both bodies of a code email. ``code`` is the
one-time code, or Cognito's ``{####}`` placeholder when CustomMessage builds a template that
Cognito fills in. ``render_notice(kind, lang, **params)`` gives a notice without a code (the
account settings: the new address is already taken, the sign-in email or the password changed).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.i18n import ENGLISH, FRENCH, language_from_preference, translate

KINDS = ("signin", "verify", "reset", "email_change")
NOTICES = ("email_taken", "email_changed", "password_changed")


@dataclass(frozen=True)
class Email:
    """One rendered email."""

    subject: str
    text: str
    html: str


def email_language(locale: str | None) -> str:
    """fr-CA or en-CA from the ``locale`` attribute (``fr``/``en``/``fr-CA``/``en-CA``); French by default."""
    return language_from_preference(locale) if locale else FRENCH


def _compose(lang: str, prefix: str, code: str | None, footer_key: str, **params: object) -> Email:
    lang = ENGLISH if lang == ENGLISH else FRENCH
    subject = translate(f"{prefix}.subject", lang)
    heading = translate(f"{prefix}.heading", lang)
    intro = translate(f"{prefix}.intro", lang, **params)
    closing = translate(f"{prefix}.validity", lang, **params)
    footer = translate(footer_key, lang)
    brand = "Portail Santé" if lang == FRENCH else "Health Portal"
    code_text = f"    {code}\n\n" if code is not None else ""
    text = f"{heading}\n\n{intro}\n\n{code_text}{closing}\n\n{footer}\n\n-- {brand}\n"
    esc = html.escape
    code_html = (
        f'<p style="font-size:28px;font-weight:bold;letter-spacing:4px;">{esc(code)}</p>' if code is not None else ""
    )
    body = (
        f'<!DOCTYPE html><html lang="{lang[:2]}"><head><meta charset="utf-8"><title>{esc(subject)}</title></head>'
        '<body style="font-family:Arial,Helvetica,sans-serif;color:#1a1a1a;">'
        f'<h1 style="font-size:20px;">{esc(heading)}</h1>'
        f"<p>{esc(intro)}</p>"
        f"{code_html}"
        f"<p>{esc(closing)}</p>"
        f'<p style="font-size:12px;color:#555;">{esc(footer)}</p>'
        f"<p>{esc(brand)}</p></body></html>"
    )
    return Email(subject=subject, text=text, html=body)


def render(kind: str, lang: str, code: str, *, minutes: int = 5) -> Email:
    """The ``kind`` email (signin, verify, reset, email_change) in ``lang`` carrying ``code``."""
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind}")
    return _compose(lang, f"auth.email.{kind}", code, "auth.email.footer", minutes=minutes)


def render_notice(kind: str, lang: str, **params: object) -> Email:
    """The ``kind`` notice (email_taken, email_changed, password_changed) in ``lang``, no code."""
    if kind not in NOTICES:
        raise ValueError(f"unknown notice kind {kind}")
    return _compose(lang, f"auth.email.{kind}", None, "auth.email.notice_footer", **params)


def send(to: str, message: Email) -> None:
    """Send through SES from ``SENDER_EMAIL`` (text and HTML)."""
    client("ses").send_email(
        Source=get_settings().sender_email,
        Destination={"ToAddresses": [to]},
        Message={
            "Subject": {"Data": message.subject, "Charset": "UTF-8"},
            "Body": {
                "Text": {"Data": message.text, "Charset": "UTF-8"},
                "Html": {"Data": message.html, "Charset": "UTF-8"},
            },
        },
    )
