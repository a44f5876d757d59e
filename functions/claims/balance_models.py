"""Response models of ``GET /v1/me/balances`` (v1.1): what is left for one person of the certificate.

Apart from ``claims_models`` so that the ``/me`` route group (``member_api``), which a client calls
first, does not import every claim model at a cold start (``docs/performance.md``).
"""

from __future__ import annotations

from typing import Literal

from portal_common.models import OutputModel


class BenefitYearOut(OutputModel):
    start: str
    end: str


class DeductibleBalance(OutputModel):
    amount: str
    used: str
    remaining: str


class DeductibleOut(OutputModel):
    per_person: DeductibleBalance
    per_family: DeductibleBalance | None = None


class FrequencyOut(OutputModel):
    """At most ``count`` services in any ``months`` rolling months; ``used`` in the window ending on
    ``asOf``; ``nextEligibleDate`` the first day from ``asOf`` on which one more is paid (``null``:
    ``asOf`` itself)."""

    count: int
    months: int
    used: int
    next_eligible_date: str | None


class BalanceItem(OutputModel):
    """One maximum (per benefit, shared, or drugs) and what was paid against it in its period."""

    code: str
    name: str
    claim_types: list[str]
    period: Literal["BENEFIT_YEAR", "ROLLING_24_MONTHS", "LIFETIME"]
    period_start: str
    period_end: str
    maximum: str | None
    used: str
    remaining: str | None
    frequency: FrequencyOut | None = None


class Balances(OutputModel):
    """``GET /v1/me/balances``: what is left for one person of the certificate."""

    person_id: str
    as_of: str
    benefit_year: BenefitYearOut
    deductible: DeductibleOut | None
    items: list[BalanceItem]
