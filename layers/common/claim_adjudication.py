"""Adjudication of one claim against the member's plan: pure rules, no AWS.

Input: the plan, the certificate (for eligibility on each date of service), the claim, a drug
ruling for drug claims, and a snapshot of the running totals it needs (:class:`Usage`, read by the
processor with the keys from :func:`usage_keys`). Output: an :class:`Adjudication` (one line per
treatment with claimed / eligible / paid, a reason code, its parameters and the explanation in both
languages, and the claim's final status) and the usage records it changed, which the processor
writes in the same transaction as the claim result, guarded by each record's version.

Order of the checks on a line (the first failing check denies the line):
patient covered on the date of service -> filing limit (and post-termination window) -> claim type
covered by the plan -> referral -> drug rules (schedule, exclusions, prior authorization) ->
frequency limit; then the amounts: lowest cost alternative and dispensing-fee cap (drugs) ->
reasonable-and-customary (per-visit) maximum -> deductible (person and family, per benefit year) ->
coinsurance -> coordination of benefits (what the provincial plan or another insurer already paid,
:mod:`claim_coordination`: this plan pays the lesser of its first-payer payment and the eligible
amount minus what the others paid) -> maximums (per benefit per benefit year, shared maximum per
benefit year or rolling 24 months, annual drug maximum; only what this plan pays counts). Lines are
taken in order of date of service, so an earlier service uses the maximums first. Money is
``Decimal`` rounded to the cent; on every line ``0 <= paid <= eligible <= claimed`` and
``paid + paid by the other payers <= claimed``.

When this plan pays second and the member says the first payer was not billed, nothing is paid and
nothing is counted: the result's status is ``PENDING_INFORMATION`` and ``information_needed`` says
what to ask the member for (``OTHER_PAYER_STATEMENT_REQUIRED``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from claim_coordination import (
    OTHER_PAYER_STATEMENT_REQUIRED,
    OtherPayments,
    allocate_other_payments,
    statement_required,
    truthy,
)

from portal_common.claim_types import DRUG_CODE
from portal_common.i18n import ENGLISH, translate
from portal_common.members import Member, eligibility_on
from portal_common.plans import Plan

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
FAMILY = "FAMILY"

Status = Literal["PAID", "PARTIALLY_PAID", "DENIED", "PENDING_INFORMATION"]

# Line codes that deny the line outright (nothing is eligible).
DENIAL_CODES = frozenset(
    {
        "UNKNOWN_PATIENT",
        "PATIENT_NOT_COVERED",
        "INVALID_DATE_OF_SERVICE",
        "FILING_LIMIT_EXCEEDED",
        "POST_TERMINATION_FILING_LIMIT_EXCEEDED",
        "SERVICE_NOT_COVERED",
        "DRUGS_NOT_COVERED",
        "REFERRAL_REQUIRED",
        "DRUG_NOT_IDENTIFIED",
        "DRUG_SCHEDULE_NOT_COVERED",
        "DRUG_EXCLUDED",
        "DRUG_NOT_MARKETED",
        "PRIOR_AUTHORIZATION_REQUIRED",
        "FREQUENCY_LIMIT_REACHED",
    }
)
MAXIMUM_CODES = frozenset({"ANNUAL_MAXIMUM_REACHED", "SHARED_MAXIMUM_REACHED", "DRUG_ANNUAL_MAXIMUM_REACHED"})


def cents(amount: Decimal) -> Decimal:
    """Round to the cent, half up."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def money_text(amount: Decimal, lang: str) -> str:
    """``1234.5`` -> ``1 234,50 $`` (fr-CA) or ``$1,234.50`` (en-CA)."""
    text = f"{cents(amount):,.2f}"
    if lang == ENGLISH:
        return f"${text}"
    return text.replace(",", "\u00a0").replace(".", ",") + "\u00a0$"


