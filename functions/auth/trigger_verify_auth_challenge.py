"""Cognito VerifyAuthChallengeResponse: constant-time check of the code, with expiry.

A resend (client metadata ``action=resend``) is never checked: it is neither right nor counted as
wrong (DefineAuthChallenge reads the reason from the next challenge's metadata).
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Any

import auth_codes
import signin_rules
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import (
    VerifyAuthChallengeResponseTriggerEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from portal_common import clock, cold_start, metrics
from portal_common.config import get_settings
from portal_common.log import get_logger

logger = get_logger("auth-verify-challenge")
get_settings()  # every variable checked at cold start (a missing one fails here, by name)


def answer_is_correct(private: dict[str, str], answer: object, now: float) -> bool:
    """Whether ``answer`` is the code of this challenge and the code is still valid."""
    salt = private.get("salt", "")
    expected = private.get("codeHash", "")
    try:
        expires_at = int(private.get("expiresAt", "0"))
    except ValueError:
        expires_at = 0
    if not salt or not expected:
        return False
    matches = auth_codes.code_matches(answer, salt, expected)  # computed even when expired: same cost
    return matches and now < expires_at


@cold_start.settles
@event_source(data_class=VerifyAuthChallengeResponseTriggerEvent)
def lambda_handler(event: VerifyAuthChallengeResponseTriggerEvent, context: LambdaContext) -> dict[str, Any]:
    """Set ``answerCorrect``."""
    if signin_rules.is_resend(event.request.client_metadata) or event.request.user_not_found:
        event.response.answer_correct = False
        return event.raw_event
    correct = answer_is_correct(
        dict(event.request.private_challenge_parameters or {}), event.request.challenge_answer, clock.epoch_seconds()
    )
    event.response.answer_correct = correct
    if correct:
        metrics.count("auth", "SignInCodesVerified")
    else:
        metrics.count("auth", "SignInCodesFailed")
        logger.info("wrong or expired sign-in code")
    return event.raw_event
