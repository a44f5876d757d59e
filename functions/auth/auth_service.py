"""Identity rules of the backend-for-frontend: what each ``/auth/*`` route does.

The handlers (``auth_api`` and its routers) only shape HTTP; each function here returns the route's
output model (``auth_models``). Cognito calls are in ``cognito_client``, sign-in state in
``signin_sessions``, counters in ``auth_throttle``, the roster link in ``account_links``. What each
Cognito refusal means to the member is said once, in :data:`REFUSALS`.

Anti-enumeration: register, register/resend, login and password/forgot answer the same status and
body whether or not the email has an account, do the same calls on our side (Cognito's
``PreventUserExistenceErrors`` fakes its side), and are padded to a common response-time floor with
jitter (``AUTH_RESPONSE_FLOOR_MS``, default 400 ms).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import account_links
import auth_throttle
import cognito_client
import signin_sessions
from auth_codes import CODE_TTL_SECONDS, MAX_RESENDS, MAX_WRONG_CODES, RESEND_ANSWER, RESEND_MIN_INTERVAL_SECONDS
from auth_models import (
    PASSWORD_MIN_LENGTH,
    CodeSentResponse,
    RefreshedTokensResponse,
    RegistrationResponse,
    StatusResponse,
    TokensResponse,
)
from cognito_client import Challenge, CognitoError, Tokens

from portal_common import clock
from portal_common.config import get_settings
from portal_common.log import get_logger, mask_email
from portal_common.members import Member, get_member
from portal_common.problems import (
    DomainError,
    FieldError,
    Forbidden,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)

logger = get_logger("auth")
T = TypeVar("T")


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


# ---------------------------------------------------------------- Cognito's refusals
Refusal = Callable[[CognitoError], DomainError]


def _always(problem: Callable[..., DomainError], *args: Any, **kwargs: Any) -> Refusal:
    """The same problem whatever Cognito's message says (a fresh exception each time)."""
    return lambda _error: problem(*args, **kwargs)


def _password_policy(field: str) -> Refusal:
    return lambda _error: ValidationFailed(
        errors=[FieldError(field, "PASSWORD_POLICY", {"min_length": PASSWORD_MIN_LENGTH})]
    )


def _sign_up_refused(error: CognitoError) -> DomainError:
    # PreSignUp's message is our stable code, which Cognito wraps in UserLambdaValidationException.
    if "ALREADY_REGISTERED" in error.message:
        return DomainError("ALREADY_REGISTERED", status=409)
    from registration_rules import identity_error  # with the plan model: registration only (cold start)

    return identity_error()


def _link_refused(_error: CognitoError) -> DomainError:
    # PostConfirmation refused the link: another account took the participant meanwhile.
    logger.error("account link failed at confirmation")
    return DomainError("ALREADY_REGISTERED", status=409)


_CODE_INVALID = _always(DomainError, "CODE_INVALID", status=400)
_CODE_ATTEMPTS = _always(TooManyRequests, 900)
# An emailed confirmation or reset code: wrong (an unknown user must look the same), expired, or
# too many attempts.
_CODE_REFUSALS: dict[str, Refusal] = {
    "CodeMismatchException": _CODE_INVALID,
    "NotAuthorizedException": _CODE_INVALID,
    "UserNotFoundException": _CODE_INVALID,
    "ExpiredCodeException": _always(DomainError, "CODE_EXPIRED", status=400),
    "LimitExceededException": _CODE_ATTEMPTS,
    "TooManyFailedAttemptsException": _CODE_ATTEMPTS,
    "TooManyRequestsException": _CODE_ATTEMPTS,
}
_BAD_CREDENTIALS = _always(Unauthorized, "INVALID_CREDENTIALS")
_CHALLENGE_FAILED = _always(Unauthorized, "CHALLENGE_FAILED")
_BAD_TOKEN = _always(Unauthorized, "INVALID_TOKEN")

# The one table of Cognito's refusals: for each ``cognito_client`` call (by its name), Cognito's
# error code -> our problem. A code not listed is a throttle (``_THROTTLED``: 429, retry in 60 s)
# or a failure on our side (503, logged by error code).
REFUSALS: dict[str, dict[str, Refusal]] = {
    "sign_up": {
        "InvalidPasswordException": _password_policy("password"),
        "UserLambdaValidationException": _sign_up_refused,
        "InvalidParameterException": lambda _error: ValidationFailed(errors=[FieldError("email", "INVALID_EMAIL")]),
    },
    "confirm_sign_up": {**_CODE_REFUSALS, "UserLambdaValidationException": _link_refused},
    "confirm_forgot_password": {**_CODE_REFUSALS, "InvalidPasswordException": _password_policy("newPassword")},
    "start_signin": {
        "UserNotConfirmedException": _always(Forbidden, "ACCOUNT_NOT_CONFIRMED"),
        "NotAuthorizedException": _BAD_CREDENTIALS,
        "UserNotFoundException": _BAD_CREDENTIALS,
        "PasswordResetRequiredException": _BAD_CREDENTIALS,
    },
    "answer": {
        "NotAuthorizedException": _CHALLENGE_FAILED,
        "CodeMismatchException": _CHALLENGE_FAILED,
        "ExpiredCodeException": _CHALLENGE_FAILED,
    },
    "refresh": {
        "NotAuthorizedException": _BAD_TOKEN,
        "UserNotFoundException": _BAD_TOKEN,
        "InvalidParameterException": _BAD_TOKEN,
    },
    "global_sign_out": {"NotAuthorizedException": _BAD_TOKEN, "UserNotFoundException": _BAD_TOKEN},
    # Account settings (the caller is signed in; an account deleted meanwhile has no session).
    "set_password": {
        "InvalidPasswordException": _password_policy("newPassword"),
        "UserNotFoundException": _BAD_TOKEN,
    },
    "update_attributes": {"UserNotFoundException": _BAD_TOKEN, "AliasExistsException": _CODE_INVALID},
    "check_password": {"UserNotConfirmedException": _BAD_TOKEN},
}
_THROTTLED = frozenset({"TooManyRequestsException", "LimitExceededException"})

