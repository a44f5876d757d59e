"""Local stack seed: the Health Canada DPD extract and BC PharmaCare prices carried in ``data/drugs``.

Runs in the background (the gateway answers meanwhile; drug searches fill in as the import goes);
a restart on the same state only writes what changed. ``python -m local.run --drugs FILE.zip`` loads
another extract instead (the tests' shared stacks load a small sample of this one, see
``tests/e2e/drug_sample.py``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

ORDER = 40
TITLE = "Drugs (Health Canada DPD, BC PharmaCare prices)"
BACKGROUND = True

_ROOT = Path(__file__).resolve().parent.parent
EXTRACT = _ROOT / "data" / "drugs" / "dpd-allfiles.zip"
PRICES = _ROOT / "data" / "drugs" / "bc-pharmacare-prices.csv.gz"
EXTRACT_ENV = "PORTAL_LOCAL_DRUG_EXTRACT"


def seed(progress: Callable[[int, int], None]) -> str:
    """Import the extract; returns the summary line."""
    folder = str(_ROOT / "functions" / "drugs")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    from dpd_extract import load_prices, parse_extract
    from drug_catalog_import import write_catalog

    extract = Path(os.environ.get(EXTRACT_ENV) or EXTRACT)
    report = write_catalog(parse_extract(extract), load_prices(PRICES), progress=progress, source=extract.name)
    return report.summary()


def describe() -> list[str]:
    """Hints printed at the end of start-up."""
    return ["Drugs: try GET /v1/drugs?q=atorva, /v1/drugs?q=02230711 (LIPITOR 10 mg), then /coverage?personId=..."]
