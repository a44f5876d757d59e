"""The local e-mail outbox: every message sent through SES (v1 or v2) on moto.

moto keeps sent messages in its SES backend (SESv2 stores into the same list); this reads them
in-process, turns each into ``{to, subject, text, html?, sentAt}`` and prints it on the console so
a developer can read verification and sign-in codes.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html as html_lib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.event_pollers import Poller

_TAG = re.compile(r"<[^>]+>")
_INVISIBLE = re.compile(r"(?is)<(head|style|script|title)\b.*?</\1\s*>")
_BLOCK = re.compile(r"(?i)<\s*(br|/p|/div|/h[1-6]|/li|/tr)\s*/?>")


@dataclass(frozen=True)
class OutboxMessage:
    """One sent e-mail, for one recipient."""

    to: str
    subject: str
    text: str
    html: str | None
    sent_at: str

    def as_json(self) -> dict[str, Any]:
        """The ``/_local/outbox`` item."""
        item: dict[str, Any] = {"to": self.to, "subject": self.subject, "text": self.text, "sentAt": self.sent_at}
        if self.html is not None:
            item["html"] = self.html
        return item


def html_to_text(markup: str) -> str:
    """A readable text version of an HTML body."""
    text = _INVISIBLE.sub("", markup)
    text = _BLOCK.sub("\n", text)
    text = _TAG.sub("", text)
    lines = [" ".join(line.split()) for line in html_lib.unescape(text).splitlines()]
    return "\n".join(line for line in lines if line).strip()


def _looks_like_html(body: str) -> bool:
    return bool(re.search(r"(?i)<(html|body|p|div|br|table|a)\b", body))


def _recipients(destinations: Any) -> list[str]:
    if isinstance(destinations, dict):
        found: list[str] = []
        for key in ("ToAddresses", "CcAddresses", "BccAddresses"):
            found.extend(destinations.get(key) or [])
        return found
    if isinstance(destinations, list):
        return [str(d) for d in destinations]
    return []


def _from_raw(raw: str) -> tuple[str, str, str | None, list[str]]:
    message = email.message_from_string(raw, policy=email.policy.default)
    subject = str(message.get("Subject", ""))
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    html = html_part.get_content() if html_part is not None else None  # type: ignore[attr-defined]
    text = text_part.get_content() if text_part is not None else (html_to_text(html) if html else "")  # type: ignore[attr-defined]
    to = [str(a) for a in (message.get_all("To") or [])]
    return subject, text, html, to


def convert(message: Any, sent_at: str) -> list[OutboxMessage]:
    """moto's stored message -> one outbox entry per recipient."""
    html: str | None = None
    if hasattr(message, "raw_data"):
        subject, text, html, header_to = _from_raw(message.raw_data)
        recipients = _recipients(message.destinations) or header_to
    elif hasattr(message, "template"):
        subject = f"[template {message.template}]"
        text = str(message.template_data)
        recipients = _recipients(message.destinations)
    else:
        subject = str(message.subject or "")
        body = str(message.body or "")
        # moto keeps only the HTML part when a message has both: derive the text from it.
        if _looks_like_html(body):
            html, text = body, html_to_text(body)
        else:
            text = body
        recipients = _recipients(message.destinations)
    return [OutboxMessage(to=r, subject=subject, text=text, html=html, sent_at=sent_at) for r in recipients]


class Outbox(Poller):
    """Collects new messages from moto's SES backend; newest first per recipient."""

    name = "outbox"

    def __init__(self, account_id: str, region: str, printer: Callable[[OutboxMessage], None] | None = None) -> None:
        self.account_id = account_id
        self.region = region
        self._printer = printer
        self._seen = 0
        self._items: list[OutboxMessage] = []
        self._lock = threading.Lock()

    def _sent(self) -> list[Any]:
        from moto.ses.models import ses_backends

        return list(ses_backends[self.account_id][self.region].sent_messages)

    def collect(self) -> int:
        """Pick up messages sent since the last call; returns how many."""
        with self._lock:
            sent = self._sent()
            new = sent[self._seen :]
            self._seen = len(sent)
            now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            converted = [entry for message in new for entry in convert(message, now)]
            self._items.extend(converted)
        if self._printer:
            for entry in converted:
                self._printer(entry)
        return len(converted)

    def poll_once(self) -> bool:
        """As a poller: print what was sent since the last poll."""
        found = self.collect() > 0
        if found:
            self.found()
        return found

    def items(self, to: str | None = None) -> list[OutboxMessage]:
        """Messages (to one address, case-insensitive, when given), newest first."""
        self.collect()
        with self._lock:
            chosen = [m for m in self._items if to is None or m.to.lower() == to.lower()]
        return list(reversed(chosen))
