"""Settings: every environment variable the functions read, validated once at cold start.

``template.yaml`` sets these variables (the local stack and the tests set the same names). Nothing
else in ``functions/`` or ``layers/`` reads ``os.environ``: a handler module calls
:func:`get_settings` at import time, so a missing or malformed variable fails the cold start with
its name (``ConfigurationError: MEMBERS_TABLE is not set``) instead of failing at the first AWS call.

Variables that only some functions need (the user pool, the cursor secret) are checked by those
functions with :meth:`Settings.require`, also at import time. No secret has a default here.
The one exception to "read once" is :func:`local_clock_offset`: the local stack's clock offset is
read on every call, because a test moves a running stack's clock.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


class ConfigurationError(RuntimeError):
    """An environment variable is missing or malformed (a deployment error: fail the cold start)."""


# Variables every function needs (template.yaml sets them in Globals).
_REQUIRED = {
    "members_table": "MEMBERS_TABLE",
    "claims_table": "CLAIMS_TABLE",
    "providers_table": "PROVIDERS_TABLE",
    "drugs_table": "DRUGS_TABLE",
    "idempotency_table": "IDEMPOTENCY_TABLE",
    "documents_bucket": "DOCUMENTS_BUCKET",
    "event_bus_name": "EVENT_BUS_NAME",
    "sender_email": "SENDER_EMAIL",
}
# Variables only some functions need: ``Settings.require(...)`` checks them where they are used.
_OPTIONAL = {
    "user_pool_id": "USER_POOL_ID",
    "user_pool_client_id": "USER_POOL_CLIENT_ID",
    "cursor_secret": "CURSOR_SECRET",
    "claim_email_configuration_set": "CLAIM_EMAIL_CONFIGURATION_SET",
}


@dataclass(frozen=True)
class Settings:
    """Names of the resources a function talks to, and the service-wide settings."""

    app_version: str
    region: str
    members_table: str
    claims_table: str
    providers_table: str
    drugs_table: str
    idempotency_table: str
    documents_bucket: str
    event_bus_name: str
    sender_email: str
    allowed_origin: str
    user_pool_id: str = ""
    user_pool_client_id: str = ""
    cursor_secret: str = field(default="", repr=False)
    # Claim e-mails: the SES configuration set whose Send events confirm each accepted mail
    # (functions/claim_processing/email_confirmations.py).
    claim_email_configuration_set: str = ""
    # Identity: every answer that must not reveal an account takes at least this long.
    auth_response_floor_ms: int = 400
    # Identity: per-action throttle overrides, ``{"login": {"email": 10, "ip": 100, "window": 900}}``.
    auth_throttle_limits: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # CloudWatch namespace of the business metrics (template parameter MetricsNamespace).
    metrics_namespace: str = "MemberPortal"
    # X-Ray tracing through Powertools Tracer (template parameter Tracing; off unless enabled).
    tracing_enabled: bool = False
    # The local stack (``PORTAL_LOCAL_STACK=1``, never set by template.yaml): moto on a shared
    # machine answers in seconds, not milliseconds, so the AWS clients' timeouts are relaxed there.
    local_stack: bool = False

    def require(self, *names: str) -> Settings:
        """Fail (at cold start) unless the optional settings ``names`` are set; returns ``self``."""
        missing = [_OPTIONAL.get(name, name.upper()) for name in names if not getattr(self, name)]
        if missing:
            raise ConfigurationError(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set")
        return self


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return value


def _throttle_limits(env: Mapping[str, str]) -> dict[str, dict[str, int]]:
    raw = env.get("AUTH_THROTTLE_LIMITS")
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
        if not isinstance(parsed, dict):
            raise TypeError
        limits = {
            str(action): {str(k): int(v) for k, v in dict(values).items() if k in {"email", "ip", "window"}}
            for action, values in parsed.items()
        }
        # Counts may be 0 (the action is refused); a window is a whole number of seconds, at least 1.
        if any(v < 0 or (k == "window" and v < 1) for values in limits.values() for k, v in values.items()):
            raise ValueError
        return limits
    except (ValueError, TypeError):
        raise ConfigurationError(
            'AUTH_THROTTLE_LIMITS must be JSON such as {"login": {"email": 10, "ip": 100, "window": 900}}'
            " (counts of 0 or more, windows of 1 second or more)"
        ) from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings from ``env`` (``os.environ`` by default)."""
    env = os.environ if env is None else env
    missing = [var for var in _REQUIRED.values() if not env.get(var)]
    if missing:
        raise ConfigurationError(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set")
    values: dict[str, Any] = {name: env[var] for name, var in _REQUIRED.items()}
    values.update({name: env.get(var, "") for name, var in _OPTIONAL.items()})
    return Settings(
        app_version=env.get("APP_VERSION") or "0.0.0",
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "ca-central-1",
        allowed_origin=env.get("ALLOWED_ORIGIN") or "*",
        auth_response_floor_ms=_int(env, "AUTH_RESPONSE_FLOOR_MS", 400),
        auth_throttle_limits=_throttle_limits(env),
        metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE") or "MemberPortal",
        tracing_enabled=(env.get("POWERTOOLS_TRACE_DISABLED") or "true").lower() == "false",
        local_stack=env.get("PORTAL_LOCAL_STACK") == "1",
        **values,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (read once: the environment does not change while warm)."""
    return load_settings()


def reload_settings() -> Settings:
    """Forget the cached settings and read them again (tests and the local stack change the environment)."""
    get_settings.cache_clear()
    return get_settings()


def lambda_function_name() -> str | None:
    """The function's name when this process is a Lambda function (Lambda's reserved
    ``AWS_LAMBDA_FUNCTION_NAME``), else ``None`` (tests, the local stack, the tools)."""
    return os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or None


def local_clock_offset() -> float:
    """Seconds the local stack adds to the wall clock; always ``0`` on AWS.

    Read on every call, because an end-to-end test moves a running local stack's clock forward by
    writing the file named by ``PORTAL_CLOCK_OFFSET_FILE`` (or, in-process, by setting
    ``PORTAL_CLOCK_OFFSET_SECONDS``). Ignored unless ``PORTAL_LOCAL_STACK=1``, which template.yaml
    never sets.
    """
    env = os.environ
    if env.get("PORTAL_LOCAL_STACK") != "1":
        return 0.0
    raw = env.get("PORTAL_CLOCK_OFFSET_SECONDS", "0")
    path = env.get("PORTAL_CLOCK_OFFSET_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                raw = handle.read().strip() or "0"
        except OSError:
            raw = "0"
    try:
        return float(raw)
    except ValueError:
        return 0.0
