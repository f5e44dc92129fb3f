"""The published catalog (``catalog_entries``) and the reads other domains rely on.

Other domains (ingest, exchange, the open-data portal) read a resource only through ``published()`` and
``published_entries()``: what they get is exactly what the bureau approved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from govdata.catalog import search
from govdata.catalog.models import CatalogEntry
from govdata.db import utcnow
from govdata.errors import NotFound

PublishListener = Callable[[Session, dict[str, Any]], None]
_listeners: list[PublishListener] = []


def register_publish_listener(fn: PublishListener) -> None:
    """``fn(db, document)`` runs in the transaction that republishes an entry (the open-data portal withdraws
    a dataset whose entry is no longer open). A listener must not commit."""
    if fn not in _listeners:
        _listeners.append(fn)


def publish(db: Session, doc: dict[str, Any], resource_id: int) -> CatalogEntry:
    entry = db.get(CatalogEntry, resource_id)
    if entry is None:
        entry = CatalogEntry(resource_id=resource_id)
        db.add(entry)
    entry.code, entry.name = doc["code"], doc["name"]
    entry.provider, entry.provider_name = doc["provider"], doc["provider_name"]
    entry.classification_code, entry.classification_path = doc["classification_code"], doc["classification"]
    entry.format, entry.share_type, entry.share_method = doc["format"], doc["share_type"], doc["share_method"]
    entry.open, entry.update_cycle, entry.version = doc["open"], doc["update_cycle"], doc["version"]
    entry.published_at = utcnow()
    entry.document = {**doc, "status": "published"}
    db.flush()
    search.index_entry(db, entry)
    for listener in list(_listeners):
        listener(db, entry.document)
    return entry


def publish_many(db: Session, docs: Sequence[tuple[dict[str, Any], int]]) -> int:
    """``publish`` for many resources at once (catalog import): new entries are written with multi-row INSERTs
    and indexed through the search module's bulk path. Returns how many entries were published."""
    ids = [resource_id for _, resource_id in docs]
    existing: set[int] = set()
    for start in range(0, len(ids), 1000):
        existing.update(db.scalars(select(CatalogEntry.resource_id)
                                   .where(CatalogEntry.resource_id.in_(ids[start:start + 1000]))))
    for doc, resource_id in docs:
        if resource_id in existing:  # published before: replaced one by one, as an approval does
            publish(db, doc, resource_id)
    now = utcnow()
    rows = [{"resource_id": resource_id, "code": doc["code"], "name": doc["name"], "provider": doc["provider"],
             "provider_name": doc["provider_name"], "classification_code": doc["classification_code"],
             "classification_path": doc["classification"], "format": doc["format"], "share_type": doc["share_type"],
             "share_method": doc["share_method"], "open": doc["open"], "update_cycle": doc["update_cycle"],
             "version": doc["version"], "published_at": now, "document": {**doc, "status": "published"}}
            for doc, resource_id in docs if resource_id not in existing]
    if rows:
        db.execute(insert(CatalogEntry), rows)
        search.index_many(db, (SimpleNamespace(**row) for row in rows))
    return len(docs)


def published(db: Session, code: str) -> dict[str, Any]:
    """The approved JSON of a published resource (404 ``resource_not_found`` when none is published)."""
    entry = db.scalar(select(CatalogEntry).where(CatalogEntry.code == code))
    if entry is None:
        raise NotFound(f"信息资源不存在或尚未发布:{code}", code="resource_not_found")
    return entry.document


def find_published(db: Session, code: str) -> dict[str, Any] | None:
    entry = db.scalar(select(CatalogEntry).where(CatalogEntry.code == code))
    return entry.document if entry else None


def codes_by_name(db: Session, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(provider, resource name) → code of the published resources among ``pairs``; documents are not read."""
    if not pairs:
        return {}
    providers = {p for p, _ in pairs}
    rows = db.execute(select(CatalogEntry.provider, CatalogEntry.name, CatalogEntry.code)
                      .where(CatalogEntry.provider.in_(providers)))
    return {(p, n): c for p, n, c in rows if (p, n) in pairs}


def published_entries(db: Session, *, provider: str | None = None, share_types: tuple[str, ...] | None = None,
                      open_only: bool = False) -> list[CatalogEntry]:
    stmt = select(CatalogEntry)
    if provider:
        stmt = stmt.where(CatalogEntry.provider == provider)
    if share_types:
        stmt = stmt.where(CatalogEntry.share_type.in_(share_types))
    if open_only:
        stmt = stmt.where(CatalogEntry.open.is_(True))
    return list(db.scalars(stmt.order_by(CatalogEntry.provider, CatalogEntry.code)))
