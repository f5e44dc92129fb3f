"""The serving store (服务库): hosted lookups answered from a local SQLite file per published version.

A published version is Parquet in the dataset store (possibly S3): right for keeping and scanning versions,
wrong for answering "the row whose id_number is X" in well under a millisecond. So each server builds, once per
version, ``<data_dir>/serving/<resource>/v<number>-<digest>.sqlite``: one table ``rows`` holding the resource's
items (typed from the Parquet schema) in the version's row order, with a B-tree index on every item that is a
primary key or identifies a person or organisation (plus ``index_items``). An exact-match lookup by an indexed
item is O(log n); the build is O(n) once per version. ``digest`` covers the version's data hash and the layout
(columns, indexed items), so a changed layout gets a new file.

* Build: Parquet record batches streamed into ``executemany`` inside one transaction (journal and fsync off),
  indexes created after the rows, written to a temporary file, fsynced and atomically renamed. One builder per
  resource at a time: a ``threading.Lock`` in the process and ``flock`` on ``<resource>/.lock`` across processes.
  After a build only the two newest versions' files are kept.
* Read: the files never change once renamed into place, so readers open them ``mode=ro&immutable=1`` (no locking
  at all) and each thread keeps its connection per resource. ``lookup`` parameterises every value; column names
  come only from the resource's item keys and are quoted.
* Warm: ``warm(db)`` builds the latest published version of every resource. The files are local to each server,
  so it runs from the jobs schedule of every process (every ``WARM_SECONDS``), not as a job one server claims.

``version`` is a ``DatasetVersion`` (or any object with ``resource_code``, ``number``, ``data_key`` and
``data_sha256``); ``items`` are the resource's published items (``projection.published(db, code)["items"]``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from govdata.catalog import projection
from govdata.config import get_settings
from govdata.db import new_session, utcnow
from govdata.errors import ValidationFailed
from govdata.ingest import service as versions
from govdata.ingest.storage import get_store
from govdata.jobs import service as jobs

logger = logging.getLogger("govdata.exchange")

KEEP_VERSIONS = 2  # files of the two newest versions of a resource are kept
BATCH_ROWS = 50_000
WARM_SECONDS = 180.0
MAX_SCOPE_VALUES = 10_000
STALE_TMP_SECONDS = 3600.0
_FILE = re.compile(r"v(\d+)-([0-9a-f]{16})\.sqlite")
_TMP_PREFIX = ".build-"
_INT = re.compile(r"[+-]?\d{1,19}")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_BOOL = {"true": 1, "1": 1, "是": 1, "false": 0, "0": 0, "否": 0}
_NO_MATCH = object()


# ---- layout: which file, which columns -----------------------------------------------------------------------

@dataclass(frozen=True)
class Layout:
    directory: Path
    path: Path
    columns: tuple[str, ...]  # the item keys, in catalog order
    indexed: tuple[str, ...]
    keyset: frozenset[str]


def serving_root() -> Path:
    return get_settings().data_dir / "serving"


def directory_name(code: str) -> str:
    """``101/000001`` → ``101_000001``; a code with other characters gets a hash suffix, so names never collide
    and never leave the serving folder."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9/-]*", code):
        return code.replace("/", "_")
    digest = hashlib.sha256(code.encode()).hexdigest()[:12]
    return re.sub(r"[^A-Za-z0-9-]", "_", code)[:60] + "~" + digest


def _quote(key: str) -> str:
    return '"' + key.replace('"', '""') + '"'


def _unknown(key: str) -> ValidationFailed:
    return ValidationFailed(f"信息项不存在:{key}", code="unknown_item")


def _item_spec(items: Iterable[Mapping[str, Any]]) -> tuple[tuple[str, bool], ...]:
    return tuple((str(i["key"]), bool(i.get("primary_key") or i.get("identifies"))) for i in items)


@lru_cache(maxsize=2048)
def _layout(code: str, number: int, data_sha256: str, spec: tuple[tuple[str, bool], ...],
            index_items: tuple[str, ...]) -> Layout:
    columns = tuple(key for key, _ in spec)
    keyset = frozenset(columns)
    for key in index_items:
        if key not in keyset:
            raise _unknown(key)
    extra = set(index_items)
    indexed = tuple(key for key, identifies in spec if identifies or key in extra)
    digest = hashlib.sha256(json.dumps([data_sha256, columns, indexed]).encode()).hexdigest()[:16]
    directory = serving_root() / directory_name(code)
    return Layout(directory, directory / f"v{number}-{digest}.sqlite", columns, indexed, keyset)


