"""The hot loop of verify: every record's hash and link and every checkpoint's Merkle root, in one pass.

Building the canonical JSON in Python costs more than everything else together, so the database builds it
(SQLite ``printf``; PostgreSQL string concatenation — C code, on PostgreSQL in another process) and returns
``(id, prev_hash, hash, canonical bytes)`` through a raw DB-API cursor (server-side and binary on PostgreSQL; no
ORM objects, no SQLAlchemy rows), read by a producer thread. The loop is one hash and two comparisons per
record; a checkpoint's Merkle root is recomputed only where something in its range is wrong (see :func:`scan`).
Where the database encodes a string differently from Python (quotes, backslashes, control characters), the
record's hash does not match and it is re-checked in Python from its columns (:mod:`govdata.audit.verify`)
before it is called changed: the fast path can cost speed, never correctness.

From ``PARALLEL_FROM`` records on, and when the process has no other thread (the CLI), the id range is cut at
checkpoint ends and scanned by forked processes, one per core, each with its own connection on the same snapshot
(PostgreSQL ``pg_export_snapshot``; on SQLite the parent's open read transaction keeps the WAL frames they read
in place); the links across the cuts are checked when the results are merged.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, Text, cast, func, literal, select
from sqlalchemy.engine import Connection

from govdata.audit import merkle
from govdata.audit.canonical import FIELDS, JSON_FIELDS
from govdata.audit.chain import C as _C
from govdata.audit.chain import R as _R
from govdata.errors import AppError

logger = logging.getLogger("govdata.audit")


@dataclass(slots=True)
class Cp:
    id: int
    first_id: int
    last_id: int
    count: int
    merkle_root: bytes
    prev_root: bytes
    last_hash: bytes
    algorithm: str
    key_id: str
    signature_alg: str
    signature: bytes
    created_at: datetime


# written by the platform: never escaped in the fast query
_CODES = {"alg", "kind", "outcome", "consumer_org", "provider_org", "resource", "response_hash"}


def load_checkpoints(conn: Connection) -> list[Cp]:
    return [Cp(*r) for r in conn.execute(select(
        _C.id, _C.first_id, _C.last_id, _C.count, _C.merkle_root, _C.prev_root, _C.last_hash, _C.algorithm,
        _C.key_id, _C.signature_alg, _C.signature, _C.created_at).order_by(_C.id))]


def _canonical_sql(dialect: str, robust: bool = False):
    """The canonical JSON of a record as bytes, built by the database.

    SQLite: one ``printf`` (one allocation) with the strings unescaped, so a string holding a quote, a backslash
    or a control character comes out differently and its record is re-checked in Python; ``robust`` (used if the
    fast query ever fails) is concatenation with ``json_quote``, which accepts anything. PostgreSQL:
    concatenation; free-text strings are escaped by replacing ``\\`` and ``"`` (``to_json`` costs more than
    everything else together) and codes not at all, so a code holding a quote or a text holding a control
    character comes out differently and its record is re-checked in Python."""
    if dialect == "sqlite" and not robust:
        return _sqlite_printf()
    if dialect == "sqlite":
        def q(col):
            return func.json_quote(cast(col, Text))  # json_quote(NULL) is 'null'

        def raw(col):
            return cast(col, Text)

        at = literal('"') + func.replace(cast(_R.at, Text), " ", "T") + literal('Z"')
    else:
        def q(col):
            if col.name in _CODES:
                return func.coalesce(literal('"') + col + literal('"'), literal("null"))
            escaped = func.replace(func.replace(col, "\\", "\\\\"), '"', '\\"')
            return func.coalesce(literal('"') + escaped + literal('"'), literal("null"))

        def raw(col):
            return col

        at = literal('"') + func.to_char(func.timezone("UTC", _R.at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') + literal('"')
    parts: dict[str, Any] = {name: q(_R[name]) for name in FIELDS}
    parts.update({"at": at, "rows": cast(_R.rows, Text)}, **{name: raw(_R[name]) for name in JSON_FIELDS})
    pieces: list[Any] = []
    for i, name in enumerate(FIELDS):
        pieces += [literal(("{" if i == 0 else ",") + f'"{name}":'), parts[name]]
    pieces.append(literal("}"))
    if dialect != "sqlite":  # concat(): one allocation, where a chain of || copies the growing string 30 times
        return func.convert_to(func.concat(*pieces), "UTF8")
    expr = pieces[0]
    for piece in pieces[1:]:
        expr = expr + piece
    return cast(func.coalesce(expr, literal("")), LargeBinary())


def _sqlite_printf():
    fmt, args = [], []
    for i, name in enumerate(FIELDS):
        fmt.append(("{" if i == 0 else ",") + f'"{name}":')
        col = _R[name]
        if name == "at":
            fmt.append('"%sZ"')
            args.append(func.replace(col, " ", "T"))
        elif name in JSON_FIELDS or name == "rows":  # stored in canonical form
            fmt.append("%s")
            args.append(col)
        elif col.nullable:
            fmt.append("%s")
            args.append(func.coalesce(literal('"') + col + literal('"'), literal("null")))
        else:
            fmt.append('"%s"')
            args.append(col)
    return cast(func.printf("".join(fmt) + "}", *args), LargeBinary())


PARALLEL_FROM = 50_000  # records; below this forking costs more than it saves
_PROGRESS: Any = None  # records scanned by forked workers (a multiprocessing.Value, inherited through fork)


@dataclass
class ScanResult:
    count: int = 0
    first: tuple[int, Any] | None = None  # (id, prev_hash) of the first row
    last: tuple[int, Any] | None = None  # (id, hash) of the last row
    gaps: list[tuple[int, int]] = field(default_factory=list)  # missing ids, first..last
    breaks: list[tuple[int, Any, int, Any]] = field(default_factory=list)  # (id, its prev, previous id, its hash)
    suspects: list[int] = field(default_factory=list)  # hash did not match the database-built canonical form
    roots: list[tuple[int, bool]] = field(default_factory=list)  # (checkpoint id, all its records missing)


def checkpoint_bounds(cps: list[Cp], start: int, flagged: set[int] | frozenset[int] = frozenset()) -> list[tuple]:
    """The checkpoints whose records are scanned, in order and without overlaps (overlaps are reported already),
    as (id, first_id, last_id, algorithm, root, last_hash, flagged): ``flagged`` ones (a bad signature …) have
    their root recomputed whatever the records look like."""
    bounds: list[tuple] = []
    for cp in sorted(cps, key=lambda c: c.first_id):
        if cp.first_id > start and cp.first_id <= cp.last_id and (not bounds or cp.first_id > bounds[-1][2]):
            bounds.append((cp.id, cp.first_id, cp.last_id, cp.algorithm, cp.merkle_root, cp.last_hash,
                           cp.id in flagged))
    return bounds


def fork_is_safe() -> bool:
    import multiprocessing

    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def segments(start: int, top: int, bounds: list[tuple], workers: int) -> list[tuple[int, int | None]]:
    """Split ids start < id ≤ top into ranges cut only at checkpoint ends (the last one open-ended)."""
    cuts: list[int] = []
    for k in range(1, workers):
        target = start + (top - start) * k // workers
        end = next((b[2] for b in bounds if b[2] >= target), None)
        if end is not None and end < top and (not cuts or end > cuts[-1]):
            cuts.append(end)
    edges = [start, *cuts]
    return [(lo, edges[i + 1] if i + 1 < len(edges) else None) for i, lo in enumerate(edges)]


def _scan_worker(url: str, snapshot: str | None, lo: int, hi: int | None, prev: bytes | None,
                 bounds: list[tuple], alg: str, batch: int) -> ScanResult:
    """In a forked process: a connection of its own (never the parent's), on the parent's snapshot."""
    from govdata.db import make_engine

    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        dbapi = raw.dbapi_connection
        dialect = engine.dialect
        cur = dbapi.cursor()
        if dialect.name == "postgresql":
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if snapshot and all(c in "0123456789ABCDEFabcdef-" for c in snapshot):
                cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        else:
            cur.execute("BEGIN")
        cur.close()

        def progress(n: int, _state: list[int] = [0]) -> None:  # noqa: B006 (per-call state by design)
            with _PROGRESS.get_lock():
                _PROGRESS.value += n - _state[0]
            _state[0] = n

        return scan_with_fallback(dbapi, dialect, lo, hi, prev, bounds, alg, batch, progress)
    finally:
        raw.rollback()
        raw.close()
        engine.dispose()


def scan_with_fallback(dbapi, dialect, lo: int, hi: int | None, prev: bytes | None, bounds: list[tuple],
                        alg: str, batch: int, progress: Callable[[int], None] | None) -> ScanResult:
    import sqlite3

    try:
        return scan(dbapi, dialect, lo, hi, prev, bounds, alg, batch, progress, robust=False)
    except sqlite3.Error as exc:  # a value the fast query cannot take (none known; a safety net)
        logger.warning("audit verify: fast scan failed (%s); scanning again with the robust query", exc)
        return scan(dbapi, dialect, lo, hi, prev, bounds, alg, batch, progress, robust=True)


def scan(dbapi, dialect, lo: int, hi: int | None, prev: bytes | None, bounds: list[tuple], alg: str,
         batch: int, progress: Callable[[int], None] | None, robust: bool) -> ScanResult:
    """The hot loop over rows lo < id ≤ hi: hash, link and id of every row, and the checkpoints in ``bounds``
    (:func:`checkpoint_bounds`) whose range falls in it. ``prev`` is the hash the first
    row must link to (None: unknown here — the merge checks that link). ``dialect`` is the connection's
    SQLAlchemy dialect (it knows how the server wants string literals).

    A checkpoint's Merkle root is recomputed only when something in its range is wrong: when every record of
    the range hashes and links right and the last one's hash is the signed ``last_hash``, the hash chain already
    proves every record of the range is the one signed (each hash commits to all before it), so the root would
    match — unless the checkpoint itself is in doubt (flagged). Skipping it halves the hashing."""
    cond = _R.id > lo if hi is None else (_R.id > lo) & (_R.id <= hi)
    stmt = (select(_R.id, _R.prev_hash, _R.hash, _canonical_sql(dialect.name, robust).label("c"))
            .where(cond).order_by(_R.id))
    sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    result = ScanResult()
    gaps, breaks, suspects = result.gaps, result.breaks, result.suspects
    new = merkle.constructor(alg)
    inf = float("inf")
    bi = 0
    cur_first, cur_last = (bounds[0][1], bounds[0][2]) if bounds else (inf, inf)
    dirty: list[int] = []  # indexes into bounds of checkpoints whose root must be recomputed
    expected, last = lo + 1, prev
    n = 0
    for rows in _batches(dbapi, sql, dialect.name, batch):
        if result.first is None:
            result.first = (rows[0][0], rows[0][1])
        for id_, prev_hash, h, body in rows:
            try:
                good = id_ == expected and prev_hash == last and new(prev_hash + body).digest() == h
            except TypeError:  # a value of the wrong type (written by hand): not good
                good = False
            if not good:
                if id_ > expected:
                    gaps.append((expected, id_ - 1))
                if prev_hash != last:
                    breaks.append((id_, prev_hash, expected - 1, last))
                new = _recheck(id_, prev_hash, h, body, new, suspects)
            while id_ > cur_last:  # a checkpoint's last record is missing
                dirty.append(bi)
                bi += 1
                cur_first, cur_last = (bounds[bi][1], bounds[bi][2]) if bi < len(bounds) else (inf, inf)
            if id_ >= cur_first:
                if not good and (not dirty or dirty[-1] != bi):
                    dirty.append(bi)
                if id_ == cur_last:
                    if (h != bounds[bi][5] or bounds[bi][6]) and (not dirty or dirty[-1] != bi):
                        dirty.append(bi)
                    bi += 1
                    cur_first, cur_last = (bounds[bi][1], bounds[bi][2]) if bi < len(bounds) else (inf, inf)
            last = h
            expected = id_ + 1
        n += len(rows)
        if progress:
            progress(n)
    dirty += range(bi, len(bounds))  # checkpoints after the last row: their records are missing
    for i in dirty:
        _check_root(dbapi, dialect, bounds[i], result.roots)
    result.count = n
    if n:
        result.last = (expected - 1, last)
    return result


def _check_root(dbapi, dialect, b: tuple, roots: list[tuple[int, bool]]) -> None:
    """Recompute checkpoint ``b``'s root from the hashes of the records in its range, as they are."""
    stmt = select(_R.hash).where(_R.id.between(b[1], b[2])).order_by(_R.id)
    cur = dbapi.cursor()
    try:
        cur.execute(str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})))
        leaves = [bytes(r[0]) if isinstance(r[0], memoryview) else r[0] for r in cur.fetchall()]
    finally:
        cur.close()
    try:
        ok = bool(leaves) and merkle.root(leaves, b[3]) == b[4] and leaves[-1] == b[5]
    except (TypeError, AppError):
        ok = False
    if not ok:
        roots.append((b[0], not leaves))


