"""Common layer: languages, problems, money and dates, cursors, log redaction."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from portal_common import i18n
from portal_common.log import get_logger, mask_email, redact
from portal_common.models import InputModel, IsoDate, Money, PositiveMoney
from portal_common.pagination import decode_cursor, encode_cursor
from portal_common.problems import DomainError, FieldError, TooManyRequests, ValidationFailed


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "fr-CA"),
        ("", "fr-CA"),
        ("en-CA", "en-CA"),
        ("en", "en-CA"),
        ("en-US,en;q=0.9", "en-CA"),
        ("fr-CA,fr;q=0.9,en;q=0.8", "fr-CA"),
        ("de-DE", "fr-CA"),
        ("de-DE, en;q=0.5", "en-CA"),
        ("fr;q=0.2, en;q=0.8", "en-CA"),
        ("en;q=0, fr", "fr-CA"),
        ("en;q=garbage", "fr-CA"),
    ],
)
def test_language_negotiation(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


@given(st.text(max_size=200))
def test_negotiation_never_fails(header: str) -> None:
    assert i18n.negotiate(header) in i18n.LANGUAGES


def test_catalogues_define_the_same_keys() -> None:
    assert i18n.keys("fr-CA") == i18n.keys("en-CA")


def test_problem_is_localized_with_field_errors() -> None:
    error = ValidationFailed(errors=[FieldError("treatments[1].amount", "INVALID_AMOUNT")])
    fr = error.to_problem("fr-CA", "req-1")
    en = error.to_problem("en-CA", "req-1")
    assert fr["status"] == 400
    assert fr["code"] == "VALIDATION_FAILED"
    assert fr["requestId"] == "req-1"
    assert fr["title"] == "Données invalides"
    assert en["title"] == "Invalid data"
    assert fr["errors"] == [
        {"field": "treatments[1].amount", "code": "INVALID_AMOUNT", "message": fr["errors"][0]["message"]}
    ]
    assert "85.00" in en["errors"][0]["message"]


def test_too_many_requests_carries_retry_after() -> None:
    error = TooManyRequests(retry_after=30)
    assert error.headers == {"Retry-After": "30"}
    assert "30" in error.to_problem("en-CA", None)["detail"]


def test_unknown_code_falls_back_to_key_not_crash() -> None:
    body = DomainError("SOMETHING_NEW", status=422).to_problem("en-CA", None)
    assert body["title"] == "problem.SOMETHING_NEW.title"


class _Body(InputModel):
    amount: PositiveMoney
    total: Money | None = None
    date_of_service: IsoDate


@pytest.mark.parametrize("amount", ["85", "85.0", "85.00", " 85.5 ", "9999999.99"])
def test_money_accepts_decimal_strings(amount: str) -> None:
    body = _Body.model_validate({"amount": amount, "dateOfService": "2026-01-31"})
    assert body.amount == Decimal(amount.strip()).quantize(Decimal("0.01"))
    assert body.model_dump(mode="json", by_alias=True)["amount"] == f"{Decimal(amount.strip()):.2f}"


@pytest.mark.parametrize("amount", [85.0, 85, "85.001", "-1", "0", "0.00", "1e3", "NaN", "abc", "", None, True])
def test_money_refuses_floats_and_nonsense(amount: object) -> None:
    with pytest.raises(ValidationError):
        _Body.model_validate({"amount": amount, "dateOfService": "2026-01-31"})


@pytest.mark.parametrize("value", ["2026-02-30", "26-01-01", "2026/01/01", "20260101", 20260101, "2026-1-1"])
def test_dates_are_strict(value: object) -> None:
    with pytest.raises(ValidationError):
        _Body.model_validate({"amount": "1.00", "dateOfService": value})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        _Body.model_validate({"amount": "1.00", "dateOfService": "2026-01-01", "extra": 1})


def test_cursor_round_trip_and_scope_binding() -> None:
    key = {"PK": "MEMBER#G1#1", "SK": "CLAIM#2026"}
    cursor = encode_cursor(key, scope="MEMBER#G1#1")
    assert cursor
    assert decode_cursor(cursor, "MEMBER#G1#1", {"PK": str, "SK": str}) == key
    with pytest.raises(ValidationFailed):
        decode_cursor(cursor, "MEMBER#G1#2", {"PK": str, "SK": str})
    with pytest.raises(ValidationFailed):
        decode_cursor(cursor, "MEMBER#G1#1", {"PK": str, "SK": str, "GSI1PK": str})
    assert encode_cursor(None, "x") is None
    assert decode_cursor(None, "x", {"PK": str}) is None


@given(st.text(max_size=300))
def test_garbage_cursor_is_a_400_never_a_crash(cursor: str) -> None:
    try:
        decode_cursor(cursor, "scope", {"PK": str, "SK": str})
    except ValidationFailed as error:
        assert error.errors[0].code == "INVALID_CURSOR"  # noqa: PT017 - hypothesis, not pytest.raises


def test_redaction_of_secrets_and_personal_data() -> None:
    record = {
        "password": "Secret123!",
        "body": {"code": "123456", "dateOfBirth": "1984-03-12", "participant_number": "100001"},
        "headers": {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln"},
        "message": "sent to jane.doe@example.com with eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln",
        "count": 3,
    }
    safe = json.dumps(redact(record))
    for secret in ("Secret123!", "123456", "1984-03-12", "100001", "jane.doe@example.com", "eyJ"):
        assert secret not in safe
    assert mask_email("jane.doe@example.com") == "j***@e***.com"
    assert redact(record)["count"] == 3


def test_logger_output_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    # A service name of its own: Powertools shares handlers between loggers of one service.
    logger = get_logger("redaction-test")
    logger.info("login", extra={"password": "Hunter2Hunter2", "email": "john@example.org"})
    out = capsys.readouterr()
    assert '"message":"login"' in out.out.replace(" ", "")
    assert "Hunter2Hunter2" not in out.out + out.err
    assert "john@example.org" not in out.out + out.err


def test_output_models_leave_absent_fields_out_but_keep_their_schema() -> None:
    """How every 200 body is written: optional ``None`` fields are left out (whether declared with a
    bare default or with ``Field``), ``keep_null`` fields stay ``null``, and the OpenAPI schema still
    declares every field."""
    from pydantic import Field

    from portal_common.api import respond
    from portal_common.models import OutputModel

    class Page(OutputModel):
        keep_null = frozenset({"next_cursor"})

        items: list[int]
        next_cursor: str | None = None
        plain_note: str | None = None
        described_note: str | None = Field(default=None, description="with a description")

    page = Page(items=[1])
    assert page.model_dump(mode="json", by_alias=True) == {"items": [1], "nextCursor": None}
    assert Page(items=[], plain_note="a", described_note="b").model_dump(by_alias=True) == {
        "items": [],
        "nextCursor": None,
        "plainNote": "a",
        "describedNote": "b",
    }
    schema = Page.model_json_schema(mode="serialization")
    assert set(schema["properties"]) == {"items", "nextCursor", "plainNote", "describedNote"}
    assert respond(page, 201).body == '{"items":[1],"nextCursor":null}'
    assert respond(None, 204).body == ""


def test_a_cursor_signed_with_another_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """As an attacker would: sign a cursor with the key that used to be a constant in the code, or
    with another stack's key; this stack refuses it (the key is the stack's generated secret)."""
    from portal_common.config import reload_settings

    key = {"PK": "MEMBER#G1#1", "SK": "CLAIM#2026"}
    try:
        monkeypatch.setenv("CURSOR_SECRET", "portal-cursor-v1")
        reload_settings()
        forged = encode_cursor(key, scope="MEMBER#G1#1")
        monkeypatch.setenv("CURSOR_SECRET", "this-stack-generated-secret-0123456789")
        reload_settings()
        with pytest.raises(ValidationFailed):
            decode_cursor(forged, "MEMBER#G1#1", {"PK": str, "SK": str})
        assert decode_cursor(encode_cursor(key, scope="MEMBER#G1#1"), "MEMBER#G1#1", {"PK": str, "SK": str}) == key
    finally:
        monkeypatch.undo()
        reload_settings()


@pytest.mark.parametrize(
    "key",
    [
        {"PK": 1, "SK": 2},  # what DynamoDB refuses with a 500 (the table's keys are strings)
        {"PK": "MEMBER#G1#1", "SK": 20260101},
        {"PK": True, "SK": "CLAIM#2026"},
        {"PK": "MEMBER#G1#1"},
    ],
)
def test_a_correctly_signed_cursor_with_the_wrong_key_types_is_refused(key: dict[str, object]) -> None:
    """As an attacker holding the secret would (or a bug signing the wrong key): the MAC checks, but
    the key does not have the scope's key schema, so the cursor is a 400, never sent to DynamoDB."""
    forged = encode_cursor(key, scope="MEMBER#G1#1")
    with pytest.raises(ValidationFailed) as refused:
        decode_cursor(forged, "MEMBER#G1#1", {"PK": str, "SK": str})
    assert refused.value.errors[0].code == "INVALID_CURSOR"
    # Integer keys are right where the schema says so (the drug search pages by numbers).
    numbers = encode_cursor({"page": 1, "offset": 2}, scope="drugs")
    assert decode_cursor(numbers, "drugs", {"page": int, "offset": int}) == {"page": 1, "offset": 2}
    with pytest.raises(ValidationFailed):
        decode_cursor(numbers, "drugs", {"page": str, "offset": str})


@pytest.mark.parametrize("amount", ["٨٥.٠٠", "８５.００", "８５", "1 000.00", "85,00"])
def test_money_takes_ascii_digits_only(amount: str) -> None:
    with pytest.raises(ValidationError):
        _Body.model_validate({"amount": amount, "dateOfService": "2026-01-01"})


@pytest.mark.parametrize("text", ["٠٢٢٣٨٣٥٥", "０２２３８３５５", "02238355\n"])
def test_dins_and_codes_take_ascii_digits_only(text: str) -> None:
    from portal_common.patterns import is_code, is_din

    assert not is_din(text)
    assert not is_code(text[2:])
    assert is_din("02238355")
    assert is_code("012345")


def test_a_date_takes_ascii_digits_only() -> None:
    with pytest.raises(ValidationError):
        _Body.model_validate({"amount": "1.00", "dateOfService": "٢٠٢٦-٠١-٠١"})
