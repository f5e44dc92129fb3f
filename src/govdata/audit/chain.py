"""Appending to the chain: the head lock, hashes and MACs, the rows, the batch hooks, and signed checkpoints.

Record MAC
    ``mac = HMAC(K, hash)`` with a key derived from the platform's private key (:mod:`govdata.audit.keys`). The
    chain alone cannot tell a forged record appended at the tail — with a correctly recomputed hash, and
    ``audit_head`` rewritten to match — from a genuine one that no checkpoint has signed yet; the MAC can. The
    sealer checks the MACs of the records it is about to sign and refuses to sign a record the platform did not
    write, so a forgery cannot be laundered into a checkpoint either.

Chain head and serialisation
    Appends take the row lock of the one-row ``audit_head`` (PostgreSQL ``SELECT … FOR UPDATE``; SQLite: the
    head row is updated *first*, which takes SQLite's single write lock before the head is read, so the read is
    never stale), assign ``id = last_id + 1`` and update the head in the same transaction. Hence one unbroken
    chain across threads, processes and servers, and gapless ids (a rolled-back append gives its id back, which
    a sequence would not) — so a gap in ids means a deleted record. The head lock is held until the caller
    commits: ``append`` should be the last statement before the commit. The head also records the last
    checkpoint, so that deleting the tail of the records or of the checkpoints shows.

Batch hooks
    :func:`register_batch_hook` ``fn(db, records)`` runs in the transaction that inserts records — the writer's
    batch or a synchronous :func:`append` — after the rows are inserted, with each record's fields (defaults
    filled in, plus its ``id``). Whatever it writes commits or rolls back with the records: another domain can
    keep counts that always agree with the trail. A hook that raises fails the records like a database error.

Checkpoints
    Every ``GOVDATA_AUDIT_CHECKPOINT_EVERY`` records (exactly that many per checkpoint) and on demand
    (:func:`checkpoint`, which seals whatever is pending), a checkpoint stores the RFC 6962 Merkle root of the
    records' hashes (:mod:`govdata.audit.merkle`), the previous checkpoint's root (checkpoints chain too), the
    hash of its last record, and an Ed25519 signature over a canonical statement of all of that (see
    :func:`statement`). Checkpoint ids are gapless as well.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from govdata.audit import keys, merkle
from govdata.audit.canonical import FIELDS, JSON_FIELDS, Prepared, format_at, prepare
from govdata.audit.models import AuditCheckpoint, AuditHead, AuditRecord, canonical_json
from govdata.config import get_settings
from govdata.db import utcnow
from govdata.errors import AppError

logger = logging.getLogger("govdata.audit")

ZERO = merkle.ZERO
STATEMENT_PREFIX = b"govdata-audit-checkpoint-v1\n"
R = AuditRecord.__table__.c
C = AuditCheckpoint.__table__.c
HEAD = AuditHead.__table__

BatchHook = Callable[[Session, list[dict[str, Any]]], None]
_hooks: list[BatchHook] = []


def register_batch_hook(fn: BatchHook) -> BatchHook:
    """Run ``fn(db, records)`` in every transaction that inserts audit records (see the module docstring)."""
    if fn not in _hooks:
        _hooks.append(fn)
    return fn


def unregister_batch_hook(fn: BatchHook) -> None:
    if fn in _hooks:
        _hooks.remove(fn)


def run_batch_hooks(db: Session, prepared: Sequence[Prepared], ids: Sequence[int]) -> None:
    if not _hooks:
        return
    for fn in list(_hooks):
        fn(db, [{**p.values, "id": id_} for p, id_ in zip(prepared, ids, strict=True)])


# ---- the chain head ----------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Head:
    last_id: int
    last_hash: bytes
    checkpoint_id: int
    sealed_id: int
    sealed_root: bytes
    archived_through: int


HEAD_COLUMNS = (HEAD.c.last_id, HEAD.c.last_hash, HEAD.c.checkpoint_id, HEAD.c.sealed_id, HEAD.c.sealed_root,
                HEAD.c.archived_through)


# Built once: the writer runs these for every batch (building a statement costs more than running it).
_READ_HEAD = select(*HEAD_COLUMNS).where(HEAD.c.id == 1)
_LOCK_HEAD_PG = _READ_HEAD.with_for_update()
# SQLite: a write takes its write lock (waiting for any other writer) and RETURNING reads the head in the same
# statement, so no other writer can move it until we commit.
_LOCK_HEAD_SQLITE = update(HEAD).where(HEAD.c.id == 1).values(last_id=HEAD.c.last_id).returning(*HEAD_COLUMNS)
_SAVE_HEAD = update(HEAD).where(HEAD.c.id == 1).values({c.name: bindparam(f"new_{c.name}") for c in HEAD_COLUMNS})


def lock_head(db: Session) -> Head:
    """Lock the chain head for this transaction and read it (creating it on first use)."""
    sqlite = db.get_bind().dialect.name == "sqlite"
    for _ in range(2):
        row = db.connection().execute(_LOCK_HEAD_SQLITE if sqlite else _LOCK_HEAD_PG).first()
        if row is not None:
            return Head(*row)
        _create_head(db, sqlite)
    raise RuntimeError("audit_head could not be created")


def read_head(db: Session) -> Head | None:
    """The head as committed, without locking it."""
    row = db.execute(select(*HEAD_COLUMNS).where(HEAD.c.id == 1)).first()
    return Head(*row) if row else None


def _create_head(db: Session, sqlite: bool) -> None:
    last = db.execute(select(R.id, R.hash).order_by(R.id.desc()).limit(1)).first()
    cp = db.execute(select(C.id, C.last_id, C.merkle_root).order_by(C.id.desc()).limit(1)).first()
    if last is not None:
        logger.error("audit_head was missing while audit records exist; rebuilt from record %s", last[0])
    values = {"id": 1, "last_id": last[0] if last else 0, "last_hash": last[1] if last else ZERO,
              "checkpoint_id": cp[0] if cp else 0, "sealed_id": cp[1] if cp else 0,
              "sealed_root": cp[2] if cp else ZERO, "archived_through": 0}
    stmt = (sqlite_insert if sqlite else pg_insert)(HEAD).values(**values).on_conflict_do_nothing(
        index_elements=["id"])
    db.execute(stmt)


def save_head(db: Session, head: Head) -> None:
    db.connection().execute(_SAVE_HEAD, {f"new_{k}": getattr(head, k) for k in Head.__slots__})


def chain_rows(head: Head, prepared: Sequence[Prepared], mac_key: bytes) -> list[dict[str, Any]]:
    """Hash, link and MAC ``prepared`` after ``head`` (which moves along)."""
    rows = []
    for p in prepared:
        alg = p.values["alg"]
        digest = merkle.hasher(alg)(head.last_hash + p.canonical)
        head.last_id += 1
        rows.append({**p.columns, "id": head.last_id, "prev_hash": head.last_hash, "hash": digest,
                     "mac": merkle.hmac_digest(mac_key, digest, alg)})
        head.last_hash = digest
    return rows


_COLUMNS = ("id", *FIELDS, "prev_hash", "hash", "mac")
_AT = _COLUMNS.index("at")
_SQLITE_INSERT = f"INSERT INTO audit_records ({', '.join(_COLUMNS)}) VALUES "  # noqa: S608 (constant names)
_SQLITE_ROW = f"({', '.join('?' for _ in _COLUMNS)})"
_SQLITE_CHUNK = 500  # rows per INSERT (20 parameters each; SQLite allows 32,766)


def insert_rows(db: Session, rows: list[dict[str, Any]]) -> None:
    """Multi-row INSERTs. On SQLite straight to the driver, 500 rows a statement: SQLAlchemy's per-value bind
    processing would cost more than the insert, and ``executemany`` lets go of the GIL once per row, which under
    load (request threads busy) makes the writer wait for the GIL once per row. ``at`` is written in
    SQLAlchemy's SQLite format, naive UTC with microseconds. PostgreSQL: SQLAlchemy's "insertmanyvalues"."""
    if db.get_bind().dialect.name != "sqlite":
        db.execute(insert(AuditRecord.__table__), rows)
        return
    conn = db.connection()
    for i in range(0, len(rows), _SQLITE_CHUNK):
        params: list[Any] = []
        chunk = rows[i:i + _SQLITE_CHUNK]
        for row in chunk:
            values = [str(row[c]) if c in JSON_FIELDS else row[c] for c in _COLUMNS]
            values[_AT] = row["at"].astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            params += values
        conn.exec_driver_sql(_SQLITE_INSERT + ", ".join([_SQLITE_ROW] * len(chunk)), tuple(params))


def append(db: Session, *, seal: bool = True, **fields: Any) -> AuditRecord:
    """Append one record inside the caller's transaction (the caller commits; make it the last statement).

    Fields: ``kind`` (required), ``outcome`` ("ok" or a refusal code; default "ok"), ``request_id`` (default a
    new uuid; unique), ``at`` (default now), ``consumer_org``, ``consumer_system``, ``consumer_person``,
    ``provider_org``, ``resource``, ``items`` (list), ``query`` (dict), ``purpose``, ``rows``, ``response_hash``
    (hex), ``extra`` (dict). Runs the batch hooks. Seals a checkpoint when one is due (``seal=False`` leaves that
    to the next append)."""
    p = prepare(fields)
    mac_key = keys.record_mac_key()
    head = lock_head(db)
    row = chain_rows(head, [p], mac_key)[0]
    record = AuditRecord(**p.values, id=row["id"], prev_hash=row["prev_hash"], hash=row["hash"], mac=row["mac"])
    db.add(record)
    db.flush()
    save_head(db, head)
    run_batch_hooks(db, [p], [record.id])
    if seal:
        seal_due(db, head)
    return record


# ---- checkpoints -----------------------------------------------------------------------------------------------

def statement(cp: AuditCheckpoint | Mapping[str, Any]) -> dict[str, Any]:
    """What a checkpoint signature covers (JSON values; bytes in hex)."""
    get = cp.get if isinstance(cp, Mapping) else lambda k: getattr(cp, k)
    return {"v": 1, "checkpoint": get("id"), "first_id": get("first_id"), "last_id": get("last_id"),
            "count": get("count"), "merkle_root": get("merkle_root").hex(), "prev_root": get("prev_root").hex(),
            "last_hash": get("last_hash").hex(), "algorithm": get("algorithm"), "key_id": get("key_id"),
            "signature_alg": get("signature_alg"), "created_at": format_at(get("created_at"))}


def statement_bytes(st: Mapping[str, Any]) -> bytes:
    return STATEMENT_PREFIX + canonical_json(dict(st)).encode()


def seal_due(db: Session, head: Head, strict: bool = False,
             known: Mapping[int, bytes] | None = None) -> AuditCheckpoint | None:
    """Seal every full checkpoint's worth of pending records."""
    every = max(1, get_settings().audit_checkpoint_every)
    cp = None
    while head.last_id - head.sealed_id >= every:
        sealed = _seal(db, head, head.sealed_id + every, strict, known)
        if sealed is None:
            break
        cp = sealed
    return cp


