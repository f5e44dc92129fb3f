"""Batch hooks run in the transaction that inserts the records (writer and append alike), so what they count
always agrees with the trail; the process-wide writer; ``record`` returns only once a record is durable and
answers 503 audit_unavailable when it cannot be made durable."""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from govdata import db as dbmod
from govdata.audit import service
from govdata.audit import writer as writer_module
from govdata.audit.models import AuditRecord
from govdata.db import new_session
from govdata.errors import AppError
from tests.audit.conftest import fields, fill


@pytest.fixture
def counts(db):
    """A per-kind call counter kept by a batch hook — the way sharing counts a grant's calls per day."""
    db.execute(text("CREATE TABLE audit_test_counts (kind VARCHAR(40) PRIMARY KEY, n INTEGER NOT NULL)"))
    db.commit()
    seen: list[list[dict]] = []

    def hook(session, records):
        seen.append(records)
        for r in records:
            session.execute(text("INSERT INTO audit_test_counts (kind, n) VALUES (:k, 1) "
                                 "ON CONFLICT (kind) DO UPDATE SET n = audit_test_counts.n + 1"), {"k": r["kind"]})
            if r["request_id"].startswith("bad"):
                raise RuntimeError(f"hook refused {r['request_id']}")

    service.register_batch_hook(hook)
    try:
        yield seen
    finally:
        service.unregister_batch_hook(hook)
        db.rollback()
        db.execute(text("DROP TABLE audit_test_counts"))
        db.commit()


def counted(kind: str = "exchange.call") -> int:
    with new_session() as s:  # another connection: sees only what was committed
        return s.execute(text("SELECT n FROM audit_test_counts WHERE kind = :k"), {"k": kind}).scalar() or 0


def ids(db) -> list[int]:
    db.expire_all()
    return list(db.scalars(select(AuditRecord.id).order_by(AuditRecord.id)))


def test_hook_runs_in_the_writer_transaction_with_the_submitted_fields(db, counts):
    db.commit()
    with service.AuditWriter() as w:
        futures = [w.submit(fields(i)) for i in range(1, 8)]
        done = [f.result(timeout=60) for f in futures]
    assert sorted(done) == list(range(1, 8)) and counted() == 7
    records = [r for batch in counts for r in batch]
    assert sorted(r["id"] for r in records) == done
    first = next(r for r in records if r["request_id"] == "req-0001")
    assert first["provider_org"] == "11450200MB0000002" and first["outcome"] == "ok" and first["at"].tzinfo
    assert first["query"] == {"id_number": "450202199001010001"}


def test_hook_runs_in_the_append_transaction(db, counts):
    service.append(db, **fields(1))
    assert db.execute(text("SELECT n FROM audit_test_counts")).scalar() == 1  # in the caller's transaction
    db.rollback()
    assert counted() == 0 and ids(db) == []
    fill(db, 2)
    assert counted() == 2 and [r["id"] for batch in counts[-2:] for r in batch] == [1, 2]


def test_a_failing_hook_fails_its_record_like_a_database_error(db, counts):
    db.commit()
    with service.AuditWriter() as w:
        futures = [w.submit(fields(1)), w.submit(fields(2, request_id="bad-1")), w.submit(fields(3))]
        outcomes = []
        for f in futures:
            try:
                outcomes.append(f.result(timeout=60))
            except RuntimeError as exc:
                outcomes.append(str(exc))
    assert outcomes[1] == "hook refused bad-1"
    assert sorted(o for o in outcomes if isinstance(o, int)) == [1, 2]
    assert counted() == 2 and ids(db) == [1, 2]  # the failed record's count rolled back with it
    assert service.verify(db).ok


def test_a_failing_hook_in_append_leaves_nothing(db, counts):
    with pytest.raises(RuntimeError):
        service.append(db, **fields(1, request_id="bad-2"))
    db.rollback()
    assert counted() == 0 and ids(db) == []


# ---- the process writer and record() ---------------------------------------------------------------------------

def test_record_returns_once_the_record_and_its_hook_writes_are_committed(db, counts):
    db.commit()
    record_id = service.record(fields(1))
    assert counted() == 1  # a quota check after the response sees this call
    with new_session() as s:
        assert s.get(AuditRecord, record_id).request_id == "req-0001"
    assert service.record(fields(2)) == record_id + 1


