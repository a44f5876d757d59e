"""A small sample of the repository's DPD extract for the shared e2e stacks.

Importing the whole extract (13,000 products) costs each local stack about a CPU-minute in the
background; only ``test_drugs_journey.py`` needs all of it (it starts its own stack with the real
file). Every other stack loads this sample: every product with an ingredient named in
``KEEP_INGREDIENTS`` (the journeys' drugs, LIPITOR and its generics, with their prices) plus every
``STRIDE``-th product, each with all its rows in every file of the extract (real data, same format).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "data" / "drugs" / "dpd-allfiles.zip"
KEEP_INGREDIENTS = ("ATORVASTATIN", "AMOXICILLIN", "ACETAMINOPHEN")
STRIDE = 40


def _drug_code(line: bytes) -> bytes:
    return line.split(b",", 1)[0].strip(b'"')


def sample_codes(archive: zipfile.ZipFile) -> set[bytes]:
    """The DRUG_CODEs the sample keeps."""
    codes = {_drug_code(line) for line in archive.read("drug.txt").splitlines()[::STRIDE]}
    wanted = tuple(name.encode() for name in KEEP_INGREDIENTS)
    for line in archive.read("ingred.txt").splitlines():
        if any(name in line.upper() for name in wanted):
            codes.add(_drug_code(line))
    return codes


def write_sample(target: Path, source: Path = EXTRACT) -> Path:
    """Write the sample extract to ``target`` (a ``.zip``) and return it."""
    with zipfile.ZipFile(source) as archive:
        codes = sample_codes(archive)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
            for info in archive.infolist():
                lines = archive.read(info).splitlines(keepends=True)
                out.writestr(info.filename, b"".join(line for line in lines if _drug_code(line) in codes))
    target.write_bytes(buffer.getvalue())
    return target
