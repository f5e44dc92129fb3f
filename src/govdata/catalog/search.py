"""Full-text search over the published catalog, with facets and relevance ranking.

What is indexed, per published entry: the name (its own column, ranked highest) and a body made of the
summary, the item names, the provider's name and the classification path. Each text is normalised (NFKC:
full-width letters and digits become ASCII) and turned into *terms*:

* the words of ``jieba.cut_for_search`` (出生医学证明信息 → 出生 医学 证明 信息), which carry the ranking, and
* every CJK bigram of each run of Chinese characters, plus the run's last character (出生 生医 医学 学证 证明
  明 …), which give recall: any Chinese substring a user types is found, whatever jieba made of its context.

A query is segmented with ``jieba.cut`` into words; every word must match (AND). A Chinese word matches as a
substring (the phrase of its bigrams) and, for ranking, also as a jieba word; a lone Chinese character is
joined to its neighbour in the query (出生医学证 → 出生 + 医学证), or matched as a prefix when it stands
alone; common function characters (的 和 与 …) are dropped. Other words (ASCII, digits) match whole tokens,
case-insensitively. Every word reaches the engine as a quoted string (SQLite FTS5) or a bind parameter of
``phraseto_tsquery`` (PostgreSQL), so user input is never query syntax. See docs/decisions.md, "Catalog
search (issue 3)".

Storage (migration 0004; the SQL and its reasons are in ``search_backends``): on SQLite an FTS5 table
``catalog_search`` whose rowid encodes (publication sequence, facet combination), a small table of facet
combinations with their entry counts, and a narrow per-entry table; on PostgreSQL a table ``catalog_search``
with a tsvector (names weighted A, bodies B; GIN index, ranked by ``ts_rank_cd``) and copies of the facet,
filter and sort columns.

Hot path of ``search`` on SQLite (N indexed entries, M entries matching ``q``, K ≤ a few thousand distinct
combinations of provider/classification/share type/format/open, P = page × page_size):

1. facet counts: one FTS5 count, then one pass over min(M, N − M) matching (or, when more than half the
   catalog matches, non-matching) rowids, tallied per combination — O(min(M, N − M)) with a small constant
   (~0.1 µs) and no join, sort or per-row Python object beyond one short string; plus O(K) to read the
   combinations and count total and facets in Python. Without ``q``: O(K), the counts are kept on write.
2. the page: filters are a set of combination ids tested on the rowid. Relevance: bm25 over the matches
   when there are at most ``RANK_LIMIT`` (O(M log P)), otherwise entries whose name matches first, then
   the others, each newest first — like "newest", O(P) rowids read in order. "name" sorts the M matches.
3. one primary-key fetch of the page's ``page_size`` ``CatalogEntry`` rows.

PostgreSQL runs one GROUP BY over the matching ``catalog_search`` rows for the facets (O(M) heap rows; O(N)
index entries without ``q``) and one filtered query for the page: O(M log P), bm25's role taken by
``ts_rank_cd`` up to ``RANK_LIMIT`` matches and by "names first, newest first" beyond.

Facet counts follow the usual faceted-search rule: each facet is counted with every filter applied except
its own, so a user can see (and switch to) the other values of a facet they have already filtered on.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import search_backends
from govdata.catalog.models import CatalogEntry
from govdata.catalog.search_backends import Combination, Filters, IndexRow, Term
from govdata.db import utcnow

FACETS = ("provider", "classification", "share_type", "format", "open")
SORTS = ("relevance", "newest", "name")
MAX_QUERY_CHARS = 200
MAX_TERMS = 12
MAX_PAGE_SIZE = 500
BATCH = 2000  # rows per executemany in bulk indexing

# Single characters that carry no meaning of their own in a catalog query (出生和死亡 → 出生 死亡).
FUNCTION_CHARS = frozenset("的和与及或等之了在是对为以其从把被由向")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_ALL_CJK = re.compile(f"[{_CJK}]+$")

_jieba_lock = threading.Lock()
_jieba_module: Any = None


def _jieba() -> Any:
    """jieba, loaded once per process (about half a second), with its chatter on stderr turned off."""
    global _jieba_module
    if _jieba_module is None:
        with _jieba_lock:
            if _jieba_module is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_module = jieba
    return _jieba_module


# ---- text → terms ------------------------------------------------------------------------------

def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def grams(run: str) -> list[str]:
    """Bigrams of a run of Chinese characters, then its last character (which also ends the run, so that
    no phrase can match across two runs)."""
    return [run[i:i + 2] for i in range(len(run) - 1)] + [run[-1]]


@lru_cache(maxsize=200_000)
def terms_of(text: str) -> str:
    """The indexed terms of one text, space-separated: jieba search-mode words, then CJK bigrams.

    Chinese words of one or two characters are left out of the jieba part: each is already a bigram (or
    the run-final character) at the same place, so indexing it twice would only double the postings.
    Cached: item names, provider names and classification paths repeat across thousands of entries."""
    text = normalize(text)
    if not text:
        return ""
    words = [w for w in _jieba().cut_for_search(text) if _is_word(w) and not (len(w) <= 2 and _ALL_CJK.match(w))]
    bigrams = [g for run in _CJK_RUN.findall(text) for g in grams(run)]
    return " ".join(words + bigrams)


def document_terms(entry: CatalogEntry) -> tuple[str, str]:
    """(name terms, body terms) of a published entry."""
    doc = entry.document or {}
    body = [doc.get("summary") or "", entry.provider_name or "", entry.classification_path or ""]
    body += [item.get("name") or "" for item in doc.get("items") or [] if isinstance(item, dict)]
    return terms_of(entry.name or ""), " ".join(t for t in map(terms_of, body) if t)


def _cjk_term(chunk: str) -> Term:
    return Term(chunk, cjk=True, grams=tuple(grams(chunk)[:-1]) if len(chunk) > 1 else ())


def parse_query(q: str | None) -> list[Term]:
    """The words of a query as search terms, all of which must match; empty when nothing searchable is
    left (the search then behaves as without a query).

    A run of Chinese characters that jieba splits into several words becomes one term whose ``parts`` are
    those words: it matches when every part does, and ranks higher where the whole run occurs as typed."""
    if not q:
        return []
    text = normalize(q)[:MAX_QUERY_CHARS]
    if not text:
        return []
    terms: list[Term] = []
    run: list[str] = []

    def flush() -> None:
        merged: list[str] = []
        pending = ""
        for word in run:
            if len(word) > 1:
                merged.append(pending + word)
                pending = ""
            elif merged:
                merged[-1] += word
            else:
                pending += word
        if pending:
            merged.append(pending)
        if len(merged) == 1:
            terms.append(_cjk_term(merged[0]))
        elif merged:
            whole = "".join(merged)
            parts = tuple(dict.fromkeys(_cjk_term(m) for m in merged))
            terms.append(Term(whole, cjk=True, grams=_cjk_term(whole).grams, parts=parts))
        run.clear()

    for word in _jieba().cut(text):
        if _ALL_CJK.match(word):
            if word in FUNCTION_CHARS:
                flush()
            else:
                run.append(word)
            continue
        flush()
        if _is_word(word):
            terms.append(Term(word, cjk=False))
    flush()
    unique, size = [], 0
    for term in dict.fromkeys(terms):
        size += max(1, len(term.parts))
        if size > MAX_TERMS:
            break
        unique.append(term)
    return unique


# ---- writing the index -------------------------------------------------------------------------

def _row(entry: CatalogEntry) -> IndexRow:
    name_terms, body_terms = document_terms(entry)
    return IndexRow(resource_id=entry.resource_id, name_terms=name_terms, body_terms=body_terms, name=entry.name,
                    provider=entry.provider, classification_code=entry.classification_code,
                    share_type=entry.share_type, format=entry.format, open=bool(entry.open),
                    update_cycle=entry.update_cycle, published_at=entry.published_at or utcnow())


def index_entry(db: Session, entry: CatalogEntry) -> None:
    """Replace the entry's row in the index. Runs inside the caller's transaction; does not commit."""
    index_many(db, [entry])


def index_many(db: Session, entries: Iterable[CatalogEntry]) -> int:
    """Index (or re-index) many entries, in batches; the bulk path of imports. Does not commit.

    ``entries`` may also be plain rows with ``CatalogEntry``'s column names (``rebuild`` streams those).
    On SQLite the order given is the order of publication for "newest first": pass oldest first."""
    backend = search_backends.for_session(db)
    count, batch = 0, {}
    for entry in entries:
        batch.pop(entry.resource_id, None)  # the same entry twice in a batch: the later one wins
        batch[entry.resource_id] = _row(entry)
        if len(batch) >= BATCH:
            backend.write(db, list(batch.values()))
            count += len(batch)
            batch = {}
    if batch:
        backend.write(db, list(batch.values()))
        count += len(batch)
    if count >= BATCH:
        backend.after_bulk(db)
    return count


def remove_entry(db: Session, resource_id: int) -> None:
    """Take a resource out of the index (it is no longer published). Does not commit."""
    search_backends.for_session(db).delete(db, [resource_id])


def rebuild(db: Session) -> int:
    """Re-index the whole published catalog (``govdata catalog reindex``), oldest publication first;
    returns the number of entries. Does not commit: until the caller commits, readers see the old index."""
    backend = search_backends.for_session(db)
    backend.clear(db)
    ids = list(db.scalars(select(CatalogEntry.resource_id)
                          .order_by(CatalogEntry.published_at, CatalogEntry.resource_id)))
    columns = [CatalogEntry.resource_id, CatalogEntry.name, CatalogEntry.provider, CatalogEntry.provider_name,
               CatalogEntry.classification_code, CatalogEntry.classification_path, CatalogEntry.format,
               CatalogEntry.share_type, CatalogEntry.open, CatalogEntry.update_cycle, CatalogEntry.published_at,
               CatalogEntry.document]
    count = 0
    for start in range(0, len(ids), BATCH):  # plain rows, chunk by chunk: memory stays flat
        chunk = ids[start:start + BATCH]
        rows = {r.resource_id: r for r in db.execute(select(*columns).where(CatalogEntry.resource_id.in_(chunk)))}
        count += index_many(db, [rows[i] for i in chunk if i in rows])
    backend.optimize(db)
    return count


# ---- searching ---------------------------------------------------------------------------------

@dataclass
class SearchResult:
    total: int
    entries: list[CatalogEntry] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def search(db: Session, *, q: str | None, provider: str | None = None, classification: str | None = None,
           share_type: str | None = None, format: str | None = None, open: bool | None = None,
           update_cycle: str | None = None, page: int = 1, page_size: int = 20,
           sort: str = "relevance") -> SearchResult:
    """Published entries matching every word of ``q`` and the filters: the total, one page of entries and
    the facets (``provider``, ``classification`` (top-level class codes), ``share_type``, ``format``,
    ``open`` ("true"/"false"), each a list of (value, count) by count descending).

    ``classification`` matches a classification code and its descendants (``2`` → every theme class).
    Without a searchable ``q`` every published entry matches, newest first unless ``sort="name"``.
    """
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; expected one of {SORTS}")
    terms = parse_query(q)
    if sort == "relevance" and not terms:
        sort = "newest"
    filters = Filters(provider=provider or None, classification=(classification or "").strip() or None,
                      share_type=share_type or None, format=format or None, open=open)
    update_cycle = update_cycle or None
    page, page_size = max(1, page), min(max(1, page_size), MAX_PAGE_SIZE)
    backend = search_backends.for_session(db)

    combos = backend.combinations(db, terms, update_cycle)
    total, facets, keys = count_facets(combos, filters)
    offset = (page - 1) * page_size
    if offset >= total:
        return SearchResult(total=total, entries=[], facets=facets)
    ids = backend.page_ids(db, terms, filters, keys, update_cycle, sort, page_size, offset, total)
    by_id = {e.resource_id: e for e in db.scalars(select(CatalogEntry).where(CatalogEntry.resource_id.in_(ids)))}
    return SearchResult(total=total, entries=[by_id[i] for i in ids if i in by_id], facets=facets)


def count_facets(combos: Iterable[Combination], filters: Filters) -> tuple[int, dict[str, list[tuple[str, int]]], list]:
    """Total, facet counts and the keys of the combinations that pass every filter, from
    (key, provider, classification_code, share_type, format, open, count) rows. O(combinations).

    A combination passing every filter counts in the total and in every facet; one failing exactly one
    filter counts only in that filter's facet (each facet ignores its own filter)."""
    provider, cls_prefix, share_type, fmt, is_open = (filters.provider, filters.classification, filters.share_type,
                                                      filters.format, filters.open)
    counts: list[dict[str, int]] = [{} for _ in FACETS]
    c_prov, c_cls, c_share, c_fmt, c_open = counts
    total, keys = 0, []
    for key, prov, cls, share, form, opened, n in combos:
        failed, miss = 0, -1
        if provider is not None and prov != provider:
            failed, miss = failed + 1, 0
        if cls_prefix is not None and not cls.startswith(cls_prefix):
            failed, miss = failed + 1, 1
        if share_type is not None and share != share_type:
            failed, miss = failed + 1, 2
        if fmt is not None and form != fmt:
            failed, miss = failed + 1, 3
        if is_open is not None and opened != is_open:
            failed, miss = failed + 1, 4
        if failed == 0:
            total += n
            keys.append(key)
            c_prov[prov] = c_prov.get(prov, 0) + n
            c_cls[cls[:3]] = c_cls.get(cls[:3], 0) + n
            c_share[share] = c_share.get(share, 0) + n
            c_fmt[form] = c_fmt.get(form, 0) + n
            c_open["true" if opened else "false"] = c_open.get("true" if opened else "false", 0) + n
        elif failed == 1:
            value = (prov, cls[:3], share, form, "true" if opened else "false")[miss]
            counts[miss][value] = counts[miss].get(value, 0) + n
    facets = {name: sorted(c.items(), key=lambda kv: (-kv[1], kv[0])) for name, c in zip(FACETS, counts, strict=True)}
    return total, facets, keys
