"""Account settings of a signed-in member (``PATCH /v1/me``, ``/v1/me/password``, ``/v1/me/email``).

The app client can write none of what these change (email, the roster link; only ``locale``), so
every change goes through here with the function's admin rights, after the checks the contract
asks for:

- language: Cognito's ``locale`` (the emails Cognito and the triggers send) and the PROFILE's
  ``preferredLanguage`` (``/v1/me``, claim notifications);
- password: the current password (the same SRP steps as a sign-in, client metadata
  ``purpose=password-check``: no code is emailed; a wrong one counts as a wrong password), then
  ``AdminSetUserPassword`` and ``AdminUserGlobalSignOut`` (every refresh token stops working),
  and a notice to the account's address;
- sign-in email: the current password, then a code of our own (``auth_codes``, kept hashed in
  ``email_changes``) to the new address; the answer is the same whether or not that address has
  an account (an address already in use gets a notice instead of a code, padded to the same
  response-time floor). The code confirmed, the account's link moves to the new address
  (``account_links.move_email``), Cognito's ``email`` is set verified, and a notice goes to the
  old address.
"""

from __future__ import annotations

from dataclasses import replace

import account_links
import auth_codes
import auth_emails
import auth_throttle
import cognito_client
import email_changes
from auth_models import RegistrationResponse
from auth_service import Equalized, ask, refusal
from cognito_client import CognitoError

from portal_common import clock
from portal_common.i18n import language_from_preference
from portal_common.identity import Caller
from portal_common.log import get_logger, mask_email
from portal_common.member_profile import MeOut, load_member, me_view
from portal_common.members import Member
from portal_common.plans import Plan
from portal_common.problems import DomainError, FieldError, NotFound, ValidationFailed

logger = get_logger("auth")


def _throttle(action: str, caller: Caller, source_ip: str | None) -> None:
    # The per-"email" counter of these actions is the signed-in account's.
    auth_throttle.check(action, account_links.email_hash("sub:" + caller.sub), source_ip, clock.epoch_seconds())


def _own_member(caller: Caller) -> tuple[Member, Plan]:
    member, plan = load_member(caller)
    if member.account_sub != caller.sub:  # a token of an account that no longer holds the participant
        raise NotFound("MEMBER_NOT_FOUND")
    return member, plan


def _check_current_password(username: str, password: str) -> None:
    try:
        cognito_client.check_password(username, password)
    except CognitoError as error:
        if error.code in ("NotAuthorizedException", "UserNotFoundException"):
            raise DomainError("CURRENT_PASSWORD_INVALID", status=400) from None
        raise refusal("check_password", error) from None


def _notice(to: str, kind: str, member: Member, **params: object) -> None:
    auth_emails.send(to, auth_emails.render_notice(kind, language_from_preference(member.language), **params))


# ---------------------------------------------------------------- language
def update_language(caller: Caller, username: str, language: str, lang: str) -> MeOut:
    """``PATCH /v1/me``: the member's language, for the apps and for every email from now on."""
    member, plan = _own_member(caller)
    ask(cognito_client.update_attributes, username, {"locale": language})
    try:
        account_links.set_language(member.contract_number, member.participant_number, caller.sub, language)
    except account_links.ParticipantTaken:
        raise NotFound("MEMBER_NOT_FOUND") from None
    return me_view(replace(member, language=language), plan, caller, lang)


# ---------------------------------------------------------------- password
def change_password(caller: Caller, username: str, current: str, new: str, source_ip: str | None) -> None:
    """``POST /v1/me/password``: every session is signed out afterwards (refresh tokens revoked)."""
    _throttle("password_change", caller, source_ip)
    member, _plan = _own_member(caller)
    if current == new:
        raise ValidationFailed(errors=[FieldError("newPassword", "SAME_PASSWORD")])
    _check_current_password(username, current)
    ask(cognito_client.set_password, username, new)
    ask(cognito_client.global_sign_out, username)
    if member.email:
        _notice(member.email, "password_changed", member)
    logger.info("password changed")


