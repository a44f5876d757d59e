"""Configuration read once from the environment (set by template.yaml or the local stack)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    """Names of the resources a function talks to, and a few service-wide settings."""

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
    user_pool_id: str
    user_pool_client_id: str
    allowed_origin: str
    local_stack: bool


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings of this process (cached: the environment does not change while warm)."""
    env = os.environ
    return Settings(
        app_version=env.get("APP_VERSION", "0.0.0"),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "ca-central-1",
        members_table=env.get("MEMBERS_TABLE", ""),
        claims_table=env.get("CLAIMS_TABLE", ""),
        providers_table=env.get("PROVIDERS_TABLE", ""),
        drugs_table=env.get("DRUGS_TABLE", ""),
        idempotency_table=env.get("IDEMPOTENCY_TABLE", ""),
        documents_bucket=env.get("DOCUMENTS_BUCKET", ""),
        event_bus_name=env.get("EVENT_BUS_NAME", ""),
        sender_email=env.get("SENDER_EMAIL", ""),
        user_pool_id=env.get("USER_POOL_ID", ""),
        user_pool_client_id=env.get("USER_POOL_CLIENT_ID", ""),
        allowed_origin=env.get("ALLOWED_ORIGIN", "*"),
        local_stack=env.get("PORTAL_LOCAL_STACK", "") == "1",
    )
