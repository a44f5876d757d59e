"""S3 ``eligibility/*.csv`` upload -> roster import (bad lines reported by number and skipped)."""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from portal_common import cold_start, metrics
from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.log import get_logger
from portal_common.plans import known_plan_ids
from portal_common.roster import parse_roster
from portal_common.roster_store import write_roster

logger = get_logger("eligibility")
get_settings()  # every variable checked at cold start (a missing one fails here, by name)

MAX_FILE_BYTES = 50 * 1024 * 1024


def import_object(bucket: str, key: str) -> dict[str, Any]:
    """Import one eligibility file from S3; returns the report (no personal data in it)."""
    s3 = client("s3")
    head = s3.head_object(Bucket=bucket, Key=key)
    if int(head["ContentLength"]) > MAX_FILE_BYTES:
        logger.error("eligibility file too large", extra={"key": key, "bytes": head["ContentLength"]})
        return {"key": key, "rejected": "FILE_TOO_LARGE"}
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    parsed = parse_roster(text, known_plans=known_plan_ids())
    written = write_roster(parsed)
    report = {"key": key, **written.as_dict()}
    metrics.emit("eligibility-import", {"RowsImported": written.persons, "RowsRefused": len(written.errors)})
    logger.info("eligibility file imported", extra={"report": report})
    return report


@cold_start.settles(before=True)
@event_source(data_class=S3Event)
@logger.inject_lambda_context
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    """One report per uploaded file."""
    reports = [import_object(record.s3.bucket.name, unquote_plus(record.s3.get_object.key)) for record in event.records]
    return {"files": reports}
