"""Canadian provider data rules (pure): NANP phone numbers, provinces, postal codes, name keys."""

from __future__ import annotations

import re

from portal_common.text import normalized

# Province / territory -> first letters of its postal codes (Canada Post forward sortation areas).
POSTAL_PREFIXES: dict[str, str] = {
    "NL": "A",
    "NS": "B",
    "PE": "C",
    "NB": "E",
    "QC": "GHJ",
    "ON": "KLMNP",
    "MB": "R",
    "SK": "S",
    "AB": "T",
    "BC": "V",
    "NU": "X",
    "NT": "X",
    "YT": "Y",
}
PROVINCES = tuple(POSTAL_PREFIXES)
MIN_PREFIX = 2  # shortest name prefix a search takes (and the length of the name index's buckets)
# D, F, I, O, Q, U never appear; W and Z never as first letter.
_POSTAL = re.compile(r"^([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z])\s?(\d[ABCEGHJ-NPRSTV-Z]\d)$")
_DIGITS = re.compile(r"\D")
_PHONE_CHARS = re.compile(r"^[\d\s().+\-]{10,25}$")


def normalize_phone(text: str) -> str | None:
    """A NANP number in E.164 (``+15145550199``), or ``None`` when it is not a valid one.

    Accepts any usual format: ``(514) 555-0199``, ``514.555.0199``, ``+1 514 555 0199``,
    ``1-514-555-0199``. Area code and exchange start with 2-9 and are not N11 service codes.
    """
    if not isinstance(text, str) or not _PHONE_CHARS.match(text.strip()):
        return None
    stripped = text.strip()
    digits = _DIGITS.sub("", stripped)
    if stripped.startswith("+") and not digits.startswith("1"):
        return None
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        return None
    area, exchange = digits[:3], digits[3:6]
    for part in (area, exchange):
        if part[0] in "01" or part[1:] == "11":
            return None
    return "+1" + digits


def normalize_postal_code(text: str) -> str | None:
    """``h2x1y4`` -> ``H2X 1Y4``; ``None`` when it is not a Canadian postal code."""
    match = _POSTAL.match(text.strip().upper()) if isinstance(text, str) else None
    return f"{match.group(1)} {match.group(2)}" if match else None


def postal_code_matches_province(postal_code: str, province: str) -> bool:
    """Whether the postal code's first letter belongs to the province or territory."""
    return bool(postal_code) and postal_code[0] in POSTAL_PREFIXES.get(province, "")


def name_key(first_name: str | None, last_name: str | None, business_name: str | None) -> str:
    """The normalized name that, with phone and type, identifies a provider (duplicates check)."""
    if last_name or first_name:
        return normalized(f"{last_name or ''} {first_name or ''}")
    return normalized(business_name or "")


def display_name(first_name: str | None, last_name: str | None, business_name: str | None) -> str:
    """``Julie Lavoie (Physio Plateau)``, ``Julie Lavoie`` or ``Physio Plateau``."""
    person = " ".join(p for p in (first_name, last_name) if p)
    if person and business_name:
        return f"{person} ({business_name})"
    return person or business_name or ""


def name_prefix(text: str) -> str:
    """Folded search prefix (case, accents and punctuation ignored)."""
    return normalized(text)