def layout_of(version: Any, items: Iterable[Mapping[str, Any]], index_items: Iterable[str] = ()) -> Layout:
    return _layout(version.resource_code, int(version.number), version.data_sha256, _item_spec(items),
                   tuple(sorted(set(index_items))))


def path_for(version: Any, items: Iterable[Mapping[str, Any]], index_items: Iterable[str] = ()) -> Path:
    """Where the serving file of ``version`` is (whether built or not)."""
    return layout_of(version, items, index_items).path


# ---- building --------------------------------------------------------------------------------------------------

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


@contextmanager
def _builder_lock(directory: Path, wait: bool = True) -> Iterator[bool]:
    """Yields True when this thread is the resource's only builder (in this process and across processes)."""
    with _locks_guard:
        lock = _locks.setdefault(directory, threading.Lock())
    if not lock.acquire(blocking=wait):
        yield False
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / ".lock", "a+b") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        lock.release()


def ensure(version: Any, items: Sequence[Mapping[str, Any]], *, index_items: Iterable[str] = ()) -> Path:
    """The serving file of ``version``, built first if missing (by one builder; others wait for it)."""
    layout = layout_of(version, items, index_items)
    _ensure(version, layout, wait=True)
    return layout.path


def _ensure(version: Any, layout: Layout, wait: bool) -> bool:
    """True when this call built the file."""
    if layout.path.exists():
        return False
    with _builder_lock(layout.directory, wait) as mine:
        if not mine or layout.path.exists():
            return False
        _build(version, layout)
        _cleanup(layout)
    return True


@dataclass(frozen=True)
class _Column:
    key: str
    present: bool  # in the Parquet file (an item added to the catalog later is all NULL)
    affinity: str  # INTEGER | REAL | TEXT
    kind: str  # int | float | bool | text


def _column(key: str, schema: pa.Schema) -> _Column:
    if key not in schema.names:
        return _Column(key, False, "TEXT", "text")
    t = schema.field(key).type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_integer(t):
        return _Column(key, True, "INTEGER", "int")
    if pa.types.is_floating(t):
        return _Column(key, True, "REAL", "float")
    if pa.types.is_boolean(t):
        return _Column(key, True, "INTEGER", "bool")
    return _Column(key, True, "TEXT", "text")  # strings; dates, times and decimals as their ISO/exact text


def _values(array: pa.Array | pa.ChunkedArray, column: _Column) -> list[Any]:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if column.kind == "text" and not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        try:
            array = pc.cast(array, pa.large_string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return [None if v is None else str(v) for v in array.to_pylist()]
    return array.to_pylist()


def _rows(batch: pa.RecordBatch, columns: list[_Column]) -> Iterator[tuple[Any, ...]]:
    n = batch.num_rows
    return zip(*[_values(batch.column(c.key), c) if c.present else repeat(None, n) for c in columns], strict=False)


def _build(version: Any, layout: Layout) -> None:
    started = time.perf_counter()
    store = get_store()
    schema = store.parquet_schema(version.data_key)
    columns = [_column(key, schema) for key in layout.columns]
    present = [c.key for c in columns if c.present]
    tmp = layout.directory / f"{_TMP_PREFIX}{layout.path.stem}-{os.getpid()}-{threading.get_ident()}.sqlite"
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=MEMORY", "cache_size=-131072"):
            conn.execute(f"PRAGMA {pragma}")
        defs = ", ".join(f"{_quote(c.key)} {c.affinity}" for c in columns)
        conn.execute(f"CREATE TABLE rows ({defs})")
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("BEGIN")
        insert = f"INSERT INTO rows VALUES ({', '.join('?' * len(columns))})"  # noqa: S608 (placeholders)
        total = 0
        for batch in store.iter_parquet_batches(version.data_key, BATCH_ROWS, columns=present or None):
            conn.executemany(insert, _rows(batch, columns))
            total += batch.num_rows
        for i, key in enumerate(layout.indexed):
            conn.execute(f"CREATE INDEX ix_{i} ON rows ({_quote(key)})")
        meta = {"resource": version.resource_code, "version": int(version.number),
                "data_sha256": version.data_sha256, "columns": {c.key: c.kind for c in columns},
                "indexed": list(layout.indexed), "rows": total, "built_at": utcnow().isoformat(),
                "build_seconds": round(time.perf_counter() - started, 3)}
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        conn.execute("COMMIT")
        conn.execute("PRAGMA analysis_limit=1000")
        conn.execute("ANALYZE")
        conn.close()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, layout.path)
    except BaseException:
        conn.close()
        with suppress(FileNotFoundError):
            tmp.unlink()
        raise
    logger.info("serving file for %s v%s built: %d rows in %.2f s", version.resource_code, version.number,
                total, time.perf_counter() - started)


