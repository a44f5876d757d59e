"""The clock of the identity functions (triggers and backend-for-frontend).

On AWS this is ``time.time()``. The local stack and the tests may shift it with
``PORTAL_CLOCK_OFFSET_SECONDS`` (or a file named by ``PORTAL_CLOCK_OFFSET_FILE`` holding the offset,
so a running local stack can be moved forward by an end-to-end test) to exercise expiry without
waiting. The offset is read only when ``PORTAL_LOCAL_STACK=1``: a deployed function ignores it.
"""

from __future__ import annotations

import os
import time


def clock_offset() -> float:
    """Seconds added to the real clock (always 0 outside the local stack and tests)."""
    if os.environ.get("PORTAL_LOCAL_STACK") != "1":
        return 0.0
    path = os.environ.get("PORTAL_CLOCK_OFFSET_FILE")
    raw = os.environ.get("PORTAL_CLOCK_OFFSET_SECONDS", "0")
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


def now() -> float:
    """Epoch seconds."""
    return time.time() + clock_offset()
