"""Group commit: the :class:`AuditWriter` thread, the process-wide writer and :func:`record`.

:class:`AuditWriter` is one thread that drains everything submitted since its last commit into a single
transaction: one head lock, one multi-row INSERT, the batch hooks, one commit (one fsync) for the lot.
``submit`` returns a :class:`~concurrent.futures.Future` resolved with the record id only after that commit
returned. :func:`record` submits through this process's writer and waits: the gateway calls it before answering,
so no response leaves before its audit record is durable, and when the record cannot be written the call fails
with ``503 audit_unavailable`` instead of handing out data nobody can account for. The writer also seals
checkpoints when due, and seals a quiet tail after ``seal_after`` seconds. On SQLite the default
``synchronous=NORMAL`` (WAL) is durable against a crash of the process (kill -9), not of the machine;
PostgreSQL with its default ``synchronous_commit=on`` is durable against both.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from govdata.audit import keys
from govdata.audit.canonical import Prepared, prepare
from govdata.audit.chain import chain_rows, checkpoint, insert_rows, lock_head, run_batch_hooks, save_head, seal_due
from govdata.config import get_settings
from govdata.db import make_engine
from govdata.errors import AppError, Conflict

logger = logging.getLogger("govdata.audit")
_STOP = object()


class AuditUnavailable(AppError):
    status = 503
    code = "audit_unavailable"


class _HookFailed(Exception):
    def __init__(self, exc: Exception) -> None:
        super().__init__(str(exc))
        self.exc = exc


class AuditWriter:
    """Group-commit writer: ``submit(fields)`` → a Future resolved with the record id once it is committed.

    One thread; each transaction takes everything queued (up to ``max_batch``). Callbacks added to the future
    run on the writer thread after the commit: keep them short. Invalid fields raise in ``submit``; a failed
    transaction fails its futures (a duplicate ``request_id`` or a batch hook that raises fails only its own
    record: the batch is retried one by one). ``close()`` writes what was submitted, then stops the thread."""

    def __init__(self, session_factory: Callable[[], Session] | None = None, *, max_batch: int = 5000,
                 seal_after: float | None = 30.0, name: str = "govdata-audit-writer") -> None:
        self._engine: Engine | None = None
        if session_factory is None:
            # An engine of its own: request threads waiting in record() hold connections of the shared pool, so
            # a writer drawing from that pool could wait for them while they wait for it (a deadlock).
            self._engine = make_engine(get_settings().database_url)  # it opens one connection, when first used
            session_factory = sessionmaker(bind=self._engine, expire_on_commit=False)
        self._factory = session_factory
        self._max_batch = max_batch
        self._seal_after = seal_after
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._unsealed_since: float | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return not self._closed and self._thread.is_alive()

    def submit(self, fields: Mapping[str, Any]) -> Future:
        prepared = prepare(fields)
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("AuditWriter is closed")
            self._queue.put((prepared, future))
        return future

    def close(self, timeout: float | None = None) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._engine is not None and not self._thread.is_alive():
            self._engine.dispose()

    def __enter__(self) -> AuditWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            timeout = None
            if self._seal_after is not None and self._unsealed_since is not None:
                timeout = max(0.0, self._unsealed_since + self._seal_after - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                self._seal_tail()
                continue
            stop = item is _STOP
            batch = [] if stop else [item]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    continue
                batch.append(item)
            if batch:
                self._write(batch)
            if stop:  # nothing can follow the sentinel: submit() checks _closed under the same lock
                return

    def _transaction(self, db: Session, prepared: list[Prepared]) -> tuple[list[dict[str, Any]], bool]:
        mac_key = keys.record_mac_key()
        head = lock_head(db)
        rows = chain_rows(head, prepared, mac_key)
        insert_rows(db, rows)
        save_head(db, head)
        try:
            run_batch_hooks(db, prepared, [row["id"] for row in rows])
        except Exception as exc:
            raise _HookFailed(exc) from exc
        seal_due(db, head, known={row["id"]: row["hash"] for row in rows})
        db.commit()
        return rows, head.last_id > head.sealed_id

    def _write(self, batch: list[tuple[Prepared, Future]]) -> None:
        batch = [(p, f) for p, f in batch if f.set_running_or_notify_cancel()]
        if not batch:
            return
        for attempt in range(4):
            db = self._factory()
            try:
                rows, unsealed = self._transaction(db, [p for p, _ in batch])
            except (IntegrityError, _HookFailed) as exc:
                _rollback(db)
                if len(batch) > 1:
                    for one in batch:  # only the offending record fails
                        self._write_one(one)
                else:
                    batch[0][1].set_exception(exc.exc if isinstance(exc, _HookFailed) else exc)
                return
            except DBAPIError as exc:
                _rollback(db)
                if attempt < 3 and (exc.connection_invalidated or _transient(exc)):
                    time.sleep(0.05 * 2**attempt)
                    continue
                _fail(batch, exc)
                return
            except BaseException as exc:
                _rollback(db)
                _fail(batch, exc)
                if not isinstance(exc, Exception):
                    raise
                return
            finally:
                db.close()
            self._note_unsealed(unsealed)
            for (_, f), row in zip(batch, rows, strict=True):
                f.set_result(row["id"])
            return

    def _note_unsealed(self, unsealed: bool) -> None:
        if unsealed and self._unsealed_since is None:
            self._unsealed_since = time.monotonic()
        elif not unsealed:
            self._unsealed_since = None

    def _write_one(self, item: tuple[Prepared, Future]) -> None:
        p, f = item
        self._write([(p, _Relay(f))])

    def _seal_tail(self) -> None:
        self._unsealed_since = None
        db = self._factory()
        try:
            checkpoint(db)
        except Exception:
            db.rollback()
            logger.exception("audit: sealing the pending tail failed")
        finally:
            db.close()


class _Relay(Future):
    """A future already running (its original was marked running) that forwards its outcome."""

    def __init__(self, target: Future) -> None:
        super().__init__()
        self._target = target

    def set_running_or_notify_cancel(self) -> bool:
        return True

    def set_result(self, result: Any) -> None:
        self._target.set_result(result)

    def set_exception(self, exception: BaseException | None) -> None:
        self._target.set_exception(exception)


def _rollback(db: Session) -> None:
    with contextlib.suppress(Exception):
        db.rollback()


def _fail(batch: list[tuple[Prepared, Future]], exc: BaseException) -> None:
    for _, f in batch:
        f.set_exception(exc)


def _transient(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else ""
    return any(word in text for word in ("locked", "busy", "deadlock", "serializ", "could not obtain lock"))


# ---- the process-wide writer ---------------------------------------------------------------------------------

_lock = threading.Lock()
_current: tuple[int, AuditWriter] | None = None


def writer() -> AuditWriter:
    """This process's writer, started on first use — and again in a forked child, whose copy has no thread."""
    global _current
    with _lock:
        if _current is None or _current[0] != os.getpid() or not _current[1].alive:
            _current = (os.getpid(), AuditWriter())
        return _current[1]


