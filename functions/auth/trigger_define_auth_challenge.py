"""Cognito DefineAuthChallenge: SRP password, then the emailed code, at most 3 wrong codes.

The rules are in :mod:`signin_rules` (pure, computed from Cognito's session history). Wrong
passwords are counted per account here, where every sign-in passes whichever door it used (the
API or Cognito directly): a wrong ``PASSWORD_VERIFIER`` adds one (``UpdateItem``), and a sign-in
of an account past the limit fails before its password is asked (``GetItem``).
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Any

import auth_throttle
import signin_rules
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import DefineAuthChallengeTriggerEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from portal_common import clock, cold_start
from portal_common.config import get_settings
from portal_common.log import get_logger

logger = get_logger("auth-define-challenge")
get_settings()  # every variable checked at cold start (a missing one fails here, by name)


@cold_start.settles
@event_source(data_class=DefineAuthChallengeTriggerEvent)
def lambda_handler(event: DefineAuthChallengeTriggerEvent, context: LambdaContext) -> dict[str, Any]:
    """Decide the next step."""
    steps = signin_rules.steps_from_session(event["request"].get("session") or [])
    known = not event.request.user_not_found and bool(event.user_name)
    now = clock.epoch_seconds()
    decision = signin_rules.decide(
        steps, event.request.client_metadata or {}, now, user_not_found=bool(event.request.user_not_found)
    )
    if known and signin_rules.password_failed(steps):
        auth_throttle.count_account("password_failure", event.user_name, now)
    elif (
        known
        and signin_rules.starts_password_step(steps)
        and auth_throttle.account_over_limit("password_failure", event.user_name, now)
    ):
        decision = signin_rules.FAIL
        logger.warning("sign-in refused: too many wrong passwords")
    response = event.response
    response.issue_tokens = decision.issue_tokens
    response.fail_authentication = decision.fail
    if decision.challenge:
        response.challenge_name = decision.challenge
    if decision.fail:
        logger.info("sign-in refused", extra={"steps": len(steps)})
    return event.raw_event