def add_months(on: date, months: int) -> date:
    """``on`` moved by ``months`` calendar months (day clamped to the month's length)."""
    index = on.year * 12 + (on.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    for day in (on.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise ValueError("unreachable")


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Treatment:
    """One line of the claim."""

    index: int
    date_of_service: date
    amount: Decimal


@dataclass(frozen=True)
class DrugDetails:
    """The drug part of a drug claim. ``dispensing_fee`` is the pharmacist's fee included in each
    line's amount (per fill); ``quantity`` is the quantity dispensed per fill."""

    din: str | None = None
    quantity: Decimal | None = None
    dispensing_fee: Decimal | None = None


@dataclass(frozen=True)
class DrugRuling:
    """What the formulary rules say about the claimed drug for this plan.

    ``denial`` is a line code (``DRUG_NOT_IDENTIFIED``, ``DRUG_SCHEDULE_NOT_COVERED``,
    ``DRUG_EXCLUDED``) or ``None``; ``lowest_cost_unit_price`` is the unit price of the lowest cost
    interchangeable product when generic substitution applies and a cheaper one is known.
    """

    denial: str | None = None
    prior_authorization_required: bool = False
    lowest_cost_unit_price: Decimal | None = None


@dataclass(frozen=True)
class ClaimToAdjudicate:
    """The parts of a claim item that adjudication reads."""

    claim_id: str
    claim_type: str
    patient_id: str
    submitted_on: date
    treatments: tuple[Treatment, ...]
    answers: Mapping[str, Any] = field(default_factory=dict)
    drug: DrugDetails | None = None

    @property
    def is_drug(self) -> bool:
        return self.claim_type == DRUG_CODE


# ----------------------------------------------------------------------------- running totals


@dataclass
class PersonYear:
    """What one person used in one benefit year: paid per benefit (claim type), per shared maximum
    (benefit-year period), for drugs, and the deductible they met."""

    person_id: str
    year: str
    benefits: dict[str, Decimal] = field(default_factory=dict)
    shared: dict[str, Decimal] = field(default_factory=dict)
    drugs: Decimal = ZERO
    deductible: Decimal = ZERO
    version: int = 0


@dataclass
class FamilyYear:
    """Deductible met by the whole certificate in one benefit year."""

    year: str
    deductible: Decimal = ZERO
    version: int = 0


@dataclass
class DatedUsage:
    """Dated usage of one person for one rolling scope: ``SHARED#<name>`` (amounts paid by date of
    service, for rolling maximums) or ``FREQUENCY#<claimType>`` (services by date of service).

    Entries are merged per date and pruned past the longest window a future claim can reach (the
    window plus the filing limit), so the record stays bounded by a number of calendar days."""

    person_id: str
    scope: str
    amounts: dict[str, Decimal] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    version: int = 0


@dataclass
class Usage:
    """The running totals one adjudication reads (and changes)."""

    person_years: dict[tuple[str, str], PersonYear] = field(default_factory=dict)
    family_years: dict[str, FamilyYear] = field(default_factory=dict)
    dated: dict[tuple[str, str], DatedUsage] = field(default_factory=dict)

    def person_year(self, person_id: str, year: str) -> PersonYear:
        return self.person_years.setdefault((person_id, year), PersonYear(person_id, year))

    def family_year(self, year: str) -> FamilyYear:
        return self.family_years.setdefault(year, FamilyYear(year))

    def dated_usage(self, person_id: str, scope: str) -> DatedUsage:
        return self.dated.setdefault((person_id, scope), DatedUsage(person_id, scope))


@dataclass(frozen=True)
class UsageKeys:
    """Which running-total records an adjudication needs."""

    person_years: frozenset[tuple[str, str]]
    family_years: frozenset[str]
    dated: frozenset[tuple[str, str]]


def rolling_scopes(plan: Plan, claim_type: str) -> list[tuple[str, int]]:
    """``(scope, months)`` of the dated records a claim type uses."""
    scopes: list[tuple[str, int]] = []
    rule = plan.rule_for(claim_type)
    if rule is None:
        return scopes
    if rule.shared_maximum:
        shared = plan.shared_maximums[rule.shared_maximum]
        if shared.period == "ROLLING_24_MONTHS":
            scopes.append((f"SHARED#{rule.shared_maximum}", 24))
    if rule.frequency:
        scopes.append((f"FREQUENCY#{claim_type}", rule.frequency.months))
    return scopes


def usage_keys(plan: Plan, claim: ClaimToAdjudicate) -> UsageKeys:
    """The running-total records that adjudicating ``claim`` reads."""
    years = {plan.benefit_year(t.date_of_service) for t in claim.treatments}
    return UsageKeys(
        person_years=frozenset((claim.patient_id, y) for y in years),
        family_years=frozenset(years),
        dated=frozenset((claim.patient_id, scope) for scope, _ in rolling_scopes(plan, claim.claim_type)),
    )


def _window_entries(entries: Mapping[str, Any], start_exclusive: date, end_inclusive: date) -> list[Any]:
    low, high = start_exclusive.isoformat(), end_inclusive.isoformat()
    return [value for day, value in entries.items() if low < day <= high]


def _windows_containing(entries: Mapping[str, Any], on: date, months: int) -> list[tuple[date, date]]:
    """Every rolling window ``(end - months, end]`` that contains ``on`` and ends at ``on`` or at a
    later recorded date (claims can arrive out of order: a late claim must not push a window that
    ends at an already paid later service over its limit)."""
    horizon = add_months(on, months)
    ends = {on} | {date.fromisoformat(d) for d in entries if on.isoformat() < d < horizon.isoformat()}
    return [(add_months(end, -months), end) for end in sorted(ends)]


def rolling_available(entries: Mapping[str, Decimal], on: date, months: int, limit: Decimal) -> Decimal:
    """How much more can be paid for a service on ``on`` so that no rolling window exceeds ``limit``."""
    available = limit
    for start, end in _windows_containing(entries, on, months):
        used = sum(_window_entries(entries, start, end), ZERO)
        available = min(available, limit - used)
    return max(available, ZERO)


def rolling_count_allows(counts: Mapping[str, int], on: date, months: int, limit: int) -> bool:
    """Whether one more service on ``on`` keeps every rolling window within ``limit`` services."""
    for start, end in _windows_containing(counts, on, months):
        if sum(_window_entries(counts, start, end)) + 1 > limit:
            return False
    return True


def prune_dated(record: DatedUsage, months: int, filing_days: int) -> None:
    """Drop entries no future claim can reach (older than the newest entry minus the filing limit and
    the window), keeping the record bounded."""
    dates = list(record.amounts) + list(record.counts)
    if not dates:
        return
    newest = date.fromisoformat(max(dates))
    cutoff = add_months(newest - timedelta(days=filing_days + 1), -months).isoformat()
    record.amounts = {d: v for d, v in record.amounts.items() if d >= cutoff}
    record.counts = {d: v for d, v in record.counts.items() if d >= cutoff}


# ----------------------------------------------------------------------------- results


@dataclass
class Step:
    """One rule that affected a line: its code and the parameters of its explanation."""

    code: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class Line:
    """The result for one treatment."""

    treatment_index: int
    date_of_service: date
    claimed: Decimal
    eligible: Decimal = ZERO
    paid: Decimal = ZERO
    deductible: Decimal = ZERO
    steps: list[Step] = field(default_factory=list)

    @property
    def denied(self) -> bool:
        return any(step.code in DENIAL_CODES for step in self.steps)

    @property
    def limited_by_maximum(self) -> bool:
        return any(step.code in MAXIMUM_CODES for step in self.steps)

    @property
    def reason_code(self) -> str:
        """The main reason: the denial, else the maximum that limited the line, else the last step."""
        for step in self.steps:
            if step.code in DENIAL_CODES:
                return step.code
        for step in self.steps:
            if step.code in MAXIMUM_CODES:
                return step.code
        if self.paid == ZERO and any(s.code == "DEDUCTIBLE_APPLIED" for s in self.steps):
            return "DEDUCTIBLE_APPLIED"
        return self.steps[-1].code if self.steps else "PAID_IN_FULL"

    def explanation(self, lang: str) -> str:
        """The explanation of this line in ``lang``: one sentence per step."""
        return " ".join(render_step(step, lang) for step in self.steps)


def render_step(step: Step, lang: str) -> str:
    """One step's sentence; money parameters (decimal strings) are formatted for ``lang``."""
    params: dict[str, str] = {}
    for name, value in step.params.items():
        if name in {"limit", "amount"}:
            params[name] = money_text(Decimal(value), lang)
        elif name == "label":
            fr, _, en = value.partition("|")
            params[name] = en if lang == ENGLISH and en else fr
        elif name == "period":
            params[name] = translate(f"adjudication.period.{value}", lang)
        else:
            params[name] = value
    return translate(f"adjudication.reason.{step.code}", lang, **params)


@dataclass
class Adjudication:
    """The outcome of one claim and the usage records it changed."""

    lines: list[Line]
    status: Status
    usage: Usage
    changed: UsageKeys
    # What the member must send before this plan can pay (``status == "PENDING_INFORMATION"``).
    information_needed: tuple[str, ...] = ()

    @property
    def total_paid(self) -> Decimal:
        return sum((line.paid for line in self.lines), ZERO)

    @property
    def total_claimed(self) -> Decimal:
        return sum((line.claimed for line in self.lines), ZERO)


# ----------------------------------------------------------------------------- the rules


def _coverage_end(member: Member, person_id: str) -> date | None:
    person = member.person(person_id)
    ends = [d for d in (member.coverage_end, person.coverage_end if person else None) if d is not None]
    return min(ends) if ends else None


def _denial(
    plan: Plan, member: Member | None, claim: ClaimToAdjudicate, treatment: Treatment, ruling: DrugRuling | None
) -> Step | None:
    """The first rule that denies the line, or ``None``."""
    person = member.person(claim.patient_id) if member is not None else None
    if member is None or person is None:
        return Step("UNKNOWN_PATIENT")
    on = treatment.date_of_service
    if on > claim.submitted_on:
        return Step("INVALID_DATE_OF_SERVICE")
    if not eligibility_on(person, member, plan, on).eligible:
        return Step("PATIENT_NOT_COVERED", {"date": on.isoformat()})
    end = _coverage_end(member, claim.patient_id)
    if (
        end is not None
        and end < claim.submitted_on
        and (claim.submitted_on - end).days > plan.post_termination_filing_days
    ):
        return Step("POST_TERMINATION_FILING_LIMIT_EXCEEDED", {"days": str(plan.post_termination_filing_days)})
    if (claim.submitted_on - on).days > plan.filing_limit_days:
        return Step("FILING_LIMIT_EXCEEDED", {"days": str(plan.filing_limit_days)})
    if claim.is_drug:
        if not plan.drugs.covered:
            return Step("DRUGS_NOT_COVERED")
        ruling = ruling or DrugRuling(denial="DRUG_NOT_IDENTIFIED")
        if ruling.denial:
            return Step(ruling.denial)
        if ruling.prior_authorization_required and not str(claim.answers.get("priorAuthorizationNumber") or "").strip():
            return Step("PRIOR_AUTHORIZATION_REQUIRED")
        return None
    rule = plan.rule_for(claim.claim_type)
    if rule is None:
        return Step("SERVICE_NOT_COVERED")
    if rule.referral_required and not truthy(claim.answers.get("referral")):
        return Step("REFERRAL_REQUIRED")
    return None


def _frequency_denial(plan: Plan, claim: ClaimToAdjudicate, on: date, usage: Usage) -> Step | None:
    rule = plan.rule_for(claim.claim_type)
    if rule is None or rule.frequency is None:
        return None
    record = usage.dated_usage(claim.patient_id, f"FREQUENCY#{claim.claim_type}")
    if rolling_count_allows(record.counts, on, rule.frequency.months, rule.frequency.count):
        return None
    return Step("FREQUENCY_LIMIT_REACHED", {"count": str(rule.frequency.count), "months": str(rule.frequency.months)})


def _drug_eligible(claim: ClaimToAdjudicate, amount: Decimal, ruling: DrugRuling, plan: Plan, line: Line) -> Decimal:
    """Drug line: split into drug cost and dispensing fee, apply the lowest cost alternative to the
    drug cost and the plan's cap to the fee."""
    details = claim.drug or DrugDetails()
    fee = min(details.dispensing_fee, amount) if details.dispensing_fee is not None else ZERO
    drug_cost = amount - fee
    if plan.drugs.generic_substitution and ruling.lowest_cost_unit_price is not None and details.quantity:
        alternative = cents(ruling.lowest_cost_unit_price * details.quantity)
        if alternative < drug_cost:
            drug_cost = alternative
            line.steps.append(Step("LOWEST_COST_ALTERNATIVE", {"amount": str(alternative)}))
    cap = plan.drugs.dispensing_fee_cap
    if cap is not None and fee > cap:
        fee = cap
        line.steps.append(Step("DISPENSING_FEE_CAP", {"limit": str(cap)}))
    return cents(drug_cost + fee)


def _apply_deductible(
    plan: Plan, claim: ClaimToAdjudicate, year: str, eligible: Decimal, usage: Usage, line: Line
) -> Decimal:
    """Deductible (person, then family cap) taken from the eligible amount; returns what is left."""
    applies = plan.drugs.deductible_applies if claim.is_drug else plan.rule_for(claim.claim_type).deductible_applies  # type: ignore[union-attr]
    per_person = plan.deductible.per_person
    if not applies or per_person <= ZERO or eligible <= ZERO:
        return eligible
    person = usage.person_year(claim.patient_id, year)
    remaining = per_person - person.deductible
    if plan.deductible.per_family > ZERO:
        remaining = min(remaining, plan.deductible.per_family - usage.family_year(year).deductible)
    applied = max(min(eligible, remaining), ZERO)
    if applied > ZERO:
        person.deductible += applied
        if plan.deductible.per_family > ZERO:
            usage.family_year(year).deductible += applied
        line.deductible = applied
        line.steps.append(Step("DEDUCTIBLE_APPLIED", {"amount": str(applied), "year": year}))
    return eligible - applied


def _apply_maximums(
    plan: Plan, claim: ClaimToAdjudicate, year: str, on: date, payable: Decimal, usage: Usage, line: Line
) -> Decimal:
    """Cap ``payable`` by every maximum that applies and record the payment in the totals."""
    person = usage.person_year(claim.patient_id, year)
    limits: list[tuple[Decimal, Step]] = []
    rolling: DatedUsage | None = None
    if claim.is_drug:
        if plan.drugs.annual_max is not None:
            limits.append(
                (
                    plan.drugs.annual_max - person.drugs,
                    Step("DRUG_ANNUAL_MAXIMUM_REACHED", {"limit": str(plan.drugs.annual_max), "year": year}),
                )
            )
    else:
        rule = plan.rule_for(claim.claim_type)
        assert rule is not None
        if rule.annual_max is not None:
            used = person.benefits.get(claim.claim_type, ZERO)
            limits.append(
                (rule.annual_max - used, Step("ANNUAL_MAXIMUM_REACHED", {"limit": str(rule.annual_max), "year": year}))
            )
        if rule.shared_maximum:
            shared = plan.shared_maximums[rule.shared_maximum]
            step = Step(
                "SHARED_MAXIMUM_REACHED",
                {"limit": str(shared.amount), "label": f"{shared.label.fr}|{shared.label.en}", "period": shared.period},
            )
            if shared.period == "ROLLING_24_MONTHS":
                rolling = usage.dated_usage(claim.patient_id, f"SHARED#{rule.shared_maximum}")
                limits.append((rolling_available(rolling.amounts, on, 24, shared.amount), step))
            else:
                limits.append((shared.amount - person.shared.get(rule.shared_maximum, ZERO), step))
    paid = payable
    for available, step in limits:
        available = max(available, ZERO)
        if available < paid:
            paid = available
            line.steps.append(step)
    if paid > ZERO:
        if claim.is_drug:
            person.drugs += paid
        else:
            rule = plan.rule_for(claim.claim_type)
            assert rule is not None
            person.benefits[claim.claim_type] = person.benefits.get(claim.claim_type, ZERO) + paid
            if rule.shared_maximum:
                if rolling is not None:
                    key = on.isoformat()
                    rolling.amounts[key] = rolling.amounts.get(key, ZERO) + paid
                    prune_dated(rolling, 24, plan.filing_limit_days)
                else:
                    person.shared[rule.shared_maximum] = person.shared.get(rule.shared_maximum, ZERO) + paid
    return paid


def _adjudicate_line(
    plan: Plan,
    member: Member | None,
    claim: ClaimToAdjudicate,
    treatment: Treatment,
    ruling: DrugRuling | None,
    usage: Usage,
    others: OtherPayments | None = None,
) -> Line:
    claimed = cents(treatment.amount)
    line = Line(treatment.index, treatment.date_of_service, claimed)
    if claimed <= ZERO:
        return line
    denial = _denial(plan, member, claim, treatment, ruling)
    on = treatment.date_of_service
    if denial is None and not claim.is_drug:
        denial = _frequency_denial(plan, claim, on, usage)
    if denial is not None:
        line.steps.append(denial)
        return line
    year = plan.benefit_year(on)
    if claim.is_drug:
        assert ruling is not None
        eligible = _drug_eligible(claim, claimed, ruling, plan, line)
        percent = plan.drugs.coinsurance_percent
    else:
        rule = plan.rule_for(claim.claim_type)
        assert rule is not None
        eligible = claimed
        if rule.per_visit_max is not None and claimed > rule.per_visit_max:
            eligible = rule.per_visit_max
            line.steps.append(Step("REASONABLE_AND_CUSTOMARY", {"limit": str(rule.per_visit_max)}))
        percent = rule.coinsurance_percent
        if rule.frequency is not None:
            record = usage.dated_usage(claim.patient_id, f"FREQUENCY#{claim.claim_type}")
            record.counts[on.isoformat()] = record.counts.get(on.isoformat(), 0) + 1
            prune_dated(record, rule.frequency.months, plan.filing_limit_days)
    line.eligible = cents(min(eligible, claimed))
    after_deductible = _apply_deductible(plan, claim, year, line.eligible, usage, line)
    payable = cents(after_deductible * percent / 100)
    if percent < 100 and after_deductible > ZERO:
        line.steps.append(Step("COINSURANCE", {"percent": str(percent)}))
    payable = _coordinate(line, payable, others or OtherPayments())
    line.paid = _apply_maximums(plan, claim, year, on, payable, usage, line)
    if not line.steps:
        line.steps.append(Step("PAID_IN_FULL"))
    return line


def _coordinate(line: Line, payable: Decimal, others: OtherPayments) -> Decimal:
    """Second payer: the lesser of the first-payer payment and the eligible amount minus what the
    other payers paid on this line (the maximums then only count what this plan pays)."""
    if others.total <= ZERO:
        return payable
    for code, amount in (("PROVINCIAL_PLAN_PAID", others.provincial), ("OTHER_INSURER_PAID", others.other_insurer)):
        if amount > ZERO:
            line.steps.append(Step(code, {"amount": str(cents(amount))}))
    rest = max(line.eligible - others.total, ZERO)
    if rest < payable:
        line.steps.append(Step("COORDINATION_BALANCE", {"amount": str(cents(rest))}))
        return cents(rest)
    return payable


def _held_lines(claim: ClaimToAdjudicate) -> list[Line]:
    """The lines of a claim held for the first payer's statement: nothing paid yet."""
    lines = []
    for treatment in sorted(claim.treatments, key=lambda t: (t.date_of_service, t.index)):
        line = Line(treatment.index, treatment.date_of_service, cents(treatment.amount))
        line.steps.append(Step(OTHER_PAYER_STATEMENT_REQUIRED))
        lines.append(line)
    return lines


def claim_status(lines: list[Line]) -> Status:
    """``DENIED`` when nothing is paid; ``PARTIALLY_PAID`` when a line is denied or limited by a
    maximum; otherwise ``PAID`` (coinsurance, deductible and per-visit limits are plan terms)."""
    total = sum((line.paid for line in lines), ZERO)
    if total <= ZERO:
        return "DENIED"
    if any(line.denied or line.limited_by_maximum or line.paid == ZERO for line in lines):
        return "PARTIALLY_PAID"
    return "PAID"


def adjudicate(
    plan: Plan, member: Member | None, claim: ClaimToAdjudicate, usage: Usage, ruling: DrugRuling | None = None
) -> Adjudication:
    """Adjudicate ``claim``; ``usage`` is not modified (the result carries the updated copy).

    ``member`` is ``None`` when the certificate is no longer on file: every line is then denied.
    Coordination of benefits reads the claim's answers and the certificate (the patient's
    relationship, the member's and the spouse's birthdays): see :mod:`claim_coordination`.
    """
    before = copy.deepcopy(usage)
    after = copy.deepcopy(usage)
    if statement_required(member, claim.patient_id, claim.answers):
        empty = UsageKeys(frozenset(), frozenset(), frozenset())
        return Adjudication(
            lines=_held_lines(claim),
            status="PENDING_INFORMATION",
            usage=after,
            changed=empty,
            information_needed=(OTHER_PAYER_STATEMENT_REQUIRED,),
        )
    others = allocate_other_payments([(t.index, cents(t.amount)) for t in claim.treatments], claim.answers)
    order = sorted(claim.treatments, key=lambda t: (t.date_of_service, t.index))
    lines = [_adjudicate_line(plan, member, claim, t, ruling, after, others.get(t.index)) for t in order]
    return Adjudication(lines=lines, status=claim_status(lines), usage=after, changed=_changed(before, after))


def _changed(before: Usage, after: Usage) -> UsageKeys:
    """Keys of the records whose content differs from what was read (absent = empty record)."""
    return UsageKeys(
        person_years=frozenset(
            k for k, v in after.person_years.items() if before.person_years.get(k, PersonYear(*k)) != v
        ),
        family_years=frozenset(
            k for k, v in after.family_years.items() if before.family_years.get(k, FamilyYear(k)) != v
        ),
        dated=frozenset(k for k, v in after.dated.items() if before.dated.get(k, DatedUsage(*k)) != v),
    )
