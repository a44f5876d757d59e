"""Writes a parsed DPD extract (and BC PharmaCare prices) into the drugs table.

One module for the three ways in: the S3-triggered ``DrugImportFunction``, ``make import-drugs``
(``tools/import_drugs.py``) and the local stack's seed (``local/seed_drugs.py``).

Items (see ``portal_common.drug_catalog`` for the layout): one product item per DIN, one item per
interchangeable group of two products or more, and the search pages of ``drug_search``.

Re-import is incremental and safe to interrupt:

- a *manifest* (``PK=IMPORT#DPD``: ``SK=STATE`` and compressed ``SK=CHUNK#nnn`` items) records the
  key and content hash of every item the last complete import wrote;
- only items whose hash changed are written; search pages and groups that no longer exist are
  deleted; products that disappeared from the extract are kept (claims refer to them) but marked
  ``NOT_MARKETED`` and leave the search pages and groups;
- before writing, the manifest is marked ``IN_PROGRESS`` with the union of old and new keys, so an
  import that stops half-way is followed by a full rewrite that also cleans what it left.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from dpd_extract import DrugRecord, ParsedExtract, RowError
from drug_search import SearchDocument, SearchPage, build_pages, strength_words

from portal_common import clock
from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.drug_catalog import drug_key, group_key
from portal_common.drug_coverage import DrugPrice
from portal_common.dynamo import batch_get, batch_write, get_item, is_conditional_failure, to_attr, to_item

Progress = Callable[[int, int], None]
MANIFEST_PK = "IMPORT#DPD"
RETIRED = "retired"
_KEYS_PER_CHUNK = 6000
WRITE_WORKERS = 8


@dataclass
class DrugImportReport:
    """What an import did."""

    marketed: int = 0
    written: int = 0
    unchanged: int = 0
    retired: int = 0
    deleted: int = 0
    search_pages: int = 0
    groups: int = 0
    priced: int = 0
    full_rewrite: bool = False
    seconds: float = 0.0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "marketed": self.marketed,
            "written": self.written,
            "unchanged": self.unchanged,
            "retired": self.retired,
            "deleted": self.deleted,
            "searchPages": self.search_pages,
            "groups": self.groups,
            "priced": self.priced,
            "fullRewrite": self.full_rewrite,
            "seconds": round(self.seconds, 2),
            "skippedRows": [e.as_dict() for e in self.errors[:200]],
            "skippedRowCount": len(self.errors),
        }

    def summary(self) -> str:
        return (
            f"{self.marketed} marketed drugs ({self.written} items written, {self.unchanged} unchanged, "
            f"{self.retired} retired, {self.deleted} deleted), {self.search_pages} search pages, "
            f"{self.groups} interchangeable groups, {self.priced} with BC PharmaCare prices, "
            f"{len(self.errors)} rows skipped, {self.seconds:.1f} s"
        )


def group_id(record: DrugRecord) -> str:
    """Stable, compact id of the product's interchangeable group."""
    digest = hashlib.sha256(record.interchangeable_group.encode()).hexdigest()[:10]
    return f"{record.ai_group_no}#{digest}"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _prices_map(price: DrugPrice | None) -> dict[str, Any] | None:
    # Prices stay decimal strings inside the JSON document (never floats).
    if price is None:
        return None
    out: dict[str, Any] = {"limitedUse": price.limited_use}
    if price.unit_price is not None:
        out["unitPrice"] = f"{price.unit_price}"
    if price.lca_price is not None:
        out["lcaPrice"] = f"{price.lca_price}"
    return out


def drug_item(record: DrugRecord, price: DrugPrice | None) -> dict[str, Any]:
    """The product item of one marketed DIN."""
    ingredients = []
    for ing in record.ingredients:
        entry: dict[str, Any] = {"name": ing.name, "strength": ing.strength, "unit": ing.unit}
        if ing.name_fr:
            entry["nameFr"] = ing.name_fr
        if ing.unit_fr:
            entry["unitFr"] = ing.unit_fr
        ingredients.append(entry)
    document: dict[str, Any] = {
        "din": record.din,
        "drugCode": record.drug_code,
        "brandName": record.brand_name,
        "brandNameFr": record.brand_name_fr,
        "descriptor": record.descriptor,
        "descriptorFr": record.descriptor_fr,
        "company": record.company,
        "forms": record.forms,
        "formsFr": record.forms_fr,
        "routes": record.routes,
        "routesFr": record.routes_fr,
        "schedules": record.schedules,
        "schedulesFr": record.schedules_fr,
        "ingredients": ingredients,
        "atcCodes": record.atc_codes,
        "atcDescription": record.atc_description,
        "aiGroupNo": record.ai_group_no,
        "prices": _prices_map(price),
        "lastUpdate": record.last_update,
        "marketedSince": record.status_date,
    }
    item: dict[str, Any] = {
        **drug_key(record.din),
        "entityType": "DRUG",
        "din": record.din,
        "status": "MARKETED",
        "brandName": record.brand_name,
        "interchangeableGroup": group_id(record),
        "document": _json({k: v for k, v in document.items() if v is not None}),
    }
    return {k: v for k, v in item.items() if v is not None}