# Codes a quiet call (whose outcome must not show in the answer) expects; any other is logged.
_QUIET_EXPECTED = frozenset(
    {
        "UserNotFoundException",
        "InvalidParameterException",
        "NotAuthorizedException",
        "CodeDeliveryFailureException",
        "LimitExceededException",
        "UnsupportedTokenTypeException",
        # CustomMessage refused a reset code past the account's limit (the answer is 202 anyway).
        "UserLambdaValidationException",
    }
)


def refusal(operation: str, error: CognitoError) -> DomainError:
    """What Cognito's ``error`` on ``operation`` (a ``cognito_client`` function name) means to the member."""
    meaning = REFUSALS.get(operation, {}).get(error.code)
    if meaning is not None:
        return meaning(error)
    if error.code in _THROTTLED:
        return TooManyRequests(60)
    logger.error("unexpected cognito error", extra={"error_code": error.code})
    return DomainError("INTERNAL_ERROR", status=503)


def ask(call: Callable[..., T], *args: Any) -> T:
    """A ``cognito_client`` call whose refusal ends the request with its problem (see :data:`REFUSALS`)."""
    try:
        return call(*args)
    except CognitoError as error:
        raise refusal(call.__name__, error) from None


def _quietly(call: Callable[..., Any], *args: Any) -> None:
    """Calls whose failure must not change the answer (anti-enumeration); logged by error code only."""
    try:
        call(*args)
    except CognitoError as error:
        if error.code not in _QUIET_EXPECTED:
            logger.warning("cognito call failed", extra={"error_code": error.code})


# ---------------------------------------------------------------- registration
def register(
    contract: str,
    participant: str,
    date_of_birth: date,
    email: str,
    password: str,
    language: str | None,
    source_ip: str | None,
) -> RegistrationResponse:
    """``POST /auth/register``."""
    hashed = account_links.email_hash(email)
    auth_throttle.check("register", hashed, source_ip, clock.epoch_seconds())
    from registration_rules import verify_identity  # with the plan model: registration only (cold start)

    member = verify_identity(get_member(contract, participant), date_of_birth, clock.today())
    if member.account_sub:
        _release_if_deleted(member)
    locale = language or member.language or "fr"
    answer = RegistrationResponse(status="CONFIRMATION_REQUIRED", destination=mask_email(email))
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
            if error.code != "UsernameExistsException":
                raise refusal("sign_up", error) from None
            # The email already has an account (maybe unconfirmed: send its code again). The
            # answer stays the same so the email's existence is not revealed.
            _quietly(cognito_client.resend_confirmation, email)
            return answer
    logger.info("registration started", extra={"destination": answer.destination})
    return answer


def _release_if_deleted(member: Member) -> None:
    """``409 ALREADY_REGISTERED`` unless the linked account was deleted (``DeleteUser``): then the
    participant is freed and may register again. One ``AdminGetUser`` (Cognito user names are the
    sub in an email-username pool), only for participants that have an account: no Scan."""
    sub = str(member.account_sub)
    if ask(cognito_client.account_exists, sub):
        raise DomainError("ALREADY_REGISTERED", status=409)
    if not account_links.release(member.contract_number, member.participant_number, sub, member.email):
        raise DomainError("ALREADY_REGISTERED", status=409)  # re-linked meanwhile
    logger.info("participant freed: its account was deleted")


def confirm_registration(email: str, code: str, source_ip: str | None) -> StatusResponse:
    """``POST /auth/register/confirm``."""
    auth_throttle.check("register_confirm", account_links.email_hash(email), source_ip, clock.epoch_seconds())
    ask(cognito_client.confirm_sign_up, email, code)
    return StatusResponse(status="CONFIRMED")


def resend_registration(email: str, source_ip: str | None) -> StatusResponse:
    """``POST /auth/register/resend``: always accepted."""
    auth_throttle.check("register_resend", account_links.email_hash(email), source_ip, clock.epoch_seconds())
    with Equalized():
        _quietly(cognito_client.resend_confirmation, email)
    return StatusResponse(status="ACCEPTED")


