"""The formats of the contract's text values, each said once (standard library only, so any
function, trigger or import can use them without loading pydantic or boto3)."""

from __future__ import annotations

import re

MONEY_PATTERN = re.compile(r"^\d{1,7}(\.\d{1,2})?$")
"""A money amount as the contract writes it: up to seven digits, up to two decimals."""

DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
"""A date as the contract writes it: ``YYYY-MM-DD``."""

DIN_PATTERN = r"^\d{8}$"
"""A Drug Identification Number: 8 digits (Health Canada)."""
_DIN = re.compile(DIN_PATTERN)


def is_din(text: str) -> bool:
    """Whether ``text`` is a DIN (8 digits, nothing else)."""
    return bool(_DIN.match(text))
