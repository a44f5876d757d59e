"""Reading the drug search index (see ``drug_search``): the ranked pages of a query's lead word.

One ``GetItem`` per page, at most :data:`drug_search.MAX_PAGES_PER_REQUEST` per request, so a search
costs the same whatever the size of the drugs table.
"""

from __future__ import annotations

from typing import Any

from drug_search import MAX_PAGES_PER_REQUEST, ParsedQuery, SearchPage, decode_entry, search_page_key

from portal_common.config import get_settings
from portal_common.dynamo import get_item


def read_page(prefix: str, number: int) -> SearchPage | None:
    """One page of a prefix's series (``None`` past its end, or when no product has the prefix)."""
    item = get_item(get_settings().drugs_table, search_page_key(prefix, number))
    return SearchPage.from_item(item) if item else None


def matching_dins(
    query: ParsedQuery, limit: int, start: dict[str, Any] | None
) -> tuple[list[str], dict[str, int] | None]:
    """DINs of the next ``limit`` matches and where to continue (``None`` at the end)."""
    page = int(start["page"]) if start else 0
    offset = int(start["offset"]) if start else 0
    found: list[str] = []
    for _ in range(MAX_PAGES_PER_REQUEST):
        stored = read_page(query.lead, page)
        if not stored:
            return found, None
        entries = stored.entries
        for index in range(offset, len(entries)):
            if not entries[index]:
                continue
            _, din, entry_words = decode_entry(entries[index])
            if query.matches(entry_words):
                found.append(din)
                if len(found) == limit:
                    if index + 1 < len(entries):
                        return found, {"page": page, "offset": index + 1}
                    more = page + 1 < stored.pages
                    return found, ({"page": page + 1, "offset": 0} if more else None)
        page, offset = page + 1, 0
        if page >= stored.pages:
            return found, None
    # Read budget spent (narrow multi-word queries): the client follows the cursor.
    return found, {"page": page, "offset": 0}
