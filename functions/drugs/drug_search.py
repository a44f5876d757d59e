"""Drug search: the index the import builds and the way a query reads it.

The index is a set of precomputed, ranked result pages, one series per word prefix:
``PK=SEARCH#<prefix>``, ``SK=PAGE#<nnnn>`` (:data:`PAGE_SIZE` entries each), for every prefix of
:data:`MIN_PREFIX`..:data:`MAX_PREFIX` characters of every word of a product's brand names (English
and French) and active ingredients (English and French), folded (case and accents ignored).

Each entry is ``<rank><din><words>`` where rank is

0. the brand name *is* the prefix (``lipitor`` -> LIPITOR),
1. the brand's first word starts with it,
2. another brand word starts with it,
3. an ingredient word starts with it (``atorva`` -> LIPITOR through ATORVASTATIN);

entries are sorted by rank, then brand name, then DIN, and ``<words>`` are all of the product's
search words (for narrowing by the other words of the query).

A query reads the pages of its longest word (one ``GetItem`` per page, at most
:data:`MAX_PAGES_PER_REQUEST`), keeps the entries whose words also match every other query word by
prefix, and fetches the products with one ``BatchGetItem``: the cost of a request does not depend
on the size of the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from portal_common.patterns import is_din
from portal_common.text import normalized, words

MIN_PREFIX = 3
MAX_PREFIX = 15
PAGE_SIZE = 100
MAX_PAGES_PER_REQUEST = 3
MAX_QUERY_LENGTH = 100
RANK_EXACT_BRAND, RANK_BRAND_FIRST_WORD, RANK_BRAND_WORD, RANK_INGREDIENT = 0, 1, 2, 3
# Words that never start a search (they still narrow one: "acide acetylsalicylique").
_NOT_INDEXED = frozenset({"and", "with", "the", "for", "des", "les", "usp", "avec", "pour", "sans"})


@dataclass(frozen=True)
class SearchDocument:
    """What the index knows about one product."""

    din: str
    brand_names: tuple[str, ...]  # English first, then French when different
    ingredient_names: tuple[str, ...]
    strengths: tuple[str, ...] = ()

    @property
    def sort_name(self) -> str:
        return normalized(self.brand_names[0]) if self.brand_names else ""

    def brand_words(self) -> list[list[str]]:
        return [words(name) for name in self.brand_names]

    def ingredient_words(self) -> set[str]:
        return {w for name in self.ingredient_names for w in words(name)}

    def all_words(self) -> list[str]:
        """Every word a query may match by prefix (brands, ingredients, strengths like ``10mg``)."""
        seen: dict[str, None] = {}
        for ws in self.brand_words():
            seen.update(dict.fromkeys(ws))
        seen.update(dict.fromkeys(sorted(self.ingredient_words())))
        seen.update(dict.fromkeys(self.strengths))
        return list(seen)

    def ranks(self) -> dict[str, int]:
        """Best rank of this product for every indexed prefix."""
        best: dict[str, int] = {}

        def offer(word: str, rank: int) -> None:
            if len(word) < MIN_PREFIX or word in _NOT_INDEXED or word.isdigit():
                return
            for length in range(MIN_PREFIX, min(len(word), MAX_PREFIX) + 1):
                prefix = word[:length]
                if best.get(prefix, 9) > rank:
                    best[prefix] = rank

        for brand in self.brand_words():
            for position, word in enumerate(brand):
                offer(word, RANK_BRAND_FIRST_WORD if position == 0 else RANK_BRAND_WORD)
            if len(brand) == 1 and len(brand[0]) <= MAX_PREFIX:
                offer_exact = brand[0]
                if len(offer_exact) >= MIN_PREFIX and not offer_exact.isdigit():
                    best[offer_exact] = RANK_EXACT_BRAND
        for word in self.ingredient_words():
            offer(word, RANK_INGREDIENT)
        return best


def strength_words(strength: str, unit: str) -> list[str]:
    """``("10", "MG")`` -> ``["10", "mg", "10mg"]``: ``lipitor 10``, ``lipitor 10 mg`` and
    ``lipitor 10mg`` all narrow; ``("0.50", "MG")`` -> ``["0", "5", "mg", "05mg"]``."""
    value = strength.strip()
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    value_words = words(value)
    if not value_words:
        return []
    unit_words = words(unit.split("/")[0])
    out = [*value_words, *unit_words]
    if unit_words:
        out.append("".join(value_words) + unit_words[0])
    return list(dict.fromkeys(out))


def encode_entry(rank: int, din: str, search_words: Iterable[str]) -> str:
    """One page entry."""
    return f"{rank}{din}{' '.join(search_words)}"


def decode_entry(entry: str) -> tuple[int, str, list[str]]:
    """``(rank, din, words)`` of a page entry."""
    return int(entry[0]), entry[1:9], entry[9:].split()


def build_pages(documents: Iterable[SearchDocument]) -> dict[str, list[list[str]]]:
    """Prefix -> pages of entries (ranked), for every indexed prefix of every document."""
    per_prefix: dict[str, list[tuple[int, str, str, str]]] = {}
    for doc in documents:
        entry_words = doc.all_words()
        tail = " ".join(entry_words)
        for prefix, rank in doc.ranks().items():
            per_prefix.setdefault(prefix, []).append((rank, doc.sort_name, doc.din, tail))
    pages: dict[str, list[list[str]]] = {}
    for prefix, entries in per_prefix.items():
        entries.sort()
        flat = [encode_entry(rank, din, [tail]) for rank, _, din, tail in entries]
        pages[prefix] = [flat[i : i + PAGE_SIZE] for i in range(0, len(flat), PAGE_SIZE)]
    return pages


def search_page_key(prefix: str, number: int) -> dict[str, str]:
    """Key of one page of a prefix's series in the drugs table."""
    return {"PK": f"SEARCH#{prefix}", "SK": f"PAGE#{number:04d}"}


