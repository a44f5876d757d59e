"""S3 ``receipts/`` ObjectCreated -> check the real object and mark the receipt UPLOADED or REJECTED."""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.typing import LambdaContext
from receipt_store import check_uploaded_object

from portal_common import cold_start, metrics
from portal_common.config import get_settings
from portal_common.log import get_logger

logger = get_logger("receipt-check")
get_settings()  # every variable checked at cold start (a missing one fails here, by name)


@cold_start.settles
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Check every object of the notification (S3 delivers at least once: the check is idempotent)."""
    outcomes: list[str] = []
    for record in event.get("Records") or []:
        s3 = record.get("s3") or {}
        bucket = (s3.get("bucket") or {}).get("name")
        key = unquote_plus((s3.get("object") or {}).get("key", ""))
        if not bucket or not key:
            continue
        outcome = check_uploaded_object(bucket, key)
        if outcome.startswith("rejected:"):
            metrics.count("claims", "ReceiptsRejected", reason=outcome.split(":", 1)[1])
        logger.info("receipt checked", extra={"outcome": outcome, "key": key})
        outcomes.append(outcome)
    return {"checked": len(outcomes), "outcomes": outcomes}
