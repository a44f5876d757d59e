"""The formats of the contract's text values, each said once (standard library only, so any
function, trigger or import can use them without loading pydantic or boto3).

Digits are ASCII only, everywhere: ``\\d`` matches every Unicode decimal digit in Python's ``re`` and
in pydantic's Rust regex alike (``"٨٥.٠٠"`` and ``"８５.００"`` would pass, and ``Decimal`` reads them
as 85.00), so the patterns say ``[0-9]``. The compiled patterns end with ``\\Z`` (``$`` would let a
trailing newline through); the pattern *texts* given to pydantic end with ``$``, which the Rust
regex reads as the very end of the text.
"""

from __future__ import annotations

import re
from decimal import Decimal

MONEY_PATTERN_TEXT = r"^[0-9]{1,7}(\.[0-9]{1,2})?$"
"""A money amount as the contract writes it: up to seven ASCII digits, up to two decimals."""
MONEY_PATTERN = re.compile(MONEY_PATTERN_TEXT[:-1] + r"\Z")

MAX_TREATMENT_AMOUNT = Decimal("25000.00")
"""The most one treatment line of a claim may claim (contract, Claims: bounds)."""
MAX_CLAIM_TOTAL = Decimal("50000.00")
"""The most one claim may claim in all (its treatment lines together)."""

DATE_PATTERN_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
"""A date as the contract writes it: ``YYYY-MM-DD``, ASCII digits."""
DATE_PATTERN = re.compile(DATE_PATTERN_TEXT[:-1] + r"\Z")

DIN_PATTERN = r"^[0-9]{8}$"
"""A Drug Identification Number: 8 ASCII digits (Health Canada)."""
_DIN = re.compile(DIN_PATTERN[:-1] + r"\Z")

CODE_PATTERN = r"^[0-9]{6}$"
"""A verification or reset code sent by e-mail: 6 ASCII digits."""
_CODE = re.compile(CODE_PATTERN[:-1] + r"\Z")


def is_din(text: str) -> bool:
    """Whether ``text`` is a DIN (8 ASCII digits, nothing else)."""
    return bool(_DIN.match(text))


def is_code(text: str) -> bool:
    """Whether ``text`` is a 6-digit e-mailed code (ASCII digits, nothing else)."""
    return bool(_CODE.match(text))
