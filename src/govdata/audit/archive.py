"""Archiving: fully checkpointed batches older than a date move out of the database, proofs and all.

Each checkpoint's records become one JSON Lines file ``audit-<first id>-<last id>.jsonl``: the signed checkpoint
statement and its signature first, then one line per record with its id, ``prev_hash``, ``hash``, ``mac``, the
hashed fields and its audit path — so every line is an inclusion proof on its own, checkable with the public key
alone. Files go to the data store (``audit/`` in the store that holds datasets: a local folder or S3) or to a
directory; they are written, atomically and durably, before anything is deleted, and the records are checked
against their signed root first, so a tampered batch is never archived (``audit_tampered``).

Then, in one short transaction under the head lock, the records are deleted, the checkpoints kept (with the file
name), ``audit_head.archived_through`` moves on, and an ``audit.archive`` record is appended naming how far the
chain was archived and the SHA-256 of every file. Verify starts after the archived checkpoint's last record and
accepts the missing prefix only when such a record vouches for it. Large backlogs are archived in rounds of
``per_round`` checkpoints, each its own transaction, so appends never wait long for the head.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from govdata.audit import merkle
from govdata.audit.canonical import canonical, format_at, record_fields
from govdata.audit.chain import C, Head, R, append, lock_head, read_head, save_head, statement
from govdata.audit.models import AuditCheckpoint, AuditRecord, canonical_json
from govdata.errors import AppError, ValidationFailed

STORE_PREFIX = "audit"
PER_ROUND = 100  # checkpoints per transaction


class ArchiveTarget(Protocol):
    def names(self) -> list[str]: ...
    def read(self, name: str) -> bytes: ...
    def put(self, name: str, data: bytes) -> None: ...
    def describe(self) -> str: ...


def _is_archive(name: str) -> bool:
    return name.startswith("audit-") and name.endswith(".jsonl")


class DirTarget:
    """A local directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def names(self) -> list[str]:
        return sorted(p.name for p in self.path.glob("audit-*.jsonl")) if self.path.is_dir() else []

    def read(self, name: str) -> bytes:
        return (self.path / name).read_bytes()

    def put(self, name: str, data: bytes) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".{name}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / name)

    def describe(self) -> str:
        return str(self.path)


class StoreTarget:
    """``audit/`` in the data store (:func:`govdata.ingest.storage.get_store`): atomic, fsynced writes."""

    def __init__(self, store: Any = None, prefix: str = STORE_PREFIX) -> None:
        if store is None:
            from govdata.ingest.storage import get_store

            store = get_store()
        self.store, self.prefix = store, prefix

    def names(self) -> list[str]:
        return sorted(k.rsplit("/", 1)[-1] for k in self.store.list(self.prefix) if _is_archive(k.rsplit("/")[-1]))

    def read(self, name: str) -> bytes:
        with self.store.open(f"{self.prefix}/{name}") as fh:
            return fh.read()

    def put(self, name: str, data: bytes) -> None:
        self.store.put_bytes(data, f"{self.prefix}/{name}")

    def describe(self) -> str:
        return f"{self.store.url.rstrip('/')}/{self.prefix}"


def archive_target(to: Path | str | None = None) -> ArchiveTarget:
    """A directory, or (None) the data store."""
    return StoreTarget() if to is None else DirTarget(Path(to))


def archive(db: Session, before: datetime, to: ArchiveTarget | Path | str | None = None, *,
            per_round: int = PER_ROUND) -> list[str]:
    """Archive every checkpointed batch whose records are all older than ``before`` (to the data store unless
    ``to`` names a directory or target). Commits. Returns the names of the files written."""
    if before.tzinfo is None:
        raise ValidationFailed("归档截止时间须带时区", code="audit_field_invalid")
    target = to if hasattr(to, "put") else archive_target(to)  # type: ignore[arg-type]
    names: list[str] = []
    while True:
        written = _round(db, before, target, per_round)
        names += written
        if len(written) < per_round:
            return names