def _cleanup(layout: Layout) -> None:
    """Keep the file just built and the files of the resource's two newest versions; other layouts of the
    version just built and older versions go. Leftovers of crashed builds go after an hour."""
    files = [(int(m.group(1)), p) for p in layout.directory.iterdir() if (m := _FILE.fullmatch(p.name))]
    newest = sorted({n for n, _ in files}, reverse=True)[:KEEP_VERSIONS]
    built = int(_FILE.fullmatch(layout.path.name).group(1))  # type: ignore[union-attr]
    for number, path in files:
        if path != layout.path and (number == built or number not in newest):
            with suppress(FileNotFoundError):
                path.unlink()
    now = time.time()
    for path in layout.directory.glob(f"{_TMP_PREFIX}*"):
        with suppress(FileNotFoundError):
            if now - path.stat().st_mtime > STALE_TMP_SECONDS:
                path.unlink()


# ---- reading ---------------------------------------------------------------------------------------------------

@dataclass
class _Open:
    path: Path
    conn: sqlite3.Connection
    kinds: dict[str, str]


_local = threading.local()


def _open(path: Path) -> _Open:
    conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1", uri=True,
                           cached_statements=256)
    try:
        conn.execute("PRAGMA mmap_size=1073741824")
        raw = conn.execute("SELECT value FROM meta WHERE key = 'columns'").fetchone()[0]
    except BaseException:
        conn.close()
        raise
    return _Open(path, conn, json.loads(raw))


def _connection(version: Any, layout: Layout) -> _Open:
    """This thread's connection to the layout's file (one per resource: a new version replaces the old)."""
    cache: dict[Path, _Open] | None = getattr(_local, "open", None)
    if cache is None:
        cache = _local.open = {}
    current = cache.get(layout.directory)
    if current is not None and current.path == layout.path:
        return current
    if current is not None:
        current.conn.close()
        del cache[layout.directory]
    for attempt in (1, 2):
        _ensure(version, layout, wait=True)
        try:
            opened = _open(layout.path)
            break
        except sqlite3.OperationalError:  # removed between the check and the open (an old version): rebuild
            if attempt == 2:
                raise
    cache[layout.directory] = opened
    return opened


def close_connections() -> None:
    """Close this thread's connections (tests; a thread about to end)."""
    for opened in getattr(_local, "open", {}).values():
        opened.conn.close()
    _local.open = {}


def _convert(kind: str, value: Any) -> Any:
    """A filter value (text) as the column's type, or ``_NO_MATCH`` when it cannot be one."""
    text = value if isinstance(value, str) else str(value)
    if kind == "text":
        return text
    text = text.strip()
    if kind == "int":
        number = int(text) if _INT.fullmatch(text) else None
        return number if number is not None and -(2**63) <= number < 2**63 else _NO_MATCH
    if kind == "float":
        return float(text) if _FLOAT.fullmatch(text) else _NO_MATCH
    return _BOOL.get(text.lower(), _NO_MATCH)


@lru_cache(maxsize=4096)
def _select(columns: tuple[str, ...], filters: tuple[str, ...], scope: tuple[tuple[str, int], ...]) -> str:
    where = [f"{_quote(k)} = ?" for k in filters]
    where += [f"{_quote(k)} IN ({', '.join('?' * n)})" for k, n in scope]
    sql = f"SELECT {', '.join(_quote(c) for c in columns)} FROM rows"  # noqa: S608 (checked item keys, quoted)
    return sql + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY _rowid_ LIMIT ?"


