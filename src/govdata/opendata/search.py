"""Searching the open datasets (the portal's search page and CKAN's ``package_search``).

The query is segmented as the catalog's search segments it (``catalog.search.parse_query``: jieba words, lone
characters joined to their neighbour, function characters dropped), and every word must occur in the
dataset's ``search_text`` — its name, summary, item names, department, classification and keywords, NFKC
normalised and lower-cased — as a substring. A substring match is what a Chinese user expects (any part of
a name finds it, whatever the segmenter made of it); words go in as bound ``LIKE`` patterns with their
wildcards escaped, so input is never query syntax.

Cost, N open datasets, M matching, K distinct facet combinations (≪ N): one scan of N rows testing the
patterns and grouping the M matches by (department, theme, format, update cycle, has API) — O(N) with a
small constant, no per-row Python —, O(K) in Python for the total and the facets, then one query for the
page: O(N + M log P) for a page of P. Measured at 10,000 datasets in ``bench/opendata.py``. A portal with
far more datasets than a city's would move this to PostgreSQL full-text search (the catalog's tsvector
backend shows the way) — not needed at the sizes an open-data portal has.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, desc, func, select
from sqlalchemy.orm import Session

from govdata.catalog import search as catalog_search
from govdata.catalog.search_backends import Term
from govdata.errors import ValidationFailed
from govdata.i18n import N_
from govdata.opendata.models import OpenDataset

FACETS = ("provider", "theme", "format", "update_cycle", "has_api")
# sort key → (label msgid, ORDER BY columns); "relevance" is built per query
SORTS = {
    "relevance": N_("相关度"),
    "newest": N_("最新开放"),
    "updated": N_("最近更新"),
    "views": N_("浏览最多"),
    "downloads": N_("下载最多"),
    "api_calls": N_("调用最多"),
    "rating": N_("评分最高"),
    "name": N_("名称"),
}
MAX_PAGE_SIZE = 1000


@dataclass
class Filters:
    provider: str | None = None
    theme: str | None = None
    format: str | None = None
    update_cycle: str | None = None
    has_api: bool | None = None
    codes: tuple[str, ...] | None = None  # CKAN's fq on id/name

    def values(self) -> tuple[Any, ...]:
        return (self.provider, self.theme, self.format, self.update_cycle, self.has_api)


@dataclass
class Result:
    total: int
    datasets: list[OpenDataset] = field(default_factory=list)
    facets: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)  # facet → (value, label, n)


def patterns(q: str | None) -> list[list[str]]:
    """The query's words as groups of substrings: a dataset matches when, for every group, it contains every
    substring of the group (a Chinese run jieba split into words is one group of those words)."""
    groups = []
    for term in catalog_search.parse_query(q):
        parts = term.parts or (term,)
        groups.append([_text(p) for p in parts])
    return groups


def _text(term: Term) -> str:
    return term.text.lower()


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _match(groups: list[list[str]]) -> ColumnElement[bool] | None:
    conditions = [OpenDataset.search_text.like(_like(s), escape="\\") for group in groups for s in group]
    return and_(*conditions) if conditions else None


def _name_match(groups: list[list[str]]) -> ColumnElement[bool] | None:
    name = func.lower(OpenDataset.name)
    conditions = [name.like(_like(s), escape="\\") for group in groups for s in group]
    return and_(*conditions) if conditions else None


def _where(match: ColumnElement[bool] | None, filters: Filters | None) -> list[ColumnElement[bool]]:
    where = [OpenDataset.status == "open"]
    if match is not None:
        where.append(match)
    if filters is None:
        return where
    if filters.codes is not None:
        where.append(OpenDataset.code.in_(filters.codes))
    for column, value in zip(_FACET_COLUMNS, filters.values(), strict=True):
        if value is not None:
            where.append(column == value)
    return where


def conditions(q: str | None, filters: Filters | None) -> list[ColumnElement[bool]]:
    """The WHERE of ``search`` for ``q`` and ``filters`` (the CKAN API counts its own facets with it)."""
    return _where(_match(patterns(q)), filters)


_FACET_COLUMNS = (OpenDataset.provider, OpenDataset.theme_code, OpenDataset.format, OpenDataset.update_cycle,
                  OpenDataset.has_api)


def _order(sort: str, groups: list[list[str]]) -> list[Any]:
    used = OpenDataset.views + OpenDataset.downloads + OpenDataset.api_calls
    if sort == "relevance":
        name_match = _name_match(groups)
        first = [case((name_match, 0), else_=1)] if name_match is not None else []
        return [*first, desc(used), desc(OpenDataset.modified_at)]
    return {
        "newest": [desc(OpenDataset.opened_at)],
        "updated": [desc(OpenDataset.data_updated_at)],
        "views": [desc(OpenDataset.views)],
        "downloads": [desc(OpenDataset.downloads)],
        "api_calls": [desc(OpenDataset.api_calls)],
        # unrated (NULL average) last on both engines: PostgreSQL puts NULLs first in a descending sort
        "rating": [desc(OpenDataset.rating_sum * 1.0 / func.nullif(OpenDataset.rating_count, 0)).nulls_last(),
                   desc(OpenDataset.rating_count)],
        "name": [OpenDataset.name_pinyin],
    }[sort] + [OpenDataset.code]


def check_sort(sort: str) -> str:
    if sort not in SORTS:
        raise ValidationFailed(f"排序方式无效:{sort}(可用:{'、'.join(SORTS)})", code="invalid_sort")
    return sort


def search(db: Session, *, q: str | None = None, filters: Filters | None = None, sort: str = "relevance",
           page: int = 1, page_size: int = 20, order: list[Any] | None = None,
           offset: int | None = None) -> Result:
    """Open datasets matching every word of ``q`` and the filters: total, one page, facets.

    Facets follow the faceted-search rule: each is counted with every filter except its own. ``order``
    (SQL ORDER BY terms) overrides ``sort``; ``offset`` overrides ``page`` (the CKAN API's start)."""
    check_sort(sort)
    groups = patterns(q)
    if sort == "relevance" and not groups:
        sort = "newest"
    filters = filters or Filters()
    match = _match(groups)
    total, facets = _facets(db, match, filters)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    start = offset if offset is not None else (max(1, page) - 1) * page_size
    if start >= total:
        return Result(total=total, facets=facets)
    # the page's codes first (on SQLite from the covering index, not the wide rows), then those rows by key
    stmt = (select(OpenDataset.code).where(*_where(match, filters)).order_by(*(order or _order(sort, groups)))
            .limit(page_size).offset(start))
    codes = list(db.scalars(stmt))
    rows = {d.code: d for d in db.scalars(select(OpenDataset).where(OpenDataset.code.in_(codes)))}
    return Result(total=total, datasets=[rows[c] for c in codes if c in rows], facets=facets)


def _facets(db: Session, match: ColumnElement[bool] | None, filters: Filters
            ) -> tuple[int, dict[str, list[tuple[str, str, int]]]]:
    code_filter = Filters(codes=filters.codes)
    columns = (*_FACET_COLUMNS, OpenDataset.provider_name, OpenDataset.theme_name)
    rows = db.execute(select(*columns, func.count()).where(*_where(match, code_filter)).group_by(*columns)).all()
    wanted = filters.values()
    counts: list[Counter[str]] = [Counter() for _ in FACETS]
    labels: dict[tuple[int, str], str] = {}
    total = 0
    for row in rows:
        values, n = row[:5], row[-1]
        misses = [i for i, (v, w) in enumerate(zip(values, wanted, strict=True)) if w is not None and v != w]
        if not misses:
            total += n
        for i, value in enumerate(values):
            if not misses or misses == [i]:
                key = _facet_value(value)
                counts[i][key] += n
        labels[(0, row[0])] = row[5]
        labels[(1, row[1])] = row[6]
    facets = {name: [(value, labels.get((i, value), value), n) for value, n in counts[i].most_common()]
              for i, name in enumerate(FACETS)}
    return total, facets


def _facet_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
