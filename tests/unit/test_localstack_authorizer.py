"""The local Cognito authorizer against tokens signed with a key of our own."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from local.authorizer import CognitoAuthorizer, Unauthorized

POOL = "ca-central-1_TestPool1"
CLIENT = "client-123"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
JWKS = KeySet([KEY]).as_dict(private=False)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "abc",
        "iss": f"https://cognito-idp.ca-central-1.amazonaws.com/{POOL}",
        "aud": CLIENT,
        "token_use": "id",
        "exp": now + 600,
        "iat": now,
        "email": "marie@example.ca",
        "email_verified": True,
    }
    claims.update(overrides)
    return claims


def _token(claims: dict[str, Any], key: Any = KEY, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": "k1"}, claims, key)


@pytest.fixture
def authorizer() -> CognitoAuthorizer:
    fetches: list[int] = []

    def fetch() -> dict[str, Any]:
        fetches.append(1)
        assert len(fetches) == 1, "the JWKS is fetched once"
        return JWKS

    return CognitoAuthorizer(user_pool_id=POOL, client_id=CLIENT, jwks=fetch)


def test_valid_token_gives_string_claims(authorizer: CognitoAuthorizer) -> None:
    token = _token(_claims())
    for header in (token, f"Bearer {token}", f"bearer  {token}"):
        claims = authorizer.verify(header)
        assert claims["sub"] == "abc"
        assert claims["email_verified"] == "true"
        assert claims["exp"].endswith(time.strftime("%Y"))


@pytest.mark.parametrize(
    "claims",
    [
        _claims(exp=int(time.time()) - 1),
        _claims(token_use="access"),
        _claims(aud="someone-else"),
        _claims(iss="https://cognito-idp.ca-central-1.amazonaws.com/ca-central-1_OtherPool"),
        {k: v for k, v in _claims().items() if k != "exp"},
    ],
    ids=["expired", "access-token", "wrong-audience", "wrong-issuer", "no-expiry"],
)
def test_claims_that_are_refused(authorizer: CognitoAuthorizer, claims: dict[str, Any]) -> None:
    with pytest.raises(Unauthorized):
        authorizer.verify(_token(claims))


def test_forged_tokens_are_refused(authorizer: CognitoAuthorizer) -> None:
    good = _token(_claims())
    header, payload, signature = good.split(".")
    raised = json.loads(base64.urlsafe_b64decode(payload + "=="))
    raised["sub"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(raised).encode()).rstrip(b"=").decode()
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"k1"}').rstrip(b"=").decode()
    # Algorithm confusion: HS256 "signed" with the public key as the shared secret.
    public_as_secret = OctKey.import_key(json.dumps(KEY.as_dict(private=False)).encode())
    confused = jwt.encode({"alg": "HS256", "kid": "k1"}, _claims(), public_as_secret)
    for token in (
        None,
        "",
        "Bearer ",
        "not-a-jwt",
        f"{header}.{forged_payload}.{signature}",
        f"{none_header}.{payload}.",
        _token(_claims(), key=OTHER_KEY),
        confused,
    ):
        with pytest.raises(Unauthorized):
            authorizer.verify(token)


def test_expiry_uses_the_injected_clock() -> None:
    clock = {"now": time.time()}
    authorizer = CognitoAuthorizer(user_pool_id=POOL, client_id=CLIENT, jwks=lambda: JWKS, now=lambda: clock["now"])
    token = _token(_claims())
    authorizer.verify(token)
    clock["now"] += 601
    with pytest.raises(Unauthorized):
        authorizer.verify(token)
