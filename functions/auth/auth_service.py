"""Identity rules of the backend-for-frontend: what each ``/auth/*`` route does.

The handler (``auth_api.py``) only shapes HTTP; Cognito calls are in ``cognito_client``, sign-in
state in ``signin_sessions``, counters in ``auth_throttle``, the roster link in ``account_links``.

Anti-enumeration: register, register/resend, login and password/forgot answer the same status and
body whether or not the email has an account, do the same calls on our side (Cognito's
``PreventUserExistenceErrors`` fakes its side), and are padded to a common response-time floor with
jitter (``AUTH_RESPONSE_FLOOR_MS``, default 400 ms).
"""

from __future__ import annotations

import secrets
import time
from datetime import date
from typing import Any

import account_links
import auth_throttle
import cognito_client
import signin_sessions
from auth_codes import CODE_TTL_SECONDS, MAX_RESENDS, MAX_WRONG_CODES, RESEND_ANSWER, RESEND_MIN_INTERVAL_SECONDS
from cognito_client import Challenge, CognitoError, Tokens
from registration_rules import identity_error, verify_identity

from portal_common import clock
from portal_common.config import get_settings
from portal_common.log import get_logger, mask_email
from portal_common.members import get_member
from portal_common.problems import (
    DomainError,
    FieldError,
    Forbidden,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)

logger = get_logger("auth")

PASSWORD_MIN_LENGTH = 10


def _floor_seconds() -> float:
    return get_settings().auth_response_floor_ms / 1000


class Equalized:
    """Pads a block to a common duration plus jitter, so paths that differ in work take as long."""

    def __enter__(self) -> Equalized:
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        floor = _floor_seconds()
        if floor <= 0:
            return
        elapsed = time.monotonic() - self.started
        jitter = secrets.randbelow(50) / 1000
        time.sleep(max(0.0, floor - elapsed) + jitter)


def _now() -> int:
    return int(clock.epoch_seconds())


def _lambda_code(error: CognitoError) -> str | None:
    for code in ("IDENTITY_NOT_VERIFIED", "ALREADY_REGISTERED"):
        if code in error.message:
            return code
    return None


def _password_error() -> ValidationFailed:
    return ValidationFailed(errors=[FieldError("password", "PASSWORD_POLICY", {"min_length": PASSWORD_MIN_LENGTH})])


# ---------------------------------------------------------------- registration
def register(
    contract: str,
    participant: str,
    date_of_birth: date,
    email: str,
    password: str,
    language: str | None,
    source_ip: str | None,
) -> dict[str, Any]:
    """``POST /auth/register``."""
    hashed = account_links.email_hash(email)
    auth_throttle.check("register", hashed, source_ip, clock.epoch_seconds())
    member = verify_identity(get_member(contract, participant), date_of_birth, clock.today())
    if member.account_sub:
        raise DomainError("ALREADY_REGISTERED", status=409)
    locale = language or member.language or "fr"
    body = {"status": "CONFIRMATION_REQUIRED", "destination": mask_email(email)}
    with Equalized():
        try:
            cognito_client.sign_up(
                email,
                password,
                locale,
                {
                    "contractNumber": contract,
                    "participantNumber": participant,
                    "dateOfBirth": date_of_birth.isoformat(),
                },
            )
        except CognitoError as error:
            if error.code == "UsernameExistsException":
                # The email already has an account (maybe unconfirmed: send its code again). The
                # answer stays the same so the email's existence is not revealed.
                _quietly(cognito_client.resend_confirmation, email)
                return body
            if error.code == "InvalidPasswordException":
                raise _password_error() from None
            if error.code == "UserLambdaValidationException":
                code = _lambda_code(error)
                if code == "ALREADY_REGISTERED":
                    raise DomainError("ALREADY_REGISTERED", status=409) from None
                raise identity_error() from None
            if error.code == "InvalidParameterException":
                raise ValidationFailed(errors=[FieldError("email", "INVALID_EMAIL")]) from None
            raise _cognito_failure(error) from None
    logger.info("registration started", extra={"destination": mask_email(email)})
    return body


def confirm_registration(email: str, code: str, source_ip: str | None) -> dict[str, Any]:
    """``POST /auth/register/confirm``."""
    auth_throttle.check("register_confirm", account_links.email_hash(email), source_ip, clock.epoch_seconds())
    try:
        cognito_client.confirm_sign_up(email, code)
    except CognitoError as error:
        if error.code == "ExpiredCodeException":
            raise DomainError("CODE_EXPIRED", status=400) from None
        if error.code in ("LimitExceededException", "TooManyFailedAttemptsException", "TooManyRequestsException"):
            raise TooManyRequests(900) from None
        if error.code in ("CodeMismatchException", "NotAuthorizedException", "UserNotFoundException"):
            raise DomainError("CODE_INVALID", status=400) from None
        if error.code == "UserLambdaValidationException":
            # PostConfirmation refused the link: another account took the participant meanwhile.
            logger.error("account link failed at confirmation")
            raise DomainError("ALREADY_REGISTERED", status=409) from None
        raise _cognito_failure(error) from None
    return {"status": "CONFIRMED"}


