"""The one clock: every "now" and "today" of the functions comes from here.

- **now** is the wall clock in UTC (``now()``, ``epoch_seconds()``, ``now_iso()``); stored instants
  are RFC 3339 UTC strings with a ``Z``.
- **today** is the latest calendar date anywhere in Canada: the date at UTC−2:30 (Newfoundland
  summer time, the first Canadian zone to reach a new day). So a service dated today anywhere in
  the country is never "in the future", and every rule that asks "on which day are we" (a claim's
  date of service, a person's eligibility on ``/v1/me`` and for drug coverage, the age at
  registration) gets the same answer at the same instant. The price: for the last hours of a day
  in the west, "today" is already tomorrow, which only ever makes a date *more* acceptable.

On AWS the clock is the wall clock. The local stack (``PORTAL_LOCAL_STACK=1``) may shift it by an
offset so the tests exercise expiry without waiting; see
:func:`portal_common.config.local_clock_offset`. Nothing else in ``functions/`` or ``layers/``
reads the wall clock.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

from portal_common.config import local_clock_offset

# The first Canadian zone to reach a new calendar day (Newfoundland daylight time).
EARLIEST_CANADIAN_OFFSET = timedelta(hours=-2, minutes=-30)


def epoch_seconds() -> float:
    """Seconds since the epoch (with the local stack's offset)."""
    return time.time() + local_clock_offset()


def epoch() -> int:
    """Whole seconds since the epoch: DynamoDB TTLs and expiry checks."""
    return int(epoch_seconds())


def epoch_millis() -> int:
    """Milliseconds since the epoch: sortable identifiers."""
    return int(epoch_seconds() * 1000)


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.fromtimestamp(epoch_seconds(), tz=UTC)


def now_iso(timespec: str = "milliseconds") -> str:
    """The current instant as stored: RFC 3339 UTC with a ``Z`` (``2026-11-30T18:01:03.123Z``)."""
    return now().isoformat(timespec=timespec).replace("+00:00", "Z")


def today(moment: datetime | None = None) -> date:
    """Today by the one rule of this module: the latest calendar date anywhere in Canada at
    ``moment`` (default: now)."""
    return ((moment or now()).astimezone(UTC) + EARLIEST_CANADIAN_OFFSET).date()
