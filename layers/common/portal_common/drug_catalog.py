"""Reading the drugs table: one product by DIN, and its interchangeable alternatives.

Layout (written by ``functions/drugs/drug_catalog_import.py``; see ``docs/drugs.md``):

- ``PK=DIN#<din>``, ``SK=DRUG``: one product (``entityType=DRUG``): ``din``, ``status``
  (``MARKETED``, or ``NOT_MARKETED`` once a newer extract no longer lists it), ``brandName``,
  ``interchangeableGroup``, and ``document``, a JSON string with everything else (names in both
  languages, company, forms, routes, schedules, ingredients, ``atcCodes``, ``aiGroupNo`` and, when
  BC PharmaCare has them, ``prices``: ``unitPrice``/``lcaPrice`` decimal strings, ``limitedUse``).
  The product is read whole and never filtered on nested fields, so one string is both the
  cheapest to write and to read;
- ``PK=IGROUP#<group>``, ``SK=MEMBERS``: ``members``, a JSON list of the marketed products of one
  interchangeable group (same ``AI_GROUP_NO``, same forms and routes) with their schedules, ATC
  codes and prices, for groups of two products or more;
- ``PK=SEARCH#<prefix>``, ``SK=PAGE#<nnnn>``: ranked search pages (``drug_search.SearchPage`` in
  the drugs function).

Every read here is a ``GetItem`` or ``BatchGetItem`` on a key: constant cost whatever the size of
the table.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from portal_common.config import get_settings
from portal_common.drug_coverage import DrugPrice, DrugProfile
from portal_common.dynamo import batch_get, get_item

DRUG_SK = "DRUG"
GROUP_SK = "MEMBERS"


def drug_key(din: str) -> dict[str, str]:
    """Key of a product item."""
    return {"PK": f"DIN#{din}", "SK": DRUG_SK}


def group_key(group: str) -> dict[str, str]:
    """Key of an interchangeable group item."""
    return {"PK": f"IGROUP#{group}", "SK": GROUP_SK}


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def price_from_item(prices: dict[str, Any] | None) -> DrugPrice | None:
    """``prices`` map of an item -> :class:`DrugPrice` (``None`` when PharmaCare has nothing)."""
    if not prices:
        return None
    return DrugPrice(
        unit_price=_decimal(prices.get("unitPrice")),
        lca_price=_decimal(prices.get("lcaPrice")),
        limited_use=bool(prices.get("limitedUse", False)),
    )


def drug_document(item: dict[str, Any]) -> dict[str, Any]:
    """A product item as one flat dict: its JSON document plus the top-level ``status``.

    An item without ``document`` (details as plain attributes, as the first layout and some test
    fixtures write them) is read as it is.
    """
    raw = item.get("document")
    document = json.loads(str(raw)) if raw else {k: v for k, v in item.items() if k not in ("PK", "SK")}
    document["din"] = str(item.get("din", document.get("din", "")))
    document["status"] = str(item.get("status", "MARKETED"))
    document["interchangeableGroup"] = item.get("interchangeableGroup")
    return document


def profile_from_document(item: dict[str, Any]) -> DrugProfile:
    """A product document (or a group member entry) -> :class:`DrugProfile` for the coverage rules."""
    return DrugProfile(
        din=str(item["din"]),
        brand_name=str(item.get("brandName", "")),
        status=str(item.get("status", "MARKETED")),
        schedules=tuple(item.get("schedules") or ()),
        atc_codes=tuple(item.get("atcCodes") or ()),
        company=item.get("company"),
        price=price_from_item(item.get("prices")),
    )


def get_drug_item(din: str) -> dict[str, Any] | None:
    """The stored product item of ``din`` (any status), or ``None``."""
    return get_item(get_settings().drugs_table, drug_key(din))


def get_drug_items(dins: list[str]) -> dict[str, dict[str, Any]]:
    """Product items by DIN (one ``BatchGetItem`` per 100 DINs); unknown DINs are absent."""
    if not dins:
        return {}
    items = batch_get(get_settings().drugs_table, [drug_key(din) for din in dins])
    return {str(item["din"]): item for item in items if item.get("SK") == DRUG_SK}


def get_drug(din: str) -> DrugProfile | None:
    """The coverage profile of ``din``, or ``None`` when the DIN was never imported."""
    item = get_drug_item(din)
    return profile_from_document(drug_document(item)) if item else None


def interchangeable_alternatives(drug_item: dict[str, Any]) -> list[DrugProfile]:
    """The other marketed products of the product's interchangeable group (one ``GetItem``).

    ``drug_item`` is the stored product item (or its :func:`drug_document`). Group members carry
    their schedules and prices, so no further read is needed.
    """
    group = drug_item.get("interchangeableGroup")
    if not group:
        return []
    item = get_item(get_settings().drugs_table, group_key(str(group)))
    if not item:
        return []
    din = str(drug_item.get("din"))
    raw = item.get("members") or []
    members = json.loads(raw) if isinstance(raw, str) else list(raw)
    return [profile_from_document(member) for member in members if str(member.get("din")) != din]
