"""Every Cognito call of the backend-for-frontend (the same code on AWS and on the local stack).

The endpoint comes from boto3's ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`` when the local stack
sets it; nothing here knows whether it talks to Cognito or to the local emulator. Cognito errors
become :class:`CognitoError` with Cognito's error code, for the service to map to the contract.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from srp_client import SrpClient

from portal_common.aws_clients import client
from portal_common.config import get_settings


class CognitoError(Exception):
    """A Cognito error response (``code`` such as ``NotAuthorizedException``)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Challenge:
    """A custom challenge waiting for the emailed code."""

    session: str
    destination: str | None
    expires_in: int | None


@dataclass(frozen=True)
class Tokens:
    """Cognito's ``AuthenticationResult``."""

    access_token: str
    id_token: str
    refresh_token: str | None
    expires_in: int

    def __repr__(self) -> str:
        return "Tokens(***)"


def _call(operation: str, **params: Any) -> dict[str, Any]:
    try:
        response: dict[str, Any] = getattr(client("cognito-idp"), operation)(**params)
        return response
    except ClientError as error:
        info = error.response.get("Error", {})
        raise CognitoError(str(info.get("Code", "Unknown")), str(info.get("Message", ""))) from None


def _client_id() -> str:
    return get_settings().user_pool_client_id


def sign_up(email: str, password: str, locale: str, validation: dict[str, str]) -> dict[str, Any]:
    """``SignUp`` (PreSignUp re-checks the roster from ``validation``; Cognito emails the code).

    The email is the user name (the pool's ``UsernameAttributes``), from which Cognito sets the
    ``email`` attribute; it is not sent as an attribute: the app client may not write it.
    """
    return _call(
        "sign_up",
        ClientId=_client_id(),
        Username=email,
        Password=password,
        UserAttributes=[{"Name": "locale", "Value": locale}],
        ValidationData=[{"Name": k, "Value": v} for k, v in validation.items()],
    )


def confirm_sign_up(email: str, code: str) -> None:
    """``ConfirmSignUp`` (PostConfirmation links the account)."""
    _call("confirm_sign_up", ClientId=_client_id(), Username=email, ConfirmationCode=code)


def resend_confirmation(email: str) -> None:
    """``ResendConfirmationCode``."""
    _call("resend_confirmation_code", ClientId=_client_id(), Username=email)


def forgot_password(email: str) -> None:
    """``ForgotPassword`` (CustomMessage writes the email; Cognito sends it)."""
    _call("forgot_password", ClientId=_client_id(), Username=email)


def confirm_forgot_password(email: str, code: str, password: str) -> None:
    """``ConfirmForgotPassword``."""
    _call("confirm_forgot_password", ClientId=_client_id(), Username=email, ConfirmationCode=code, Password=password)


def global_sign_out(username: str) -> None:
    """``AdminUserGlobalSignOut``: every refresh token of the user stops working."""
    _call("admin_user_global_sign_out", UserPoolId=get_settings().user_pool_id, Username=username)


def revoke(refresh_token: str) -> None:
    """``RevokeToken``: this refresh token (and the tokens it issued) stops working."""
    _call("revoke_token", ClientId=_client_id(), Token=refresh_token)


def refresh(refresh_token: str) -> Tokens:
    """``InitiateAuth`` with ``REFRESH_TOKEN_AUTH`` (no new refresh token)."""
    result = (
        _call(
            "initiate_auth",
            ClientId=_client_id(),
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        ).get("AuthenticationResult")
        or {}
    )
    return _tokens(result)


def _tokens(result: dict[str, Any]) -> Tokens:
    if not result.get("IdToken") or not result.get("AccessToken"):
        raise CognitoError("NotAuthorizedException", "no tokens")
    return Tokens(
        access_token=str(result["AccessToken"]),
        id_token=str(result["IdToken"]),
        refresh_token=result.get("RefreshToken"),
        expires_in=int(result.get("ExpiresIn", 3600)),
    )


