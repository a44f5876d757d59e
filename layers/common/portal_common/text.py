"""Text normalization for search: case and accents ignored, French and English alike."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower-case, accents removed, ``œ``/``æ`` expanded: ``Médicament`` -> ``medicament``."""
    text = text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae").replace("ß", "ss")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def words(text: str) -> list[str]:
    """Folded words of ``text`` (letters and digits; punctuation and spaces split)."""
    return [w for w in _NON_WORD.split(fold(text)) if w]


def normalized(text: str) -> str:
    """Folded words joined by single spaces (a stable key for names)."""
    return " ".join(words(text))
