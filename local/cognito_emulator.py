"""The part of Cognito that moto does not do: custom auth with triggers, SRP proofs, codes, emails.

moto keeps users and signs tokens; this class answers the operations below the way Cognito does
and returns ``None`` for everything else (the local stack then forwards the request to moto):

- ``SignUp`` (PreSignUp, then a verification code through CustomMessage and SES),
  ``ConfirmSignUp`` (code, expiry, attempts, then PostConfirmation), ``ResendConfirmationCode``;
- ``ForgotPassword`` / ``ConfirmForgotPassword`` (reset code, CustomMessage, password policy);
- ``InitiateAuth`` ``CUSTOM_AUTH`` with ``SRP_A`` and ``RespondToAuthChallenge``
  (``PASSWORD_VERIFIER``: the SRP proof is verified for real against the verifier stored when the
  password was set; ``CUSTOM_CHALLENGE``: VerifyAuthChallengeResponse then DefineAuthChallenge),
  tokens from moto's pool only when DefineAuthChallenge says ``issueTokens``;
- ``InitiateAuth`` ``REFRESH_TOKEN_AUTH`` and ``RevokeToken``;
- ``PreventUserExistenceErrors``: unknown users get a fake password challenge and the same errors
  as a wrong password; resend and forgot-password answer as if the user existed;
- the user's own operations with an access token, as Cognito enforces them: ``GetUser`` (the
  client's read attributes), ``UpdateUserAttributes`` / ``DeleteUserAttributes`` (the client's
  write attributes; an email in ``AttributesRequireVerificationBeforeUpdate`` changes only after
  ``VerifyUserAttribute``), ``ChangePassword``, ``DeleteUser``; and ``AdminSetUserPassword`` /
  ``AdminUpdateUserAttributes`` (new SRP verifier; verification before an email update unless the
  call sets ``email_verified``). Which operations need IAM credentials is
  the complement of ``local.cognito_front.PUBLIC_OPERATIONS`` (the front checks it).

Passwords are never kept in clear: the emulator stores the SRP salt and verifier (as Cognito does)
and overwrites the password moto keeps with random bytes. Codes are stored as SHA-256 hashes.
The clock is the functions' clock (``portal_common.clock``: the offset of
``PORTAL_CLOCK_OFFSET_SECONDS`` / ``PORTAL_CLOCK_OFFSET_FILE`` with ``PORTAL_LOCAL_STACK=1``) so tests
can expire codes, and the SRP ``TIMESTAMP`` the backend signs is checked against it.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import html
import os
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pycognito.aws_srp import G_HEX, N_HEX, compute_hkdf, hex_hash, hex_to_long, pad_hex

from portal_common.clock import epoch_seconds
from portal_common.log import mask_email

Response = tuple[int, dict[str, Any]]
InvokeTrigger = Callable[[str, dict[str, Any]], dict[str, Any]]

SIGN_UP_CODE_TTL = 24 * 3600
RESET_CODE_TTL = 3600
CODE_ATTEMPTS = 5
SESSION_TTL_DEFAULT = 3 * 60
_BIG_N = hex_to_long(N_HEX)
_G = hex_to_long(G_HEX)
_K = hex_to_long(hex_hash("00" + N_HEX + "0" + G_HEX))
_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


class CognitoFault(Exception):
    """A Cognito error response."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(kind)
        self.kind = kind
        self.message = message


@dataclass
class _Code:
    digest: str
    expires_at: float
    attempts: int = 0


@dataclass
class _AuthSession:
    username: str | None  # moto username (the sub); None for an unknown user
    given_username: str
    client_metadata: dict[str, Any]
    created_at: float
    history: list[dict[str, Any]] = field(default_factory=list)
    challenge: str = ""
    srp_b: int = 0
    srp_big_b: int = 0
    srp_a: int = 0
    secret_block: bytes = b""
    private: dict[str, str] = field(default_factory=dict)
    metadata: str | None = None


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _html_to_text(body: str) -> str:
    text = re.sub(r"<(br|/p|/h1|/h2|/div)[^>]*>", "\n", body, flags=re.I)
    text = re.sub(r"<(head|style|title)[^>]*>.*?</\1>", "", text, flags=re.I | re.S)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\n{3,}", "\n\n", html.unescape(text)).strip() + "\n"


