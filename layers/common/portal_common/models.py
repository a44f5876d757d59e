"""Base pydantic models and field types shared by every function.

Input models forbid unknown fields and use the contract's camelCase names; money is a decimal string
with at most two decimals (``"85.00"``), dates are strict ``YYYY-MM-DD``.
"""

from __future__ import annotations

import inspect
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from portal_common.patterns import DATE_PATTERN, MAX_TREATMENT_AMOUNT, MONEY_PATTERN, MONEY_PATTERN_TEXT

CENT = Decimal("0.01")


class InputModel(BaseModel):
    """Request bodies: camelCase aliases, unknown fields refused, strings stripped."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=True,
        frozen=True,
        defer_build=True,  # the validator is built on first use, not at import (cold start)
    )


def _is_none(value: Any) -> bool:
    return value is None


class OutputModel(BaseModel):
    """Response bodies: camelCase aliases; an optional field that is ``None`` is left out of the body.

    Handlers return these models and Powertools serializes them (by alias, with the OpenAPI schema
    of the model unchanged). The contract leaves absent optional fields out rather than writing
    ``null``, except for the fields named in ``keep_null`` (a list's ``nextCursor`` is ``null`` on
    its last page).
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)
    keep_null: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Runs before pydantic collects the fields: every field whose default is None is marked
        # ``exclude_if=None`` (a field-level rule, so the serialization schema stays the model's).
        super().__init_subclass__(**kwargs)
        for name in inspect.get_annotations(cls):
            if name in cls.keep_null:
                continue
            default = cls.__dict__.get(name, ...)
            if default is None:
                setattr(cls, name, Field(default=None, exclude_if=_is_none))
            elif isinstance(default, FieldInfo) and default.default is None and default.exclude_if is None:
                default.exclude_if = _is_none
                default._attributes_set["exclude_if"] = _is_none  # what pydantic copies when it collects


def quantize(amount: Decimal) -> Decimal:
    """Round to the cent (half up, as receipts are)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def money_to_str(amount: Decimal) -> str:
    """``Decimal("85")`` -> ``"85.00"``."""
    return f"{quantize(amount):.2f}"


def _parse_money(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, str):
        text = value.strip()
    else:
        # Floats are how money gets corrupted: the contract carries money as strings.
        raise PydanticCustomError("INVALID_AMOUNT", "amount must be a decimal string such as 85.00")
    if not MONEY_PATTERN.match(text):
        raise PydanticCustomError("INVALID_AMOUNT", "amount must be a decimal string such as 85.00")
    try:
        return quantize(Decimal(text))
    except InvalidOperation:
        raise PydanticCustomError("INVALID_AMOUNT", "amount must be a decimal string such as 85.00") from None


def _parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not DATE_PATTERN.match(value.strip()):
        raise PydanticCustomError("INVALID_DATE", "date must be YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise PydanticCustomError("INVALID_DATE", "date must be YYYY-MM-DD") from None


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise PydanticCustomError("AMOUNT_NOT_POSITIVE", "amount must be greater than zero")
    return value


def _within_line_maximum(value: Decimal) -> Decimal:
    if value > MAX_TREATMENT_AMOUNT:
        raise PydanticCustomError(
            "AMOUNT_TOO_HIGH", "amount above the maximum", {"maximum": money_to_str(MAX_TREATMENT_AMOUNT)}
        )
    return value


# What the OpenAPI document says of money sent to the API (the validators check exactly this).
_MONEY_SCHEMA = {"type": "string", "pattern": MONEY_PATTERN_TEXT, "examples": ["85.00"]}

Money = Annotated[
    Decimal,
    BeforeValidator(_parse_money),
    PlainSerializer(money_to_str, return_type=str, when_used="json"),
    WithJsonSchema(_MONEY_SCHEMA, mode="validation"),
]
"""Money as the contract writes it: ``"85.00"`` in and out (ASCII digits), ``Decimal`` inside."""

_POSITIVE_MONEY_SCHEMA = {**_MONEY_SCHEMA, "pattern": r"^(?=[0-9.]*[1-9])[0-9]{1,7}(\.[0-9]{1,2})?$"}
PositiveMoney = Annotated[
    Money,
    AfterValidator(_positive),
    WithJsonSchema({**_POSITIVE_MONEY_SCHEMA, "description": "Greater than 0"}, mode="validation"),
]

TreatmentAmount = Annotated[
    PositiveMoney,
    AfterValidator(_within_line_maximum),
    WithJsonSchema(
        {
            **_POSITIVE_MONEY_SCHEMA,
            "description": f"Greater than 0.00 and at most {money_to_str(MAX_TREATMENT_AMOUNT)} (one treatment line).",
        },
        mode="validation",
    ),
]
"""The amount of one treatment line: more than zero, at most ``MAX_TREATMENT_AMOUNT``."""

IsoDate = Annotated[
    date, BeforeValidator(_parse_date), WithJsonSchema({"type": "string", "format": "date"}, mode="validation")
]
"""A strict ``YYYY-MM-DD`` date."""


def _whole(value: Any) -> Any:
    """``3.0`` is the integer 3 (JSON Schema says so); ``3.5``, ``"3"`` or ``true`` stay refused."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole), Field(strict=True)]
"""A JSON integer: a number with no fraction (``3`` or ``3.0``), never a string or a boolean."""
