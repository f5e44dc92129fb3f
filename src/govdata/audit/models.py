"""Tables of the tamper-evident audit trail (可溯): records, signed checkpoints, and the one-row chain head.

* ``audit_records`` — one row per audited event. ``id`` is the position in the chain: it is assigned from
  ``audit_head.last_id`` under the head's row lock, never from a sequence, so ids have no gaps (a rolled-back
  transaction gives its id back) and a gap in ids means a deleted record. ``hash = H(prev_hash || canonical)``
  (see :mod:`govdata.audit.canonical`); ``mac`` is an HMAC of ``hash`` under a key derived from the platform's
  private key, so that a record nobody at the platform wrote is recognisable even before a checkpoint signs it.
* ``audit_checkpoints`` — a signed Merkle root over a batch of consecutive records; checkpoints chain through
  ``prev_root`` and have gapless ids as well.
* ``audit_head`` — the chain head (last id and hash, last checkpoint). Its row lock serialises appends across
  processes and servers; verify compares it with the records to find a truncated or extended tail.

Hashes, MACs and signatures are stored as raw bytes (``LargeBinary``): verify reads millions of them and hex
decoding would cost more than hashing. Proofs and the CLI show them in hex. JSON fields are stored as text in
exactly the canonical encoding that was hashed (:class:`CanonicalJSON`), so verify can splice them into the
canonical record without parsing them; a ``json``/``jsonb`` column would let the database reformat them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from govdata.db import Base, UTCDateTime

# BIGINT on PostgreSQL; on SQLite INTEGER, so that the primary key is the rowid and scans in id order are
# scans of the table itself.
ChainId = BigInteger().with_variant(Integer(), "sqlite")


def canonical_json(value: Any) -> str:
    """The one JSON encoding used for hashing: sorted keys, no spaces, UTF-8 characters unescaped, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class CanonicalText(str):
    """A value already encoded with :func:`canonical_json` (bulk inserts skip encoding it twice)."""

    __slots__ = ()


class CanonicalJSON(TypeDecorator):
    """JSON stored as TEXT in its canonical encoding; read back as Python values."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, CanonicalText):
            return str(value)
        return canonical_json(value)

    def process_result_value(self, value: str | None, dialect) -> Any:
        return None if value is None else json.loads(value)


class AuditRecord(Base):
    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(ChainId, primary_key=True, autoincrement=False)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    alg: Mapped[str] = mapped_column(String(8))  # hash of this record: sha256 | sm3
    kind: Mapped[str] = mapped_column(String(40), index=True)  # exchange.call, sharing.decision, audit.archive …
    outcome: Mapped[str] = mapped_column(String(40))  # "ok" or a refusal code (not_granted, quota_exceeded …)
    consumer_org: Mapped[str | None] = mapped_column(String(40))  # organisation code
    consumer_system: Mapped[str | None] = mapped_column(String(100))
    consumer_person: Mapped[str | None] = mapped_column(String(100))
    provider_org: Mapped[str | None] = mapped_column(String(40))  # the providing department's organisation code
    resource: Mapped[str | None] = mapped_column(String(40))  # resource code
    items: Mapped[list[Any]] = mapped_column(CanonicalJSON)
    query: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON)
    purpose: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(BigInteger)
    response_hash: Mapped[str | None] = mapped_column(String(128))  # hex
    extra: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    mac: Mapped[bytes] = mapped_column(LargeBinary(32))

    __table_args__ = (
        # "a consumer sees its own calls; a provider sees who read its data": newest first per org / resource
        Index("ix_audit_records_consumer_org_id", "consumer_org", "id"),
        Index("ix_audit_records_provider_org_id", "provider_org", "id"),
        Index("ix_audit_records_resource_id", "resource", "id"),
    )


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # gapless, from the head
    first_id: Mapped[int] = mapped_column(ChainId, unique=True)
    last_id: Mapped[int] = mapped_column(ChainId, unique=True)
    count: Mapped[int] = mapped_column(Integer)
    merkle_root: Mapped[bytes] = mapped_column(LargeBinary(32))
    prev_root: Mapped[bytes] = mapped_column(LargeBinary(32))  # the previous checkpoint's root (zeros first)
    last_hash: Mapped[bytes] = mapped_column(LargeBinary(32))  # hash of record last_id: where the chain resumes
    algorithm: Mapped[str] = mapped_column(String(8))  # Merkle tree hash: sha256 | sm3
    key_id: Mapped[str] = mapped_column(String(64))  # SHA-256 of the public key (DER SubjectPublicKeyInfo), hex
    signature_alg: Mapped[str] = mapped_column(String(16))  # ed25519
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    archive: Mapped[str | None] = mapped_column(String(200))  # file its records were archived to (informative)


class AuditHead(Base):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # always 1
    last_id: Mapped[int] = mapped_column(ChainId)
    last_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    checkpoint_id: Mapped[int] = mapped_column(Integer)  # last checkpoint's id, 0 before the first
    sealed_id: Mapped[int] = mapped_column(ChainId)  # last record id covered by a checkpoint
    sealed_root: Mapped[bytes] = mapped_column(LargeBinary(32))
    archived_through: Mapped[int] = mapped_column(ChainId)  # records up to this id were archived
