"""The SQL of catalog search, per dialect: SQLite FTS5 (the embedded default) and PostgreSQL full text.

Tables (migration 0004; not SQLAlchemy models — Alembic's comparison skips every ``catalog_search*`` table):

SQLite
  ``catalog_search``         FTS5 (name, body, tags): name and body hold the terms made by
                             ``search.terms_of``; tags (bm25 weight 0) hold the entry's filter values as
                             tokens no query word can produce, and ``EVERY_ENTRY_TERM``, so that filters are
                             doclist intersections and ``tags : "<it>" NOT (q)`` lists the non-matches.
  ``catalog_search_combos``  one row per distinct (provider, classification_code, share_type, format, open)
                             with the number of indexed entries having it, kept up to date on every write:
                             a few thousand rows however large the catalog. Rows are never deleted.
  ``catalog_search_docs``    one row per indexed entry: resource_id, its FTS rowid (``doc_id``), its combo
                             id, update_cycle and name (for the filter and the sort the rowid does not carry).
  A BEFORE DELETE trigger on ``catalog_entries`` removes an entry's index rows, as PostgreSQL's cascade does.

  The FTS rowid is ``seq << 20 | combo``: ``seq`` grows with every (re-)indexing, so rowid order is
  publication order, and the low bits say which facet values the entry has. Facet counts are therefore
  computed from the FTS doclist alone: FTS5 walks matching rowids at ~30 ns each, while a join,
  a GROUP BY sorter or bm25() each cost 1–2 µs per matching row (measured at 100k entries). The rowids are
  tallied in Python from one ``group_concat`` string; when more than half the catalog matches, the
  non-matching rowids are tallied instead and subtracted from the per-combination totals. Newest-first pages
  read ``offset + limit`` rowids (FTS5 delivers them in order) and stop.

  Relevance: bm25 (name weight 10, body 1) when at most ``RANK_LIMIT`` entries match after the filters;
  beyond that, entries whose *name* matches the query first, then the others, each newest first — a word
  in tens of thousands of entries (柳州, 登记) has no bm25 order worth ~2 µs per match.

PostgreSQL
  ``catalog_search``: resource_id (cascading from ``catalog_entries``), ``document`` tsvector (name terms
  weighted A, body terms B; GIN index), ``names`` tsvector (the name alone) and copies of the facet, filter
  and sort columns, so that search reads no ``catalog_entries`` row but the page's. Facets are one GROUP BY
  (an index-only scan without a query); relevance is ``ts_rank_cd`` up to ``RANK_LIMIT`` matches, then names
  matching first, newest first, as on SQLite. A match costs a heap visit of its ~1.5 KB row, so a word in
  half of 100k entries takes 50–250 ms (bench/catalog_search.py).

User text only ever reaches SQL as a bind parameter; on SQLite it is also quoted as an FTS5 string. The
statements are assembled from fixed fragments (column names, clause templates, our own parameter names) —
hence the ``noqa: S608`` — never from a value.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

COMBO_BITS = 20
COMBO_MASK = (1 << COMBO_BITS) - 1
RANK_LIMIT = 2000  # most matches ranked by bm25 (SQLite; ~2 µs each)
EVERY_ENTRY_TERM = "\ue000"  # in every entry's tags: 'tags : "\ue000" NOT (q)' lists the entries not matching q
FILTER_TAG = "\ue001"  # starts the tags of filter values (see _tag)
SQLITE_WEIGHTS = (10.0, 1.0)  # bm25 weights of the name and body columns


@dataclass(frozen=True)
class Term:
    """One word of a query. Chinese terms match as substrings (the phrase of their bigrams); a run that
    jieba split into words has those words as ``parts``, each of which must match."""

    text: str
    cjk: bool
    grams: tuple[str, ...] = field(default=(), compare=False)
    parts: tuple[Term, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Filters:
    provider: str | None = None
    classification: str | None = None  # a code prefix
    share_type: str | None = None
    format: str | None = None
    open: bool | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.provider, self.classification, self.share_type, self.format,
                                           self.open))


@dataclass(frozen=True)
class IndexRow:
    resource_id: int
    name_terms: str
    body_terms: str
    name: str
    provider: str
    classification_code: str
    share_type: str
    format: str
    open: bool
    update_cycle: str
    published_at: datetime

    @property
    def combo(self) -> tuple[str, str, str, str, bool]:
        return self.provider, self.classification_code, self.share_type, self.format, self.open


# (key, provider, classification_code, share_type, format, open, count); key: the combo id on SQLite
Combination = tuple[Any, str, str, str, str, bool, int]


def _rows(db: Session, sql: str, params: dict[str, Any]) -> list[tuple]:
    """Plain tuples from the session's own DBAPI connection (same transaction): the hot reads return
    thousands of small rows, for which SQLAlchemy's row objects would cost more than the query."""
    cursor = db.connection().connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


