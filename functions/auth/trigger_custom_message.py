"""Cognito CustomMessage: bilingual verification and password-reset emails.

Cognito sends the message itself, replacing ``{####}`` (``request.codeParameter``) with the code;
the language comes from the user's ``locale`` attribute (set at registration), French by default.
The body is HTML (Cognito sends one body); its text twin is what the sign-in code email uses.

Reset codes are limited here, where Cognito sends them: ``ForgotPassword`` is public (anyone with
the app client id can call it, skipping the API's participant check and throttle), so past
``reset_code`` per account and hour (``auth_throttle``) this trigger fails and Cognito sends
nothing (the caller gets ``UserLambdaValidationException``; the API still answers ``202``).
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Any

import auth_emails
import auth_throttle
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import CustomMessageTriggerEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from portal_common import clock, cold_start
from portal_common.config import get_settings
from portal_common.log import get_logger

logger = get_logger("auth-custom-message")

get_settings()  # every variable checked at cold start (a missing one fails here, by name)


class ResetCodeLimit(Exception):
    """Too many reset codes for this account in the window: Cognito must not send another."""


KIND_BY_SOURCE = {
    "CustomMessage_SignUp": "verify",
    "CustomMessage_ResendCode": "verify",
    "CustomMessage_ForgotPassword": "reset",
}


@cold_start.settles
@event_source(data_class=CustomMessageTriggerEvent)
def lambda_handler(event: CustomMessageTriggerEvent, context: LambdaContext) -> dict[str, Any]:
    """Fill in ``emailSubject`` and ``emailMessage``."""
    kind = KIND_BY_SOURCE.get(event.trigger_source)
    if kind is None:
        return event.raw_event  # other messages keep Cognito's defaults
    if kind == "reset" and auth_throttle.count_account("reset_code", event.user_name, clock.epoch_seconds()):
        logger.warning("reset code refused: too many for this account")
        raise ResetCodeLimit("RESET_CODE_LIMIT")
    locale = (event.request.user_attributes or {}).get("locale") or (event.request.client_metadata or {}).get("lang")
    message = auth_emails.render(kind, auth_emails.email_language(locale), event.request.code_parameter)
    event.response.email_subject = message.subject
    event.response.email_message = message.html
    return event.raw_event
