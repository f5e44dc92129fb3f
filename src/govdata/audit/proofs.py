"""Inclusion proofs: that one record is in a checkpoint the platform signed, checkable offline with nothing but
the platform's public key (``govdata audit check-proof``, or any RFC 9162 verifier plus Ed25519).

A proof carries the record's hashed fields, ``prev_hash`` and ``hash``, its leaf index and the tree size, the
audit path, the signed checkpoint statement and its signature. Records that were archived are proven from their
archive file (:mod:`govdata.audit.archive`), which holds each record's audit path and the signed checkpoint.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.audit import keys, merkle
from govdata.audit.canonical import canonical, record_fields
from govdata.audit.chain import R, checkpoint, statement, statement_bytes
from govdata.audit.models import AuditCheckpoint, AuditRecord
from govdata.errors import AppError, NotFound

if TYPE_CHECKING:
    from govdata.audit.archive import ArchiveTarget

HOW_TO_CHECK = ("hash = H(prev_hash || canonical JSON of record); leaf = H(0x00 || hash); the audit path leads to "
                "checkpoint.merkle_root (RFC 9162 2.1.3.2, node = H(0x01 || left || right)); signature = Ed25519 "
                "over 'govdata-audit-checkpoint-v1\\n' + canonical JSON of checkpoint")


def not_found(request_id: str) -> NotFound:
    return NotFound(f"没有请求编号为 {request_id} 的审计记录", code="audit_record_not_found")


def proof(db: Session, request_id: str, archive: ArchiveTarget | None = None) -> dict[str, Any]:
    """Inclusion proof of the record with ``request_id`` (JSON-able); seals a checkpoint first when the record
    is not in one yet (and commits). With ``archive``, archived records are looked for in its files."""
    record = db.scalars(select(AuditRecord).where(AuditRecord.request_id == request_id)).first()
    if record is None:
        found = proof_from_archive(archive, request_id) if archive is not None else None
        if found is None:
            raise not_found(request_id)
        return found
    return record_proof(db, record)


def record_proof(db: Session, record: AuditRecord) -> dict[str, Any]:
    cp = _checkpoint_of(db, record.id)
    if cp is None:
        checkpoint(db)
        cp = _checkpoint_of(db, record.id)
        if cp is None:
            raise AppError("记录没有被任何检查点覆盖;请运行 govdata audit verify", code="audit_tampered", status=409)
    hashes = db.scalars(select(R.hash).where(R.id.between(cp.first_id, cp.last_id)).order_by(R.id)).all()
    if len(hashes) != cp.count:
        raise AppError(f"检查点 #{cp.id} 的记录不完整;请运行 govdata audit verify", code="audit_tampered", status=409)
    index = record.id - cp.first_id
    return proof_dict(record.id, record_fields(record), record.prev_hash, record.hash,
                      merkle.path(list(hashes), index, cp.algorithm), statement(cp), cp.signature)


def _checkpoint_of(db: Session, record_id: int) -> AuditCheckpoint | None:
    return db.scalars(select(AuditCheckpoint).where(AuditCheckpoint.first_id <= record_id,
                                                    AuditCheckpoint.last_id >= record_id)).first()


def proof_dict(record_id: int, fields: dict[str, Any], prev_hash: bytes, record_hash: bytes,
               audit_path: Sequence[bytes], st: dict[str, Any], signature: bytes) -> dict[str, Any]:
    return {
        "type": "govdata-audit-inclusion-proof", "version": 1,
        "record_id": record_id, "record": fields,
        "prev_hash": prev_hash.hex(), "hash": record_hash.hex(),
        "leaf_index": record_id - st["first_id"], "tree_size": st["count"],
        "audit_path": [h.hex() for h in audit_path],
        "checkpoint": st, "signature": base64.b64encode(signature).decode(),
        "how_to_check": HOW_TO_CHECK,
    }


def proof_from_archive(archive: ArchiveTarget, request_id: str) -> dict[str, Any] | None:
    """The proof of an archived record, from the archive file that holds it (None when none does)."""
    needle = f'"request_id":{encode_basestring(request_id)}'.encode()
    for name in archive.names():
        data = archive.read(name)
        if needle not in data:
            continue
        lines = [json.loads(line) for line in data.splitlines() if line]
        head = lines[0]
        for line in lines[1:]:
            if line["record"]["request_id"] == request_id:
                return proof_dict(line["id"], line["record"], bytes.fromhex(line["prev_hash"]),
                                  bytes.fromhex(line["hash"]), [bytes.fromhex(h) for h in line["audit_path"]],
                                  head["checkpoint"], base64.b64decode(head["signature"]))
    return None


def check_proof(proof: Mapping[str, Any], public_key_pem: str) -> None:
    """Verify an inclusion proof offline with nothing but the platform's public key; raise ``proof_invalid``
    saying what failed."""
    def fail(message: str) -> AppError:
        return AppError(message, code="proof_invalid")

    try:
        fields = dict(proof["record"])
        prev_hash, record_hash = bytes.fromhex(proof["prev_hash"]), bytes.fromhex(proof["hash"])
        st = dict(proof["checkpoint"])
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        index, size, record_id = int(proof["leaf_index"]), int(proof["tree_size"]), int(proof["record_id"])
        signature = base64.b64decode(proof["signature"], validate=True)
        body = canonical(fields)
        hash_fn = merkle.hasher(str(fields["alg"]))
        tree_alg = str(st["algorithm"])
        merkle.hasher(tree_alg)
        root = bytes.fromhex(st["merkle_root"])
        first_id, last_id, count = int(st["first_id"]), int(st["last_id"]), int(st["count"])
    except (KeyError, TypeError, ValueError, AppError) as exc:
        raise fail(f"证明格式不正确:{exc}") from None
    if hash_fn(prev_hash + body) != record_hash:
        raise fail("记录内容与证明中的记录哈希不符(记录字段被改动)")
    if not (first_id <= record_id <= last_id) or index != record_id - first_id or size != count:
        raise fail("记录位置与检查点范围不符(leaf_index / tree_size 被改动)")
    if merkle.root_from_path(record_hash, index, size, path, tree_alg) != root:
        raise fail("审计路径推不出检查点签名的默克尔根(审计路径被改动)")
    given = keys.key_id(public_key_pem)
    if st.get("key_id") != given:
        raise fail(f"检查点由密钥 {str(st.get('key_id'))[:16]}… 签署,不是所给公钥 {given[:16]}…")
    if st.get("signature_alg") != "ed25519" or not keys.verify(public_key_pem, signature, statement_bytes(st)):
        raise fail("检查点签名无法用所给公钥核验(检查点内容被改动或签名被伪造)")
