"""Per-process, short-lived copies of what every gateway call reads but rarely changes: the published catalog
entry, the latest published version, the provider's registered service.

Each is re-read after ``TTL`` seconds, so a new publication, a re-registered service or a changed sensitivity is
served within that time on every server. Grants are never cached (a revocation applies to the next call).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from govdata.catalog.projection import published
from govdata.ingest import service as ingest

TTL = 5.0
T = TypeVar("T")
_lock = threading.Lock()
_entries: dict[tuple[str, str], tuple[float, Any]] = {}


def _cached(kind: str, code: str, load: Callable[[], T]) -> T:
    now = time.monotonic()
    hit = _entries.get((kind, code))
    if hit and now - hit[0] < TTL:
        return hit[1]
    value = load()
    with _lock:
        _entries[(kind, code)] = (now, value)
    return value


def published_doc(db: Session, code: str) -> dict[str, Any]:
    """The published catalog entry (404 ``resource_not_found`` is not cached)."""
    return _cached("doc", code, lambda: published(db, code))


def latest_version(db: Session, code: str) -> SimpleNamespace | None:
    def load() -> SimpleNamespace | None:
        version = ingest.latest_published(db, code)
        if version is None:
            return None
        return SimpleNamespace(id=version.id, number=version.number, resource_code=version.resource_code,
                               data_key=version.data_key, data_sha256=version.data_sha256,
                               schema=list(version.schema or []), rows_stored=version.rows_stored)
    return _cached("version", code, load)


def endpoint(db: Session, code: str) -> Any:
    from govdata.exchange import endpoints  # the registry imports this module to clear entries

    return _cached("endpoint", code, lambda: endpoints.snapshot(db, code))


def forget(code: str | None = None) -> None:
    with _lock:
        if code is None:
            _entries.clear()
        else:
            for key in [k for k in _entries if k[1] == code]:
                del _entries[key]
