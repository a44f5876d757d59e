"""Which secrets of a test (passwords, codes, sessions, tokens) appear in a log text.

A one-time code is six digits: found inside a longer number (an epoch in milliseconds, an id) it
is not the code, so a code counts only where no digit touches it; every other secret counts
anywhere. Each finding shows the secret's start and the text around it, the secret masked, so a
failure says where to look.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_AROUND = 40


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    found = []
    for secret in sorted(s for s in secrets if s):
        pattern = rf"(?<!\d){re.escape(secret)}(?!\d)" if secret.isdigit() else re.escape(secret)
        match = re.search(pattern, text)
        if match:
            before = text[max(0, match.start() - _AROUND) : match.start()]
            after = text[match.end() : match.end() + _AROUND]
            found.append(f"{secret[:12]}... in {before!r} <secret> {after!r}")
    return found
