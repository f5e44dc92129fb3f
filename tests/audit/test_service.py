"""The audit trail as an auditor relies on it: the chain and checkpoints follow the documented formulas (checked
here with hashlib, json and cryptography, not with the code under test), every kind of tampering done with raw SQL
is reported by kind and id, proofs check offline with the public key alone, and concurrent writers still make one
unbroken chain. On SQLite and, with GOVDATA_TEST_POSTGRES, PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select, text

from govdata.audit import keys, merkle, scan, service
from govdata.audit.models import AuditCheckpoint, AuditHead, AuditRecord
from govdata.audit.verify import _Verifier
from govdata.config import get_settings
from govdata.db import new_session
from govdata.errors import AppError
from tests.audit.conftest import fields, fill

ZERO = bytes(32)


# ---- independent reference implementations (what an auditor would write from the documentation) ----------------

def ref_canonical(fields: dict) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def ref_hash(alg: str, data: bytes) -> bytes:
    if alg == "sha256":
        return hashlib.sha256(data).digest()
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def ref_mth(alg: str, leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 Merkle Tree Hash, written from the RFC's recursive definition."""
    if len(leaves) == 1:
        return ref_hash(alg, b"\x00" + leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return ref_hash(alg, b"\x01" + ref_mth(alg, leaves[:k]) + ref_mth(alg, leaves[k:]))


def ref_inclusion(alg: str, leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    fn, sn, r = index, size - 1, ref_hash(alg, b"\x00" + leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = ref_hash(alg, b"\x01" + p + r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = ref_hash(alg, b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def stored_fields(r: AuditRecord) -> dict:
    return {"alg": r.alg, "at": r.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "consumer_org": r.consumer_org, "consumer_person": r.consumer_person,
            "consumer_system": r.consumer_system, "extra": r.extra, "items": r.items, "kind": r.kind,
            "outcome": r.outcome, "provider_org": r.provider_org, "purpose": r.purpose, "query": r.query,
            "request_id": r.request_id, "resource": r.resource, "response_hash": r.response_hash, "rows": r.rows}


# ---- helpers -----------------------------------------------------------------------------------------------------

def records(db) -> list[AuditRecord]:
    db.expire_all()
    return list(db.scalars(select(AuditRecord).order_by(AuditRecord.id)))


def sql(db, statement: str, **params) -> None:
    db.execute(text(statement), params)
    db.commit()
    db.expire_all()


def found(report: service.VerifyReport) -> set[tuple]:
    return {(p.kind, p.record_id) for p in report.problems if p.record_id is not None} | {
        (p.kind, f"cp{p.checkpoint_id}") for p in report.problems if p.checkpoint_id is not None}


# ---- the clean chain -----------------------------------------------------------------------------------------------

def test_clean_chain_follows_the_documented_formulas(db):
    fill(db, 10)
    rows = records(db)
    assert [r.id for r in rows] == list(range(1, 11))
    prev = ZERO
    for r in rows:
        assert r.prev_hash == prev
        assert r.hash == hashlib.sha256(prev + ref_canonical(stored_fields(r))).digest()
        prev = r.hash
    cps = list(db.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)))
    assert [(c.id, c.first_id, c.last_id, c.count) for c in cps] == [(1, 1, 4, 4), (2, 5, 8, 4)]
    public = serialization.load_pem_public_key(keys.public_key_pem().encode())
    assert isinstance(public, Ed25519PublicKey)
    prev_root = ZERO
    for c in cps:
        assert c.merkle_root == ref_mth("sha256", [r.hash for r in rows[c.first_id - 1:c.last_id]])
        assert c.prev_root == prev_root and c.last_hash == rows[c.last_id - 1].hash
        st = service.statement(c)
        assert st["merkle_root"] == c.merkle_root.hex() and st["key_id"] == keys.key_id()
        public.verify(c.signature, b"govdata-audit-checkpoint-v1\n" + ref_canonical(st))  # raises if invalid
        prev_root = c.merkle_root
    report = service.verify(db)
    assert report.ok, report.problems
    assert (report.records, report.checkpoints, report.unsealed, report.macs_checked) == (10, 2, 2, True)
    assert report.rechecked == 0  # the database-built canonical form matched: verify stayed on its fast path
    head = db.get(AuditHead, 1)
    assert (head.last_id, head.last_hash, head.sealed_id) == (10, rows[-1].hash, 8)


def test_awkward_strings_hash_the_same_in_python_and_in_the_database(db):
    """Quotes, backslashes, control characters and non-BMP text: the database-built canonical form may escape
    them differently; verify must still agree with the documented encoding."""
    odd = 'say "hi" \\ back\nslash\ttab\x01\x1f é 𠀀 \u2028'
    service.append(db, **fields(1, purpose=odd, consumer_person=odd, query={"q": odd, "n": [1, 2.5, None, True]},
                                extra={"ż": {"b": 1, "a": 2}}, outcome='not"granted\\', resource=None))
    db.commit()
    r = records(db)[0]
    assert r.hash == hashlib.sha256(ZERO + ref_canonical(stored_fields(r))).digest()
    report = service.verify(db)
    assert report.ok, report.problems


def test_empty_trail_verifies(db):
    report = service.verify(db)
    assert report.ok and report.records == 0


def test_append_refuses_bad_fields(db):
    with pytest.raises(AppError) as exc:
        service.append(db, kind="exchange.call", colour="red")
    assert exc.value.code == "audit_field_unknown"
    with pytest.raises(AppError) as exc:
        service.append(db, kind="exchange.call", rows=-1)
    assert exc.value.code == "audit_field_invalid"
    with pytest.raises(AppError) as exc:
        service.append(db, kind="exchange.call", at=datetime(2026, 1, 1))  # naive
    assert exc.value.code == "audit_field_invalid"
    db.rollback()
    assert records(db) == []


def test_a_rolled_back_append_gives_its_id_back(db):
    fill(db, 2)
    service.append(db, **fields(3))
    db.rollback()
    fill(db, 1, start=4)
    assert [r.id for r in records(db)] == [1, 2, 3]
    assert service.verify(db).ok


def test_sm3_chains_verify_and_differ_from_sha256(db, monkeypatch):
    at = datetime(2026, 5, 1, 8, 30, 0, 123456, tzinfo=UTC)
    service.append(db, **fields(1, at=at))
    db.commit()
    monkeypatch.setattr(get_settings(), "audit_hash", "sm3")
    for i in range(2, 7):
        service.append(db, **fields(i, at=at))
        db.commit()
    rows = records(db)
    assert [r.alg for r in rows] == ["sha256"] + ["sm3"] * 5
    for r in rows:
        data = r.prev_hash + ref_canonical(stored_fields(r))
        assert r.hash == ref_hash(r.alg, data)
        if r.alg == "sm3":
            assert r.hash != hashlib.sha256(data).digest()
    cp = db.scalars(select(AuditCheckpoint)).one()
    assert cp.algorithm == "sm3" and cp.merkle_root == ref_mth("sm3", [r.hash for r in rows[:4]])
    report = service.verify(db)
    assert report.ok, report.problems
    proof = service.proof(db, "req-0006")
    service.check_proof(json.loads(json.dumps(proof)), keys.public_key_pem())


# ---- tampering ---------------------------------------------------------------------------------------------------
# 12 records, checkpoints 1 (#1–#4), 2 (#5–#8), 3 (#9–#12) unless a test says otherwise.

def chain(db, n: int = 12) -> list[AuditRecord]:
    fill(db, n)
    assert service.verify(db).ok
    return records(db)


def forge(db, record_id: int, prev: bytes, **over) -> bytes:
    """A record with a correctly recomputed hash — but a MAC the forger cannot compute."""
    f = {"alg": "sha256", "at": "2026-05-01T08:30:00.000000Z", "consumer_org": "11450200MB0000009",
         "consumer_person": "李四", "consumer_system": "伪造系统", "extra": {}, "items": ["name"],
         "kind": "exchange.call", "outcome": "ok", "provider_org": None, "purpose": "无", "query": {},
         "request_id": f"forged-{record_id}", "resource": "A0101/0001", "response_hash": None, "rows": 0, **over}
    h = hashlib.sha256(prev + ref_canonical(f)).digest()
    sql(db, "INSERT INTO audit_records (id, request_id, at, alg, kind, outcome, consumer_org, consumer_system, "
            "consumer_person, resource, items, query, purpose, rows, response_hash, extra, prev_hash, hash, mac) "
            "VALUES (:id, :rid, :at, 'sha256', :kind, 'ok', :org, :sys, :person, :res, :items, :query, :purpose, "
            "0, NULL, '{}', :prev, :hash, :mac)",
        id=record_id, rid=f["request_id"], at=datetime(2026, 5, 1, 8, 30, tzinfo=UTC), kind=f["kind"],
        org=f["consumer_org"], sys=f["consumer_system"], person=f["consumer_person"], res=f["resource"],
        items=json.dumps(f["items"]), query="{}", purpose=f["purpose"], prev=prev, hash=h, mac=os.urandom(32))
    return h


def test_changed_field_is_reported_by_id(db):
    chain(db)
    sql(db, "UPDATE audit_records SET purpose = '私自查询' WHERE id = 6")
    report = service.verify(db)
    assert found(report) == {("changed", 6)}, report.problems


def test_changed_field_with_recomputed_hash_is_still_found(db):
    rows = chain(db)
    h = forge(db, 99, rows[4].hash)  # compute a proper hash for new content of record 6 …
    sql(db, "DELETE FROM audit_records WHERE id = 99")
    sql(db, "UPDATE audit_records SET consumer_org = '11450200MB0000009', consumer_system = '伪造系统', "
            "consumer_person = '李四', provider_org = NULL, items = '[\"name\"]', query = '{}', purpose = '无', "
            "rows = 0, response_hash = NULL, request_id = 'forged-99', at = :at, hash = :h WHERE id = 6",
        at=datetime(2026, 5, 1, 8, 30, tzinfo=UTC), h=h)
    report = service.verify(db)
    assert ("changed", 6) in found(report), report.problems
    assert ("checkpoint_root", "cp2") in found(report)
    assert not {k for k, _ in found(report)} & {"deleted", "inserted", "reordered"}, report.problems


def test_unreadable_values_are_reported_as_changed(db):
    """Values no append writes (malformed JSON; on SQLite a BLOB in a text column) make the database refuse to
    build the canonical form; verify falls back to a slower query instead of failing."""
    chain(db)
    sql(db, "UPDATE audit_records SET items = 'not json' WHERE id = 3")
    if db.get_bind().dialect.name == "sqlite":
        sql(db, "UPDATE audit_records SET purpose = X'00ff' WHERE id = 7")
    report = service.verify(db)
    expected = {("changed", 3)} | ({("changed", 7)} if db.get_bind().dialect.name == "sqlite" else set())
    assert found(report) == expected, report.problems


def test_deleted_record_is_reported_by_id(db):
    chain(db)
    sql(db, "DELETE FROM audit_records WHERE id = 6")
    report = service.verify(db)
    assert found(report) == {("deleted", 6), ("checkpoint_root", "cp2")}, report.problems


def test_deleted_tail_is_reported(db):
    chain(db, 14)
    sql(db, "DELETE FROM audit_records WHERE id >= 13")
    report = service.verify(db)
    assert found(report) == {("deleted", 13)}, report.problems
    assert report.problems[0].last_record_id == 14


def test_deleted_record_with_ids_renumbered_is_reported(db):
    chain(db, 14)
    sql(db, "DELETE FROM audit_records WHERE id = 13")
    sql(db, "UPDATE audit_records SET id = 13 WHERE id = 14")
    sql(db, "UPDATE audit_head SET last_id = 13")
    report = service.verify(db)
    assert ("deleted", 13) in found(report), report.problems


def test_forged_record_at_the_tail_is_reported_even_with_a_correct_hash(db):
    rows = chain(db)
    forge(db, 13, rows[-1].hash)  # correct prev and hash, not signed into any checkpoint
    report = service.verify(db)
    assert found(report) == {("inserted", 13)}, report.problems


def test_forged_record_with_the_head_rewritten_to_match_is_reported(db):
    rows = chain(db)
    h = forge(db, 13, rows[-1].hash)
    sql(db, "UPDATE audit_head SET last_id = 13, last_hash = :h", h=h)
    report = service.verify(db)
    assert found(report) == {("inserted", 13)}, report.problems
    with pytest.raises(AppError) as exc:  # and the platform refuses to sign it into a checkpoint
        service.checkpoint(db)
    assert exc.value.code == "audit_tampered" and "13" in exc.value.message
    db.rollback()
    fill(db, 4, start=20)  # appends go on; automatic sealing skips the forged tail and logs it
    assert db.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())).first().last_id == 12


def test_forged_record_inserted_in_the_middle_is_reported(db):
    rows = chain(db)
    for i in range(12, 6, -1):  # make room after #6
        sql(db, "UPDATE audit_records SET id = :new WHERE id = :old", new=i + 1, old=i)
    forge(db, 7, rows[5].hash)
    report = service.verify(db)
    kinds = found(report)
    assert ("inserted", 7) in kinds, report.problems
    assert ("checkpoint_root", "cp2") in kinds and ("checkpoint_root", "cp3") in kinds
    assert not {k for k, _ in kinds} & {"changed", "reordered", "deleted"}, report.problems


@pytest.mark.parametrize(("a", "b"), [(6, 10), (6, 7)])
def test_reordered_records_are_reported_by_id(db, a, b):
    chain(db)
    sql(db, "UPDATE audit_records SET id = -1 WHERE id = :a", a=a)
    sql(db, "UPDATE audit_records SET id = :a WHERE id = :b", a=a, b=b)
    sql(db, "UPDATE audit_records SET id = :b WHERE id = -1", b=b)
    report = service.verify(db)
    kinds = found(report)
    assert {("reordered", a), ("reordered", b)} <= kinds, report.problems
    assert {k for k, _ in kinds} <= {"reordered", "checkpoint_root"}, report.problems
    assert ("checkpoint_root", "cp2") in kinds


def test_changed_checkpoint_root_is_reported(db):
    chain(db)
    sql(db, "UPDATE audit_checkpoints SET merkle_root = :r WHERE id = 2", r=os.urandom(32))
    report = service.verify(db)
    kinds = found(report)
    assert {("checkpoint_root", "cp2"), ("checkpoint_signature", "cp2")} <= kinds, report.problems
    assert {k for k, _ in kinds} <= {"checkpoint_root", "checkpoint_signature", "checkpoint_chain", "head"}


def test_forged_checkpoint_signature_is_reported(db):
    chain(db)
    cp = db.get(AuditCheckpoint, 2)
    forger = Ed25519PrivateKey.generate()  # a well-formed signature over the right statement, wrong key
    sql(db, "UPDATE audit_checkpoints SET signature = :s WHERE id = 2",
        s=forger.sign(service.statement_bytes(service.statement(cp))))
    report = service.verify(db)
    assert found(report) == {("checkpoint_signature", "cp2")}, report.problems


def test_deleted_checkpoint_is_reported(db):
    chain(db)
    sql(db, "DELETE FROM audit_checkpoints WHERE id = 2")
    report = service.verify(db)
    assert ("checkpoint_deleted", "cp2") in found(report), report.problems
    assert {k for k, _ in found(report)} == {"checkpoint_deleted"}, report.problems


def test_deleted_last_checkpoint_is_reported(db):
    chain(db)
    sql(db, "DELETE FROM audit_checkpoints WHERE id = 3")
    report = service.verify(db)
    assert ("checkpoint_deleted", "cp3") in found(report), report.problems


def test_records_split_between_workers_are_merged_with_the_link_across_the_cut(db):
    """verify may scan ranges of records in separate processes, cut at checkpoint ends; the link across a cut
    is checked when the ranges are merged (the forked path itself runs in tests/audit/test_cli.py)."""
    rows = chain(db)
    sql(db, "UPDATE audit_records SET prev_hash = :p WHERE id = 9", p=rows[0].hash)
    conn = db.connection()
    cps = scan.load_checkpoints(conn)
    bounds = scan.checkpoint_bounds(cps, 0)
    segments = scan.segments(0, 12, bounds, 2)
    assert segments == [(0, 8), (8, None)]
    parts = [scan.scan(conn.connection.dbapi_connection, conn.dialect, lo, hi, ZERO if lo == 0 else None,
                           [b for b in bounds if b[1] > lo and (hi is None or b[2] <= hi)], "sha256", 5, None, False)
             for lo, hi in segments]
    assert [p.count for p in parts] == [8, 4] and parts[1].first == (9, rows[0].hash)
    merged = _Verifier(conn, None, None, 5, 2)
    merged._merge(parts, 0, ZERO, cps)
    assert merged.breaks == [(9, rows[0].hash, 8, rows[7].hash)]
    assert merged.suspects == [9] and merged.report.records == 12
    whole = service.verify(db, workers=1)
    assert found(whole) == {("changed", 9)}, whole.problems


# ---- proofs ------------------------------------------------------------------------------------------------------

def test_proof_checks_offline_with_the_public_key_only(db):
    chain(db, 10)
    proof = json.loads(json.dumps(service.proof(db, "req-0010")))  # unsealed: sealed on demand
    assert proof["checkpoint"]["last_id"] == 10
    db.close()
    pem = keys.public_key_pem()
    service.check_proof(proof, pem)
    # … and with nothing of govdata: hashlib, json, cryptography and the RFC 9162 algorithm
    st, rec = proof["checkpoint"], proof["record"]
    h = hashlib.sha256(bytes.fromhex(proof["prev_hash"]) + ref_canonical(rec)).digest()
    assert h.hex() == proof["hash"]
    assert ref_inclusion("sha256", h, proof["leaf_index"], proof["tree_size"],
                         [bytes.fromhex(p) for p in proof["audit_path"]], bytes.fromhex(st["merkle_root"]))
    serialization.load_pem_public_key(pem.encode()).verify(
        base64.b64decode(proof["signature"]), b"govdata-audit-checkpoint-v1\n" + ref_canonical(st))


def test_proofs_of_every_position_check(db):
    chain(db, 11)
    pem = keys.public_key_pem()
    for i in range(1, 12):
        service.check_proof(service.proof(db, f"req-{i:04d}"), pem)


def check_fails(proof: dict, pem: str, reason: str) -> None:
    with pytest.raises(AppError) as exc:
        service.check_proof(proof, pem)
    assert exc.value.code == "proof_invalid"
    assert reason in exc.value.message, exc.value.message


def test_altered_proofs_fail_with_a_precise_reason(db):
    chain(db)
    pem = keys.public_key_pem()
    good = service.proof(db, "req-0006")
    altered = json.loads(json.dumps(good))
    altered["record"]["purpose"] = "另一个用途"
    check_fails(altered, pem, "记录字段被改动")
    altered = json.loads(json.dumps(good))
    altered["audit_path"][0] = hashlib.sha256(b"x").hexdigest()
    check_fails(altered, pem, "审计路径被改动")
    altered = json.loads(json.dumps(good))
    altered["audit_path"] = altered["audit_path"][:-1]
    check_fails(altered, pem, "审计路径被改动")
    altered = json.loads(json.dumps(good))
    altered["checkpoint"]["created_at"] = "2020-01-01T00:00:00.000000Z"
    check_fails(altered, pem, "签名无法用所给公钥核验")
    altered = json.loads(json.dumps(good))
    altered["leaf_index"] = 0
    check_fails(altered, pem, "leaf_index")
    other = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    check_fails(good, other, "不是所给公钥")
    check_fails({"record": {}}, pem, "证明格式不正确")


def test_proof_of_unknown_request_is_not_found(db):
    chain(db, 2)
    with pytest.raises(AppError) as exc:
        service.proof(db, "no-such-request")
    assert exc.value.code == "audit_record_not_found" and exc.value.status == 404


# ---- concurrency and group commit --------------------------------------------------------------------------------

def test_writers_and_appends_from_several_threads_make_one_chain(db):
    db.commit()
    errors: list[BaseException] = []
    with service.AuditWriter(max_batch=7) as writer:
        def submit(t: int) -> None:
            try:
                futures = [writer.submit(fields(1000 * t + i)) for i in range(40)]
                assert all(isinstance(f.result(timeout=60), int) for f in futures)
            except BaseException as exc:
                errors.append(exc)

        def append(t: int) -> None:
            try:
                with new_session() as s:
                    for i in range(15):
                        service.append(s, **fields(1000 * t + i))
                        s.commit()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=submit, args=(t,)) for t in (1, 2, 3)]
        threads += [threading.Thread(target=append, args=(t,)) for t in (4, 5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
    rows = records(db)
    assert [r.id for r in rows] == list(range(1, 151))
    assert len({r.request_id for r in rows}) == 150
    report = service.verify(db)
    assert report.ok and report.records == 150, report.problems


def test_writer_futures_resolve_only_after_commit(db):
    db.commit()
    seen: list[tuple[int, str | None]] = []

    def read_back(future) -> None:
        with new_session() as s:  # another connection: sees only committed data
            r = s.get(AuditRecord, future.result())
            seen.append((future.result(), r.request_id if r else None))

    with service.AuditWriter() as writer:
        futures = [writer.submit(fields(i)) for i in range(1, 21)]
        for f in futures:
            f.add_done_callback(read_back)
        ids = [f.result(timeout=60) for f in futures]
    assert sorted(ids) == list(range(1, 21))
    assert sorted(seen) == [(i, f"req-{i:04d}") for i in range(1, 21)]


def test_writer_fails_only_the_duplicate(db):
    fill(db, 1)
    with service.AuditWriter() as writer:
        futures = [writer.submit(fields(i)) for i in (2, 3, 1, 4)]  # req-0001 exists
        outcomes = []
        for f in futures:
            try:
                outcomes.append(f.result(timeout=60))
            except Exception as exc:
                outcomes.append(type(exc).__name__)
    assert outcomes[2] == "IntegrityError" and sorted(o for o in outcomes if isinstance(o, int)) == [2, 3, 4]
    assert service.verify(db).ok


def test_writer_refuses_bad_fields_at_submit(db):
    with service.AuditWriter() as writer, pytest.raises(AppError):
        writer.submit({"kind": "exchange.call", "rows": "many"})


# ---- retention ---------------------------------------------------------------------------------------------------

def test_deleting_old_records_is_not_passed_off_as_archiving(db):
    chain(db)
    sql(db, "DELETE FROM audit_records WHERE id <= 4")
    sql(db, "UPDATE audit_head SET archived_through = 4")
    report = service.verify(db)
    assert ("deleted", 1) in found(report), report.problems


# ---- keys ----------------------------------------------------------------------------------------------------------

def test_key_file_is_created_once_with_mode_0600(db, tmp_path, monkeypatch):
    path = tmp_path / "k" / "audit.pem"
    monkeypatch.setattr(get_settings(), "audit_key_file", str(path))
    keys.clear_cache()
    try:
        pems: list[str] = []

        def load() -> None:
            keys.clear_cache()
            pems.append(keys.public_key_pem())

        threads = [threading.Thread(target=load) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(pems)) == 1
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert keys.key_id() == hashlib.sha256(serialization.load_pem_public_key(pems[0].encode()).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()
    finally:
        keys.clear_cache()


def test_verify_never_creates_a_key(db, tmp_path, monkeypatch):
    fill(db, 2)
    monkeypatch.setattr(get_settings(), "audit_key_file", str(tmp_path / "missing.pem"))
    keys.clear_cache()
    try:
        with pytest.raises(AppError) as exc:
            service.verify(db)
        assert exc.value.code == "audit_key_missing"
        assert not (tmp_path / "missing.pem").exists()
    finally:
        keys.clear_cache()


def test_sm2_is_refused_with_a_clear_error(db, monkeypatch):
    monkeypatch.setattr(get_settings(), "audit_signature", "sm2")
    keys.clear_cache()
    try:
        with pytest.raises(AppError) as exc:
            service.append(db, **fields(1))
        assert exc.value.code == "sm2_unavailable" and "认证" in exc.value.message
        with pytest.raises(AppError):
            keys.public_key_pem()
    finally:
        db.rollback()
        keys.clear_cache()


def test_auditor_view_checks_signatures_with_the_public_key_only(db):
    chain(db, 14)
    report = service.verify(db, public_keys=[keys.public_key_pem()])
    assert report.ok and not report.macs_checked
    other = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    report = service.verify(db, public_keys=[other])
    assert {p.kind for p in report.problems} == {"checkpoint_signature"} and len(report.problems) == 3


# ---- Merkle trees ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("alg", ["sha256", "sm3"])
def test_merkle_root_and_paths_match_rfc_6962(alg):
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(33)]
    for size in range(1, 34):
        root = merkle.root(leaves[:size], alg)
        assert root == ref_mth(alg, leaves[:size])
        for index in range(size):
            path = merkle.path(leaves[:size], index, alg)
            assert ref_inclusion(alg, leaves[index], index, size, path, root)
            assert merkle.root_from_path(leaves[index], index, size, path, alg) == root
            if path:
                assert merkle.root_from_path(leaves[index], index, size, path[:-1], alg) != root