def _round(db: Session, before: datetime, target: ArchiveTarget, limit: int) -> list[str]:
    head = read_head(db)
    chosen = _eligible(db, head, before, limit) if head else []
    files: dict[str, str] = {}
    done: list[tuple[int, str]] = []
    for cp in chosen:
        name, data = _file(db, cp)
        target.put(name, data)
        files[name] = hashlib.sha256(data).hexdigest()
        done.append((cp.id, name))
    through = chosen[-1].last_id if chosen else 0
    count = sum(cp.count for cp in chosen)
    db.rollback()  # end the read snapshot before the write lock (SQLite cannot upgrade a stale one)
    if not chosen or head is None:
        return []
    locked = lock_head(db)
    if locked.archived_through != head.archived_through:  # another archiver got there first
        db.rollback()
        return []
    db.execute(delete(AuditRecord.__table__).where(R.id > head.archived_through, R.id <= through))
    for cp_id, name in done:
        db.execute(update(AuditCheckpoint.__table__).where(C.id == cp_id).values(archive=name))
    locked.archived_through = through
    save_head(db, locked)
    append(db, kind="audit.archive", outcome="ok", request_id=f"audit-archive-{uuid.uuid4().hex}", rows=count,
           extra={"through": through, "files": files, "before": format_at(before), "to": target.describe()})
    db.commit()
    return list(files)


def _eligible(db: Session, head: Head, before: datetime, limit: int) -> list[AuditCheckpoint]:
    """Consecutive checkpoints right after the archived prefix whose records are all older than ``before``."""
    chosen: list[AuditCheckpoint] = []
    expect = head.archived_through + 1
    for cp in db.scalars(select(AuditCheckpoint).where(AuditCheckpoint.first_id >= expect,
                                                       AuditCheckpoint.last_id <= head.sealed_id)
                         .order_by(AuditCheckpoint.first_id).limit(limit)):
        newest = db.scalar(select(func.max(R.at)).where(R.id.between(cp.first_id, cp.last_id)))
        if cp.first_id != expect or newest is None or newest >= before:
            break
        chosen.append(cp)
        expect = cp.last_id + 1
    return chosen


def _file(db: Session, cp: AuditCheckpoint) -> tuple[str, bytes]:
    records = list(db.scalars(select(AuditRecord).where(AuditRecord.id.between(cp.first_id, cp.last_id))
                              .order_by(AuditRecord.id)))
    _check_intact(cp, records)
    paths = merkle.paths([r.hash for r in records], cp.algorithm)
    lines = [canonical_json({"checkpoint": statement(cp), "signature": base64.b64encode(cp.signature).decode()})]
    lines += [canonical_json({"id": r.id, "prev_hash": r.prev_hash.hex(), "hash": r.hash.hex(), "mac": r.mac.hex(),
                              "record": record_fields(r), "audit_path": [h.hex() for h in path]})
              for r, path in zip(records, paths, strict=True)]
    return f"audit-{cp.first_id:012d}-{cp.last_id:012d}.jsonl", ("\n".join(lines) + "\n").encode()


def _check_intact(cp: AuditCheckpoint, records: list[AuditRecord]) -> None:
    """Refuse to archive (and so delete) records that no longer match their signed checkpoint."""
    bad = [r.id for i, r in enumerate(records)
           if merkle.hasher(r.alg)(r.prev_hash + canonical(record_fields(r))) != r.hash
           or (i and r.prev_hash != records[i - 1].hash)]
    if len(records) != cp.count or [r.id for r in records] != list(range(cp.first_id, cp.last_id + 1)):
        bad.append(cp.first_id)
    elif merkle.root([r.hash for r in records], cp.algorithm) != cp.merkle_root or records[-1].hash != cp.last_hash:
        bad.append(cp.last_id)
    if bad:
        raise AppError(f"检查点 #{cp.id} 的记录与签名不符(记录 #{min(bad)} 起),不能归档;请运行 govdata audit verify",
                       code="audit_tampered", status=409)