@dataclass(frozen=True)
class SearchPage:
    """One stored page of a prefix's series (``entityType=DRUG_SEARCH_PAGE``)."""

    prefix: str
    number: int
    pages: int  # how many pages the series has
    total: int  # how many entries the series has
    entries: tuple[str, ...]

    def to_item(self) -> dict[str, Any]:
        """The drugs-table item (entries joined by newlines: one string attribute)."""
        return {
            **search_page_key(self.prefix, self.number),
            "entityType": "DRUG_SEARCH_PAGE",
            "page": self.number,
            "pages": self.pages,
            "total": self.total,
            "entries": "\n".join(self.entries),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SearchPage:
        """A stored page (read leniently: a missing ``pages`` counts as one page)."""
        return cls(
            prefix=str(item["PK"]).removeprefix("SEARCH#"),
            number=int(item.get("page", 0)),
            pages=int(item.get("pages", 1)),
            total=int(item.get("total", 0)),
            entries=tuple(str(item.get("entries") or "").split("\n")),
        )


@dataclass(frozen=True)
class ParsedQuery:
    """A search query: a DIN, or words (the longest one reads the index)."""

    din: str | None
    words: tuple[str, ...]

    @property
    def lead(self) -> str:
        """The word whose pages are read: the longest indexed one, truncated to :data:`MAX_PREFIX`."""
        indexed = [w for w in self.words if len(w) >= MIN_PREFIX and not w.isdigit() and w not in _NOT_INDEXED]
        return max(indexed or self.words, key=len)[:MAX_PREFIX]

    @property
    def scope(self) -> str:
        """What a cursor is bound to."""
        return "drugs:" + (self.din or " ".join(self.words))

    def matches(self, entry_words: list[str]) -> bool:
        """Every query word is a prefix of one of the product's words."""
        return all(any(w.startswith(q) for w in entry_words) for q in self.words)


def parse_query(q: str) -> ParsedQuery | None:
    """``None`` when no word is long enough to search by (the caller answers 400)."""
    text = q.strip()
    if is_din(text):
        return ParsedQuery(din=text, words=())
    query_words = tuple(dict.fromkeys(words(text)))
    if not query_words or max(len(w) for w in query_words) < MIN_PREFIX:
        return None
    return ParsedQuery(din=None, words=query_words)
