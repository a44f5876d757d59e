"""Reading Health Canada's Drug Product Database extract (``allfiles.zip``) and BC PharmaCare prices.

The extract is a zip of comma-separated files without a header, every value double-quoted, joined
on ``DRUG_CODE`` (format in ``docs/drugs.md``). :func:`parse_extract` keeps every **human** product
whose **current** status is ``MARKETED`` and returns one :class:`DrugRecord` per DIN, plus the rows
it had to skip (file, line, reason). Nothing here talks to AWS.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from portal_common.drug_coverage import DrugPrice
from portal_common.patterns import is_din

_CODE = re.compile(r"^\d{1,12}$")
_ATC = re.compile(r"^[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?$")
# Minimum number of columns of each file we read (the later ones are optional French columns).
_MIN_COLUMNS = {
    "drug.txt": 11,
    "ingred.txt": 6,
    "comp.txt": 4,
    "form.txt": 3,
    "route.txt": 3,
    "schedule.txt": 2,
    "status.txt": 3,
    "ther.txt": 2,
}
MAX_EXTRACT_BYTES = 200 * 1024 * 1024  # uncompressed; the April 2026 extract is 12 MB


@dataclass(frozen=True)
class RowError:
    """A skipped row: file inside the zip, 1-based line number, reason code."""

    file: str
    line: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "reason": self.reason}


@dataclass(frozen=True)
class Ingredient:
    """One active ingredient with its strength (English and, when given, French)."""

    name: str
    strength: str
    unit: str
    name_fr: str | None = None
    unit_fr: str | None = None


@dataclass
class DrugRecord:
    """One marketed human product as the extract describes it."""

    drug_code: str
    din: str
    brand_name: str
    brand_name_fr: str | None
    descriptor: str | None
    descriptor_fr: str | None
    ai_group_no: str
    last_update: str | None
    company: str | None = None
    forms: list[str] = field(default_factory=list)
    forms_fr: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    routes_fr: list[str] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)
    schedules_fr: list[str] = field(default_factory=list)
    ingredients: list[Ingredient] = field(default_factory=list)
    atc_codes: list[str] = field(default_factory=list)
    atc_description: str | None = None
    status_date: str | None = None

    @property
    def interchangeable_group(self) -> str:
        """Same ``AI_GROUP_NO`` (ingredients and strengths), same forms and routes."""
        forms = "|".join(sorted(self.forms))
        routes = "|".join(sorted(self.routes))
        return f"{self.ai_group_no}/{forms}/{routes}"


@dataclass
class ParsedExtract:
    """The products of an extract and the rows that were skipped."""

    drugs: dict[str, DrugRecord]
    errors: list[RowError]
    rows_read: int = 0


def _iso(value: str) -> str | None:
    """``19-DEC-2025`` -> ``2025-12-19`` (``None`` when empty or not a date)."""
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.strptime(value.title(), "%d-%b-%Y").date().isoformat()
    except ValueError:
        return None


def _clean(value: str) -> str:
    return " ".join(value.split())


def _opt(value: str) -> str | None:
    cleaned = _clean(value)
    return cleaned or None


def _add_unique(target: list[str], value: str | None) -> None:
    if value and value not in target:
        target.append(value)


def _rows(archive: zipfile.ZipFile, name: str, errors: list[RowError]) -> Iterator[tuple[int, list[str]]]:
    """``(line, columns)`` of one file of the zip; undecodable or short rows are reported."""
    member = next((n for n in archive.namelist() if n.rsplit("/", 1)[-1].lower() == name), None)
    if member is None:
        errors.append(RowError(name, 0, "FILE_MISSING"))
        return
    raw = archive.read(member)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    reader = csv.reader(io.StringIO(text, newline=""))
    minimum = _MIN_COLUMNS[name]
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            errors.append(RowError(name, reader.line_num, "MALFORMED_CSV"))
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) < minimum:
            errors.append(RowError(name, reader.line_num, "TOO_FEW_COLUMNS"))
            continue
        if not _CODE.match(row[0].strip()):
            errors.append(RowError(name, reader.line_num, "INVALID_DRUG_CODE"))
            continue
        yield reader.line_num, [c.strip() for c in row]


def _col(row: list[str], index: int) -> str:
    return row[index] if index < len(row) else ""


def parse_extract(source: str | Path | bytes | IO[bytes]) -> ParsedExtract:
    """Parse a DPD ``allfiles.zip`` (path, bytes or binary file)."""
    errors: list[RowError] = []
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        return ParsedExtract({}, [RowError("allfiles.zip", 0, "NOT_A_ZIP")])
    with archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_EXTRACT_BYTES:
            return ParsedExtract({}, [RowError("allfiles.zip", 0, "EXTRACT_TOO_LARGE")])
        return _parse(archive, errors)


def _parse(archive: zipfile.ZipFile, errors: list[RowError]) -> ParsedExtract:
    rows_read = 0
    # Current status first: only products whose current status is MARKETED are kept.
    marketed: dict[str, str | None] = {}
    for _, row in _rows(archive, "status.txt", errors):
        rows_read += 1
        if row[1].upper() == "Y" and row[2].upper() == "MARKETED":
            marketed[row[0]] = _iso(_col(row, 3))

    drugs: dict[str, DrugRecord] = {}
    by_din: dict[str, str] = {}
    for line, row in _rows(archive, "drug.txt", errors):
        rows_read += 1
        code, klass, din, brand = row[0], row[2], row[3], _clean(row[4])
        if klass.lower() != "human" or code not in marketed:
            continue
        if not is_din(din):
            errors.append(RowError("drug.txt", line, "INVALID_DIN"))
            continue
        if not brand:
            errors.append(RowError("drug.txt", line, "MISSING_BRAND_NAME"))
            continue
        if not re.fullmatch(r"\d{10}", row[10]):
            errors.append(RowError("drug.txt", line, "INVALID_AI_GROUP_NO"))
            continue
        if din in by_din or code in drugs:
            errors.append(RowError("drug.txt", line, "DUPLICATE_DIN" if din in by_din else "DUPLICATE_DRUG_CODE"))
            continue
        by_din[din] = code
        drugs[code] = DrugRecord(
            drug_code=code,
            din=din,
            brand_name=brand,
            brand_name_fr=_opt(_col(row, 12)),
            descriptor=_opt(row[5]),
            descriptor_fr=_opt(_col(row, 13)),
            ai_group_no=row[10],
            last_update=_iso(row[9]),
            status_date=marketed[code],
        )

    for _, row in _rows(archive, "comp.txt", errors):
        rows_read += 1
        if (drug := drugs.get(row[0])) and not drug.company:
            drug.company = _opt(row[3])
    for file, attr in (("form.txt", "forms"), ("route.txt", "routes")):
        for _, row in _rows(archive, file, errors):
            rows_read += 1
            if drug := drugs.get(row[0]):
                _add_unique(getattr(drug, attr), _opt(row[2]))
                _add_unique(getattr(drug, f"{attr}_fr"), _opt(_col(row, 3)))
    for _, row in _rows(archive, "schedule.txt", errors):
        rows_read += 1
        if drug := drugs.get(row[0]):
            _add_unique(drug.schedules, _clean(row[1]).upper() or None)
            _add_unique(drug.schedules_fr, _opt(_col(row, 2)))
    for line, row in _rows(archive, "ther.txt", errors):
        rows_read += 1
        if drug := drugs.get(row[0]):
            # The extract marks a few codes with a trailing asterisk (``L04AA40*``).
            atc = row[1].upper().rstrip("*").strip()
            if (atc or row[1]) and not _ATC.match(atc):
                errors.append(RowError("ther.txt", line, "INVALID_ATC_CODE"))
                continue
            _add_unique(drug.atc_codes, atc or None)
            if drug.atc_description is None:
                drug.atc_description = _opt(_col(row, 2))
    for line, row in _rows(archive, "ingred.txt", errors):
        rows_read += 1
        if drug := drugs.get(row[0]):
            name = _clean(row[2])
            if not name:
                errors.append(RowError("ingred.txt", line, "MISSING_INGREDIENT_NAME"))
                continue
            drug.ingredients.append(
                Ingredient(
                    name=name,
                    strength=_clean(row[4]),
                    unit=_unit(row[5], _col(row, 7), _col(row, 9)),
                    name_fr=_opt(_col(row, 11)),
                    unit_fr=_unit(_col(row, 12), _col(row, 7), _col(row, 14)) or None,
                )
            )
    return ParsedExtract({d.din: d for d in drugs.values()}, errors, rows_read)


def _unit(strength_unit: str, dosage_value: str, dosage_unit: str) -> str:
    """``MG`` / ``MG / 5 ML`` / ``% W/W``: the strength unit with the dosage basis when given."""
    unit, value, basis = _clean(strength_unit), _clean(dosage_value), _clean(dosage_unit)
    if not basis:
        return unit
    if basis.upper() in ("W/W", "W/V", "V/V") and not value:
        return f"{unit} {basis}".strip()
    return f"{unit} / {value + ' ' if value else ''}{basis}".strip()


def load_prices(source: str | Path | bytes | None) -> dict[str, DrugPrice]:
    """``data/drugs/bc-pharmacare-prices.csv.gz`` (``din,unit_price,lca_price,limited_use``) by DIN."""
    if source is None:
        return {}
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    prices: dict[str, DrugPrice] = {}
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8"))):
        din = (row.get("din") or "").strip()
        if not is_din(din):
            continue
        prices[din] = DrugPrice(
            unit_price=_decimal(row.get("unit_price")),
            lca_price=_decimal(row.get("lca_price")),
            limited_use=(row.get("limited_use") or "").strip().upper() == "Y",
        )
    return prices


def _decimal(value: str | None) -> Decimal | None:
    try:
        amount = Decimal((value or "").strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount > 0 else None


def group_sizes(drugs: dict[str, DrugRecord]) -> dict[str, int]:
    """Number of products per interchangeable group."""
    sizes: dict[str, int] = defaultdict(int)
    for drug in drugs.values():
        sizes[drug.interchangeable_group] += 1
    return sizes
