"""Cognito CreateAuthChallenge: generate and email the one-time sign-in code.

- first custom challenge or a resend (client metadata ``action=resend``): a new code from
  ``secrets``, valid 5 minutes, emailed through SES in the member's language (text and HTML);
- a retry by Cognito of the same round (same session history, after a timeout or a failure): the
  code already issued for the round, no second email (``signin_round``: a conditional claim in the
  members table; a retry after a failed send sends);
- after a wrong answer: the same code again (carried hashed in the challenge metadata), no email;
- a password check (client metadata ``purpose=password-check``, the account settings): a ``CHECK``
  challenge with no code and no email (DefineAuthChallenge ends it after any answer).

The code itself exists only in this invocation and in the email; the challenge keeps its salted
HMAC. Public parameters give the app what it shows: the masked destination and the validity.
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Any

import auth_codes
import auth_emails
import signin_round
import signin_rules
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import CreateAuthChallengeTriggerEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from portal_common import clock, cold_start, metrics
from portal_common.config import get_settings
from portal_common.log import get_logger, mask_email

logger = get_logger("auth-create-challenge")
get_settings()  # every variable checked at cold start (a missing one fails here, by name)


def send_code(email: str, locale: str | None, code: str) -> None:
    """Email the sign-in code (SES, text and HTML)."""
    message = auth_emails.render(
        "signin", auth_emails.email_language(locale), code, minutes=auth_codes.CODE_TTL_SECONDS // 60
    )
    auth_emails.send(email, message)


@cold_start.settles
@event_source(data_class=CreateAuthChallengeTriggerEvent)
def lambda_handler(event: CreateAuthChallengeTriggerEvent, context: LambdaContext) -> dict[str, Any]:
    """Create the custom challenge."""
    if event.request.challenge_name != signin_rules.CUSTOM_CHALLENGE:
        return event.raw_event
    now = clock.epoch()
    steps = signin_rules.steps_from_session(event["request"].get("session") or [])
    previous = signin_rules.previous_code(steps)
    resend = signin_rules.is_resend(event.request.client_metadata)
    attributes = event.request.user_attributes or {}
    email = attributes.get("email", "")
    if previous is None and signin_rules.is_password_check(event.request.client_metadata):
        issued = auth_codes.IssuedCode("CHECK", now, now, "", "")
    elif previous is not None and not resend:
        issued = auth_codes.IssuedCode(
            "RETRY", previous.sent_at, previous.expires_at, previous.salt, previous.code_hash
        )
    else:
        code = auth_codes.new_code()
        salt = auth_codes.new_salt()
        issued = auth_codes.IssuedCode(
            "RESEND" if previous is not None else "NEW",
            now,
            now + auth_codes.CODE_TTL_SECONDS,
            salt,
            auth_codes.hash_code(code, salt),
        )
        # Cognito retries this trigger with the same session: only the call that claims the round
        # emails; a retry answers with the code already issued (signin_round).
        key = signin_round.round_key(
            event.user_name or "", event["request"].get("session") or [], event.request.client_metadata
        )
        already = signin_round.claim(key, issued, now)
        if already is not None:
            issued = already
            logger.info("sign-in round already issued: no second email", extra={"kind": issued.kind})
        elif email and not event.request.user_not_found:
            try:
                send_code(email, attributes.get("locale"), code)
            except Exception:
                signin_round.settle(key, issued, sent=False)  # a retry sends afresh
                raise
            signin_round.settle(key, issued, sent=True)
            metrics.count("auth", "SignInCodesSent")
            logger.info("sign-in code emailed", extra={"destination": mask_email(email), "kind": issued.kind})
        else:
            signin_round.settle(key, issued, sent=True)
    response = event.response
    response.private_challenge_parameters = issued.private_parameters()
    response.public_challenge_parameters = {
        "destination": mask_email(email) if email else "",
        "expiresIn": str(max(0, issued.expires_at - now)),
    }
    response.challenge_metadata = issued.metadata()
    return event.raw_event
