"""Demo member accounts, registered the way a member registers (SignUp -> emailed code -> ConfirmSignUp),
through the local Cognito endpoint, so PreSignUp, CustomMessage and PostConfirmation run as usual.

Olivia Smith (G2002 / 200003, born 1995-08-14) is left unregistered so a newcomer can try the
registration journey; Ahmed Haddad (G2002 / 200002) is terminated and cannot register.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from collections.abc import Callable
from typing import Any

ORDER = 20
TITLE = "Demo member accounts"
BACKGROUND = False

DEMO_PASSWORD = "Demo-Portail-2026"
ACCOUNTS = (
    # email, contract, participant, date of birth, language
    ("marie.tremblay@example.com", "G1001", "100001", "1984-03-12", "fr"),
    ("david.chen@example.com", "G1001", "100002", "1978-07-30", "en"),
    ("sophie.gagnon@example.com", "G2002", "200001", "1972-05-22", "fr"),
)


def _cognito() -> Any:
    from portal_common.aws_clients import client

    return client("cognito-idp")


def _sent_messages() -> list[tuple[str, str]]:
    """(recipient, body) of every email SES (moto) has sent, newest last."""
    try:
        from moto.ses.models import ses_backends

        from local.cfn import ACCOUNT_ID

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ca-central-1"
        messages = ses_backends[ACCOUNT_ID][region].sent_messages
        found = [(to, m.body) for m in messages for to in m.destinations.get("ToAddresses", [])]
        if found:
            return found
    except (ImportError, KeyError):
        pass
    endpoint = os.environ.get("AWS_ENDPOINT_URL_SES") or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return []
    with urllib.request.urlopen(f"{endpoint.rstrip('/')}/moto-api/data.json", timeout=10) as response:
        data = json.loads(response.read())
    out = []
    for region_data in (data.get("ses") or {}).values():
        for message in (region_data or {}).get("sent_messages", []) if isinstance(region_data, dict) else []:
            for to in (message.get("destinations") or {}).get("ToAddresses", []):
                out.append((to, str(message.get("body", ""))))
    return out


def _latest_code(email: str, attempts: int = 20) -> str:
    for _ in range(attempts):
        bodies = [body for to, body in _sent_messages() if to == email]
        if bodies:
            match = re.search(r"\b(\d{6})\b", re.sub(r"<[^>]+>", " ", bodies[-1]))
            if match:
                return match.group(1)
        time.sleep(0.1)
    raise RuntimeError(f"no verification email reached the outbox for {email}")


def register(email: str, contract: str, participant: str, birth: str, language: str) -> bool:
    """Register and confirm one account; ``False`` when it already exists."""
    from portal_common.config import get_settings

    client_id = get_settings().user_pool_client_id
    cognito = _cognito()
    try:
        cognito.sign_up(
            ClientId=client_id,
            Username=email,
            Password=DEMO_PASSWORD,
            UserAttributes=[{"Name": "locale", "Value": language}],  # the email is the user name
            ValidationData=[
                {"Name": "contractNumber", "Value": contract},
                {"Name": "participantNumber", "Value": participant},
                {"Name": "dateOfBirth", "Value": birth},
            ],
        )
    except cognito.exceptions.UsernameExistsException:
        return False
    cognito.confirm_sign_up(ClientId=client_id, Username=email, ConfirmationCode=_latest_code(email))
    return True


def seed(progress: Callable[[int, int], None]) -> str:
    """Register the demo accounts."""
    created = 0
    for index, account in enumerate(ACCOUNTS, start=1):
        created += register(*account)
        progress(index, len(ACCOUNTS))
    return f"{created} demo accounts registered ({len(ACCOUNTS)} in all)"


def describe() -> list[str]:
    """Sign-in identities shown when the local stack is ready."""
    lines = [f"Demo sign-in (password {DEMO_PASSWORD}; the one-time code arrives in /_local/outbox):"]
    for email, contract, participant, _birth, language in ACCOUNTS:
        lines.append(f"  {email:<30} contract {contract} participant {participant} ({language})")
    lines.append("  Try registration with Olivia Smith: contract G2002, participant 200003, born 1995-08-14.")
    return lines