def search_document(record: DrugRecord) -> SearchDocument:
    """What the search index needs of a product."""
    brands = [record.brand_name]
    if record.brand_name_fr and record.brand_name_fr != record.brand_name:
        brands.append(record.brand_name_fr)
    names: list[str] = []
    strengths: list[str] = []
    for ing in record.ingredients:
        names.append(ing.name)
        if ing.name_fr:
            names.append(ing.name_fr)
        strengths.extend(strength_words(ing.strength, ing.unit))
    return SearchDocument(record.din, tuple(brands), tuple(names), tuple(dict.fromkeys(strengths)))


def build_items(
    parsed: ParsedExtract, prices: dict[str, DrugPrice]
) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """Every item of the catalogue, by ``PK|SK``, and counts."""
    items: dict[str, dict[str, Any]] = {}
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in sorted(parsed.drugs.values(), key=lambda r: r.din):
        item = drug_item(record, prices.get(record.din))
        items[f"{item['PK']}|{item['SK']}"] = item
        document = json.loads(item["document"])
        member = {
            k: document[k] for k in ("din", "brandName", "company", "schedules", "atcCodes", "prices") if k in document
        }
        members[item["interchangeableGroup"]].append({**member, "status": "MARKETED"})
    groups = 0
    for gid, group_members in members.items():
        if len(group_members) < 2:
            continue
        groups += 1
        item = {**group_key(gid), "entityType": "DRUG_GROUP", "group": gid, "members": _json(group_members)}
        items[f"{item['PK']}|{item['SK']}"] = item
    pages = build_pages(search_document(r) for r in parsed.drugs.values())
    page_count = 0
    for prefix, prefix_pages in pages.items():
        total = sum(len(p) for p in prefix_pages)
        for number, entries in enumerate(prefix_pages):
            page_count += 1
            item = SearchPage(prefix, number, len(prefix_pages), total, tuple(entries)).to_item()
            items[f"{item['PK']}|{item['SK']}"] = item
    counts = {"groups": groups, "pages": page_count, "priced": sum(1 for d in parsed.drugs if d in prices)}
    return items, counts