class SQLiteBackend:
    name = "sqlite"

    # ---- query text ----

    @classmethod
    def match(cls, terms: Sequence[Term]) -> str:
        """An FTS5 query: every word a quoted string (``"`` doubled), so nothing typed is ever syntax."""
        return " AND ".join(cls._term(t) for t in terms)

    @classmethod
    def _term(cls, term: Term) -> str:
        if term.parts:  # the run as typed ranks higher; every word of it must match
            return f"({_quote(' '.join(term.grams))} OR ({' AND '.join(cls._term(p) for p in term.parts)}))"
        if term.cjk and len(term.text) == 1:
            return _quote(term.text) + " *"
        if term.cjk and len(term.text) > 2:  # the jieba word (ranking) or its bigrams (recall)
            return f"({_quote(term.text)} OR {_quote(' '.join(term.grams))})"
        return _quote(term.text)

    @staticmethod
    def _filtered(expr: str | None, filters: Filters | None, update_cycle: str | None) -> str:
        """``expr`` (or every entry) AND the tags of the filters: FTS5 intersects the doclists, so a
        selective filter makes the query cheaper instead of costing a check per matching row."""
        parts = [f"({expr})" if expr else f"tags : {_quote(EVERY_ENTRY_TERM)}"]
        tags = [] if filters is None else [
            *([_tag("p", filters.provider)] if filters.provider is not None else []),
            *([_tag("c", filters.classification)] if filters.classification is not None else []),
            *([_tag("s", filters.share_type)] if filters.share_type is not None else []),
            *([_tag("f", filters.format)] if filters.format is not None else []),
            *([_tag("o", "1" if filters.open else "0")] if filters.open is not None else [])]
        tags += [_tag("u", update_cycle)] if update_cycle is not None else []
        return " AND ".join(parts + [f"tags : {_quote(t)}" for t in tags])

    # ---- writing ----

    def _combo_ids(self, db: Session, combos: set[tuple]) -> dict[tuple, int]:
        params = [{**dict(zip(("provider", "cls", "share", "fmt", "open"), c, strict=True)), "crc": _crc(c)}
                  for c in combos]
        db.execute(text("INSERT OR IGNORE INTO catalog_search_combos (provider, classification_code, share_type, "
                        "format, open, entries, crc) VALUES (:provider, :cls, :share, :fmt, :open, 0, :crc)"), params)
        if len(params) <= 8:
            rows = [db.execute(text("SELECT id, provider, classification_code, share_type, format, open FROM "
                                    "catalog_search_combos WHERE provider = :provider AND classification_code = :cls "
                                    "AND share_type = :share AND format = :fmt AND open = :open"), p).one()
                    for p in params]
        else:
            rows = db.execute(text("SELECT id, provider, classification_code, share_type, format, open "
                                   "FROM catalog_search_combos")).all()
        ids = {(p, c, s, f, bool(o)): i for i, p, c, s, f, o in rows}
        if max(ids.values(), default=0) > COMBO_MASK:
            raise RuntimeError("catalog search: more than 2**20 facet combinations; widen COMBO_BITS")
        return ids

    def _count(self, db: Session, combos: Counter, sign: int) -> None:
        db.execute(text("UPDATE catalog_search_combos SET entries = entries + :n WHERE id = :id"),
                   [{"id": combo, "n": sign * n} for combo, n in combos.items()])

    @staticmethod
    def _tags(row: IndexRow) -> str:
        """The entry's filter values as tokens; the classification as each of its prefixes (2 → 201 → 20101)."""
        cls = row.classification_code
        prefixes = [_tag("c", cls[:n]) for n in range(1, len(cls) + 1)]
        return " ".join([EVERY_ENTRY_TERM, _tag("p", row.provider), *prefixes,
                         _tag("s", row.share_type), _tag("f", row.format), _tag("o", "1" if row.open else "0"),
                         _tag("u", row.update_cycle)])

    def write(self, db: Session, rows: Sequence[IndexRow]) -> None:
        combo_ids = self._combo_ids(db, {r.combo for r in rows})
        self.delete(db, [r.resource_id for r in rows])
        seq = (db.scalar(text("SELECT coalesce(max(doc_id), 0) FROM catalog_search_docs")) >> COMBO_BITS) + 1
        params = [{"resource_id": r.resource_id, "name_terms": r.name_terms, "body_terms": r.body_terms,
                   "tags": self._tags(r), "name": r.name, "update_cycle": r.update_cycle, "combo": combo_ids[r.combo],
                   "doc_id": ((seq + n) << COMBO_BITS) | combo_ids[r.combo]} for n, r in enumerate(rows)]
        db.execute(text("INSERT INTO catalog_search (rowid, name, body, tags) "
                        "VALUES (:doc_id, :name_terms, :body_terms, :tags)"), params)
        db.execute(text("INSERT INTO catalog_search_docs (resource_id, doc_id, combo, update_cycle, name) "
                        "VALUES (:resource_id, :doc_id, :combo, :update_cycle, :name)"), params)
        self._count(db, Counter(p["combo"] for p in params), +1)

    def delete(self, db: Session, resource_ids: Sequence[int]) -> None:
        old = db.execute(text("SELECT doc_id, combo FROM catalog_search_docs WHERE resource_id IN "
                              "(SELECT value FROM json_each(:ids))"), {"ids": json.dumps(list(resource_ids))}).all()
        if old:
            db.execute(text("DELETE FROM catalog_search WHERE rowid = :id"), [{"id": d} for d, _ in old])
            db.execute(text("DELETE FROM catalog_search_docs WHERE doc_id = :id"), [{"id": d} for d, _ in old])
            self._count(db, Counter(c for _, c in old), -1)

    def clear(self, db: Session) -> None:
        db.execute(text("DELETE FROM catalog_search"))
        db.execute(text("DELETE FROM catalog_search_docs"))
        db.execute(text("UPDATE catalog_search_combos SET entries = 0"))  # ids stay: they are in no rowid now

    def optimize(self, db: Session) -> None:
        """Merge the FTS5 index into one b-tree (after a rebuild: fewer segments to read per query)."""
        db.execute(text("INSERT INTO catalog_search (catalog_search) VALUES ('optimize')"))

    def after_bulk(self, db: Session) -> None:
        return None  # FTS5 merges its segments as it goes (automerge)

    # ---- reading ----

    def combinations(self, db: Session, terms: Sequence[Term], update_cycle: str | None) -> list[Combination]:
        """Entries per facet combination among the matches, from the FTS rowids alone; when more than half
        the catalog matches, from the per-combination totals minus the entries that do not match."""
        if not terms and update_cycle is None:
            return [(i, *values, n) for i, values, n in _combos(db)]
        if not terms:
            counts = dict(_rows(db, "SELECT combo, count(*) FROM catalog_search_docs WHERE update_cycle = :uc "
                                    "GROUP BY combo", {"uc": update_cycle}))
        else:
            expr = self.match(terms)
            match = self._filtered(expr, None, update_cycle)
            matched = _rows(db, "SELECT count(*) FROM catalog_search WHERE catalog_search MATCH :m", {"m": match})[0][0]
            everything = _rows(db, "SELECT coalesce(sum(entries), 0) FROM catalog_search_combos", {})[0][0]
            if update_cycle is None and matched * 2 > everything:  # count the entries that do not match
                missing = {} if matched == everything else _tally(
                    _rows(db, _CONCAT, {"m": f"tags : {_quote(EVERY_ENTRY_TERM)} NOT ({expr})"})[0][0])
                out = [(i, *values, n - missing.get(i, 0)) for i, values, n in _combos(db)]
                return [row for row in out if row[-1] > 0]
            counts = _tally(_rows(db, _CONCAT, {"m": match})[0][0]) if matched else {}
        if not counts:
            return []
        return [(i, *values, counts[i]) for i, values, _ in _combos(db, list(counts) if len(counts) < 300 else None)
                if i in counts]

    def page_ids(self, db: Session, terms: Sequence[Term], filters: Filters, keys: list, update_cycle: str | None,
                 sort: str, limit: int, offset: int, total: int) -> list[int]:
        params: dict[str, Any] = {"keys": json.dumps(keys), "uc": update_cycle, "limit": limit, "offset": offset}
        if not terms:  # the narrow entry table, walked in index order
            clauses = ["d.combo IN (SELECT value FROM json_each(:keys))"] if filters.active else []
            clauses += ["d.update_cycle = :uc"] if update_cycle is not None else []
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            order = "d.name, d.resource_id" if sort == "name" else "d.doc_id DESC"
            return [r[0] for r in _rows(db, f"SELECT d.resource_id FROM catalog_search_docs d {where} "  # noqa: S608
                                            f"ORDER BY {order} LIMIT :limit OFFSET :offset", params)]

        expr = self.match(terms)

        def select(match: str, order: str, lim: int, off: int) -> list[int]:
            sql = (f"SELECT rowid FROM catalog_search WHERE catalog_search MATCH :m "  # noqa: S608
                   f"ORDER BY {order} LIMIT :limit OFFSET :offset")
            return [r[0] for r in _rows(db, sql, {"m": self._filtered(match, filters, update_cycle),
                                                  "limit": lim, "offset": off})]

        if sort == "name":  # O(matches): names are only in catalog_search_docs
            sql = ("SELECT d.resource_id FROM catalog_search JOIN catalog_search_docs d ON d.doc_id = "
                   "catalog_search.rowid WHERE catalog_search MATCH :m ORDER BY d.name, d.resource_id "
                   "LIMIT :limit OFFSET :offset")
            return [r[0] for r in _rows(db, sql, {**params, "m": self._filtered(expr, filters, update_cycle)})]
        if sort == "newest":
            doc_ids = select(expr, "rowid DESC", limit, offset)
        elif total <= RANK_LIMIT:
            w_name, w_body = SQLITE_WEIGHTS
            doc_ids = select(expr, f"bm25(catalog_search, {w_name}, {w_body}, 0.0), rowid DESC", limit, offset)
        else:  # too many matches to rank: names matching the query first, then the others, each newest first
            in_name, elsewhere = f"name : ({expr})", f"({expr}) NOT name : ({expr})"
            doc_ids = select(in_name, "rowid DESC", limit, offset)
            if len(doc_ids) < limit:  # the page reaches past the names: where do the others start?
                n_name = offset + len(doc_ids) if doc_ids else _rows(
                    db, "SELECT count(*) FROM catalog_search WHERE catalog_search MATCH :m",
                    {"m": self._filtered(in_name, filters, update_cycle)})[0][0]
                doc_ids += select(elsewhere, "rowid DESC", limit - len(doc_ids), max(0, offset - n_name))
        found = dict(_rows(db, "SELECT doc_id, resource_id FROM catalog_search_docs WHERE doc_id IN "
                               "(SELECT value FROM json_each(:ids))", {"ids": json.dumps(doc_ids)}))
        return [found[d] for d in doc_ids if d in found]