# ---------------------------------------------------------------- sign-in email
def request_email_change(
    caller: Caller, username: str, new_email: str, current: str, source_ip: str | None
) -> RegistrationResponse:
    """``POST /v1/me/email``: a code to the new address (never says whether it has an account)."""
    _throttle("email_change", caller, source_ip)
    member, _plan = _own_member(caller)
    new_email = account_links.normalize_email(new_email)
    if new_email == account_links.normalize_email(member.email or caller.email):
        raise ValidationFailed(errors=[FieldError("newEmail", "SAME_EMAIL")])
    _check_current_password(username, current)
    answer = RegistrationResponse(status="CONFIRMATION_REQUIRED", destination=mask_email(new_email))
    now = clock.epoch()
    with Equalized():
        link = account_links.get_link(account_links.email_hash(new_email))
        taken = (
            link is not None
            and link.account_sub != caller.sub
            and (link.status == "LINKED" or (link.expires_at or 0) > now)
        )
        salt = auth_codes.new_salt()
        minutes = email_changes.CODE_TTL_SECONDS // 60
        lang = language_from_preference(member.language)
        if taken:
            # No code can match (empty hash); the address's owner learns of the attempt.
            code_hash = ""
            message = auth_emails.render_notice("email_taken", lang)
        else:
            code = auth_codes.new_code()
            code_hash = auth_codes.hash_code(code, salt)
            message = auth_emails.render("email_change", lang, code, minutes=minutes)
        email_changes.start(
            caller.sub, email_changes.PendingEmail(new_email, salt, code_hash, 0, now + email_changes.CODE_TTL_SECONDS)
        )
        auth_emails.send(new_email, message)
    logger.info("email change requested", extra={"destination": answer.destination})
    return answer


def confirm_email_change(caller: Caller, username: str, code: str, source_ip: str | None, lang: str) -> MeOut:
    """``POST /v1/me/email/confirm``: the new address becomes the sign-in email; notice to the old."""
    _throttle("email_confirm", caller, source_ip)
    pending = email_changes.load(caller.sub)
    now = clock.epoch()
    if pending is None:
        raise DomainError("CODE_INVALID", status=400)
    if now >= pending.expires_at:
        raise DomainError("CODE_EXPIRED", status=400)
    if pending.attempts >= email_changes.MAX_ATTEMPTS:
        email_changes.finish(caller.sub, pending.salt)  # ask for a new code
        raise DomainError("CODE_INVALID", status=400)
    if not auth_codes.code_matches(code, pending.salt, pending.code_hash):
        email_changes.count_wrong(caller.sub, pending.salt)
        raise DomainError("CODE_INVALID", status=400)
    if not email_changes.finish(caller.sub, pending.salt):
        raise DomainError("CODE_INVALID", status=400)  # used or replaced meanwhile
    member, plan = _own_member(caller)
    old_email = member.email or caller.email
    contract, participant = member.contract_number, member.participant_number
    try:
        account_links.move_email(contract, participant, caller.sub, old_email, pending.new_email, now)
    except account_links.EmailTaken:
        raise DomainError("CODE_INVALID", status=400) from None  # taken since the code was sent
    try:
        cognito_client.update_attributes(username, {"email": pending.new_email, "email_verified": "true"})
    except CognitoError as error:
        account_links.move_email(contract, participant, caller.sub, pending.new_email, old_email, now)
        if error.code == "AliasExistsException":
            raise DomainError("CODE_INVALID", status=400) from None
        raise refusal("update_attributes", error) from None
    if old_email:
        _notice(old_email, "email_changed", member, destination=mask_email(pending.new_email))
    logger.info("sign-in email changed")
    return me_view(replace(member, email=pending.new_email), plan, caller, lang)