def resend_registration(email: str, source_ip: str | None) -> None:
    """``POST /auth/register/resend``: always 202."""
    auth_throttle.check("register_resend", account_links.email_hash(email), source_ip, clock.epoch_seconds())
    with Equalized():
        _quietly(cognito_client.resend_confirmation, email)


# ---------------------------------------------------------------- sign-in
def _code_sent(session: str, email: str, expires_in: int) -> dict[str, Any]:
    return {"status": "CODE_SENT", "session": session, "destination": mask_email(email), "codeExpiresIn": expires_in}


def login(email: str, password: str, source_ip: str | None) -> dict[str, Any]:
    """``POST /auth/login``: password (SRP), then a code is emailed."""
    hashed = account_links.email_hash(email)
    auth_throttle.check("login", hashed, source_ip, clock.epoch_seconds())
    with Equalized():
        try:
            step = cognito_client.start_signin(email, password)
        except CognitoError as error:
            if error.code == "UserNotConfirmedException":
                raise Forbidden("ACCOUNT_NOT_CONFIRMED") from None
            if error.code in ("NotAuthorizedException", "UserNotFoundException", "PasswordResetRequiredException"):
                raise Unauthorized("INVALID_CREDENTIALS") from None
            if error.code in ("TooManyRequestsException", "LimitExceededException"):
                raise TooManyRequests(60) from None
            raise _cognito_failure(error) from None
        if not isinstance(step, Challenge):
            # The pool must never issue tokens before the code (DefineAuthChallenge says so).
            logger.error("tokens issued without a code: check DefineAuthChallenge")
            raise Unauthorized("INVALID_CREDENTIALS")
        now = _now()
        expires_in = step.expires_in or CODE_TTL_SECONDS
        session = signin_sessions.start(hashed, step.session, now + expires_in, now)
    logger.info("sign-in code sent", extra={"destination": mask_email(email)})
    return _code_sent(session, email, expires_in)


def _load_signin(email: str, session: str) -> signin_sessions.SigninState:
    try:
        return signin_sessions.load(session, account_links.email_hash(email), _now())
    except signin_sessions.SessionInvalid:
        raise Unauthorized("CHALLENGE_FAILED") from None


def _claim(state: signin_sessions.SigninState) -> signin_sessions.SigninState:
    try:
        return signin_sessions.claim(state)
    except signin_sessions.SessionInvalid:
        raise Unauthorized("CHALLENGE_FAILED") from None


def _tokens_body(tokens: Tokens) -> dict[str, Any]:
    body: dict[str, Any] = {
        "accessToken": tokens.access_token,
        "idToken": tokens.id_token,
        "expiresIn": tokens.expires_in,
        "tokenType": "Bearer",
    }
    if tokens.refresh_token:
        body["refreshToken"] = tokens.refresh_token
    return body


def _answer_challenge(state: signin_sessions.SigninState, email: str, answer: str, kind: str) -> Any:
    """Answer Cognito's custom challenge for a claimed sign-in; a refusal by Cognito ends the
    sign-in (``401 CHALLENGE_FAILED``), any other failure is rendered by ``_cognito_failure``."""
    try:
        return cognito_client.answer(email, state.cognito_session, answer, kind)
    except CognitoError as error:
        signin_sessions.finish(state)
        if error.code in ("NotAuthorizedException", "CodeMismatchException", "ExpiredCodeException"):
            raise Unauthorized("CHALLENGE_FAILED") from None
        raise _cognito_failure(error) from None


def verify_login(email: str, session: str, code: str, source_ip: str | None) -> dict[str, Any]:
    """``POST /auth/login/verify``: the emailed code -> tokens."""
    auth_throttle.check("login_verify", None, source_ip, clock.epoch_seconds())
    state = _load_signin(email, session)
    if _now() >= state.code_expires_at:
        raise Unauthorized("CODE_EXPIRED")
    state = _claim(state)
    step = _answer_challenge(state, email, code, "answer")
    if isinstance(step, Tokens):
        signin_sessions.finish(state)
        logger.info("signed in")
        return _tokens_body(step)
    wrong = state.wrong + 1
    fresh = signin_sessions.advance(state, cognito_session=step.session, wrong=wrong)
    raise Unauthorized("CODE_INVALID", extra={"attemptsRemaining": max(0, MAX_WRONG_CODES - wrong), "session": fresh})


