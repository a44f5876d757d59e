"""Message catalogues (fr-CA first, en-CA) and Accept-Language negotiation.

Catalogues are JSON files under ``messages/<lang>/``; each feature keeps its own file
(``common.json``, ``auth.json``, ``claims.json``, ...) and they are merged when first used. A key
missing in English falls back to French, then to the key itself, so a forgotten translation shows
up in tests instead of crashing a request.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

FRENCH = "fr-CA"
ENGLISH = "en-CA"
LANGUAGES = (FRENCH, ENGLISH)
DEFAULT_LANGUAGE = FRENCH

_DIR = Path(__file__).parent / "messages"
_lock = threading.Lock()
_catalogues: dict[str, dict[str, str]] = {}


def _load(lang: str) -> dict[str, str]:
    found = _catalogues.get(lang)
    if found is not None:
        return found
    with _lock:
        if lang not in _catalogues:
            merged: dict[str, str] = {}
            for path in sorted((_DIR / lang).glob("*.json")):
                merged.update(json.loads(path.read_text(encoding="utf-8")))
            _catalogues[lang] = merged
        return _catalogues[lang]


def negotiate(accept_language: str | None) -> str:
    """Pick fr-CA or en-CA from an ``Accept-Language`` header (default fr-CA).

    Honours q-values; any ``fr*`` tag means French and any ``en*`` tag English.
    """
    if not accept_language:
        return DEFAULT_LANGUAGE
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept_language.split(",")[:20]):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if tag.startswith("fr"):
            lang = FRENCH
        elif tag.startswith("en"):
            lang = ENGLISH
        else:
            continue
        candidate = (quality, -position, lang)
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else DEFAULT_LANGUAGE


def language_from_preference(preferred: str | None) -> str:
    """Map a stored preference (``fr``/``en``, or a full tag) to a catalogue language."""
    return ENGLISH if (preferred or "").lower().startswith("en") else FRENCH


def translate(key: str, lang: str, **params: Any) -> str:
    """The message ``key`` in ``lang`` with ``{name}`` placeholders filled from ``params``."""
    template = _load(lang).get(key)
    if template is None and lang != DEFAULT_LANGUAGE:
        template = _load(DEFAULT_LANGUAGE).get(key)
    if template is None:
        return key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def has_message(key: str, lang: str = DEFAULT_LANGUAGE) -> bool:
    """Whether the catalogue of ``lang`` defines ``key``."""
    return key in _load(lang)


def keys(lang: str) -> set[str]:
    """All keys of a catalogue (the tests check both languages define the same keys)."""
    return set(_load(lang))
