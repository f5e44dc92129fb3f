"""Enqueue, claim, report progress, finish. Domains register a handler per job kind (``register``) and,
for periodic work, a schedule callback (``register_schedule``); ``worker.Worker`` runs them.

Claiming is one conditional UPDATE (``... WHERE id = :id AND <claimable>``): of several workers on several
servers exactly one gets each job, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govdata.db import new_session, utcnow
from govdata.errors import AppError, NotFound
from govdata.jobs.models import Job
from govdata.principal import Principal

logger = logging.getLogger("govdata.jobs")

LEASE = timedelta(seconds=60)  # renewed by the heartbeat every LEASE / 4
MAX_ATTEMPTS = 3  # a job whose worker died this many times is given up


@dataclass
class JobContext:
    """What a handler gets: its job's id, payload, the acting principal, and a progress reporter."""

    job_id: str
    payload: dict[str, Any]
    actor: Principal
    report: Callable[[str, int, int], None] = field(default=lambda phase, done, total: None)

    def progress(self, phase: str, done: int, total: int) -> None:
        self.report(phase, done, total)


Handler = Callable[[JobContext], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}
SCHEDULES: list[Callable[[Session], int]] = []


# modules that register job kinds and schedules
HANDLER_MODULES = ("govdata.ingest.service", "govdata.ingest.sources", "govdata.exchange.serving",
                   "govdata.audit.retention", "govdata.opendata.listing")


def load_handlers() -> None:
    import importlib

    for module in HANDLER_MODULES:
        importlib.import_module(module)


def register(kind: str, handler: Handler) -> None:
    HANDLERS[kind] = handler


def register_schedule(callback: Callable[[Session], int]) -> None:
    """``callback(db)`` enqueues the periodic jobs that are due and returns how many; run once a minute."""
    if callback not in SCHEDULES:
        SCHEDULES.append(callback)


def actor_dict(principal: Principal) -> dict[str, Any]:
    keep = ("kind", "name", "role", "org_id", "org_code", "user_id", "credential_id", "ip", "request_id")
    return {k: v for k, v in asdict(principal).items() if k in keep}


def actor_of(job: Job) -> Principal:
    return Principal(**job.payload.get("actor", {"kind": "cli", "name": "cli", "role": "operator"}))


def enqueue(db: Session, principal: Principal, kind: str, payload: dict[str, Any], *, target: str | None = None,
            org_id: int | None = None, dedupe_key: str | None = None, job_id: str | None = None) -> Job | None:
    """Add a job (the caller commits). With ``dedupe_key`` a second job for the same key is not added: None."""
    job = Job(id=job_id or uuid.uuid4().hex, kind=kind, target=target, org_id=org_id, dedupe_key=dedupe_key,
              payload={**payload, "actor": actor_dict(principal)}, created_by=principal.name, status="queued")
    if dedupe_key is None:
        db.add(job)
        db.flush()
        return job
    try:
        with db.begin_nested():
            db.add(job)
    except IntegrityError:
        return None
    return job


def _claimable(now):
    return or_(Job.status == "queued", and_(Job.status == "running", Job.lease_until < now))


def claim(db: Session, worker: str, kinds: list[str] | None = None) -> Job | None:
    """Take the oldest claimable job (queued, or running with an expired lease) and commit the claim."""
    now = utcnow()
    stmt = select(Job.id).where(_claimable(now)).order_by(Job.created_at).limit(5)
    if kinds:
        stmt = stmt.where(Job.kind.in_(kinds))
    for job_id in db.scalars(stmt).all():
        won = db.execute(update(Job).where(Job.id == job_id, _claimable(now)).values(
            status="running", worker=worker, lease_until=now + LEASE, attempts=Job.attempts + 1,
            started_at=func.coalesce(Job.started_at, now)).execution_options(synchronize_session=False))
        db.commit()
        if won.rowcount == 1:
            job = db.get(Job, job_id)
            db.refresh(job)
            return job
    return None