def _recheck(id_: int, prev: Any, h: Any, body: Any, new: Callable[[bytes], Any],
             suspects: list[int]) -> Callable[[bytes], Any]:
    try:
        data = prev + body
    except TypeError:
        suspects.append(id_)
        return new
    if new(data).digest() != h:
        suspects.append(id_)  # re-checked in Python, which also checks that the record names its hash
        for alg in merkle.ALGORITHMS:  # the hash setting changed at some point: go on with the other one
            other = merkle.constructor(alg)
            if other is not new and other(data).digest() == h:
                return other
    return new


def scan_parallel(conn: Connection, parts: list[tuple[int, int | None]], start_prev: bytes | None,
                  bounds: list[tuple], alg: str, batch: int, total: int,
                  progress: Callable[[int, int], None] | None) -> list[ScanResult]:
    """One forked process per segment (each with its own connection, on the same snapshot where the database
    can share one), so that two cores hash — and on PostgreSQL two backends build the JSON."""
    global _PROGRESS
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, wait

    snapshot = None
    if conn.dialect.name == "postgresql":
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
    url = conn.engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("fork")
    _PROGRESS = ctx.Value("q", 0)
    with ProcessPoolExecutor(max_workers=len(parts), mp_context=ctx) as pool:
        futures = [pool.submit(_scan_worker, url, snapshot, lo, hi, start_prev if i == 0 else None,
                               [b for b in bounds if b[1] > lo and (hi is None or b[2] <= hi)], alg, batch)
                   for i, (lo, hi) in enumerate(parts)]
        pending = set(futures)
        while pending:
            _done, pending = wait(pending, timeout=0.2)
            if progress:
                done = _PROGRESS.value
                progress(done, max(done, total))
        return [f.result() for f in futures]


def _batches(dbapi, sql: str, dialect: str, size: int) -> Iterable[list[tuple]]:
    """Rows of ``sql`` in batches, fetched by a producer thread so that fetching overlaps hashing."""
    q: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()

    def produce() -> None:
        try:
            if dialect == "postgresql":  # server-side, binary: bytea and integers arrive without decoding
                cur = dbapi.cursor(name=f"govdata_audit_verify_{uuid.uuid4().hex[:8]}", binary=True)
            else:
                cur = dbapi.cursor()
            try:
                cur.execute(sql)
                while not stop.is_set():
                    rows = cur.fetchmany(size)
                    if not rows:
                        break
                    q.put(rows)
            finally:
                cur.close()
            q.put(None)
        except BaseException as exc:
            q.put(exc)

    thread = threading.Thread(target=produce, name="govdata-audit-verify-fetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.05)
        thread.join()


def chunks(items: Sequence[int], size: int) -> Iterable[list[int]]:
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]