def stop_writer(timeout: float | None = 30.0) -> None:
    """Write what was submitted, then stop this process's writer (the next :func:`writer` starts a new one)."""
    global _current
    with _lock:
        current, _current = _current, None
    if current is not None and current[0] == os.getpid():
        current[1].close(timeout)


def _after_fork_in_child() -> None:
    global _lock, _current
    _lock = threading.Lock()  # another thread may have held it at the fork
    _current = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def record(fields: Mapping[str, Any], timeout: float | None = None) -> int:
    """Append a record through the process writer and wait until it is committed; returns its id.

    ``request_id`` defaults to a new uuid4 hex. Raises ``ValidationFailed`` for bad fields, ``409
    audit_request_duplicate`` when the request id is taken, a batch hook's own ``AppError``, and ``503
    audit_unavailable`` for anything that keeps the record from being durable (database down, timeout: a
    record still queued is then withdrawn; one already being written may still land)."""
    fields = dict(fields)
    if not fields.get("request_id"):
        fields["request_id"] = uuid.uuid4().hex
    try:
        future = writer().submit(fields)
    except RuntimeError as exc:  # stopped between writer() and submit(): shutting down
        raise AuditUnavailable("审计服务正在停止,本次调用无法留痕,请稍后重试") from exc
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise AuditUnavailable(f"审计记录未能在 {timeout:g} 秒内写入,本次调用无法留痕,请稍后重试") from None
    except AppError:
        raise
    except IntegrityError as exc:
        if "request_id" in str(exc.orig):
            raise Conflict(f"请求编号 {fields['request_id']} 已有审计记录", code="audit_request_duplicate") from exc
        raise _unavailable(exc) from exc
    except Exception as exc:
        raise _unavailable(exc) from exc


def _unavailable(exc: Exception) -> AuditUnavailable:
    logger.error("audit record could not be written: %s: %s", type(exc).__name__, exc)
    return AuditUnavailable("审计记录无法写入,本次调用无法留痕,请稍后重试")
