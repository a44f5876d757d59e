"""ID tokens for e2e tests, minted by creating the user directly in the local stack's moto Cognito.

Until the auth engineer's sign-in flow is in main, a test signs in by creating the user with the
roster link in its custom attributes (what PostConfirmation would set) and asking moto for tokens
with ADMIN_USER_PASSWORD_AUTH. The local gateway verifies the resulting token against the pool's
JWKS exactly as it verifies a token from the real flow.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from pathlib import Path
from typing import Any

import boto3


def stack_state(workdir: Path) -> dict[str, Any]:
    """The local stack's ``stack.json`` (URLs and environment)."""
    state: dict[str, Any] = json.loads((workdir / "state" / "stack.json").read_text(encoding="utf-8"))
    return state


def id_token_for_member(workdir: Path, contract: str, participant: str, email: str) -> str:
    """Create (or reuse) a confirmed user linked to a certificate and return its ID token."""
    state = stack_state(workdir)
    env = state["environment"]
    cognito = boto3.client(
        "cognito-idp",
        endpoint_url=state["urls"]["moto"],
        region_name=env.get("AWS_REGION", "ca-central-1"),
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    pool, client_id = env["USER_POOL_ID"], env["USER_POOL_CLIENT_ID"]
    password = "Aa1!" + secrets.token_urlsafe(16)
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):
        cognito.admin_create_user(
            UserPoolId=pool,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "custom:contract_number", "Value": contract},
                {"Name": "custom:participant_number", "Value": participant},
            ],
            MessageAction="SUPPRESS",
        )
    cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
    result = cognito.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    token: str = result["AuthenticationResult"]["IdToken"]
    return token
