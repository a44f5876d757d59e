"""Cognito PostConfirmation: link the confirmed account to its roster participant.

Marks the participant's PROFILE with ``accountSub``/``email`` (conditional: the reservation made by
PreSignUp must still be this email's, and no other account may hold the participant), then writes
``custom:contract_number`` and ``custom:participant_number`` with admin rights (the app client
cannot write them), so every ID token says who the member is.

After a password reset (``PostConfirmation_ConfirmForgotPassword``), whichever door it came
through, every session of the account is signed out (``AdminUserGlobalSignOut``): the refresh
tokens stop working, so a thief's session ends within the ID token's 5 minutes.
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Any

import account_links
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import PostConfirmationTriggerEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from portal_common import clock, cold_start
from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.log import get_logger

logger = get_logger("auth-post-confirmation")
get_settings()  # every variable checked at cold start (a missing one fails here, by name)


class LinkRefused(Exception):
    """The account cannot be linked (another account holds the participant)."""


@cold_start.settles
@event_source(data_class=PostConfirmationTriggerEvent)
def lambda_handler(event: PostConfirmationTriggerEvent, context: LambdaContext) -> dict[str, Any]:
    """Link on ``PostConfirmation_ConfirmSignUp``; sign out everywhere after a password reset."""
    if event.trigger_source == "PostConfirmation_ConfirmForgotPassword":
        client("cognito-idp").admin_user_global_sign_out(UserPoolId=event.user_pool_id, Username=event.user_name)
        logger.info("signed out everywhere after a password reset")
        return event.raw_event
    if event.trigger_source != "PostConfirmation_ConfirmSignUp":
        return event.raw_event
    attributes = event.request.user_attributes or {}
    email = attributes.get("email", "")
    sub = attributes.get("sub") or event.user_name
    try:
        link = account_links.link(account_links.email_hash(email), email, sub, clock.epoch(), attributes.get("locale"))
    except account_links.ParticipantTaken:
        logger.error("confirmed account could not be linked to its participant")
        raise LinkRefused("ALREADY_REGISTERED") from None
    client("cognito-idp").admin_update_user_attributes(
        UserPoolId=event.user_pool_id,
        Username=event.user_name,
        UserAttributes=[
            {"Name": "custom:contract_number", "Value": link.contract_number},
            {"Name": "custom:participant_number", "Value": link.participant_number},
        ],
    )
    logger.info("account linked")
    return event.raw_event
