"""Request and response models of the ``/auth/*`` routes (the contract's field names)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from portal_common.models import InputModel, IsoDate, OutputModel
from portal_common.patterns import is_code

PASSWORD_MIN_LENGTH = 10
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise PydanticCustomError("INVALID_EMAIL", "invalid email address")
    return value


def _password(value: str) -> str:
    ok = (
        PASSWORD_MIN_LENGTH <= len(value) <= 256
        and any(c.islower() for c in value)
        and any(c.isupper() for c in value)
        and any(c.isdigit() for c in value)
    )
    if not ok:
        raise PydanticCustomError(
            "PASSWORD_POLICY", "password does not meet the policy", {"min_length": PASSWORD_MIN_LENGTH}
        )
    return value


def _code(value: str) -> str:
    if not is_code(value):
        raise PydanticCustomError("INVALID_CODE", "the code is 6 digits")
    return value


# The OpenAPI document says what the validators check (``json_schema_extra``: the validators keep
# their own error codes, INVALID_EMAIL, PASSWORD_POLICY, INVALID_CODE).
Email = Annotated[
    str,
    Field(max_length=320, json_schema_extra={"maxLength": 254, "pattern": _EMAIL.pattern}),
    AfterValidator(_email),
]
Password = Annotated[
    str,
    Field(
        max_length=256,
        description=f"At least {PASSWORD_MIN_LENGTH} characters with a lower-case letter, an upper-case letter "
        "and a digit",
        json_schema_extra={
            "minLength": PASSWORD_MIN_LENGTH,
            "pattern": "^(?=[^a-z]*[a-z])(?=[^A-Z]*[A-Z])(?=[^0-9]*[0-9])",
        },
    ),
    AfterValidator(_password),
]
# Strings are stripped before their length is checked: a blank one is empty (the document says so).
_NOT_BLANK = {"pattern": r"\S"}
AnyPassword = Annotated[str, Field(min_length=1, max_length=256, json_schema_extra=_NOT_BLANK)]
Code = Annotated[
    str,
    Field(max_length=16, description="The 6-digit emailed code", json_schema_extra={"pattern": "^[0-9]{6}$"}),
    AfterValidator(_code),
]
RosterNumber = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")]
Session = Annotated[str, Field(min_length=1, max_length=200, json_schema_extra=_NOT_BLANK)]
Token = Annotated[str, Field(min_length=1, max_length=4096, json_schema_extra=_NOT_BLANK)]


class RegisterRequest(InputModel):
    """``POST /v1/auth/register``."""

    contract_number: RosterNumber
    participant_number: RosterNumber
    date_of_birth: IsoDate
    email: Email
    password: Password
    preferred_language: Literal["fr", "en"] | None = None


class ConfirmRequest(InputModel):
    """``POST /v1/auth/register/confirm``."""

    email: Email
    code: Code


class EmailRequest(InputModel):
    """``POST /v1/auth/register/resend``."""

    email: Email


class LoginRequest(InputModel):
    """``POST /v1/auth/login`` (any password is checked by Cognito, not by its shape here)."""

    email: Email
    password: AnyPassword


class VerifyRequest(InputModel):
    """``POST /v1/auth/login/verify``."""

    email: Email
    session: Session
    code: Code


class ResendLoginRequest(InputModel):
    """``POST /v1/auth/login/resend``."""

    email: Email
    session: Session


class ForgotRequest(InputModel):
    """``POST /v1/auth/password/forgot``."""

    email: Email
    participant_number: RosterNumber


class ResetRequest(InputModel):
    """``POST /v1/auth/password/reset``."""

    email: Email
    code: Code
    new_password: Password


class RefreshRequest(InputModel):
    """``POST /v1/auth/token/refresh``."""

    refresh_token: Token


class LogoutRequest(InputModel):
    """``POST /v1/auth/logout`` (optional body: the refresh token to revoke)."""

    refresh_token: Token | None = None


class StatusResponse(OutputModel):
    """A status answer (``CONFIRMED``, ``PASSWORD_RESET``, ``ACCEPTED``)."""

    status: str


class RegistrationResponse(OutputModel):
    """``202``: a verification code was emailed (to the masked ``destination``)."""

    status: Literal["CONFIRMATION_REQUIRED"]
    destination: str


class CodeSentResponse(OutputModel):
    """A sign-in code was emailed."""

    status: Literal["CODE_SENT"]
    session: str
    destination: str
    code_expires_in: int


class RefreshedTokensResponse(OutputModel):
    """New ID and access tokens (the refresh token stays the same)."""

    access_token: str
    id_token: str
    expires_in: int
    token_type: Literal["Bearer"]


class TokensResponse(RefreshedTokensResponse):
    """Cognito tokens after the sign-in code."""

    refresh_token: str


class UpdateMeRequest(InputModel):
    """``PATCH /v1/me``."""

    preferred_language: Literal["fr", "en"]


class ChangePasswordRequest(InputModel):
    """``POST /v1/me/password``."""

    current_password: AnyPassword
    new_password: Password


class ChangeEmailRequest(InputModel):
    """``POST /v1/me/email``."""

    new_email: Email
    current_password: AnyPassword


class ConfirmEmailRequest(InputModel):
    """``POST /v1/me/email/confirm``."""

    code: Code