def item_hash(item: dict[str, Any]) -> str:
    """Content hash of an item (what decides whether a re-import writes it)."""
    text = json.dumps(item, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# ---------------------------------------------------------------- manifest
@dataclass
class Manifest:
    state: str
    hashes: dict[str, str]
    chunks: int


def read_manifest(table: str) -> Manifest | None:
    """The manifest of the last import (``None`` before the first one)."""
    state = get_item(table, {"PK": MANIFEST_PK, "SK": "STATE"}, consistent=True)
    if not state:
        return None
    chunks = int(state.get("chunks", 0))
    hashes: dict[str, str] = {}
    keys = [{"PK": MANIFEST_PK, "SK": f"CHUNK#{n:03d}"} for n in range(chunks)]
    found = {str(item["SK"]): item for item in batch_get(table, keys)} if keys else {}
    for key in keys:
        item = found.get(key["SK"])
        if item is None:  # a chunk is missing: treat the manifest as unreliable
            return Manifest("CORRUPT", hashes, chunks)
        hashes.update(json.loads(zlib.decompress(bytes(item["data"])).decode()))
    return Manifest(str(state.get("state", "CORRUPT")), hashes, chunks)


def write_manifest(table: str, state: str, hashes: dict[str, str], previous_chunks: int, info: dict[str, Any]) -> int:
    """Store the manifest (chunks first, then the state item); returns the number of chunks."""
    keys = sorted(hashes)
    chunks = [keys[i : i + _KEYS_PER_CHUNK] for i in range(0, len(keys), _KEYS_PER_CHUNK)]
    puts = []
    for number, chunk in enumerate(chunks):
        data = zlib.compress(json.dumps({k: hashes[k] for k in chunk}, separators=(",", ":")).encode(), 6)
        puts.append({"PK": MANIFEST_PK, "SK": f"CHUNK#{number:03d}", "entityType": "IMPORT_MANIFEST", "data": data})
    stale = [{"PK": MANIFEST_PK, "SK": f"CHUNK#{n:03d}"} for n in range(len(chunks), previous_chunks)]
    batch_write(table, puts=puts, deletes=stale)
    client("dynamodb").put_item(
        TableName=table,
        Item=to_item(
            {
                "PK": MANIFEST_PK,
                "SK": "STATE",
                "entityType": "IMPORT_MANIFEST",
                "state": state,
                "chunks": len(chunks),
                "updatedAt": clock.now_iso("seconds"),
                **info,
            }
        ),
    )
    return len(chunks)


# ---------------------------------------------------------------- writing
def _parallel(jobs: list[Callable[[], int]], progress: Callable[[int], None], workers: int) -> None:
    if workers <= 1:
        for job in jobs:
            progress(job())
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done in pool.map(lambda job: job(), jobs):
            progress(done)


def _retire(table: str, key: str, at: str) -> int:
    pk, sk = key.split("|", 1)
    try:
        client("dynamodb").update_item(
            TableName=table,
            Key={"PK": to_attr(pk), "SK": to_attr(sk)},
            UpdateExpression="SET #s = :s, retiredAt = :t",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": to_attr("NOT_MARKETED"), ":t": to_attr(at)},
        )
    except Exception as error:
        if not is_conditional_failure(error):
            raise
    return 1


def write_catalog(
    parsed: ParsedExtract,
    prices: dict[str, DrugPrice],
    *,
    progress: Progress | None = None,
    source: str = "",
    workers: int = WRITE_WORKERS,
) -> DrugImportReport:
    """Import ``parsed`` into the drugs table (incremental; see the module docstring)."""
    started = time.monotonic()
    table = get_settings().drugs_table
    report = DrugImportReport(errors=list(parsed.errors), marketed=len(parsed.drugs))
    items, counts = build_items(parsed, prices)
    report.groups, report.search_pages, report.priced = counts["groups"], counts["pages"], counts["priced"]
    hashes = {key: item_hash(item) for key, item in items.items()}

    old = read_manifest(table)
    full = old is None or old.state != "COMPLETE"
    report.full_rewrite = full
    old_hashes = old.hashes if old else {}
    to_put = [key for key in items if full or old_hashes.get(key) != hashes[key]]
    gone = [key for key in old_hashes if key not in items]
    retire = [k for k in gone if k.startswith("DIN#") and (full or old_hashes[k] != RETIRED)]
    retired_before = [k for k in gone if k.startswith("DIN#") and k not in retire]
    delete = [k for k in gone if not k.startswith("DIN#")]
    report.unchanged = len(items) - len(to_put)

    info = {"source": source, "marketed": len(parsed.drugs)}
    chunks = write_manifest(
        table, "IN_PROGRESS", {**old_hashes, **dict.fromkeys(to_put, "")}, old.chunks if old else 0, info
    )

    total = len(to_put) + len(delete) + len(retire)
    done = 0

    def tick(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done, total)

    if progress:
        progress(0, total)
    batch = 25
    put_items = [items[key] for key in to_put]
    delete_keys = [dict(zip(("PK", "SK"), key.split("|", 1), strict=True)) for key in delete]
    now = clock.now_iso("seconds")
    jobs: list[Callable[[], int]] = [
        partial(batch_write, table, puts=put_items[i : i + batch]) for i in range(0, len(put_items), batch)
    ]
    jobs += [partial(batch_write, table, deletes=delete_keys[i : i + batch]) for i in range(0, len(delete_keys), batch)]
    jobs += [partial(_retire, table, key, now) for key in retire]
    _parallel(jobs, tick, workers)

    final = dict(hashes)
    final.update(dict.fromkeys(retire + retired_before, RETIRED))
    write_manifest(table, "COMPLETE", final, chunks, {**info, "importedAt": now})
    report.written = len(to_put)
    report.retired = len(retire)
    report.deleted = len(delete)
    report.seconds = time.monotonic() - started
    return report
