"""The API's Cognito user pool authorizer: verifies an ID token the way API Gateway does.

The token comes from the ``Authorization`` header (``Bearer `` prefix tolerated), must be an RS256
JWT signed by a key of the pool's JWKS, unexpired, an ID token (``token_use`` ``id``) issued by the
pool for the app client. On success the claims are handed to the handler as API Gateway does:
every value a string, ``exp``/``iat`` in API Gateway's date format.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.request import urlopen

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

JwksFetcher = Callable[[], dict[str, Any]]


class Unauthorized(Exception):
    """The token is missing, malformed, forged, expired or not for this API (API Gateway: 401)."""


def fetch_jwks(moto_url: str, user_pool_id: str) -> JwksFetcher:
    """A fetcher for the pool's JWKS as the moto server publishes it."""

    def fetch() -> dict[str, Any]:
        with urlopen(f"{moto_url}/{user_pool_id}/.well-known/jwks.json", timeout=5) as response:
            document: dict[str, Any] = json.loads(response.read())
            return document

    return fetch


def _gateway_date(epoch: Any) -> str:
    return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(int(epoch)))


def claims_as_gateway_strings(claims: dict[str, Any]) -> dict[str, str]:
    """Claims the way API Gateway passes them to a proxy integration (all strings)."""
    result: dict[str, str] = {}
    for name, value in claims.items():
        if name in ("exp", "iat") and isinstance(value, int | float):
            result[name] = _gateway_date(value)
        elif isinstance(value, bool):
            result[name] = "true" if value else "false"
        elif isinstance(value, list):
            result[name] = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            result[name] = json.dumps(value, separators=(",", ":"))
        else:
            result[name] = str(value)
    return result


class CognitoAuthorizer:
    """Verifies ID tokens of one user pool and app client (the JWKS is fetched once, then cached)."""

    def __init__(
        self,
        *,
        user_pool_id: str,
        client_id: str,
        jwks: JwksFetcher,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self._fetch = jwks
        self._now = now
        self._keys: KeySet | None = None
        self._lock = threading.Lock()

    def _key_set(self) -> KeySet:
        if self._keys is None:
            with self._lock:
                if self._keys is None:
                    self._keys = KeySet.import_key_set(self._fetch())  # type: ignore[arg-type]
        return self._keys

    def verify(self, authorization: str | None) -> dict[str, str]:
        """The token's claims (API Gateway strings), or :class:`Unauthorized`."""
        if not authorization:
            raise Unauthorized("missing token")
        token_text = authorization.strip()
        if token_text[:7].lower() == "bearer ":
            token_text = token_text[7:].strip()
        if token_text.count(".") != 2:
            raise Unauthorized("not a JWT")
        try:
            token = jwt.decode(token_text, self._key_set(), algorithms=["RS256"])
        except (JoseError, ValueError) as error:
            raise Unauthorized(f"signature: {type(error).__name__}") from error
        claims = token.claims
        now = int(self._now())
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= now:
            raise Unauthorized("expired")
        if claims.get("token_use") != "id":
            raise Unauthorized("not an ID token")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.client_id not in audiences:
            raise Unauthorized("wrong audience")
        issuer = str(claims.get("iss", ""))
        if not issuer.endswith(f"/{self.user_pool_id}"):
            raise Unauthorized("wrong issuer")
        return claims_as_gateway_strings(claims)
