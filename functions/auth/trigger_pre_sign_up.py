"""Cognito PreSignUp: the account must match one roster participant with active coverage, once.

``SignUp`` is callable by anyone who knows the app client id, so this trigger re-checks what the
backend-for-frontend checked (validation data: ``contractNumber``, ``participantNumber``,
``dateOfBirth``) and reserves the participant with a conditional write (one account per
participant, race-safe). The error message is the stable code (``IDENTITY_NOT_VERIFIED``,
``ALREADY_REGISTERED``) that Cognito wraps in ``UserLambdaValidationException``.
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from datetime import date
from typing import Any

import account_links
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import PreSignUpTriggerEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from registration_rules import verify_identity

from portal_common import clock, cold_start
from portal_common.config import get_settings
from portal_common.log import get_logger
from portal_common.members import get_member
from portal_common.problems import DomainError

logger = get_logger("auth-pre-sign-up")
get_settings()  # every variable checked at cold start (a missing one fails here, by name)


class SignUpRefused(Exception):
    """Refuses the sign-up; the message is the contract's error code."""


@cold_start.settles
@event_source(data_class=PreSignUpTriggerEvent)
def lambda_handler(event: PreSignUpTriggerEvent, context: LambdaContext) -> dict[str, Any]:
    """Check the roster identity and reserve the participant."""
    if event.trigger_source not in ("PreSignUp_SignUp",):
        raise SignUpRefused("IDENTITY_NOT_VERIFIED")  # no admin-created or federated accounts
    data = event.request.validation_data or {}
    email = (event.request.user_attributes or {}).get("email", "")
    contract = str(data.get("contractNumber", ""))[:20]
    participant = str(data.get("participantNumber", ""))[:20]
    try:
        birth = date.fromisoformat(str(data.get("dateOfBirth", "")))
    except ValueError:
        raise SignUpRefused("IDENTITY_NOT_VERIFIED") from None
    if not contract or not participant or not email:
        raise SignUpRefused("IDENTITY_NOT_VERIFIED")
    try:
        member = verify_identity(get_member(contract, participant), birth, clock.today())
    except DomainError:
        logger.info("sign-up refused: identity not verified")
        raise SignUpRefused("IDENTITY_NOT_VERIFIED") from None
    if member.account_sub:
        raise SignUpRefused("ALREADY_REGISTERED")
    try:
        account_links.reserve(contract, participant, account_links.email_hash(email), clock.epoch())
    except account_links.ParticipantTaken:
        logger.info("sign-up refused: participant already taken")
        raise SignUpRefused("ALREADY_REGISTERED") from None
    event.response.auto_confirm_user = False
    event.response.auto_verify_email = False
    return event.raw_event