_CONCAT = f"SELECT group_concat(rowid & {COMBO_MASK}) FROM catalog_search WHERE catalog_search MATCH :m"  # noqa: S608


# id → (crc, values) of facet combinations, for this process. A combination's values never change once
# written; the crc read with every query still catches an id reused after a rollback or a wiped table.
_combo_values: dict[int, tuple[int, tuple[str, str, str, str, bool]]] = {}


def _crc(values: tuple) -> int:
    return zlib.crc32("\x1f".join(map(str, values)).encode())


def _combos(db: Session, ids: list[int] | None = None) -> list[tuple[int, tuple[str, str, str, str, bool], int]]:
    """(id, (provider, classification_code, share_type, format, open), entries) of the combinations that
    have entries (of ``ids`` only, if given): three integers per row from the database, values cached."""
    where = " AND id IN (SELECT value FROM json_each(:ids))" if ids is not None else ""
    rows = _rows(db, f"SELECT id, entries, crc FROM catalog_search_combos WHERE entries > 0{where}",  # noqa: S608
                 {"ids": json.dumps(ids)})
    stale = [i for i, _, crc in rows if _combo_values.get(i, (None,))[0] != crc]
    if stale:
        for i, p, c, s, f, o, crc in _rows(db, "SELECT id, provider, classification_code, share_type, format, open, "
                                               "crc FROM catalog_search_combos WHERE id IN (SELECT value FROM "
                                               "json_each(:ids))", {"ids": json.dumps(stale)}):
            _combo_values[i] = (crc, (p, c, s, f, bool(o)))
    return [(i, _combo_values[i][1], n) for i, n, _ in rows]


