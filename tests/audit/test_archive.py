"""Archiving and retention: old checkpointed batches leave the database for files that still prove every record,
the chain still verifies, a tampered batch is never archived, and the daily job archives what the retention
setting says, to the data store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from govdata.audit import keys, retention, service
from govdata.audit.models import AuditCheckpoint, AuditRecord
from govdata.config import get_settings
from govdata.errors import AppError
from govdata.ingest.storage import get_store
from govdata.jobs import service as jobs
from govdata.jobs.models import Job
from tests.audit.conftest import EVERY, fields

FILES = ["audit-000000000001-000000000004.jsonl", "audit-000000000005-000000000008.jsonl"]


def old_chain(db) -> None:
    """Records 1–10 from 400 days ago (checkpoints #1–#4, #5–#8; #9–#10 pending), record 11 from today."""
    old = datetime.now(UTC) - timedelta(days=400)
    for i in range(1, 11):
        service.append(db, **fields(i, at=old))
        db.commit()
    service.append(db, **fields(11))
    db.commit()


def year_ago() -> datetime:
    return datetime.now(UTC) - timedelta(days=365)


@pytest.fixture
def store():
    """The data store of the tests, emptied of archives afterwards (it outlives the database)."""
    store = get_store()
    yield store
    store.delete_prefix("audit")


@pytest.fixture(autouse=True)
def fresh_schedule():
    retention._enqueued.clear()
    yield
    retention._enqueued.clear()


def remaining(db) -> list[AuditRecord]:
    db.expire_all()
    return list(db.scalars(select(AuditRecord).order_by(AuditRecord.id)))


def test_archive_to_a_directory_keeps_checkpoints_and_proofs(db, tmp_path):
    old_chain(db)
    assert service.archive(db, year_ago(), tmp_path) == FILES
    rows = remaining(db)
    assert [r.id for r in rows] == [9, 10, 11, 12] and rows[-1].kind == "audit.archive"
    assert rows[-1].extra["through"] == 8 and set(rows[-1].extra["files"]) == set(FILES)
    cps = db.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).all()
    assert [c.archive for c in cps][:2] == FILES
    report = service.verify(db)
    assert report.ok and report.archived_through == 8, report.problems
    pem = keys.public_key_pem()
    service.check_proof(service.proof(db, "req-0003", archive=service.archive_target(tmp_path)), pem)
    with pytest.raises(AppError) as exc:
        service.proof(db, "req-0003")
    assert exc.value.code == "audit_record_not_found"
    assert service.archive(db, year_ago(), tmp_path) == []


def test_every_archived_line_is_a_proof_on_its_own(db, tmp_path):
    old_chain(db)
    service.archive(db, year_ago(), tmp_path)
    pem = keys.public_key_pem()
    for name in FILES:
        head, *lines = [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
        assert len(lines) == EVERY
        for line in lines:
            proof = {"record_id": line["id"], "record": line["record"], "prev_hash": line["prev_hash"],
                     "hash": line["hash"], "leaf_index": line["id"] - head["checkpoint"]["first_id"],
                     "tree_size": head["checkpoint"]["count"], "audit_path": line["audit_path"],
                     "checkpoint": head["checkpoint"], "signature": head["signature"]}
            service.check_proof(proof, pem)


def test_archive_goes_to_the_data_store_by_default(db, store):
    old_chain(db)
    assert service.archive(db, year_ago()) == FILES
    assert store.list("audit") == [f"audit/{name}" for name in FILES]
    proof = service.proof(db, "req-0005", archive=service.archive_target())
    service.check_proof(proof, keys.public_key_pem())
    assert service.verify(db).ok


def test_archive_in_rounds_keeps_the_chain_verifiable(db, tmp_path):
    old_chain(db)
    assert service.archive(db, year_ago(), tmp_path, per_round=1) == FILES
    archives = [r for r in remaining(db) if r.kind == "audit.archive"]
    assert [r.extra["through"] for r in archives] == [4, 8]
    report = service.verify(db)
    assert report.ok and report.archived_through == 8, report.problems


def test_a_tampered_batch_is_not_archived(db, tmp_path):
    old_chain(db)
    db.execute(text("UPDATE audit_records SET purpose = '私自查询' WHERE id = 6"))
    db.commit()
    with pytest.raises(AppError) as exc:
        service.archive(db, year_ago(), tmp_path)
    assert exc.value.code == "audit_tampered" and "#6" in exc.value.message
    db.rollback()
    assert len(remaining(db)) == 11  # nothing deleted; the untampered first batch is not archived either
    assert not list(tmp_path.glob("audit-000000000005-*"))


def test_archive_needs_an_aware_time(db, tmp_path):
    with pytest.raises(AppError) as exc:
        service.archive(db, datetime(2026, 1, 1), tmp_path)
    assert exc.value.code == "audit_field_invalid"


def test_retention_schedule_queues_one_job_a_day_and_the_job_archives(db, store, monkeypatch):
    old_chain(db)
    monkeypatch.setattr(get_settings(), "audit_retention_days", 0)
    assert retention.enqueue_due_archive(db) == 0
    monkeypatch.setattr(get_settings(), "audit_retention_days", 365)
    assert retention.enqueue_due_archive(db) == 1
    db.commit()
    retention._enqueued.clear()  # another process (or a restart) the same day
    assert retention.enqueue_due_archive(db) == 0
    db.commit()
    assert jobs.run_pending(db) == 1
    job = db.scalars(select(Job).where(Job.kind == "audit.archive")).one()
    assert job.status == "succeeded" and job.result["files"] == 2, job.error_message
    assert store.list("audit") == [f"audit/{name}" for name in FILES]
    report = service.verify(db)
    assert report.ok and report.archived_through == 8, report.problems


def test_retention_cutoff_is_local_midnight():
    now = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai
    cut = retention.cutoff(30, now)
    assert cut.isoformat() == "2026-10-23T00:00:00+08:00"


def test_cli_archive_before_a_date(db, database_url, tmp_path):
    old_chain(db)
    env = {**os.environ, "GOVDATA_DATABASE_URL": database_url, "GOVDATA_AUDIT_CHECKPOINT_EVERY": str(EVERY)}
    day = year_ago().date().isoformat()
    done = subprocess.run([sys.executable, "-m", "govdata.cli", "audit", "archive", "--before", day,
                           "--to", str(tmp_path)], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "已归档 2 个检查点" in done.stdout
    assert sorted(p.name for p in tmp_path.glob("audit-*.jsonl")) == FILES
    proof = subprocess.run([sys.executable, "-m", "govdata.cli", "audit", "proof", "req-0002", "--archive",
                            str(tmp_path)], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proof.returncode == 0, proof.stderr
    service.check_proof(json.loads(proof.stdout), keys.public_key_pem())
