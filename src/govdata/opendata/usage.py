"""Usage counts of open datasets (浏览、下载、接口调用): per dataset in total and per day.

A page view must not cost a database write (200 readers at once would queue on SQLite's one writer), so
counts gather in memory and are written in one transaction at most every ``FLUSH_SECONDS`` — by whichever
request comes after that, off its own transaction — and when the application stops. A crash loses at most
those seconds of counts; counts are statistics, not records (the audit trail is for granted data).
With several processes each keeps its own buffer; the writes add up, so totals stay right.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from govdata.config import local_tz
from govdata.db import new_session, utcnow
from govdata.opendata.models import OpenDataset, UsageDaily

KINDS = ("views", "downloads", "api_calls")
FLUSH_SECONDS = 5.0
logger = logging.getLogger("govdata.opendata.usage")

_lock = threading.Lock()
_flushing = threading.Lock()
_pending: Counter[tuple[str, str, date]] = Counter()
_last_flush = time.monotonic()


def count(code: str, kind: str, n: int = 1) -> None:
    """Count ``n`` views, downloads or API calls of a dataset; written within ``FLUSH_SECONDS``."""
    if kind not in KINDS:
        raise ValueError(kind)
    today = utcnow().astimezone(local_tz()).date()
    with _lock:
        _pending[(code, kind, today)] += n
    if time.monotonic() - _last_flush >= FLUSH_SECONDS:
        flush_quietly()


def flush_quietly() -> None:
    try:
        flush()
    except Exception:  # counts must never fail a reader's request; they are retried at the next flush
        logger.exception("writing usage counts failed; kept for the next attempt")


def flush(db: Session | None = None) -> int:
    """Write the gathered counts; returns how many (dataset, kind, day) entries were written. One flush at a
    time; a caller finding one under way returns 0 at once."""
    global _last_flush
    if not _flushing.acquire(blocking=db is not None):
        return 0
    try:
        with _lock:
            batch = dict(_pending)
            _pending.clear()
            _last_flush = time.monotonic()
        if not batch:
            return 0
        try:
            _write(db, batch)
        except Exception:
            with _lock:
                _pending.update(batch)
            raise
        return len(batch)
    finally:
        _flushing.release()


def _write(db: Session | None, batch: dict[tuple[str, str, date], int]) -> None:
    totals: dict[str, dict[str, int]] = {}
    daily: dict[tuple[str, date], dict[str, int]] = {}
    for (code, kind, day), n in batch.items():
        totals.setdefault(code, dict.fromkeys(KINDS, 0))[kind] += n
        daily.setdefault((code, day), dict.fromkeys(KINDS, 0))[kind] += n
    own = db is None
    session = new_session() if own else db
    try:
        _apply(session, totals, daily)
        session.commit()
    finally:
        if own:
            session.close()


def _apply(db: Session, totals: dict[str, dict[str, int]], daily: dict[tuple[str, date], dict[str, int]]) -> None:
    table = OpenDataset.__table__
    stmt = (update(table).where(table.c.code == bindparam("b_code"))
            .values({k: table.c[k] + bindparam(f"b_{k}") for k in KINDS}))
    db.connection().execute(stmt, [{"b_code": code, **{f"b_{k}": v for k, v in adds.items()}}
                                   for code, adds in sorted(totals.items())])
    upsert = _upsert(db.get_bind().dialect.name)
    db.connection().execute(upsert, [{"code": code, "day": day, **adds}
                                     for (code, day), adds in sorted(daily.items())])


@cache
def _upsert(dialect_name: str) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = UsageDaily.__table__
    stmt = dialect.insert(table).values(code=bindparam("code"), day=bindparam("day"),
                                        **{k: bindparam(k) for k in KINDS})
    return stmt.on_conflict_do_update(index_elements=["code", "day"],
                                      set_={k: table.c[k] + stmt.excluded[k] for k in KINDS})


def add(db: Session, code: str, day: date, *, views: int = 0, downloads: int = 0, api_calls: int = 0) -> None:
    """Add counts of a given day at once (imports of another portal's statistics, the demo). Does not commit."""
    adds = {"views": views, "downloads": downloads, "api_calls": api_calls}
    _apply(db, {code: adds}, {(code, day): adds})


def pending() -> int:
    with _lock:
        return sum(_pending.values())


def reset() -> None:
    """Forget unwritten counts (tests)."""
    with _lock:
        _pending.clear()
