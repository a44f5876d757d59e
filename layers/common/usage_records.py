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
the plain dataclasses of ``claim_adjudication``; each record has the same fields as its dataclass
(``usage_type``), so :meth:`UsageRecord.usage` and :meth:`UsageRecord.holding` convert both ways.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import asdict
from decimal import Decimal
from typing import Any, ClassVar, Self

from claim_adjudication import FAMILY, ZERO, DatedUsage, FamilyYear, PersonYear, Usage, UsageKeys
from pydantic import Field

from portal_common.claim_records import StoredModel
from portal_common.dynamo import to_attr, to_item


class UsageRecord(StoredModel):
    """What every running-total item has: the member's partition, a version, the time of the last write."""

    entity_type: ClassVar[str]
    # The ``claim_adjudication`` dataclass the record stores: the record's own fields but the partition
    # and ``updatedAt``.
    usage_type: ClassVar[type[Any]]

    member_key: str = Field(validation_alias="PK", serialization_alias="PK")
    version: int
    updated_at: str | None = None

    @abstractmethod
    def sort_key(self) -> str:
        """The record's ``SK``."""

    @classmethod
    def holding(cls, member_key: str, usage: Any, now: str) -> Self:
        """The next version of the record of ``usage`` (a ``usage_type`` as read, then changed), written ``now``."""
        return cls(member_key=member_key, updated_at=now, **{**asdict(usage), "version": usage.version + 1})

    def usage(self) -> Any:
        """The record as the adjudication rules read it (a ``usage_type``)."""
        return self.usage_type(**self.model_dump(exclude={"member_key", "updated_at"}))

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
    usage_type: ClassVar[type[Any]] = PersonYear

    person_id: str
    year: str = Field(alias="benefitYear")
    benefits: dict[str, Decimal] = Field(default_factory=dict)
    shared: dict[str, Decimal] = Field(default_factory=dict)
    drugs: Decimal = ZERO
    deductible: Decimal = ZERO

    @staticmethod
    def sk(person_id: str, year: str) -> str:
        return f"TOTALS#{person_id}#{year}"

    def sort_key(self) -> str:
        return self.sk(self.person_id, self.year)


class FamilyYearRecord(UsageRecord):
    """``TOTALS#FAMILY#<benefitYear>``."""

    entity_type: ClassVar[str] = "FAMILY_TOTALS"
    usage_type: ClassVar[type[Any]] = FamilyYear

    year: str = Field(alias="benefitYear")
    deductible: Decimal = ZERO

    @staticmethod
    def sk(year: str) -> str:
        return f"TOTALS#{FAMILY}#{year}"

    def sort_key(self) -> str:
        return self.sk(self.year)


class DatedUsageRecord(UsageRecord):
    """``USAGE#<personId>#<scope>`` (``SHARED#<name>`` or ``FREQUENCY#<claimType>``)."""

    entity_type: ClassVar[str] = "DATED_USAGE"
    usage_type: ClassVar[type[Any]] = DatedUsage

    person_id: str
    scope: str
    amounts: dict[str, Decimal] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)

    @staticmethod
    def sk(person_id: str, scope: str) -> str:
        return f"USAGE#{person_id}#{scope}"

    def sort_key(self) -> str:
        return self.sk(self.person_id, self.scope)


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

    def read(record: type[UsageRecord], sk: str, empty: Any) -> Any:
        item = items.get(sk)
        return record.model_validate(item).usage() if item else empty

    usage = Usage()
    for p, y in keys.person_years:
        usage.person_years[(p, y)] = read(PersonYearRecord, PersonYearRecord.sk(p, y), PersonYear(p, y))
    for y in keys.family_years:
        usage.family_years[y] = read(FamilyYearRecord, FamilyYearRecord.sk(y), FamilyYear(y))
    for p, s in keys.dated:
        usage.dated[(p, s)] = read(DatedUsageRecord, DatedUsageRecord.sk(p, s), DatedUsage(p, s))
    return usage


def usage_puts(table: str, member_key: str, usage: Usage, changed: UsageKeys, now: str) -> list[dict[str, Any]]:
    """A versioned ``Put`` of every changed record (in a stable order)."""
    records: list[UsageRecord] = [
        *(PersonYearRecord.holding(member_key, usage.person_years[k], now) for k in sorted(changed.person_years)),
        *(FamilyYearRecord.holding(member_key, usage.family_years[y], now) for y in sorted(changed.family_years)),
        *(DatedUsageRecord.holding(member_key, usage.dated[k], now) for k in sorted(changed.dated)),
    ]
    return [record.put(table) for record in records]
