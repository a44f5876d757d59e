"""Benefit plans: versioned configuration (``data/plans/*.json``) loaded into the members table.

A plan says who is covered (dependant age rules), how long members have to claim (filing limit),
and, per claim type code, what is paid: coinsurance, per-visit / reasonable-and-customary maximum,
annual maximum, maximums shared by several claim types, frequency limits, deductible, and the drug
formulary rules (covered schedules, excluded and prior-authorization ATC classes, generic
substitution, dispensing-fee cap).

Functions read a plan with one ``GetItem`` and keep it for a few minutes: plans change by
re-import with a higher ``version``, never in place.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from portal_common.config import get_settings
from portal_common.dynamo import get_item, query_all
from portal_common.localized import CONFIG_FILE_MODEL, LocalizedText
from portal_common.members import plan_key

PLAN_CACHE_SECONDS = 300


class _PlanModel(BaseModel):
    model_config = CONFIG_FILE_MODEL


class Frequency(_PlanModel):
    """At most ``count`` claims of the type per person in any ``months`` rolling months."""

    count: int = Field(ge=1)
    months: int = Field(ge=1, le=60)


class BenefitRule(_PlanModel):
    """How one claim type (by code) is paid."""

    coinsurance_percent: int = Field(ge=0, le=100)
    per_visit_max: Decimal | None = Field(default=None, gt=0)
    annual_max: Decimal | None = Field(default=None, gt=0)
    shared_maximum: str | None = None
    frequency: Frequency | None = None
    referral_required: bool = False
    deductible_applies: bool = True


class SharedMaximum(_PlanModel):
    """A maximum shared by several claim types (e.g. all paramedical practitioners), per person."""

    amount: Decimal = Field(gt=0)
    period: Literal["BENEFIT_YEAR", "ROLLING_24_MONTHS"] = "BENEFIT_YEAR"
    label: LocalizedText


class Deductible(_PlanModel):
    """Deductible per benefit year."""

    per_person: Decimal = Field(ge=0)
    per_family: Decimal = Field(ge=0)


class DependantRules(_PlanModel):
    """Who, besides the member, is covered."""

    spouse_covered: bool = True
    children_covered: bool = True
    child_max_age: int = Field(default=21, ge=0, le=30)
    student_max_age: int = Field(default=25, ge=0, le=30)
    disabled_child_any_age: bool = True


class DrugRules(_PlanModel):
    """Drug formulary rules."""

    covered: bool = True
    coinsurance_percent: int = Field(ge=0, le=100)
    covered_schedules: list[str]
    excluded_atc_prefixes: list[str] = []
    prior_authorization_atc_prefixes: list[str] = []
    generic_substitution: bool = True
    dispensing_fee_cap: Decimal | None = Field(default=None, ge=0)
    annual_max: Decimal | None = Field(default=None, gt=0)
    deductible_applies: bool = False


class Plan(_PlanModel):
    """One benefit plan at one version."""

    plan_id: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")
    version: int = Field(ge=1)
    name: LocalizedText
    benefit_year_start_month: int = Field(default=1, ge=1, le=12)
    filing_limit_days: int = Field(ge=30, le=730)
    post_termination_filing_days: int = Field(default=90, ge=0, le=365)
    dependants: DependantRules = Field(default_factory=DependantRules)  # built on first use, not at import
    deductible: Deductible
    benefits: dict[str, BenefitRule]
    shared_maximums: dict[str, SharedMaximum] = {}
    drugs: DrugRules

    @model_validator(mode="after")
    def _shared_maximums_exist(self) -> Plan:
        for code, rule in self.benefits.items():
            if rule.shared_maximum and rule.shared_maximum not in self.shared_maximums:
                raise ValueError(f"benefit {code} refers to unknown shared maximum {rule.shared_maximum}")
        return self

    def benefit_year(self, on: date) -> str:
        """The benefit year that ``on`` falls in, named by the year it starts (``"2026"``)."""
        start_year = on.year if on.month >= self.benefit_year_start_month else on.year - 1
        return str(start_year)

    def rule_for(self, claim_type_code: str) -> BenefitRule | None:
        """The benefit rule of a claim type, or ``None`` when the plan does not cover it."""
        return self.benefits.get(claim_type_code)


def plan_item(plan: Plan) -> dict[str, object]:
    """The members-table item that stores ``plan``."""
    return {
        **plan_key(plan.plan_id),
        "entityType": "PLAN",
        "GSI1PK": "PLANS",
        "GSI1SK": plan.plan_id,
        "planId": plan.plan_id,
        "version": plan.version,
        "document": plan.model_dump_json(by_alias=True),
    }


_cache: dict[str, tuple[float, Plan]] = {}
_lock = threading.Lock()


def get_plan(plan_id: str) -> Plan | None:
    """The current version of a plan (one ``GetItem``, cached for a few minutes)."""
    now = time.monotonic()
    cached = _cache.get(plan_id)
    if cached and now - cached[0] < PLAN_CACHE_SECONDS:
        return cached[1]
    item = get_item(get_settings().members_table, plan_key(plan_id))
    if not item:
        return None
    plan = Plan.model_validate(json.loads(str(item["document"])))
    with _lock:
        _cache[plan_id] = (now, plan)
    return plan


def known_plan_ids() -> set[str]:
    """Ids of every stored plan (one small index query; used by imports, not by requests)."""
    items = query_all(get_settings().members_table, index="GSI1", key_condition="GSI1PK = :p", values={":p": "PLANS"})
    return {str(item["planId"]) for item in items}


def clear_plan_cache() -> None:
    """Forget cached plans (tests)."""
    with _lock:
        _cache.clear()
