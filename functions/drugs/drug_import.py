"""S3 ``drug-extracts/`` upload -> drug catalogue import (malformed rows reported and skipped).

Operators upload Health Canada's ``allfiles.zip`` as ``drug-extracts/dpd-allfiles.zip`` (any
``drug-extracts/*.zip`` works) and, optionally, the derived BC PharmaCare prices as
``drug-extracts/bc-pharmacare-prices.csv.gz`` (see ``docs/drugs.md``). Uploading the prices alone
re-imports ``drug-extracts/dpd-allfiles.zip`` with them. The import is incremental: only changed
items are written (``drug_catalog_import``).
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from dpd_extract import load_prices, parse_extract
from drug_catalog_import import write_catalog

from portal_common import cold_start, metrics
from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.log import get_logger

logger = get_logger("drug-import")
get_settings()  # every variable checked at cold start (a missing one fails here, by name)

PREFIX = "drug-extracts/"
EXTRACT_KEY = PREFIX + "dpd-allfiles.zip"
PRICES_KEY = PREFIX + "bc-pharmacare-prices.csv.gz"
MAX_FILE_BYTES = 50 * 1024 * 1024


def _read(bucket: str, key: str) -> bytes | None:
    """The object's bytes; ``None`` when it does not exist (or is too large, which is logged)."""
    s3 = client("s3")
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound", "403", "AccessDenied"):
            return None
        raise
    if int(head["ContentLength"]) > MAX_FILE_BYTES:
        logger.error("drug file too large", extra={"key": key, "bytes": head["ContentLength"]})
        return None
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def import_object(bucket: str, key: str) -> dict[str, Any]:
    """Import after an upload of ``key``; returns the report (logged as well)."""
    if not key.startswith(PREFIX):
        return {"key": key, "ignored": "NOT_A_DRUG_EXTRACT"}
    extract_key = EXTRACT_KEY if key == PRICES_KEY else key
    if not extract_key.lower().endswith(".zip"):
        return {"key": key, "ignored": "NOT_A_ZIP"}
    extract = _read(bucket, extract_key)
    if extract is None:
        logger.warning("no drug extract to import", extra={"key": extract_key})
        return {"key": key, "rejected": "EXTRACT_MISSING"}
    prices_bytes = _read(bucket, PRICES_KEY)
    parsed = parse_extract(extract)
    if not parsed.drugs:
        metrics.emit("drug-import", {"RowsImported": 0, "RowsRefused": len(parsed.errors)})
        rejected = {
            "key": key,
            "rejected": "NO_MARKETED_DRUG",
            "skippedRows": [e.as_dict() for e in parsed.errors[:50]],
        }
        logger.error("drug extract rejected", extra={"report": rejected})
        return rejected
    prices = load_prices(prices_bytes) if prices_bytes else {}
    report: dict[str, Any] = {"key": extract_key, "prices": bool(prices)}
    written = write_catalog(parsed, prices, source=extract_key)
    report.update(written.as_dict())
    metrics.emit("drug-import", {"RowsImported": written.marketed, "RowsRefused": len(written.errors)})
    logger.info("drug extract imported", extra={"report": report})
    return report


@cold_start.settles(before=True)
@event_source(data_class=S3Event)
@logger.inject_lambda_context
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    """One report per uploaded object."""
    return {"files": [import_object(r.s3.bucket.name, unquote_plus(r.s3.get_object.key)) for r in event.records]}