class CognitoEmulator:
    """Cognito custom-auth behaviour over moto's user store (see the module docstring)."""

    def __init__(
        self,
        moto_backend_account: str,
        region: str,
        user_pool_id: str,
        client_id: str,
        invoke_trigger: InvokeTrigger,
        *,
        sender_email: str | None = None,
        clock: Callable[[], float] = epoch_seconds,
    ) -> None:
        self.account = moto_backend_account
        self.region = region
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self.invoke_trigger = invoke_trigger
        self.sender_email = sender_email or os.environ.get("SENDER_EMAIL") or "no-reply@verificationemail.com"
        self.clock = clock
        self._lock = threading.RLock()
        self._verifiers: dict[str, tuple[str, int]] = {}  # username (sub) -> (salt hex, verifier)
        self._signup_codes: dict[str, _Code] = {}
        self._reset_codes: dict[str, _Code] = {}
        self._attribute_codes: dict[str, _Code] = {}  # username -> code for its pending email
        self._pending_email: dict[str, str] = {}  # username -> new email waiting for verification
        self._sessions: dict[str, _AuthSession] = {}
        self._refresh_issued: dict[str, float] = {}
        self._fake_secret = secrets.token_bytes(32)

    # ------------------------------------------------------------------ moto access
    @property
    def pool(self) -> Any:
        from moto.cognitoidp.models import cognitoidp_backends

        return cognitoidp_backends[self.account][self.region].user_pools[self.user_pool_id]

    def _client(self) -> Any:
        return self.pool.clients.get(self.client_id)

    def _find_user(self, username: str) -> Any | None:
        pool = self.pool
        user = pool.users.get(username)
        if user is not None:
            return user
        wanted = username.strip().lower()
        for candidate in pool.users.values():
            if str(candidate.attribute_lookup.get("email", "")).lower() == wanted:
                return candidate
        return None

    def _prevent_existence_errors(self) -> bool:
        found = self._client()
        return bool(found is None or found.extended_config.get("PreventUserExistenceErrors", "ENABLED") == "ENABLED")

    def _session_ttl(self) -> int:
        found = self._client()
        minutes = found.extended_config.get("AuthSessionValidity") if found is not None else None
        return int(minutes) * 60 if minutes else SESSION_TTL_DEFAULT

    # ------------------------------------------------------------------ entry point
    def handle(self, operation: str, body: dict[str, Any]) -> Response | None:
        """Answer ``operation`` (``X-Amz-Target`` suffix) or ``None`` to let moto answer it."""
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "SignUp": self.sign_up,
            "ConfirmSignUp": self.confirm_sign_up,
            "ResendConfirmationCode": self.resend_confirmation_code,
            "ForgotPassword": self.forgot_password,
            "ConfirmForgotPassword": self.confirm_forgot_password,
            "InitiateAuth": self.initiate_auth,
            "RespondToAuthChallenge": self.respond_to_auth_challenge,
            "RevokeToken": self.revoke_token,
            "AdminUserGlobalSignOut": self.admin_user_global_sign_out,
            "GetUser": self.get_user,
            "UpdateUserAttributes": self.update_user_attributes,
            "DeleteUserAttributes": self.delete_user_attributes,
            "VerifyUserAttribute": self.verify_user_attribute,
            "ChangePassword": self.change_password,
            "DeleteUser": self.delete_user,
            "AdminSetUserPassword": self.admin_set_user_password,
            "AdminUpdateUserAttributes": self.admin_update_user_attributes,
        }
        handler = handlers.get(operation)
        if handler is None:
            return None
        if body.get("ClientId") not in (None, self.client_id) or body.get("UserPoolId") not in (
            None,
            self.user_pool_id,
        ):
            return None  # another app client or pool: moto's behaviour
        # The admin operations run without the lock: the triggers call them (PostConfirmation's
        # AdminUpdateUserAttributes, AdminUserGlobalSignOut) while the operation that invoked the
        # trigger holds it. They only touch one user's attributes, tokens or verifier.
        guard = contextlib.nullcontext() if operation.startswith("Admin") else self._lock
        with guard:
            try:
                return 200, handler(body)
            except CognitoFault as fault:
                return 400, {"__type": fault.kind, "message": fault.message}

    # ------------------------------------------------------------------ triggers
    def _event(self, trigger_source: str, user_name: str, request: dict[str, Any], response: dict[str, Any]) -> dict:
        return {
            "version": "1",
            "region": self.region,
            "userPoolId": self.user_pool_id,
            "userName": user_name,
            "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": self.client_id},
            "triggerSource": trigger_source,
            "request": request,
            "response": response,
        }

    def _run(self, trigger: str, event: dict[str, Any]) -> dict[str, Any]:
        try:
            result = self.invoke_trigger(trigger, copy.deepcopy(event))
        except CognitoFault:
            raise
        except Exception as error:  # the trigger refused: Cognito wraps its message
            raise CognitoFault("UserLambdaValidationException", f"{trigger} failed with error {error}.") from None
        if not isinstance(result, dict):
            raise CognitoFault("InvalidLambdaResponseException", f"Invalid lambda response from {trigger}.")
        return result

    @staticmethod
    def _attributes(user: Any) -> dict[str, str]:
        attributes = {str(k): str(v) for k, v in user.attribute_lookup.items()}
        attributes["cognito:user_status"] = str(getattr(user.status, "value", user.status))
        attributes.setdefault("email_verified", "false")
        return attributes

    # ------------------------------------------------------------------ passwords
    def _check_policy(self, password: str) -> None:
        policy = (self.pool.extended_config.get("Policies") or {}).get("PasswordPolicy") or {}
        problems = []
        if len(password) < int(policy.get("MinimumLength", 8)):
            problems.append("Password not long enough")
        if policy.get("RequireLowercase") and not any(c.islower() for c in password):
            problems.append("Password must have lowercase characters")
        if policy.get("RequireUppercase") and not any(c.isupper() for c in password):
            problems.append("Password must have uppercase characters")
        if policy.get("RequireNumbers") and not any(c.isdigit() for c in password):
            problems.append("Password must have numeric characters")
        if policy.get("RequireSymbols") and all(c.isalnum() for c in password):
            problems.append("Password must have symbol characters")
        if problems:
            raise CognitoFault("InvalidPasswordException", "Password did not conform with policy: " + problems[0])

    def _verifier(self, username: str, salt: str, password: str) -> int:
        pool_name = self.user_pool_id.split("_", 1)[1]
        inner = hashlib.sha256(f"{pool_name}{username}:{password}".encode()).hexdigest()
        x = hex_to_long(hex_hash(pad_hex(salt) + inner))
        return pow(_G, x, _BIG_N)

    def _set_password(self, user: Any, password: str) -> None:
        """Store the SRP verifier, never the password (moto's copy is overwritten)."""
        salt = pad_hex(int.from_bytes(secrets.token_bytes(16), "big"))
        self._verifiers[user.username] = (salt, self._verifier(user.username, salt, password))
        user.password = secrets.token_urlsafe(32)  # moto's own flows can never match it

    def _password_matches(self, user: Any, password: str) -> bool:
        stored = self._verifiers.get(user.username)
        if stored is None:
            return False
        salt, verifier = stored
        return hmac.compare_digest(str(self._verifier(user.username, salt, password)), str(verifier))

    # ------------------------------------------------------------------ codes and emails
    def _new_code(self, store: dict[str, _Code], username: str, ttl: int) -> str:
        code = f"{secrets.randbelow(10**6):06d}"
        store[username] = _Code(_sha(code), self.clock() + ttl)
        return code

    def _check_code(self, store: dict[str, _Code], username: str, code: str) -> None:
        record = store.get(username)
        if record is None:
            raise CognitoFault("CodeMismatchException", "Invalid verification code provided, please try again.")
        if record.attempts >= CODE_ATTEMPTS:
            raise CognitoFault("LimitExceededException", "Attempt limit exceeded, please try after some time.")
        if self.clock() > record.expires_at:
            raise CognitoFault("ExpiredCodeException", "Invalid code provided, please request a code again.")
        if not hmac.compare_digest(record.digest, _sha(str(code))):
            record.attempts += 1
            raise CognitoFault("CodeMismatchException", "Invalid verification code provided, please try again.")
        del store[username]

    def _send_custom_message(self, trigger_source: str, user: Any, code: str, metadata: dict[str, Any]) -> None:
        request: dict[str, Any] = {
            "userAttributes": self._attributes(user),
            "codeParameter": "{####}",
            "linkParameter": "{##Click Here##}",
            "usernameParameter": None,
        }
        if metadata:
            request["clientMetadata"] = metadata
        event = self._event(
            trigger_source, user.username, request, {"smsMessage": None, "emailMessage": None, "emailSubject": None}
        )
        result = self._run("CustomMessage", event)
        response = result.get("response") or {}
        message = response.get("emailMessage") or "Your verification code is {####}"
        subject = response.get("emailSubject") or "Your verification code"
        if "{####}" not in message:
            raise CognitoFault("InvalidLambdaResponseException", "Custom message must contain the code parameter.")
        body = message.replace("{####}", code)
        self._send_email(str(user.attribute_lookup.get("email")), subject, body)

    def _send_email(self, to: str, subject: str, body: str) -> None:
        from moto.ses.models import ses_backends

        ses = ses_backends[self.account][self.region]
        if not ses._is_verified_address(self.sender_email):
            ses.verify_email_identity(self.sender_email)
        ses.send_email(self.sender_email, subject, body, {"ToAddresses": [to]})

    def _delivery(self, email: str) -> dict[str, str]:
        return {"Destination": mask_email(email), "DeliveryMedium": "EMAIL", "AttributeName": "email"}

    # ------------------------------------------------------------------ sign-up
    def sign_up(self, body: dict[str, Any]) -> dict[str, Any]:
        from moto.cognitoidp.models import CognitoIdpUser, UserStatus

        username = str(body.get("Username", "")).strip()
        password = str(body.get("Password", ""))
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", username):
            raise CognitoFault("InvalidParameterException", "Username should be an email.")
        if self._find_user(username) is not None:
            raise CognitoFault("UsernameExistsException", "An account with the given email already exists.")
        self._check_policy(password)
        given = list(body.get("UserAttributes") or [])
        # The client's write attributes apply to sign-up too; the email comes from the user name.
        self._check_writable(self.client_id, [str(a.get("Name", "")) for a in given])
        attributes = [a for a in given if a.get("Name") != "email"]
        attributes.append({"Name": "email", "Value": username})
        user = CognitoIdpUser(self.user_pool_id, None, None, UserStatus.UNCONFIRMED, attributes)
        validation = {a["Name"]: a["Value"] for a in body.get("ValidationData") or []}
        request: dict[str, Any] = {"userAttributes": self._attributes(user), "validationData": validation}
        if body.get("ClientMetadata"):
            request["clientMetadata"] = body["ClientMetadata"]
        event = self._event(
            "PreSignUp_SignUp",
            user.username,
            request,
            {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
        )
        result = self._run("PreSignUp", event)
        self.pool.users[user.username] = user
        self._set_password(user, password)
        response = result.get("response") or {}
        if response.get("autoConfirmUser"):
            user.status = UserStatus.CONFIRMED
            if response.get("autoVerifyEmail"):
                user.update_attributes([{"Name": "email_verified", "Value": "true"}])
            return {"UserConfirmed": True, "UserSub": user.id}
        code = self._new_code(self._signup_codes, user.username, SIGN_UP_CODE_TTL)
        self._send_custom_message("CustomMessage_SignUp", user, code, body.get("ClientMetadata") or {})
        return {"UserConfirmed": False, "UserSub": user.id, "CodeDeliveryDetails": self._delivery(username)}

    def confirm_sign_up(self, body: dict[str, Any]) -> dict[str, Any]:
        from moto.cognitoidp.models import UserStatus

        user = self._find_user(str(body.get("Username", "")))
        if user is None:
            if self._prevent_existence_errors():
                raise CognitoFault("CodeMismatchException", "Invalid verification code provided, please try again.")
            raise CognitoFault("UserNotFoundException", "Username/client id combination not found.")
        if user.status == UserStatus.CONFIRMED:
            raise CognitoFault("NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED")
        self._check_code(self._signup_codes, user.username, str(body.get("ConfirmationCode", "")))
        user.status = UserStatus.CONFIRMED
        user.update_attributes([{"Name": "email_verified", "Value": "true"}])
        request: dict[str, Any] = {"userAttributes": self._attributes(user)}
        if body.get("ClientMetadata"):
            request["clientMetadata"] = body["ClientMetadata"]
        try:
            self._run("PostConfirmation", self._event("PostConfirmation_ConfirmSignUp", user.username, request, {}))
        except CognitoFault:
            user.status = UserStatus.UNCONFIRMED
            raise
        return {}

    def resend_confirmation_code(self, body: dict[str, Any]) -> dict[str, Any]:
        from moto.cognitoidp.models import UserStatus

        given = str(body.get("Username", ""))
        user = self._find_user(given)
        if user is None:
            if self._prevent_existence_errors():
                return {"CodeDeliveryDetails": self._delivery(given)}
            raise CognitoFault("UserNotFoundException", "Username/client id combination not found.")
        if user.status == UserStatus.CONFIRMED:
            raise CognitoFault("InvalidParameterException", "User is already confirmed.")
        code = self._new_code(self._signup_codes, user.username, SIGN_UP_CODE_TTL)
        self._send_custom_message("CustomMessage_ResendCode", user, code, body.get("ClientMetadata") or {})
        return {"CodeDeliveryDetails": self._delivery(str(user.attribute_lookup.get("email")))}

    # ------------------------------------------------------------------ forgotten password
    def forgot_password(self, body: dict[str, Any]) -> dict[str, Any]:
        from moto.cognitoidp.models import UserStatus

        given = str(body.get("Username", ""))
        user = self._find_user(given)
        if user is None or user.status != UserStatus.CONFIRMED or not user.enabled:
            if user is None and not self._prevent_existence_errors():
                raise CognitoFault("UserNotFoundException", "Username/client id combination not found.")
            return {"CodeDeliveryDetails": self._delivery(given)}
        code = self._new_code(self._reset_codes, user.username, RESET_CODE_TTL)
        self._send_custom_message("CustomMessage_ForgotPassword", user, code, body.get("ClientMetadata") or {})
        return {"CodeDeliveryDetails": self._delivery(str(user.attribute_lookup.get("email")))}

    def confirm_forgot_password(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self._find_user(str(body.get("Username", "")))
        if user is None:
            if self._prevent_existence_errors():
                raise CognitoFault("CodeMismatchException", "Invalid verification code provided, please try again.")
            raise CognitoFault("UserNotFoundException", "Username/client id combination not found.")
        password = str(body.get("Password", ""))
        self._check_policy(password)
        self._check_code(self._reset_codes, user.username, str(body.get("ConfirmationCode", "")))
        self._set_password(user, password)
        request: dict[str, Any] = {"userAttributes": self._attributes(user)}
        self._run("PostConfirmation", self._event("PostConfirmation_ConfirmForgotPassword", user.username, request, {}))
        return {}

    # ------------------------------------------------------------------ custom auth
    def initiate_auth(self, body: dict[str, Any]) -> dict[str, Any]:
        flow = str(body.get("AuthFlow", ""))
        params = body.get("AuthParameters") or {}
        allowed = set(getattr(self._client(), "extended_config", {}).get("ExplicitAuthFlows") or [])
        if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            return self._refresh(str(params.get("REFRESH_TOKEN", "")))
        if flow != "CUSTOM_AUTH" or (allowed and "ALLOW_CUSTOM_AUTH" not in allowed):
            raise CognitoFault("InvalidParameterException", f"{flow} flow not enabled for this client")
        given = str(params.get("USERNAME", ""))
        user = self._find_user(given)
        if user is None and not self._prevent_existence_errors():
            raise CognitoFault("UserNotFoundException", "User does not exist.")
        if user is not None and not user.enabled:
            raise CognitoFault("NotAuthorizedException", "User is disabled.")
        session = _AuthSession(
            username=user.username if user is not None else None,
            given_username=given,
            client_metadata=body.get("ClientMetadata") or {},
            created_at=self.clock(),
        )
        if params.get("SRP_A"):
            try:
                session.srp_a = int(str(params["SRP_A"]), 16)
            except ValueError:
                raise CognitoFault("InvalidParameterException", "Invalid SRP_A") from None
            if session.srp_a % _BIG_N == 0:
                raise CognitoFault("InvalidParameterException", "Invalid SRP_A")
            session.history.append({"challengeName": "SRP_A", "challengeResult": True, "challengeMetadata": None})
        return self._advance(session, {})

    def respond_to_auth_challenge(self, body: dict[str, Any]) -> dict[str, Any]:
        token = str(body.get("Session", ""))
        session = self._sessions.pop(_sha(token), None)
        if session is None or self.clock() - session.created_at > self._session_ttl():
            raise CognitoFault("NotAuthorizedException", "Invalid session for the user, session is expired.")
        name = str(body.get("ChallengeName", ""))
        answers = body.get("ChallengeResponses") or {}
        metadata = body.get("ClientMetadata") or {}
        if name != session.challenge:
            raise CognitoFault("InvalidParameterException", "Invalid challenge name for this session.")
        if name == "PASSWORD_VERIFIER":
            if not self._password_proof_ok(session, answers):
                # As on AWS, DefineAuthChallenge sees the failed step (and counts it) and fails.
                session.history.append({"challengeName": name, "challengeResult": False, "challengeMetadata": None})
                self._advance(session, metadata)
                raise CognitoFault("NotAuthorizedException", "Incorrect username or password.")
            user = self._find_user(session.username or "")
            if user is not None and str(getattr(user.status, "value", user.status)) == "UNCONFIRMED":
                raise CognitoFault("UserNotConfirmedException", "User is not confirmed.")
            session.history.append({"challengeName": name, "challengeResult": True, "challengeMetadata": None})
            return self._advance(session, metadata)
        if name == "CUSTOM_CHALLENGE":
            user = self._find_user(session.username or "")
            request: dict[str, Any] = {
                "userAttributes": self._attributes(user) if user is not None else {},
                "privateChallengeParameters": dict(session.private),
                "challengeAnswer": str(answers.get("ANSWER", "")),
                "userNotFound": user is None,
            }
            if metadata:
                request["clientMetadata"] = metadata
            event = self._event(
                "VerifyAuthChallengeResponse_Authentication",
                session.username or session.given_username,
                request,
                {"answerCorrect": None},
            )
            result = self._run("VerifyAuthChallengeResponse", event)
            correct = bool((result.get("response") or {}).get("answerCorrect"))
            session.history.append(
                {"challengeName": name, "challengeResult": correct, "challengeMetadata": session.metadata}
            )
            return self._advance(session, metadata)
        raise CognitoFault("InvalidParameterException", f"Unsupported challenge {name}.")

    def _advance(self, session: _AuthSession, metadata: dict[str, Any]) -> dict[str, Any]:
        user = self._find_user(session.username or "") if session.username else None
        request: dict[str, Any] = {
            "userAttributes": self._attributes(user) if user is not None else {},
            "session": copy.deepcopy(session.history),
            "userNotFound": user is None,
        }
        if metadata:
            request["clientMetadata"] = metadata
        event = self._event(
            "DefineAuthChallenge_Authentication",
            session.username or session.given_username,
            request,
            {"challengeName": None, "issueTokens": None, "failAuthentication": None},
        )
        decided = self._run("DefineAuthChallenge", event).get("response") or {}
        if decided.get("failAuthentication"):
            raise CognitoFault("NotAuthorizedException", "Incorrect username or password.")
        if decided.get("issueTokens"):
            if user is None:
                raise CognitoFault("NotAuthorizedException", "Incorrect username or password.")
            return {"ChallengeParameters": {}, "AuthenticationResult": self._issue_tokens(user.username)}
        challenge = str(decided.get("challengeName") or "")
        if challenge == "PASSWORD_VERIFIER":
            if not session.srp_a or len(session.history) != 1:
                raise CognitoFault("InvalidParameterException", "SRP_A is required for PASSWORD_VERIFIER.")
            return self._password_challenge(session)
        if challenge == "CUSTOM_CHALLENGE":
            create_request: dict[str, Any] = {
                "userAttributes": request["userAttributes"],
                "challengeName": "CUSTOM_CHALLENGE",
                "session": copy.deepcopy(session.history),
                "userNotFound": user is None,
            }
            if metadata:
                create_request["clientMetadata"] = metadata
            create = self._event(
                "CreateAuthChallenge_Authentication",
                session.username or session.given_username,
                create_request,
                {"publicChallengeParameters": None, "privateChallengeParameters": None, "challengeMetadata": None},
            )
            created = self._run("CreateAuthChallenge", create).get("response") or {}
            session.challenge = "CUSTOM_CHALLENGE"
            session.private = {str(k): str(v) for k, v in (created.get("privateChallengeParameters") or {}).items()}
            session.metadata = created.get("challengeMetadata")
            public = {str(k): str(v) for k, v in (created.get("publicChallengeParameters") or {}).items()}
            public["USERNAME"] = session.username or session.given_username
            return {"ChallengeName": "CUSTOM_CHALLENGE", "Session": self._store(session), "ChallengeParameters": public}
        raise CognitoFault("InvalidLambdaResponseException", "Unrecognizable lambda output")

    def _store(self, session: _AuthSession) -> str:
        token = base64.urlsafe_b64encode(secrets.token_bytes(96)).decode().rstrip("=")
        session.created_at = self.clock()
        now = self.clock()
        ttl = self._session_ttl()
        for key in [k for k, s in self._sessions.items() if now - s.created_at > ttl]:
            del self._sessions[key]
        self._sessions[_sha(token)] = session
        return token

    # ------------------------------------------------------------------ SRP
    def _verifier_for(self, session: _AuthSession) -> tuple[str, int, str]:
        """(salt, verifier, USER_ID_FOR_SRP); a stable fake for unknown users."""
        if session.username and session.username in self._verifiers:
            salt, verifier = self._verifiers[session.username]
            return salt, verifier, session.username
        seed = hmac.new(self._fake_secret, session.given_username.lower().encode(), hashlib.sha256).digest()
        salt = pad_hex(int.from_bytes(seed[:16], "big"))
        verifier = pow(_G, int.from_bytes(seed, "big"), _BIG_N)
        fake_id = str(session.username or hashlib.sha256(seed).hexdigest()[:36])
        return salt, verifier, fake_id

    def _password_challenge(self, session: _AuthSession) -> dict[str, Any]:
        salt, verifier, user_id = self._verifier_for(session)
        b = int.from_bytes(secrets.token_bytes(128), "big") % _BIG_N
        big_b = (_K * verifier + pow(_G, b, _BIG_N)) % _BIG_N
        session.srp_b, session.srp_big_b = b, big_b
        session.secret_block = secrets.token_bytes(64)
        session.challenge = "PASSWORD_VERIFIER"
        params = {
            "SALT": salt,
            "SECRET_BLOCK": base64.standard_b64encode(session.secret_block).decode(),
            "SRP_B": format(big_b, "x"),
            "USERNAME": user_id,
            "USER_ID_FOR_SRP": user_id,
        }
        return {"ChallengeName": "PASSWORD_VERIFIER", "Session": self._store(session), "ChallengeParameters": params}

    def _password_proof_ok(self, session: _AuthSession, answers: dict[str, Any]) -> bool:
        _salt, verifier, user_id = self._verifier_for(session)
        try:
            block = base64.standard_b64decode(str(answers.get("PASSWORD_CLAIM_SECRET_BLOCK", "")))
            signature = base64.standard_b64decode(str(answers.get("PASSWORD_CLAIM_SIGNATURE", "")))
        except ValueError:
            return False
        timestamp = str(answers.get("TIMESTAMP", ""))
        if not hmac.compare_digest(block, session.secret_block) or not self._timestamp_ok(timestamp):
            return False
        u = hex_to_long(hex_hash(pad_hex(session.srp_a) + pad_hex(session.srp_big_b)))
        if u == 0:
            return False
        s = pow(session.srp_a * pow(verifier, u, _BIG_N), session.srp_b, _BIG_N)
        key = compute_hkdf(bytearray.fromhex(pad_hex(s)), bytearray.fromhex(pad_hex(format(u, "x"))))
        pool_name = self.user_pool_id.split("_", 1)[1]
        message = pool_name.encode() + user_id.encode() + session.secret_block + timestamp.encode()
        expected = hmac.new(key, message, hashlib.sha256).digest()
        return session.username is not None and hmac.compare_digest(expected, signature)

    def _timestamp_ok(self, timestamp: str) -> bool:
        match = re.match(r"^(\w{3}) (\w{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) UTC (\d{4})$", timestamp)
        if not match or match.group(2) not in _MONTHS:
            return False
        stamp = datetime(
            int(match.group(7)),
            _MONTHS.index(match.group(2)) + 1,
            int(match.group(3)),
            int(match.group(4)),
            int(match.group(5)),
            int(match.group(6)),
            tzinfo=UTC,
        )
        return abs(stamp.timestamp() - self.clock()) < 300  # the backend signs with the same clock

    # ------------------------------------------------------------------ tokens
    def _validity(self, kind: str) -> int:
        """Seconds a token of ``kind`` (Access, Id, Refresh) lives, from the app client's settings."""
        found = self._client()
        config = found.extended_config if found is not None else {}
        defaults = {"Access": (60, "minutes"), "Id": (60, "minutes"), "Refresh": (30, "days")}
        value = config.get(f"{kind}TokenValidity") or defaults[kind][0]
        unit = (config.get("TokenValidityUnits") or {}).get(f"{kind}Token") or defaults[kind][1]
        return int(value) * {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}.get(str(unit), 1)

    def _mint(self, username: str, origin_jti: str) -> tuple[str, str, int]:
        """(access, id, expires_in) signed by moto's pool key, with the client's lifetimes."""
        pool = self.pool
        user = pool._get_user(username)
        groups = [group.group_name for group in user.groups]
        access_extra: dict[str, Any] = {"origin_jti": origin_jti, "scope": "aws.cognito.signin.user.admin"}
        id_extra = pool.get_user_extra_data_by_client_id(self.client_id, username)
        id_extra["origin_jti"] = origin_jti
        id_extra.update({a["Name"]: a["Value"] for a in user.attributes if a["Name"].startswith("custom:")})
        if groups:
            access_extra["cognito:groups"] = id_extra["cognito:groups"] = groups
        access_ttl = self._validity("Access")
        access, _ = pool.create_jwt(self.client_id, username, "access", access_ttl, extra_data=access_extra)
        id_token, _ = pool.create_jwt(self.client_id, username, "id", self._validity("Id"), extra_data=id_extra)
        pool.access_tokens[access] = (self.client_id, username)
        pool.id_tokens[id_token] = (self.client_id, username)
        return access, id_token, access_ttl

    def _issue_tokens(self, username: str) -> dict[str, Any]:
        refresh_token, origin_jti = self.pool.create_refresh_token(self.client_id, username)
        self._refresh_issued[refresh_token] = self.clock()
        access_token, id_token, expires_in = self._mint(username, origin_jti)
        return {
            "AccessToken": access_token,
            "IdToken": id_token,
            "RefreshToken": refresh_token,
            "ExpiresIn": expires_in,
            "TokenType": "Bearer",
        }

    def _refresh(self, refresh_token: str) -> dict[str, Any]:
        pool = self.pool
        entry = pool.refresh_tokens.get(refresh_token)
        if not entry or entry[0] != self.client_id:
            raise CognitoFault("NotAuthorizedException", "Invalid Refresh Token")
        issued = self._refresh_issued.get(refresh_token)
        if issued is not None and self.clock() - issued > self._validity("Refresh"):
            raise CognitoFault("NotAuthorizedException", "Refresh Token has expired")
        user = self._find_user(entry[1])
        if user is None or not user.enabled:
            raise CognitoFault("NotAuthorizedException", "Invalid Refresh Token")
        access_token, id_token, expires_in = self._mint(user.username, entry[2])
        return {
            "ChallengeParameters": {},
            "AuthenticationResult": {
                "AccessToken": access_token,
                "IdToken": id_token,
                "ExpiresIn": expires_in,
                "TokenType": "Bearer",
            },
        }

    def revoke_token(self, body: dict[str, Any]) -> dict[str, Any]:
        pool = self.pool
        token = str(body.get("Token", ""))
        if token not in pool.refresh_tokens:
            raise CognitoFault("UnsupportedTokenTypeException", "Unsupported token type.")
        entry = pool.refresh_tokens.get(token)
        if entry is not None and entry[0] != self.client_id:
            raise CognitoFault("UnauthorizedException", "Client is not authorized to revoke this token.")
        pool.refresh_tokens[token] = None
        if entry is not None:
            origin = entry[2]
            for access, _owner in list(pool.access_tokens.items()):
                if f'"origin_jti":"{origin}"' in _payload(access):
                    pool.access_tokens.pop(access, None)
        return {}

    def admin_user_global_sign_out(self, body: dict[str, Any]) -> dict[str, Any]:
        """By username, sub or email alias (moto only matches the stored username)."""
        user = self._find_user(str(body.get("Username", "")))
        if user is None:
            raise CognitoFault("UserNotFoundException", "User does not exist.")
        self.pool.sign_out(user.username)
        return {}

    # ------------------------------------------------------------------ the user's own operations
    def _token_user(self, body: dict[str, Any]) -> tuple[Any, str]:
        """(user, client id) of a valid, unrevoked access token; Cognito's error otherwise."""
        token = str(body.get("AccessToken", ""))
        entry = self.pool.access_tokens.get(token)
        claims = _claims(token)
        expired = int(claims.get("exp", 0) or 0) <= self.clock()
        if entry is None or claims.get("token_use") != "access" or expired:
            raise CognitoFault("NotAuthorizedException", "Invalid Access Token")
        user = self._find_user(str(entry[1]))
        if user is None:
            raise CognitoFault("NotAuthorizedException", "User does not exist.")
        return user, str(entry[0])

    def _client_attributes(self, client_id: str, kind: str) -> set[str] | None:
        """The client's ``ReadAttributes`` / ``WriteAttributes`` (``None``: Cognito's default)."""
        found = self.pool.clients.get(client_id)
        listed = found.extended_config.get(kind) if found is not None else None
        return set(listed) if listed else None

    def _check_writable(self, client_id: str, names: list[str]) -> None:
        allowed = self._client_attributes(client_id, "WriteAttributes")
        for name in names:
            # Unset write attributes mean every standard attribute; never the verified flags or sub.
            writable = name not in ("sub", "email_verified", "phone_number_verified") and (
                name in allowed if allowed is not None else not name.startswith("custom:")
            )
            if not writable:
                raise CognitoFault(
                    "NotAuthorizedException", f"A client attempted to write unauthorized attribute {name}"
                )

    def _verify_before_update(self) -> set[str]:
        settings = self.pool.extended_config.get("UserAttributeUpdateSettings") or {}
        return set(settings.get("AttributesRequireVerificationBeforeUpdate") or [])

    def _apply_attributes(self, user: Any, attributes: list[dict[str, Any]], verified_by_caller: bool) -> dict:
        """Set ``attributes``; a new email waits for its code when the pool says so (the old one
        keeps signing in), or is set unverified with a code otherwise (unless ``verified_by_caller``)."""
        changes = {str(a.get("Name")): str(a.get("Value", "")) for a in attributes}
        new_email = changes.pop("email", None)
        if new_email is not None and new_email.lower() != str(user.attribute_lookup.get("email", "")).lower():
            other = self._find_user(new_email)
            if other is not None and other.username != user.username:
                raise CognitoFault("AliasExistsException", "An account with the given email already exists.")
            if not verified_by_caller and "email" in self._verify_before_update():
                self._pending_email[user.username] = new_email
                code = self._new_code(self._attribute_codes, user.username, SIGN_UP_CODE_TTL)
                pending_view = copy.copy(user)  # the code goes to the new address
                pending_view.attribute_lookup = {**user.attribute_lookup, "email": new_email}
                self._send_custom_message("CustomMessage_UpdateUserAttribute", pending_view, code, {})
                delivery = self._delivery(new_email)
            else:
                changes["email"] = new_email
                changes.setdefault("email_verified", "true" if verified_by_caller else "false")
                delivery = None
        else:
            delivery = None
        if changes:
            user.update_attributes([{"Name": k, "Value": v} for k, v in changes.items()])
        return {"CodeDeliveryDetailsList": [delivery]} if delivery else {}

    def get_user(self, body: dict[str, Any]) -> dict[str, Any]:
        user, client_id = self._token_user(body)
        readable = self._client_attributes(client_id, "ReadAttributes")
        attributes = [
            {"Name": a["Name"], "Value": a["Value"]}
            for a in user.attributes
            if a["Name"] == "sub" or readable is None or a["Name"] in readable
        ]
        return {"Username": user.username, "UserAttributes": attributes}

    def update_user_attributes(self, body: dict[str, Any]) -> dict[str, Any]:
        user, client_id = self._token_user(body)
        attributes = list(body.get("UserAttributes") or [])
        self._check_writable(client_id, [str(a.get("Name")) for a in attributes])
        return self._apply_attributes(user, attributes, verified_by_caller=False)

    def delete_user_attributes(self, body: dict[str, Any]) -> dict[str, Any]:
        user, client_id = self._token_user(body)
        names = [str(n) for n in body.get("UserAttributeNames") or []]
        self._check_writable(client_id, names)
        user.delete_attributes([n for n in names if n in user.attribute_lookup])
        return {}

    def verify_user_attribute(self, body: dict[str, Any]) -> dict[str, Any]:
        user, _client_id = self._token_user(body)
        if body.get("AttributeName") != "email":
            raise CognitoFault("InvalidParameterException", "Only email can be verified here.")
        self._check_code(self._attribute_codes, user.username, str(body.get("Code", "")))
        new_email = self._pending_email.pop(user.username, None)
        changes = [{"Name": "email_verified", "Value": "true"}]
        if new_email is not None:
            changes.append({"Name": "email", "Value": new_email})
        user.update_attributes(changes)
        return {}

    def change_password(self, body: dict[str, Any]) -> dict[str, Any]:
        user, _client_id = self._token_user(body)
        if not self._password_matches(user, str(body.get("PreviousPassword", ""))):
            raise CognitoFault("NotAuthorizedException", "Incorrect username or password.")
        proposed = str(body.get("ProposedPassword", ""))
        self._check_policy(proposed)
        self._set_password(user, proposed)
        return {}

    def delete_user(self, body: dict[str, Any]) -> dict[str, Any]:
        user, _client_id = self._token_user(body)
        pool = self.pool
        pool.sign_out(user.username)
        pool.users.pop(user.username, None)
        for store in (self._verifiers, self._signup_codes, self._reset_codes, self._attribute_codes):
            store.pop(user.username, None)  # type: ignore[attr-defined]
        self._pending_email.pop(user.username, None)
        return {}

    # ------------------------------------------------------------------ admin operations (IAM)
    def _admin_user(self, body: dict[str, Any]) -> Any:
        user = self._find_user(str(body.get("Username", "")))
        if user is None:
            raise CognitoFault("UserNotFoundException", "User does not exist.")
        return user

    def admin_set_user_password(self, body: dict[str, Any]) -> dict[str, Any]:
        from moto.cognitoidp.models import UserStatus

        user = self._admin_user(body)
        password = str(body.get("Password", ""))
        self._check_policy(password)
        self._set_password(user, password)
        if body.get("Permanent"):
            user.status = UserStatus.CONFIRMED
        return {}

    def admin_update_user_attributes(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self._admin_user(body)
        attributes = list(body.get("UserAttributes") or [])
        verified = any(a.get("Name") == "email_verified" and str(a.get("Value")) == "true" for a in attributes)
        self._apply_attributes(user, attributes, verified_by_caller=verified)
        return {}

    # ------------------------------------------------------------------ seeds and tests
    def user_sub(self, email: str) -> str | None:
        """The sub of the user with this email (``None`` when absent)."""
        with self._lock:
            user = self._find_user(email)
            return None if user is None else str(user.id)


def _claims(token: str) -> dict[str, Any]:
    try:
        import json as _json

        parsed = _json.loads(_payload(token) or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _payload(token: str) -> str:
    try:
        part = token.split(".")[1]
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode().replace(" ", "")
    except (IndexError, ValueError):
        return ""


def html_to_text(body: str) -> str:
    """Plain-text rendering of an HTML email (for consoles and outboxes)."""
    return _html_to_text(body)


# ---------------------------------------------------------------------- in-process use (tests, benches)
def template_trigger_invoker() -> InvokeTrigger:
    """``invoke_trigger`` that runs, in this process, the handler template.yaml attaches to each trigger."""
    import importlib
    import sys

    from local.cfn import Stack

    handlers: dict[str, Callable[..., Any]] = {}
    for spec in Stack().functions().values():
        for source in spec.sources:
            if source.kind == "Cognito":
                if str(spec.code_uri) not in sys.path:
                    sys.path.insert(0, str(spec.code_uri))
                module = importlib.import_module(spec.module)
                handlers[str(source.properties["Trigger"])] = getattr(module, spec.function_name)

    class _Context:
        function_name = "local-trigger"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:ca-central-1:123456789012:function:local-trigger"
        aws_request_id = "local"

    def invoke(trigger: str, event: dict[str, Any]) -> dict[str, Any]:
        handler = handlers.get(trigger)
        if handler is None:
            return event
        result: dict[str, Any] = handler(event, _Context())
        return result

    return invoke


def route_client_to_emulator(boto_client: Any, emulator: CognitoEmulator) -> None:
    """Send a boto3 ``cognito-idp`` client's requests to ``emulator`` first (moto answers the rest),
    as the local stack's Cognito endpoint does over HTTP."""
    import json as _json

    from botocore.awsrequest import AWSResponse

    class _Raw:
        def __init__(self, data: bytes) -> None:
            self._data = data

        def stream(self, **_: Any) -> Any:
            yield self._data

    def before_call(model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        raw_body = params.get("body") or b"{}"
        body = _json.loads(raw_body.decode() if isinstance(raw_body, bytes) else raw_body)
        answer = emulator.handle(str(model.name), body)
        if answer is None:
            return None  # moto answers
        status, payload = answer
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "local"}
        http = AWSResponse(str(params.get("url", "")), status, headers, _Raw(_json.dumps(payload).encode()))
        metadata = {"HTTPStatusCode": status, "RequestId": "local", "HTTPHeaders": headers, "RetryAttempts": 0}
        if status >= 400:
            error = {"Code": str(payload.get("__type", "")), "Message": str(payload.get("message", ""))}
            return http, {"Error": error, "ResponseMetadata": metadata, "message": error["Message"]}
        return http, {**payload, "ResponseMetadata": metadata}

    boto_client.meta.events.register_first("before-call.cognito-identity-provider", before_call)