def lookup(version: Any, items: Sequence[Mapping[str, Any]], filters: Mapping[str, Any],
           scope: Mapping[str, Sequence[Any]] | None, columns: Sequence[str], limit: int, *,
           index_items: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The rows of ``version`` matching every filter exactly (and the row scope), at most ``limit`` of them in
    the version's row order, with only ``columns``.

    ``filters``: item → value (text, converted to the column's type; a value that cannot be converted matches
    nothing). A filter on an indexed item is an index lookup; on any other item it is a scan of the file.
    ``scope``: item → allowed values (a grant's row scope); None for no restriction, an empty list matches
    nothing. Unknown items raise ``unknown_item``."""
    layout = layout_of(version, items, index_items)
    for key in (*filters, *(scope or ()), *columns):
        if key not in layout.keyset:
            raise _unknown(key)
    if not columns:
        raise ValidationFailed("未指定要返回的信息项", code="no_items")
    if limit <= 0:
        return []
    opened = _connection(version, layout)
    params: list[Any] = []
    for key, value in filters.items():
        converted = _convert(opened.kinds[key], value)
        if converted is _NO_MATCH:
            return []
        params.append(converted)
    shape = []
    for key, values in (scope or {}).items():
        allowed = list(dict.fromkeys(c for v in values if (c := _convert(opened.kinds[key], v)) is not _NO_MATCH))
        if not allowed:
            return []
        if len(allowed) > MAX_SCOPE_VALUES:
            raise ValidationFailed(f"行范围的取值过多(最多 {MAX_SCOPE_VALUES} 个)", code="scope_too_large")
        shape.append((key, len(allowed)))
        params.extend(allowed)
    params.append(int(limit))
    names = tuple(columns)
    rows = opened.conn.execute(_select(names, tuple(filters), tuple(shape)), params).fetchall()
    flags = [i for i, c in enumerate(names) if opened.kinds[c] == "bool"]
    if flags:
        rows = [tuple(bool(v) if i in flags and v is not None else v for i, v in enumerate(r)) for r in rows]
    return [dict(zip(names, row, strict=True)) for row in rows]


def info(version: Any, items: Sequence[Mapping[str, Any]], *, index_items: Iterable[str] = ()
         ) -> dict[str, Any] | None:
    """The built file's metadata (rows, indexed items, build time …), or None when it is not built."""
    path = path_for(version, items, index_items)
    if not path.exists():
        return None
    opened = _open(path)
    try:
        return {k: json.loads(v) for k, v in opened.conn.execute("SELECT key, value FROM meta")} | {
            "path": str(path), "bytes": path.stat().st_size}
    finally:
        opened.conn.close()


# ---- warming ---------------------------------------------------------------------------------------------------

def warm(db: Session, *, wait: bool = True,
         index_items: Callable[[dict[str, Any]], Iterable[str]] | None = None) -> int:
    """Build the serving file of every resource's latest published version; returns how many were built.
    ``wait=False`` skips a resource another builder is busy with. ``index_items(doc)``: extra indexes."""
    todo = []
    for entry in projection.published_entries(db):
        version = versions.latest_published(db, entry.code)
        if version is not None:
            snapshot = SimpleNamespace(resource_code=version.resource_code, number=version.number,
                                       data_key=version.data_key, data_sha256=version.data_sha256)
            todo.append((snapshot, entry.document))
    built = 0
    for version, doc in todo:
        try:
            layout = layout_of(version, doc["items"], index_items(doc) if index_items else ())
            built += _ensure(version, layout, wait)
        except Exception:
            logger.exception("serving file for %s v%s could not be built", version.resource_code, version.number)
    return built


_last_warm = [0.0]


def warm_due(db: Session) -> int:
    """The jobs schedule (every minute in each process): warm this server's files every ``WARM_SECONDS``.
    Enqueues nothing, so it returns 0."""
    now = time.monotonic()
    if _last_warm[0] and now - _last_warm[0] < WARM_SECONDS:
        return 0
    _last_warm[0] = now
    built = warm(db, wait=False)
    if built:
        logger.info("serving store warmed: %d files built", built)
    return 0


def _run_warm(ctx: jobs.JobContext) -> dict[str, Any]:
    with new_session() as db:
        return {"built": warm(db)}


jobs.register("exchange.warm", _run_warm)
jobs.register_schedule(warm_due)