def resend_login_code(email: str, session: str, source_ip: str | None) -> dict[str, Any]:
    """``POST /auth/login/resend``: a new code; the previous one stops working."""
    hashed = account_links.email_hash(email)
    auth_throttle.check("login_resend", hashed, source_ip, clock.epoch_seconds())
    state = _load_signin(email, session)
    now = _now()
    if state.resends >= MAX_RESENDS:
        raise TooManyRequests(max(1, state.expires_at - now))
    wait = state.sent_at + RESEND_MIN_INTERVAL_SECONDS - now
    if wait > 0:
        raise TooManyRequests(wait)
    state = _claim(state)
    step = _answer_challenge(state, email, RESEND_ANSWER, "resend")
    if not isinstance(step, Challenge):
        signin_sessions.finish(state)
        raise Unauthorized("CHALLENGE_FAILED")
    expires_in = step.expires_in or CODE_TTL_SECONDS
    fresh = signin_sessions.advance(
        state,
        cognito_session=step.session,
        resends=state.resends + 1,
        sent_at=now,
        code_expires_at=now + expires_in,
    )
    return _code_sent(fresh, email, expires_in)


# ---------------------------------------------------------------- password
def forgot_password(email: str, participant: str, source_ip: str | None) -> None:
    """``POST /auth/password/forgot``: a code only when the email and participant match one account."""
    hashed = account_links.email_hash(email)
    auth_throttle.check("password_forgot", hashed, source_ip, clock.epoch_seconds())
    with Equalized():
        link = account_links.get_link(hashed)
        matches = (
            link is not None
            and link.status == "LINKED"
            and secrets.compare_digest(link.participant_number.encode(), participant.encode())
        )
        if matches:
            _quietly(cognito_client.forgot_password, email)


def reset_password(email: str, code: str, new_password: str, source_ip: str | None) -> dict[str, Any]:
    """``POST /auth/password/reset``; every session of the account is signed out afterwards."""
    auth_throttle.check("password_reset", account_links.email_hash(email), source_ip, clock.epoch_seconds())
    try:
        cognito_client.confirm_forgot_password(email, code, new_password)
    except CognitoError as error:
        if error.code == "ExpiredCodeException":
            raise DomainError("CODE_EXPIRED", status=400) from None
        if error.code == "InvalidPasswordException":
            raise ValidationFailed(
                errors=[FieldError("newPassword", "PASSWORD_POLICY", {"min_length": PASSWORD_MIN_LENGTH})]
            ) from None
        if error.code in ("LimitExceededException", "TooManyFailedAttemptsException", "TooManyRequestsException"):
            raise TooManyRequests(900) from None
        if error.code in ("CodeMismatchException", "UserNotFoundException", "NotAuthorizedException"):
            raise DomainError("CODE_INVALID", status=400) from None
        raise _cognito_failure(error) from None
    _quietly(cognito_client.global_sign_out, email)
    return {"status": "PASSWORD_RESET"}


# ---------------------------------------------------------------- tokens
def refresh_tokens(refresh_token: str) -> dict[str, Any]:
    """``POST /auth/token/refresh``."""
    try:
        tokens = cognito_client.refresh(refresh_token)
    except CognitoError as error:
        if error.code in ("NotAuthorizedException", "UserNotFoundException", "InvalidParameterException"):
            raise Unauthorized("INVALID_TOKEN") from None
        raise _cognito_failure(error) from None
    body = _tokens_body(tokens)
    body.pop("refreshToken", None)
    return body


def logout(username: str, refresh_token: str | None) -> None:
    """``POST /auth/logout``: revoke the refresh token given, then sign the user out everywhere."""
    if refresh_token:
        _quietly(cognito_client.revoke, refresh_token)
    try:
        cognito_client.global_sign_out(username)
    except CognitoError as error:
        if error.code in ("NotAuthorizedException", "UserNotFoundException"):
            raise Unauthorized("INVALID_TOKEN") from None
        raise _cognito_failure(error) from None


# ---------------------------------------------------------------- helpers
def _quietly(call: Any, *args: Any) -> None:
    """Calls whose failure must not change the answer (anti-enumeration); logged by error code only."""
    try:
        call(*args)
    except CognitoError as error:
        if error.code not in (
            "UserNotFoundException",
            "InvalidParameterException",
            "NotAuthorizedException",
            "CodeDeliveryFailureException",
            "LimitExceededException",
            "UnsupportedTokenTypeException",
        ):
            logger.warning("cognito call failed", extra={"error_code": error.code})


def _cognito_failure(error: CognitoError) -> DomainError:
    if error.code in ("TooManyRequestsException", "LimitExceededException"):
        return TooManyRequests(60)
    logger.error("unexpected cognito error", extra={"error_code": error.code})
    return DomainError("INTERNAL_ERROR", status=503)
