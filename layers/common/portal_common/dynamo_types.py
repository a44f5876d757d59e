"""Python values <-> DynamoDB attribute values: boto3's ``TypeSerializer``/``TypeDeserializer`` rules,
without importing boto3.

boto3's own module (``boto3.dynamodb.types``) can only be imported with the boto3 package: its
``__init__`` builds boto3's session machinery and ``boto3.compat`` imports s3transfer (its thread
pools, multiprocessing). The functions use botocore's clients directly (``portal_common.aws_clients``),
so that import was about 15 ms of every cold start for two small classes (docs/performance.md).

The rules are boto3's, and ``tests/unit/test_dynamo_types.py`` checks them against boto3's classes
on generated values:

- ``None`` -> ``NULL``; ``bool`` -> ``BOOL``; ``int``/``Decimal`` -> ``N`` (through DynamoDB's
  decimal context: 38 digits, exponent -128..126, any rounding refused); ``str`` -> ``S``;
  ``bytes``/``bytearray`` -> ``B``; a set of numbers, strings or bytes -> ``NS``/``SS``/``BS``;
  a mapping -> ``M``; a list or tuple -> ``L``;
- a ``float`` anywhere is a ``TypeError`` (money is ``Decimal``), and so is any other type;
- ``N`` reads back as ``Decimal``, sets as ``set``.

Three deliberate differences: a non-finite number (``NaN``, ``-Infinity``, ``sNaN``) is always
refused (boto3 lets ``-Infinity`` through to DynamoDB, which refuses it); ``B``/``BS`` read back as
``bytes`` rather than boto3's ``Binary`` wrapper (no item of ours holds binary data); and a refusal
names the value's type only, never the value (boto3 puts the value in the message, which an
unhandled error's traceback would then carry into the logs: a member's item holds personal data).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# DynamoDB's number type (boto3's DYNAMODB_CONTEXT): what does not fit exactly is an error.
DYNAMODB_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])

_BINARY = (bytes, bytearray)


def _number(value: int | Decimal) -> str:
    number = DYNAMODB_CONTEXT.create_decimal(value)
    if not number.is_finite():
        raise TypeError("Infinity and NaN not supported")
    return str(number)


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, (int, Decimal))


def _set(value: Set[Any]) -> dict[str, Any]:
    # boto3 tries number, then string, then binary sets; a float member is an error at once.
    if all(map(_is_number, value)):
        return {"NS": [_number(member) for member in value]}
    if all(isinstance(member, str) for member in value):
        return {"SS": list(value)}
    if all(isinstance(member, _BINARY) for member in value):
        return {"BS": list(value)}
    raise TypeError(f"Unsupported type {type(value).__name__!r} for a DynamoDB attribute")


def serialize(value: Any) -> dict[str, Any]:
    """One Python value -> its DynamoDB attribute value (``{"S": "x"}``, ``{"N": "12.50"}``...)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, Decimal)):
        return {"N": _number(value)}
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    if isinstance(value, _BINARY):
        return {"B": value}
    if isinstance(value, Set):
        return _set(value)
    if isinstance(value, Mapping):
        return {"M": {key: serialize(member) for key, member in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [serialize(member) for member in value]}
    raise TypeError(f"Unsupported type {type(value).__name__!r} for a DynamoDB attribute")


def deserialize(value: Mapping[str, Any]) -> Any:
    """One DynamoDB attribute value -> its Python value."""
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, data = next(iter(value.items()))
    if kind == "S":
        return data
    if kind == "N":
        return DYNAMODB_CONTEXT.create_decimal(data)
    if kind == "M":
        return {key: deserialize(member) for key, member in data.items()}
    if kind == "L":
        return [deserialize(member) for member in data]
    if kind == "BOOL":
        return data
    if kind == "NULL":
        return None
    if kind == "SS":
        return set(data)
    if kind == "NS":
        return {DYNAMODB_CONTEXT.create_decimal(member) for member in data}
    if kind == "B":
        return bytes(data)
    if kind == "BS":
        return {bytes(member) for member in data}
    raise TypeError(f"Dynamodb type {kind} is not supported")