def _unsigned_faults(db: Session, first: int, read_upto: int) -> tuple[list[tuple[int, bytes]], list[str]]:
    """Records first … read_upto as (id, hash), and what is wrong with them: missing, or a MAC that is not ours."""
    rows = db.execute(select(R.id, R.hash, R.mac, R.alg).where(R.id.between(first, read_upto))
                      .order_by(R.id)).all() if read_upto >= first else []
    mac_key = keys.record_mac_key()
    faults = []
    if [r[0] for r in rows] != list(range(first, read_upto + 1)):
        present = {r[0] for r in rows}
        faults.append(f"记录 {', '.join(str(i) for i in range(first, read_upto + 1) if i not in present)} 缺失")
    forged = [str(r[0]) for r in rows if r[3] not in merkle.ALGORITHMS
              or merkle.hmac_digest(mac_key, r[1], r[3]) != r[2]]
    if forged:
        faults.append(f"记录 {', '.join(forged)} 不是本平台写入的(MAC 不符)")
    return [(r[0], r[1]) for r in rows], faults


def _seal(db: Session, head: Head, upto: int, strict: bool,
          known: Mapping[int, bytes] | None = None) -> AuditCheckpoint | None:
    """Sign records head.sealed_id+1 … upto. ``known``: id → hash of records this transaction has just written
    (and therefore need no MAC check); the others are read back and their MACs checked."""
    first = head.sealed_id + 1
    known = known or {}
    read_upto = upto
    while read_upto >= first and read_upto in known:
        read_upto -= 1
    rows, faults = _unsigned_faults(db, first, read_upto)
    rows += [(i, known[i]) for i in range(read_upto + 1, upto + 1)]
    if faults or not rows:
        message = f"拒绝签署检查点(记录 {first}–{upto}):" + ";".join(faults or ["没有记录"])
        if strict:
            raise AppError(message + "。请运行 govdata audit verify", code="audit_tampered", status=409)
        logger.error("audit: %s", message)
        return None
    algorithm = get_settings().audit_hash
    cp = AuditCheckpoint(id=head.checkpoint_id + 1, first_id=first, last_id=upto, count=len(rows),
                         merkle_root=merkle.root([r[1] for r in rows], algorithm), prev_root=head.sealed_root,
                         last_hash=rows[-1][1], algorithm=algorithm, key_id=_platform_key_id(),
                         signature_alg=keys.signature_algorithm(), created_at=utcnow())
    cp.signature = keys.sign(statement_bytes(statement(cp)))
    db.add(cp)
    db.flush()
    head.checkpoint_id, head.sealed_id, head.sealed_root = cp.id, upto, cp.merkle_root
    save_head(db, head)
    return cp


_key_ids: dict[str, str] = {}


def _platform_key_id() -> str:
    pem = keys.public_key_pem()
    if pem not in _key_ids:
        _key_ids[pem] = keys.key_id(pem)
    return _key_ids[pem]


def checkpoint(db: Session) -> AuditCheckpoint | None:
    """Seal every pending record now (commits). Returns the last checkpoint made, or None when nothing was
    pending. Raises ``audit_tampered`` rather than sign a record the platform did not write."""
    head = lock_head(db)
    cp = seal_due(db, head, strict=True)
    if head.last_id > head.sealed_id:
        cp = _seal(db, head, head.last_id, strict=True)
    db.commit()
    return cp
