"""Bilingual emails of the identity flows (text and HTML), from the ``auth.email.*`` catalogue keys.

``render(kind, lang, code)`` gives the subject and both bodies. ``code`` is the one-time code, or
Cognito's ``{####}`` placeholder when CustomMessage builds a template that Cognito fills in.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from portal_common.i18n import ENGLISH, FRENCH, language_from_preference, translate

KINDS = ("signin", "verify", "reset")


@dataclass(frozen=True)
class Email:
    """One rendered email."""

    subject: str
    text: str
    html: str


def email_language(locale: str | None) -> str:
    """fr-CA or en-CA from the ``locale`` attribute (``fr``/``en``/``fr-CA``/``en-CA``); French by default."""
    return language_from_preference(locale) if locale else FRENCH


def render(kind: str, lang: str, code: str, *, minutes: int = 5) -> Email:
    """The ``kind`` email (signin, verify, reset) in ``lang`` carrying ``code``."""
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind}")
    lang = ENGLISH if lang == ENGLISH else FRENCH
    subject = translate(f"auth.email.{kind}.subject", lang)
    heading = translate(f"auth.email.{kind}.heading", lang)
    intro = translate(f"auth.email.{kind}.intro", lang)
    validity = translate(f"auth.email.{kind}.validity", lang, minutes=minutes)
    footer = translate("auth.email.footer", lang)
    brand = "Portail Santé" if lang == FRENCH else "Health Portal"
    text = f"{heading}\n\n{intro}\n\n    {code}\n\n{validity}\n\n{footer}\n\n-- {brand}\n"
    esc = html.escape
    body = (
        f'<!DOCTYPE html><html lang="{lang[:2]}"><head><meta charset="utf-8"><title>{esc(subject)}</title></head>'
        '<body style="font-family:Arial,Helvetica,sans-serif;color:#1a1a1a;">'
        f'<h1 style="font-size:20px;">{esc(heading)}</h1>'
        f"<p>{esc(intro)}</p>"
        f'<p style="font-size:28px;font-weight:bold;letter-spacing:4px;">{esc(code)}</p>'
        f"<p>{esc(validity)}</p>"
        f'<p style="font-size:12px;color:#555;">{esc(footer)}</p>'
        f"<p>{esc(brand)}</p></body></html>"
    )
    return Email(subject=subject, text=text, html=body)
