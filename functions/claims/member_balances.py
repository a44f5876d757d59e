"""``GET /v1/me/balances``: what is left for one person of the certificate, read from the running
totals the claim processor writes (``usage_records``), never from the claims.

Reads: the certificate (one ``Query``; the plan is cached) and one consistent ``BatchGetItem`` of
the person's records: ``TOTALS#<personId>#<benefitYear>``, ``TOTALS#FAMILY#<benefitYear>`` and the
dated records of every rolling scope of the plan (rolling shared maximums, frequency limits). Two
reads whatever the history.

Items, in this order: each shared maximum of the plan, each benefit with its own annual maximum or a
frequency limit (plan order), the drug annual maximum. ``used`` is what was paid against the maximum
in the period that contains ``asOf`` (the benefit year, or the 24 months ending on ``asOf``);
``remaining = max(0, maximum - used)``; a ``null`` maximum is unlimited. The rolling windows are
``(asOf - months, asOf]``, as the processor counts them (``claim_adjudication``).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from adjudication_inputs import read_usage
from balance_models import (
    BalanceItem,
    Balances,
    BenefitYearOut,
    DeductibleBalance,
    DeductibleOut,
    FrequencyOut,
)
from claim_adjudication import ZERO, Usage, UsageKeys, add_months, rolling_count_allows, rolling_scopes

from portal_common.claim_types import DRUG_CODE, claim_types
from portal_common.members import Member
from portal_common.models import money_to_str
from portal_common.plans import Frequency, Plan
from portal_common.problems import NotFound

ROLLING_MONTHS = {"ROLLING_24_MONTHS": 24}


def balance_keys(plan: Plan, person_id: str, year: str) -> UsageKeys:
    """Every running-total record a balance of ``person_id`` in benefit year ``year`` reads."""
    scopes = {scope for code in plan.benefits for scope, _ in rolling_scopes(plan, code)}
    return UsageKeys(
        person_years=frozenset({(person_id, year)}),
        family_years=frozenset({year}),
        dated=frozenset((person_id, scope) for scope in scopes),
    )


def benefit_year_bounds(plan: Plan, year: str) -> tuple[date, date]:
    """First and last day of the benefit year named ``year``."""
    start = date(int(year), plan.benefit_year_start_month, 1)
    return start, add_months(start, 12) - timedelta(days=1)


def _window_sum(entries: dict[str, Decimal] | dict[str, int], start: date, end: date) -> Decimal:
    low, high = start.isoformat(), end.isoformat()
    return sum((Decimal(v) for d, v in entries.items() if low < d <= high), ZERO)


def next_eligible(counts: dict[str, int], as_of: date, frequency: Frequency) -> date | None:
    """First day from ``as_of`` on which one more service is paid (``None``: ``as_of`` itself), by
    the processor's own rule (``rolling_count_allows``)."""
    months, limit = frequency.months, frequency.count
    if rolling_count_allows(counts, as_of, months, limit):
        return None
    # The answer only changes when a recorded service leaves a window or a later one is passed. A
    # service leaves the window of the first day whose start (that day moved back ``months``, the day
    # clamped to the month's length) reaches it: up to 3 days after ``add_months`` at a month's end
    # (a service on March 31 leaves the 6-month window on October 1, not on September 30).
    candidates = set()
    for day in counts:
        recorded = date.fromisoformat(day)
        leaves = add_months(recorded, months)
        candidates.update({recorded + timedelta(days=1), *(leaves + timedelta(days=k) for k in range(4))})
    for candidate in sorted(c for c in candidates if c > as_of):
        if rolling_count_allows(counts, candidate, months, limit):
            return candidate
    return None  # unreachable: past the last recorded service plus the window, nothing counts