def _challenge_or_tokens(response: dict[str, Any]) -> Challenge | Tokens:
    if response.get("AuthenticationResult"):
        return _tokens(response["AuthenticationResult"])
    if response.get("ChallengeName") != "CUSTOM_CHALLENGE" or not response.get("Session"):
        raise CognitoError("NotAuthorizedException", "unexpected challenge")
    params = response.get("ChallengeParameters") or {}
    expires = params.get("expiresIn")
    return Challenge(
        session=str(response["Session"]),
        destination=params.get("destination"),
        expires_in=int(expires) if expires and str(expires).isdigit() else None,
    )


def _password_step(username: str, password: str, metadata: dict[str, str] | None) -> dict[str, Any]:
    """``SRP_A`` then ``PASSWORD_VERIFIER`` (the SRP client side runs here, ``srp_client``)."""
    srp = SrpClient(get_settings().user_pool_id, password)
    auth_params = {"USERNAME": username, "SRP_A": srp.srp_a, "CHALLENGE_NAME": "SRP_A"}
    first = _call("initiate_auth", ClientId=_client_id(), AuthFlow="CUSTOM_AUTH", AuthParameters=auth_params)
    if first.get("ChallengeName") != "PASSWORD_VERIFIER":
        raise CognitoError("NotAuthorizedException", "unexpected challenge")
    try:
        responses = srp.password_claim(first.get("ChallengeParameters") or {})
    except (KeyError, ValueError):
        raise CognitoError("NotAuthorizedException", "malformed password challenge") from None
    extra: dict[str, Any] = {"ClientMetadata": metadata} if metadata else {}
    return _call(
        "respond_to_auth_challenge",
        ClientId=_client_id(),
        ChallengeName="PASSWORD_VERIFIER",
        Session=first.get("Session", ""),
        ChallengeResponses=responses,
        **extra,
    )


def start_signin(email: str, password: str) -> Challenge | Tokens:
    """Custom auth: ``SRP_A`` then ``PASSWORD_VERIFIER``.

    Two Cognito calls; Cognito runs DefineAuthChallenge twice and CreateAuthChallenge once, which
    emails the code (client metadata ``attempt``: a random id of this sign-in). Raises
    ``NotAuthorizedException`` for an unknown email and a wrong password alike,
    ``UserNotConfirmedException`` when the password is right but the email is unconfirmed.
    """
    # A random id per sign-in: CreateAuthChallenge tells Cognito's retries of this round (same id,
    # no second email) from a new sign-in (signin_round).
    return _challenge_or_tokens(_password_step(email, password, {"attempt": secrets.token_hex(16)}))


def check_password(username: str, password: str) -> None:
    """Whether ``password`` is the account's (the account settings ask for it): the same SRP
    steps with client metadata ``purpose=password-check``, so CreateAuthChallenge emails no code.
    Raises ``NotAuthorizedException`` for a wrong password (counted by DefineAuthChallenge)."""
    _challenge_or_tokens(_password_step(username, password, {"purpose": "password-check"}))


def set_password(username: str, password: str) -> None:
    """``AdminSetUserPassword`` (permanent; the pool's policy applies)."""
    _call(
        "admin_set_user_password",
        UserPoolId=get_settings().user_pool_id,
        Username=username,
        Password=password,
        Permanent=True,
    )


def update_attributes(username: str, attributes: dict[str, str]) -> None:
    """``AdminUpdateUserAttributes`` (the app client cannot write email or the roster link)."""
    _call(
        "admin_update_user_attributes",
        UserPoolId=get_settings().user_pool_id,
        Username=username,
        UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
    )


def account_exists(username: str) -> bool:
    """``AdminGetUser``: whether the account still exists (``DeleteUser`` removes it for good)."""
    try:
        _call("admin_get_user", UserPoolId=get_settings().user_pool_id, Username=username)
    except CognitoError as error:
        if error.code == "UserNotFoundException":
            return False
        raise
    return True


def answer(email: str, session: str, answer_value: str, action: str) -> Challenge | Tokens:
    """Answer the custom challenge with the code (``action="answer"``) or ask for a new one
    (``action="resend"``, answer ``RESEND``)."""
    response = _call(
        "respond_to_auth_challenge",
        ClientId=_client_id(),
        ChallengeName="CUSTOM_CHALLENGE",
        Session=session,
        ChallengeResponses={"USERNAME": email, "ANSWER": answer_value},
        ClientMetadata={"action": action},
    )
    return _challenge_or_tokens(response)
