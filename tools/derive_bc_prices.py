"""Derive ``data/drugs/bc-pharmacare-prices.csv.gz`` from BC PharmaCare's Provincial Drug Data File.

``python -m tools.derive_bc_prices PDDF.zip [--date YYYY-MM-DD]`` keeps, for each DIN, the record in
effect on the file's date (``Rec Eff Date`` <= date <= ``Rec End Date``) of the first benefit plan
in :data:`PLAN_PREFERENCE` that lists it (non-benefit ``NB`` records carry no price), and writes
only what coverage uses: ``din, unit_price`` (``Max Price``), ``lca_price`` (``LCA Price``) and
``limited_use`` (``Ltd Use Flag`` = Y on any benefit plan in effect, or the DIN is listed only under
"Available With Special Authority Only"). DINs with neither a price nor a limited-use flag are left
out. Source and licence: see ``docs/drugs.md``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import re
import zipfile
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "data" / "drugs" / "bc-pharmacare-prices.csv.gz"
# Fair PharmaCare first (the general plan), then the other benefit plans.
PLAN_PREFERENCE = ("I", "C", "F", "W", "B", "P", "G", "SA", "Z", "NP", "D")


def _price(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip() or "0")
    except InvalidOperation:
        return None
    return value if value > 0 else None


def derive(pddf_zip: Path, on: date | None = None) -> list[tuple[str, str, str, str]]:
    """``(din, unit_price, lca_price, limited_use)`` rows, sorted by DIN."""
    with zipfile.ZipFile(pddf_zip) as archive:
        name = next(n for n in archive.namelist() if n.lower().endswith(".csv"))
        if on is None:
            found = re.search(r"(\d{4})_(\d{2})_(\d{2})", name)
            on = date(int(found[1]), int(found[2]), int(found[3])) if found else date.today()
        day = int(on.strftime("%Y%m%d"))
        text = io.TextIOWrapper(archive.open(name), encoding="latin-1", newline="")
        chosen: dict[str, tuple[int, dict[str, str]]] = {}
        limited: set[str] = set()
        for row in csv.DictReader(text):
            din = (row.get("DIN/PIN") or "").strip()
            plan = (row.get("Plan") or "").strip()
            if not re.fullmatch(r"\d{8}", din) or plan not in PLAN_PREFERENCE:
                continue
            try:
                if not int(row["Rec Eff Date"]) <= day <= int(row["Rec End Date"]):
                    continue
            except (KeyError, ValueError):
                continue
            if (row.get("Ltd Use Flag") or "").strip().upper() == "Y" or plan == "SA":
                limited.add(din)
            rank = PLAN_PREFERENCE.index(plan)
            if din not in chosen or rank < chosen[din][0]:
                chosen[din] = (rank, row)
    out = []
    for din, (_, row) in sorted(chosen.items()):
        unit, lca = _price(row.get("Max Price", "")), _price(row.get("LCA Price", ""))
        if unit is None and lca is None and din not in limited:
            continue
        out.append((din, f"{unit}" if unit else "", f"{lca}" if lca else "", "Y" if din in limited else "N"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pddf", type=Path)
    parser.add_argument("--date", type=date.fromisoformat, default=None)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    rows = derive(args.pddf, args.date)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["din", "unit_price", "lca_price", "limited_use"])
    writer.writerows(rows)
    # mtime=0: the same input gives the same bytes (no churn in git).
    args.output.write_bytes(gzip.compress(buffer.getvalue().encode(), mtime=0))
    print(f"wrote {args.output} ({len(rows)} DINs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