def _tag(kind: str, value: str) -> str:
    """A filter value as one FTS token no query word can produce (a private-use character, then hex)."""
    return f"{FILTER_TAG}{kind}{value.encode().hex()}"


def _quote(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _tally(concat: str | None) -> dict[int, int]:
    """Counts of the comma-separated integers ``group_concat`` returns (a C-speed tally: SQLite's GROUP BY
    would sort every matching row)."""
    return {int(k): n for k, n in Counter(concat.split(",")).items()} if concat else {}


def _where(alias: str, filters: Filters, update_cycle: str | None) -> tuple[list[str], dict[str, Any]]:
    clauses, params = [], {}
    if update_cycle is not None:
        clauses.append(f"{alias}.update_cycle = :update_cycle")
        params["update_cycle"] = update_cycle
    for name in ("provider", "share_type", "format", "open"):
        value = getattr(filters, name)
        if value is not None:
            clauses.append(f"{alias}.{name} = :f_{name}")
            params[f"f_{name}"] = value
    if filters.classification is not None:
        clauses.append(f"substr({alias}.classification_code, 1, :f_cls_len) = :f_cls")
        params.update(f_cls=filters.classification, f_cls_len=len(filters.classification))
    return clauses, params


class PostgresBackend:
    name = "postgresql"

    @classmethod
    def tsquery(cls, terms: Sequence[Term]) -> tuple[str, dict[str, Any]]:
        """A tsquery expression over bind parameters: ``phraseto_tsquery`` reads its argument as plain
        text and ``quote_literal`` quotes the one character of a prefix term, so nothing typed is syntax."""
        params: dict[str, Any] = {}

        def render(term: Term) -> str:
            n = len(params)
            params[f"t{n}"] = term.text
            if term.parts:
                params[f"t{n}"] = " ".join(term.grams)
                inner = " && ".join(render(p) for p in term.parts)
                return f"(phraseto_tsquery('simple', :t{n}) || ({inner}))"
            if term.cjk and len(term.text) == 1:
                return f"to_tsquery('simple', quote_literal(:t{n}) || ':*')"
            if term.cjk and len(term.text) > 2:
                params[f"g{n}"] = " ".join(term.grams)
                return f"(phraseto_tsquery('simple', :t{n}) || phraseto_tsquery('simple', :g{n}))"
            return f"phraseto_tsquery('simple', :t{n})"

        return "(" + " && ".join(render(t) for t in terms) + ")", params

    def write(self, db: Session, rows: Sequence[IndexRow]) -> None:
        db.execute(text(
            "INSERT INTO catalog_search (resource_id, document, names, name, provider, classification_code, "
            "share_type, format, open, update_cycle, published_at) VALUES (:resource_id, "
            "setweight(to_tsvector('simple', :name_terms), 'A') || setweight(to_tsvector('simple', :body_terms), 'B'), "
            "to_tsvector('simple', :name_terms), :name, :provider, :classification_code, :share_type, :format, :open, "
            ":update_cycle, :published_at) ON CONFLICT (resource_id) DO UPDATE SET document = EXCLUDED.document, "
            "names = EXCLUDED.names, name = EXCLUDED.name, provider = EXCLUDED.provider, "
            "classification_code = EXCLUDED.classification_code, share_type = EXCLUDED.share_type, "
            "format = EXCLUDED.format, open = EXCLUDED.open, update_cycle = EXCLUDED.update_cycle, "
            "published_at = EXCLUDED.published_at"), [asdict(r) for r in rows])

    def delete(self, db: Session, resource_ids: Sequence[int]) -> None:
        db.execute(text("DELETE FROM catalog_search WHERE resource_id = :id"), [{"id": i} for i in resource_ids])

    def clear(self, db: Session) -> None:
        db.execute(text("DELETE FROM catalog_search"))

    def optimize(self, db: Session) -> None:
        self.after_bulk(db)

    def after_bulk(self, db: Session) -> None:
        """Fresh planner statistics now rather than when autovacuum comes by (about 0.2 s at 100k rows)."""
        db.execute(text("ANALYZE catalog_search"))

    def combinations(self, db: Session, terms: Sequence[Term], update_cycle: str | None) -> list[Combination]:
        clauses, params = _where("s", Filters(), update_cycle)
        if terms:
            tsq, tparams = self.tsquery(terms)
            clauses.insert(0, f"s.document @@ {tsq}")
            params.update(tparams)
        sql = (f"SELECT s.provider, s.classification_code, s.share_type, s.format, s.open, count(*) "  # noqa: S608
               f"FROM catalog_search s WHERE {' AND '.join(clauses) or 'TRUE'} "
               "GROUP BY s.provider, s.classification_code, s.share_type, s.format, s.open")
        return [(None, p, c, sh, f, bool(o), n) for p, c, sh, f, o, n in db.execute(text(sql), params)]

    def page_ids(self, db: Session, terms: Sequence[Term], filters: Filters, keys: list, update_cycle: str | None,
                 sort: str, limit: int, offset: int, total: int) -> list[int]:
        clauses, params = _where("s", filters, update_cycle)
        order = {"newest": "s.published_at DESC, s.resource_id DESC",
                 "name": 's.name COLLATE "C", s.resource_id'}.get(sort)
        if terms:
            tsq, tparams = self.tsquery(terms)
            clauses.insert(0, f"s.document @@ {tsq}")
            params.update(tparams)
            if order is None and total <= RANK_LIMIT:
                order = f"ts_rank_cd(s.document, {tsq}) DESC, s.published_at DESC, s.resource_id DESC"
            elif order is None:  # as on SQLite: names matching first, newest first (no ranking of every match)
                order = f"(s.names @@ {tsq}) DESC, s.published_at DESC, s.resource_id DESC"
        sql = (f"SELECT s.resource_id FROM catalog_search s WHERE {' AND '.join(clauses) or 'TRUE'} "  # noqa: S608
               f"ORDER BY {order} LIMIT :limit OFFSET :offset")
        return list(db.scalars(text(sql), {**params, "limit": limit, "offset": offset}))


_BACKENDS = {"sqlite": SQLiteBackend(), "postgresql": PostgresBackend()}


def for_session(db: Session) -> SQLiteBackend | PostgresBackend:
    dialect = db.get_bind().dialect.name
    try:
        return _BACKENDS[dialect]
    except KeyError:
        raise RuntimeError(f"catalog search does not support the {dialect} database") from None