def test_record_does_not_wait_for_the_request_threads_pool(db):
    """Request threads waiting in record() hold connections of the shared pool; the writer must not need one."""
    db.commit()
    engine = dbmod.get_engine()
    held = []
    try:
        while engine.pool.checkedout() < engine.pool.size() + getattr(engine.pool, "_max_overflow", 10):
            held.append(engine.connect())
        assert service.record(fields(1), timeout=20) == 1
    finally:
        for conn in held:
            conn.close()


def test_record_gives_a_request_id_when_none_is_passed(db):
    db.commit()
    record_id = service.record({"kind": "exchange.call", "request_id": None})
    request_id = db.get(AuditRecord, record_id).request_id
    assert len(request_id) == 32 and int(request_id, 16) >= 0


def test_record_refuses_bad_fields_and_duplicates(db):
    db.commit()
    with pytest.raises(AppError) as exc:
        service.record({"kind": "exchange.call", "rows": -1})
    assert exc.value.code == "audit_field_invalid"
    service.record(fields(1))
    with pytest.raises(AppError) as exc:
        service.record(fields(1))
    assert (exc.value.status, exc.value.code) == (409, "audit_request_duplicate")


def test_record_is_unavailable_when_the_database_fails(db, monkeypatch):
    db.commit()

    def broken(*_args, **_kwargs):
        raise OperationalError("INSERT INTO audit_records", {}, Exception("disk I/O error"))

    monkeypatch.setattr(writer_module, "insert_rows", broken)
    with pytest.raises(service.AuditUnavailable) as exc:
        service.record(fields(1))
    assert (exc.value.status, exc.value.code) == (503, "audit_unavailable") and "审计" in exc.value.message
    monkeypatch.undo()
    assert ids(db) == []


def test_record_is_unavailable_when_it_times_out(db):
    db.commit()
    started, release = threading.Event(), threading.Event()

    def slow(_session, _records):
        started.set()
        release.wait(10)

    service.register_batch_hook(slow)
    try:
        blocker = service.writer().submit(fields(1))  # keeps the writer busy
        assert started.wait(10)
        with pytest.raises(service.AuditUnavailable) as exc:
            service.record(fields(2), timeout=0.2)
        assert exc.value.code == "audit_unavailable"
    finally:
        release.set()
        service.unregister_batch_hook(slow)
    assert blocker.result(timeout=60) == 1
    service.stop_writer()
    assert [r.request_id for r in db.scalars(select(AuditRecord))] == ["req-0001"]  # withdrawn while queued


def test_hook_app_errors_reach_the_caller_unchanged(db):
    db.commit()

    def refuse(_session, _records):
        raise AppError("今日调用已达授权额度", code="quota_exceeded", status=429)

    service.register_batch_hook(refuse)
    try:
        with pytest.raises(AppError) as exc:
            service.record(fields(1))
        assert exc.value.code == "quota_exceeded"
    finally:
        service.unregister_batch_hook(refuse)


def test_the_process_writer_is_started_once_and_again_after_stop(db):
    found: list[service.AuditWriter] = []
    threads = [threading.Thread(target=lambda: found.append(service.writer())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(w) for w in found}) == 1 and found[0].alive
    service.stop_writer()
    assert not found[0].alive
    again = service.writer()
    assert again is not found[0] and again.alive


def test_the_process_writer_is_restarted_in_a_forked_child(db):
    db.commit()
    parent = service.writer()
    pid = os.fork()
    if pid == 0:  # the child: its copy of the parent's writer has no thread
        code = 1
        try:
            for engine in dbmod._engines.values():
                engine.dispose(close=False)  # the parent's pooled connections are not ours to use
            dbmod._engines.clear()
            dbmod._factories.clear()
            child = service.writer()
            fresh = child is not parent and child.alive
            record_id = service.record(fields(1, request_id="from-child"), timeout=30)
            service.stop_writer()
            code = 0 if fresh and record_id == 1 else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0
    assert service.writer() is parent and parent.alive
    assert service.record(fields(2)) == 2
    assert service.verify(db).ok
