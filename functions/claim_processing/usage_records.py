"""Running totals as stored: one record model per item, owned by the claim processor.

They live in the member's partition of the claims table, next to the claims they count
(``docs/adjudication.md``):

- :class:`PersonYearRecord`, ``TOTALS#<personId>#<benefitYear>``: paid per benefit, per
  benefit-year shared maximum, for drugs; deductible met;
- :class:`FamilyYearRecord`, ``TOTALS#FAMILY#<benefitYear>``: deductible met by the certificate;
- :class:`DatedUsageRecord`, ``USAGE#<personId>#SHARED#<name>`` (rolling shared maximum: amounts
  paid by date of service) or ``USAGE#<personId>#FREQUENCY#<claimType>`` (frequency limit: services
  by date of service).

Every record has a ``version``: a write puts the next version on condition that the stored one is
still the one that was read (or that the record does not exist yet). The adjudication rules work on
the plain dataclasses of ``claim_adjudication``; :func:`usage_from_items` and :func:`usage_puts`
convert.
"""

from __future__ import annotations

from abc import abstractmethod
from decimal import Decimal
from typing import Any, ClassVar

from claim_adjudication import FAMILY, ZERO, DatedUsage, FamilyYear, PersonYear, Usage, UsageKeys
from pydantic import Field

from portal_common.claim_records import StoredModel
from portal_common.dynamo import to_attr, to_item


class UsageRecord(StoredModel):
    """What every running-total item has: the member's partition, a version, the time of the last write."""

    entity_type: ClassVar[str]

    member_key: str = Field(validation_alias="PK", serialization_alias="PK")
    version: int
    updated_at: str | None = None

    @abstractmethod
    def sort_key(self) -> str:
        """The record's ``SK``."""

    def to_item(self) -> dict[str, Any]:
        """The stored item."""
        return {"PK": self.member_key, "SK": self.sort_key(), "entityType": self.entity_type, **self.to_map()}

    def put(self, table: str) -> dict[str, Any]:
        """A transaction ``Put`` of this record, on condition that the stored version is the one before."""
        put: dict[str, Any] = {"TableName": table, "Item": to_item(self.to_item())}
        if self.version == 1:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": to_attr(self.version - 1)}
        return {"Put": put}


class PersonYearRecord(UsageRecord):
    """``TOTALS#<personId>#<benefitYear>``."""

    entity_type: ClassVar[str] = "PERSON_TOTALS"

    person_id: str
    benefit_year: str
    benefits: dict[str, Decimal] = Field(default_factory=dict)
    shared: dict[str, Decimal] = Field(default_factory=dict)
    drugs: Decimal = ZERO
    deductible: Decimal = ZERO

    @staticmethod
    def sk(person_id: str, year: str) -> str:
        return f"TOTALS#{person_id}#{year}"

    def sort_key(self) -> str:
        return self.sk(self.person_id, self.benefit_year)

    def usage(self) -> PersonYear:
        return PersonYear(
            self.person_id,
            self.benefit_year,
            benefits=dict(self.benefits),
            shared=dict(self.shared),
            drugs=self.drugs,
            deductible=self.deductible,
            version=self.version,
        )


class FamilyYearRecord(UsageRecord):
    """``TOTALS#FAMILY#<benefitYear>``."""

    entity_type: ClassVar[str] = "FAMILY_TOTALS"

    benefit_year: str
    deductible: Decimal = ZERO

    @staticmethod
    def sk(year: str) -> str:
        return f"TOTALS#{FAMILY}#{year}"

    def sort_key(self) -> str:
        return self.sk(self.benefit_year)

    def usage(self) -> FamilyYear:
        return FamilyYear(self.benefit_year, deductible=self.deductible, version=self.version)


class DatedUsageRecord(UsageRecord):
    """``USAGE#<personId>#<scope>`` (``SHARED#<name>`` or ``FREQUENCY#<claimType>``)."""

    entity_type: ClassVar[str] = "DATED_USAGE"

    person_id: str
    scope: str
    amounts: dict[str, Decimal] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)

    @staticmethod
    def sk(person_id: str, scope: str) -> str:
        return f"USAGE#{person_id}#{scope}"

    def sort_key(self) -> str:
        return self.sk(self.person_id, self.scope)

    def usage(self) -> DatedUsage:
        return DatedUsage(
            self.person_id, self.scope, amounts=dict(self.amounts), counts=dict(self.counts), version=self.version
        )


def usage_sort_keys(keys: UsageKeys) -> list[str]:
    """The ``SK`` of every record ``keys`` names."""
    return (
        [PersonYearRecord.sk(p, y) for p, y in keys.person_years]
        + [FamilyYearRecord.sk(y) for y in keys.family_years]
        + [DatedUsageRecord.sk(p, s) for p, s in keys.dated]
    )


def usage_from_items(keys: UsageKeys, stored: list[dict[str, Any]]) -> Usage:
    """The records ``keys`` names from the ``stored`` items; absent ones start empty at version 0."""
    items = {str(item["SK"]): item for item in stored}
    usage = Usage()
    for person_id, year in keys.person_years:
        item = items.get(PersonYearRecord.sk(person_id, year))
        usage.person_years[(person_id, year)] = (
            PersonYearRecord.model_validate(item).usage() if item else PersonYear(person_id, year)
        )
    for year in keys.family_years:
        item = items.get(FamilyYearRecord.sk(year))
        usage.family_years[year] = FamilyYearRecord.model_validate(item).usage() if item else FamilyYear(year)
    for person_id, scope in keys.dated:
        item = items.get(DatedUsageRecord.sk(person_id, scope))
        usage.dated[(person_id, scope)] = (
            DatedUsageRecord.model_validate(item).usage() if item else DatedUsage(person_id, scope)
        )
    return usage


def usage_puts(table: str, member_key: str, usage: Usage, changed: UsageKeys, now: str) -> list[dict[str, Any]]:
    """A versioned ``Put`` of every changed record (in a stable order)."""
    records: list[UsageRecord] = []
    for key in sorted(changed.person_years):
        person = usage.person_years[key]
        records.append(
            PersonYearRecord(
                member_key=member_key,
                version=person.version + 1,
                updated_at=now,
                person_id=person.person_id,
                benefit_year=person.year,
                benefits=person.benefits,
                shared=person.shared,
                drugs=person.drugs,
                deductible=person.deductible,
            )
        )
    for year in sorted(changed.family_years):
        family = usage.family_years[year]
        records.append(
            FamilyYearRecord(
                member_key=member_key,
                version=family.version + 1,
                updated_at=now,
                benefit_year=family.year,
                deductible=family.deductible,
            )
        )
    for key in sorted(changed.dated):
        dated = usage.dated[key]
        records.append(
            DatedUsageRecord(
                member_key=member_key,
                version=dated.version + 1,
                updated_at=now,
                person_id=dated.person_id,
                scope=dated.scope,
                amounts=dated.amounts,
                counts=dated.counts,
            )
        )
    return [record.put(table) for record in records]