# ---------------------------------------------------------------- sign-in
def _code_sent(session: str, email: str, expires_in: int) -> CodeSentResponse:
    return CodeSentResponse(
        status="CODE_SENT", session=session, destination=mask_email(email), code_expires_in=expires_in
    )


def login(email: str, password: str, source_ip: str | None) -> CodeSentResponse:
    """``POST /auth/login``: password (SRP), then a code is emailed."""
    hashed = account_links.email_hash(email)
    auth_throttle.check("login", hashed, source_ip, clock.epoch_seconds())
    with Equalized():
        step = ask(cognito_client.start_signin, email, password)
        if not isinstance(step, Challenge):
            # The pool must never issue tokens before the code (DefineAuthChallenge says so).
            logger.error("tokens issued without a code: check DefineAuthChallenge")
            raise Unauthorized("INVALID_CREDENTIALS")
        now = clock.epoch()
        expires_in = step.expires_in or CODE_TTL_SECONDS
        session = signin_sessions.start(hashed, step.session, now + expires_in, now)
    answer = _code_sent(session, email, expires_in)
    logger.info("sign-in code sent", extra={"destination": answer.destination})
    return answer


def _load_signin(email: str, session: str) -> signin_sessions.SigninState:
    try:
        return signin_sessions.load(session, account_links.email_hash(email), clock.epoch())
    except signin_sessions.SessionInvalid:
        raise Unauthorized("CHALLENGE_FAILED") from None


def _claim(state: signin_sessions.SigninState) -> signin_sessions.SigninState:
    try:
        return signin_sessions.claim(state)
    except signin_sessions.SessionInvalid:
        raise Unauthorized("CHALLENGE_FAILED") from None


def _answer_challenge(state: signin_sessions.SigninState, email: str, answer: str, kind: str) -> Challenge | Tokens:
    """Answer Cognito's custom challenge for a claimed sign-in; any refusal ends the sign-in."""
    try:
        return cognito_client.answer(email, state.cognito_session, answer, kind)
    except CognitoError as error:
        signin_sessions.finish(state)
        raise refusal("answer", error) from None


def verify_login(email: str, session: str, code: str, source_ip: str | None) -> TokensResponse:
    """``POST /auth/login/verify``: the emailed code -> tokens."""
    auth_throttle.check("login_verify", None, source_ip, clock.epoch_seconds())
    state = _load_signin(email, session)
    if clock.epoch() >= state.code_expires_at:
        raise Unauthorized("CODE_EXPIRED")
    state = _claim(state)
    step = _answer_challenge(state, email, code, "answer")
    if isinstance(step, Tokens):
        signin_sessions.finish(state)
        if step.refresh_token is None:  # Cognito issues one with every sign-in
            raise DomainError("INTERNAL_ERROR", status=500)
        logger.info("signed in")
        return TokensResponse(
            access_token=step.access_token,
            id_token=step.id_token,
            expires_in=step.expires_in,
            token_type="Bearer",
            refresh_token=step.refresh_token,
        )
    wrong = state.wrong + 1
    fresh = signin_sessions.advance(state, cognito_session=step.session, wrong=wrong)
    raise Unauthorized("CODE_INVALID", extra={"attemptsRemaining": max(0, MAX_WRONG_CODES - wrong), "session": fresh})


def resend_login_code(email: str, session: str, source_ip: str | None) -> CodeSentResponse:
    """``POST /auth/login/resend``: a new code; the previous one stops working."""
    hashed = account_links.email_hash(email)
    auth_throttle.check("login_resend", hashed, source_ip, clock.epoch_seconds())
    state = _load_signin(email, session)
    now = clock.epoch()
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
def forgot_password(email: str, participant: str, source_ip: str | None) -> StatusResponse:
    """``POST /auth/password/forgot``: a code only when the email and participant match one account;
    always accepted."""
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
    return StatusResponse(status="ACCEPTED")


def reset_password(email: str, code: str, new_password: str, source_ip: str | None) -> StatusResponse:
    """``POST /auth/password/reset``; every session of the account is signed out afterwards."""
    auth_throttle.check("password_reset", account_links.email_hash(email), source_ip, clock.epoch_seconds())
    ask(cognito_client.confirm_forgot_password, email, code, new_password)
    _quietly(cognito_client.global_sign_out, email)
    return StatusResponse(status="PASSWORD_RESET")


# ---------------------------------------------------------------- tokens
def refresh_tokens(refresh_token: str) -> RefreshedTokensResponse:
    """``POST /auth/token/refresh`` (the refresh token stays the same)."""
    tokens = ask(cognito_client.refresh, refresh_token)
    return RefreshedTokensResponse(
        access_token=tokens.access_token, id_token=tokens.id_token, expires_in=tokens.expires_in, token_type="Bearer"
    )


def logout(username: str, refresh_token: str | None) -> None:
    """``POST /auth/logout``: revoke the refresh token given, then sign the user out everywhere."""
    if refresh_token:
        _quietly(cognito_client.revoke, refresh_token)
    ask(cognito_client.global_sign_out, username)
