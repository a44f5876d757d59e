"""Drug search and look-up by DIN: the rules behind ``GET /v1/drugs`` and ``GET /v1/drugs/{din}``.

Every read is a key read (``GetItem``/``BatchGetItem``): search pages through ``drug_search_store``,
products through ``portal_common.drug_catalog``; a request costs the same whatever the size of the
drugs table.
"""

from __future__ import annotations

from drug_models import Drug, DrugPage
from drug_search import parse_query
from drug_search_store import matching_dins
from drug_views import drug_view

from portal_common.drug_catalog import drug_document, get_drug_item, get_drug_items
from portal_common.drug_coverage import MARKETED
from portal_common.pagination import decode_cursor, encode_cursor
from portal_common.problems import NotFound, invalid_field

_CURSOR_KEYS = {"page": int, "offset": int}


def search(q: str, limit: int, cursor: str | None, lang: str) -> DrugPage:
    """``GET /v1/drugs``: a DIN, or brand and ingredient words by prefix (see ``drug_search``)."""
    query = parse_query(q)
    if query is None:
        raise invalid_field("q", "QUERY_TOO_SHORT", min_length=3)
    start = decode_cursor(cursor, query.scope, _CURSOR_KEYS)
    if query.din:
        if start:
            return DrugPage(items=[], next_cursor=None)
        item = get_drug_item(query.din)
        document = drug_document(item) if item else None
        items = [drug_view(document, lang)] if document and document["status"] == MARKETED else []
        return DrugPage(items=items, next_cursor=None)
    if start is not None and not all(isinstance(v, int) and 0 <= v < 1_000_000 for v in start.values()):
        raise invalid_field("cursor", "INVALID_CURSOR")
    dins, next_key = matching_dins(query, limit, start)
    found = get_drug_items(dins)
    documents = [drug_document(found[din]) for din in dins if din in found]
    items = [drug_view(doc, lang) for doc in documents if doc["status"] == MARKETED]
    return DrugPage(items=items, next_cursor=encode_cursor(next_key, query.scope))


def get_drug(din: str, lang: str) -> Drug:
    """``GET /v1/drugs/{din}`` (a product no longer marketed is still shown, with its status)."""
    item = get_drug_item(din)
    if not item:
        raise NotFound("DRUG_NOT_FOUND")
    return drug_view(drug_document(item), lang)
