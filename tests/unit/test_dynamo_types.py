"""``portal_common.dynamo_types``: boto3's ``TypeSerializer``/``TypeDeserializer`` rules, without boto3.

The functions serialize items with our module (boto3's can only be imported with the whole boto3
package); these properties hold it to boto3's own classes on generated values, and the examples
pin the refusals (floats, other types, numbers DynamoDB cannot hold exactly) and the two
documented differences.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from hypothesis import example, given
from hypothesis import strategies as st

from portal_common.dynamo_types import deserialize, serialize

_boto3_serializer = TypeSerializer()
_boto3_deserializer = TypeDeserializer()

# Numbers DynamoDB holds exactly (38 digits, exponent -128..126) and some it cannot.
numbers = st.one_of(
    st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**12), max_value=10**12),
    st.decimals(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20), st.binary(max_size=8))
sets = st.one_of(
    st.frozensets(st.integers(), max_size=4),
    st.frozensets(st.text(max_size=5), max_size=4),
    st.frozensets(st.binary(max_size=4), max_size=4),
    st.sets(st.text(max_size=5), min_size=1, max_size=4),
)
values = st.recursive(
    st.one_of(scalars, sets),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=12,
)


def _outcome(function: Any, value: Any) -> tuple[str, Any]:
    try:
        return "value", function(value)
    except (TypeError, ArithmeticError) as error:  # decimal's traps raise ArithmeticError subclasses
        return type(error).__name__, None


def _unwrap(value: Any) -> Any:
    """boto3's reading with its ``Binary`` wrapper replaced by ``bytes`` (our documented reading)."""
    if isinstance(value, Binary):
        return bytes(value.value)
    if isinstance(value, dict):
        return {key: _unwrap(member) for key, member in value.items()}
    if isinstance(value, list):
        return [_unwrap(member) for member in value]
    if isinstance(value, set):
        return {_unwrap(member) for member in value}
    return value


def _normalized(attribute: Any) -> Any:
    """An attribute value with its set members in a stable order (sets have none)."""
    if isinstance(attribute, dict):
        return {
            key: sorted(map(repr, member)) if key in ("SS", "NS", "BS") else _normalized(member)
            for key, member in attribute.items()
        }
    if isinstance(attribute, list):
        return [_normalized(member) for member in attribute]
    return attribute


@given(values)
@example({"amount": Decimal("12.50"), "count": 3, "flags": {"a", "b"}, "none": None, "ok": True})
@example(Decimal("1E+126"))  # the largest exponent
@example(Decimal("1E+127"))  # refused: overflow
@example(Decimal("1." + "1" * 38))  # refused: 39 digits would round
@example(Decimal("1E-131"))  # refused: subnormal
@example(frozenset())  # an empty set is an (invalid) number set, as boto3 says
def test_serialize_is_boto3s(value: Any) -> None:
    ours, theirs = _outcome(serialize, value), _outcome(_boto3_serializer.serialize, value)
    assert (ours[0], _normalized(ours[1])) == (theirs[0], _normalized(theirs[1]))


@given(values)
def test_what_is_written_reads_back_as_boto3_reads_it(value: Any) -> None:
    kind, attribute = _outcome(serialize, value)
    if kind != "value":
        return
    assert deserialize(attribute) == _unwrap(_boto3_deserializer.deserialize(attribute))


@pytest.mark.parametrize(
    "value",
    [1.5, {"a": [Decimal(1), 2.0]}, {0.5}, object(), {"nested": {"when": object()}}, Decimal("NaN")],
    ids=["float", "float in a list", "float set", "object", "nested object", "NaN"],
)
def test_what_dynamodb_cannot_hold_is_refused_as_boto3_refuses_it(value: Any) -> None:
    with pytest.raises(TypeError):
        serialize(value)
    with pytest.raises(TypeError):
        _boto3_serializer.serialize(value)


@pytest.mark.parametrize("value", [Decimal("-Infinity"), Decimal("Infinity"), Decimal("sNaN")])
def test_no_infinite_or_signalling_number_is_written(value: Decimal) -> None:
    """Stricter than boto3, which lets ``-Infinity`` reach DynamoDB (refused there)."""
    with pytest.raises((TypeError, ArithmeticError)):
        serialize(value)


def test_binary_reads_back_as_bytes() -> None:
    assert deserialize({"B": b"\x00\x01"}) == b"\x00\x01"
    assert deserialize({"BS": [b"a", b"b"]}) == {b"a", b"b"}


@pytest.mark.parametrize("attribute", [{}, {"X": "1"}])
def test_an_unknown_attribute_is_a_type_error(attribute: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        deserialize(attribute)


class _PersonalDatum:
    """A value of no DynamoDB type whose text is a member's date of birth."""

    def __str__(self) -> str:
        return "1984-03-12"

    __repr__ = __str__


@pytest.mark.parametrize(
    "value",
    [_PersonalDatum(), {"member": {"dateOfBirth": _PersonalDatum()}}, {"100001", 1984}],
    ids=["value", "nested value", "mixed set"],
)
def test_a_refusal_never_carries_the_value(value: Any) -> None:
    """An unhandled refusal's traceback reaches the logs: it names the type, not the member's data
    (boto3's own message would carry "1984-03-12" or "100001")."""
    with pytest.raises(TypeError) as refused:
        serialize(value)
    assert "1984-03-12" not in str(refused.value)
    assert "100001" not in str(refused.value)