def _item(
    code: str,
    name: str,
    claim_types: list[str],
    period: Literal["BENEFIT_YEAR", "ROLLING_24_MONTHS"],
    bounds: tuple[date, date],
    maximum: Decimal | None,
    used: Decimal,
    frequency: FrequencyOut | None = None,
) -> BalanceItem:
    """One item: ``remaining = max(0, maximum - used)``, both ``null`` when the maximum is unlimited."""
    return BalanceItem(
        code=code,
        name=name,
        claim_types=claim_types,
        period=period,
        period_start=bounds[0].isoformat(),
        period_end=bounds[1].isoformat(),
        maximum=money_to_str(maximum) if maximum is not None else None,
        used=money_to_str(used),
        remaining=money_to_str(max(maximum - used, ZERO)) if maximum is not None else None,
        frequency=frequency,
    )


def _deductible(amount: Decimal, used: Decimal) -> DeductibleBalance:
    return DeductibleBalance(
        amount=money_to_str(amount), used=money_to_str(used), remaining=money_to_str(max(amount - used, ZERO))
    )


def balances_view(plan: Plan, person_id: str, as_of: date, lang: str, usage: Usage) -> Balances:
    """The contract's body from the records ``usage`` holds (pure)."""
    year = plan.benefit_year(as_of)
    start, end = benefit_year_bounds(plan, year)
    person = usage.person_year(person_id, year)
    family = usage.family_year(year)
    catalogue = claim_types()
    items: list[BalanceItem] = []

    for name, shared in plan.shared_maximums.items():
        codes = [code for code, rule in plan.benefits.items() if rule.shared_maximum == name]
        months = ROLLING_MONTHS.get(shared.period)
        if months is not None:
            window_start = add_months(as_of, -months)
            used = _window_sum(usage.dated_usage(person_id, f"SHARED#{name}").amounts, window_start, as_of)
            period_start, period_end = window_start + timedelta(days=1), as_of
        else:
            used = person.shared.get(name, ZERO)
            period_start, period_end = start, end
        bounds = (period_start, period_end)
        items.append(_item(name, shared.label.get(lang), codes, shared.period, bounds, shared.amount, used))

    for code, rule in plan.benefits.items():
        if rule.annual_max is None and rule.frequency is None:
            continue
        frequency = None
        if rule.frequency is not None:
            counts = usage.dated_usage(person_id, f"FREQUENCY#{code}").counts
            window = add_months(as_of, -rule.frequency.months)
            following = next_eligible(counts, as_of, rule.frequency)
            frequency = FrequencyOut(
                count=rule.frequency.count,
                months=rule.frequency.months,
                used=int(_window_sum(counts, window, as_of)),
                next_eligible_date=following.isoformat() if following else None,
            )
        used = person.benefits.get(code, ZERO)
        name = catalogue.name(code, lang)
        items.append(_item(code, name, [code], "BENEFIT_YEAR", (start, end), rule.annual_max, used, frequency))

    if plan.drugs.covered and plan.drugs.annual_max is not None:
        name = catalogue.name(DRUG_CODE, lang)
        items.append(
            _item(DRUG_CODE, name, [DRUG_CODE], "BENEFIT_YEAR", (start, end), plan.drugs.annual_max, person.drugs)
        )

    deductible = None
    if plan.deductible.per_person > ZERO:
        per_family = plan.deductible.per_family
        deductible = DeductibleOut(
            per_person=_deductible(plan.deductible.per_person, person.deductible),
            per_family=_deductible(per_family, family.deductible) if per_family > ZERO else None,
        )
    return Balances(
        person_id=person_id,
        as_of=as_of.isoformat(),
        benefit_year=BenefitYearOut(start=start.isoformat(), end=end.isoformat()),
        deductible=deductible,
        items=items,
    )


def member_balances(member: Member, plan: Plan, person_id: str, as_of: date, lang: str) -> Balances:
    """Balances of a person of ``member``'s own certificate (anyone else's: ``404 PERSON_NOT_FOUND``)."""
    person = member.person(person_id)
    if person is None or not person.in_roster:
        raise NotFound("PERSON_NOT_FOUND")
    year = plan.benefit_year(as_of)
    usage = read_usage(member.key, balance_keys(plan, person_id, year))
    return balances_view(plan, person_id, as_of, lang, usage)