def heartbeat(job_id: str, worker: str, *, phase: str | None = None, done: int | None = None,
              total: int | None = None) -> None:
    """Renew the lease (and record progress) in a short transaction of its own."""
    values: dict[str, Any] = {"lease_until": utcnow() + LEASE}
    if phase is not None:
        values.update(phase=phase, done=done or 0, total=total or 0)
    with new_session() as db:
        db.execute(update(Job).where(Job.id == job_id, Job.worker == worker, Job.status == "running")
                   .values(**values).execution_options(synchronize_session=False))
        db.commit()


def finish(db: Session, job_id: str, result: dict[str, Any]) -> None:
    db.execute(update(Job).where(Job.id == job_id).values(
        status="succeeded", result=result, finished_at=utcnow(), lease_until=None, error_code=None,
        error_message=None).execution_options(synchronize_session=False))
    db.commit()


def fail(db: Session, job_id: str, code: str, message: str) -> None:
    db.rollback()
    db.execute(update(Job).where(Job.id == job_id).values(
        status="failed", error_code=code, error_message=message, finished_at=utcnow(),
        lease_until=None).execution_options(synchronize_session=False))
    db.commit()


def run(db: Session, job: Job, worker: str) -> None:
    """Run a claimed job to its end: succeeded with the handler's result, or failed with a stable code."""
    handler = HANDLERS.get(job.kind)
    if handler is None:
        fail(db, job.id, "unknown_job_kind", f"未知的任务类型:{job.kind}")
        return
    if job.attempts > MAX_ATTEMPTS:
        fail(db, job.id, "job_abandoned", f"任务已重试 {MAX_ATTEMPTS} 次仍未完成,已放弃")
        return

    def report(phase: str, done: int, total: int) -> None:
        heartbeat(job.id, worker, phase=phase, done=done, total=total)

    ctx = JobContext(job_id=job.id, payload=dict(job.payload), actor=actor_of(job), report=report)
    try:
        result = handler(ctx)
    except AppError as exc:
        logger.warning("job %s (%s) failed: %s %s", job.id, job.kind, exc.code, exc.message)
        fail(db, job.id, exc.code, exc.message)
        return
    except Exception as exc:
        logger.exception("job %s (%s) crashed", job.id, job.kind)
        fail(db, job.id, "job_crashed", f"任务执行出错:{type(exc).__name__}")
        return
    finish(db, job.id, result)


def run_pending(db: Session, worker: str = "inline", kinds: list[str] | None = None) -> int:
    """Run every claimable job now, in this thread (the CLI's ``worker --once`` and tests)."""
    load_handlers()
    count = 0
    while (job := claim(db, worker, kinds)) is not None:
        run(db, job, worker)
        count += 1
    return count


def run_schedules(db: Session) -> int:
    added = 0
    for callback in SCHEDULES:
        try:
            added += callback(db)
            db.commit()
        except Exception:
            db.rollback()
            logger.exception("schedule %s failed", getattr(callback, "__name__", callback))
    return added


def get(db: Session, job_id: str) -> Job:
    job = db.get(Job, job_id)
    if job is None:
        raise NotFound(f"任务不存在:{job_id}", code="job_not_found")
    return job


def get_for(db: Session, principal: Principal, job_id: str) -> Job:
    """A job is visible to whoever started it, its organisation, bureau admins and auditors."""
    job = get(db, job_id)
    own = job.created_by == principal.name and job.payload.get("actor", {}).get("kind") == principal.kind
    if not (own or principal.has_role("auditor") or (job.org_id and job.org_id == principal.org_id)):
        raise NotFound(f"任务不存在:{job_id}", code="job_not_found")
    return job


def percent(job: Job) -> int:
    if job.status == "succeeded":
        return 100
    return min(99, int(job.done * 100 / job.total)) if job.total else 0


def job_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id, "kind": job.kind, "status": job.status, "target": job.target, "phase": job.phase,
        "done": job.done, "total": job.total, "percent": percent(job), "attempts": job.attempts,
        "result": job.result, "error": {"code": job.error_code, "message": job.error_message}
        if job.status == "failed" else None,
        "created_by": job.created_by, "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def recent(db: Session, *, target: str | None = None, org_id: int | None = None, limit: int = 20) -> list[Job]:
    stmt = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if target:
        stmt = stmt.where(Job.target == target)
    if org_id:
        stmt = stmt.where(Job.org_id == org_id)
    return list(db.scalars(stmt))
