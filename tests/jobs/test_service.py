"""The job queue: exactly one worker gets a job, a dead worker's job is taken again, failures keep their code."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from govdata.db import new_session, utcnow
from govdata.errors import NotFound, ValidationFailed
from govdata.jobs import service, worker
from govdata.jobs.models import Job
from govdata.principal import CLI
from tests.factories import liuzhou, principal_of

RUNS: list[str] = []


def _ok(ctx: service.JobContext) -> dict:
    RUNS.append(ctx.job_id)
    ctx.progress("work", 1, 1)
    return {"echo": ctx.payload["value"], "actor": ctx.actor.name}


def _refuses(ctx: service.JobContext) -> dict:
    raise ValidationFailed("文件编码无法识别", code="encoding_error")


def _crashes(ctx: service.JobContext) -> dict:
    raise RuntimeError("boom")


service.register("test.ok", _ok)
service.register("test.refuses", _refuses)
service.register("test.crashes", _crashes)


@pytest.fixture(autouse=True)
def _clear_runs():
    RUNS.clear()


def _add(db, kind="test.ok", **kwargs) -> str:
    job = service.enqueue(db, CLI, kind, {"value": 7}, **kwargs)
    db.commit()
    return job.id


def test_a_queued_job_runs_once_and_keeps_its_result(db):
    job_id = _add(db)
    assert service.run_pending(db, kinds=["test.ok"]) == 1
    assert service.run_pending(db, kinds=["test.ok"]) == 0
    job = service.get(db, job_id)
    db.refresh(job)
    assert (job.status, job.result, RUNS) == ("succeeded", {"echo": 7, "actor": "cli"}, [job_id])
    assert service.job_dict(job)["percent"] == 100 and job.finished_at is not None


def test_only_one_worker_claims_a_job(db):
    job_id = _add(db)
    with new_session() as other:
        first = service.claim(db, "server-a:1:0", kinds=["test.ok"])
        second = service.claim(other, "server-b:1:0", kinds=["test.ok"])
    assert first is not None and first.id == job_id and first.worker == "server-a:1:0"
    assert second is None


def test_a_job_whose_worker_died_is_claimed_again(db):
    job_id = _add(db)
    assert service.claim(db, "dead:1:0", kinds=["test.ok"]).id == job_id
    assert service.claim(db, "alive:1:0", kinds=["test.ok"]) is None  # the lease still holds
    db.execute(update(Job).where(Job.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1)))
    db.commit()
    again = service.claim(db, "alive:1:0", kinds=["test.ok"])
    assert again is not None and again.id == job_id and again.attempts == 2 and again.worker == "alive:1:0"


def test_a_job_that_keeps_killing_its_worker_is_given_up(db):
    job_id = _add(db)
    db.execute(update(Job).where(Job.id == job_id).values(attempts=service.MAX_ATTEMPTS))
    db.commit()
    service.run_pending(db, kinds=["test.ok"])
    job = service.get(db, job_id)
    db.refresh(job)
    assert (job.status, job.error_code) == ("failed", "job_abandoned") and RUNS == []


def test_failures_keep_a_stable_code_and_a_chinese_message(db):
    refused, crashed = _add(db, "test.refuses"), _add(db, "test.crashes")
    service.run_pending(db, kinds=["test.refuses", "test.crashes"])
    jobs = {j: service.get(db, j) for j in (refused, crashed)}
    for job in jobs.values():
        db.refresh(job)
    assert service.job_dict(jobs[refused])["error"] == {"code": "encoding_error", "message": "文件编码无法识别"}
    assert jobs[crashed].error_code == "job_crashed" and "boom" not in jobs[crashed].error_message


def test_a_dedupe_key_admits_one_job(db):
    assert service.enqueue(db, CLI, "test.ok", {"value": 1}, dedupe_key="pull:1:slot") is not None
    assert service.enqueue(db, CLI, "test.ok", {"value": 2}, dedupe_key="pull:1:slot") is None
    db.commit()
    assert db.query(Job).count() == 1


def test_jobs_are_visible_to_their_organisation_only(db):
    liuzhou(db)
    wj = principal_of(db, "wj_admin")
    job = service.enqueue(db, wj, "test.ok", {"value": 1}, org_id=wj.org_id)
    db.commit()
    assert service.get_for(db, principal_of(db, "wj_staff"), job.id).id == job.id
    assert service.get_for(db, principal_of(db, "auditor"), job.id).id == job.id
    with pytest.raises(NotFound):
        service.get_for(db, principal_of(db, "ga_admin"), job.id)


def test_a_worker_thread_runs_what_is_queued(db):
    job_id = _add(db)
    running = worker.Worker(0)
    running._last_schedule = time.monotonic()  # no schedules in this test
    running.start()
    try:
        worker.wake()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            job = service.get(db, job_id)
            db.refresh(job)
            if job.status == "succeeded":
                break
            time.sleep(0.05)
    finally:
        running.stop()
    assert job.status == "succeeded" and [job_id] == RUNS
