"""Department source databases (数据源): register a connection, pull on demand or on a schedule.

A pull is a job (``ingest.pull``): full pulls replace the dataset, incremental ones merge the rows whose
watermark is past the last one by key. The new watermark is written in the same transaction as the version,
so a pull that dies half-way is simply done again from the old watermark.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from croniter import croniter
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata import vault
from govdata.actionlog import service as actionlog
from govdata.config import local_tz
from govdata.db import new_session, utcnow
from govdata.errors import Conflict, NotFound, ValidationFailed
from govdata.ingest import connectors, quality, readers
from govdata.ingest import service as versions
from govdata.ingest.models import Source
from govdata.jobs import service as jobs
from govdata.jobs.models import Job
from govdata.orgs import service as orgs
from govdata.principal import Principal

SCHEDULE_LABELS = {"cycle": "按更新周期", "manual": "仅手动"}
MODE_LABELS = {"full": "全量", "incremental": "增量(按水位列)"}


def check_schedule(schedule: str) -> str:
    schedule = (schedule or "cycle").strip()
    if schedule in SCHEDULE_LABELS or croniter.is_valid(schedule):
        return schedule
    raise ValidationFailed(f"调度应为 cycle(按更新周期)、manual(仅手动)或 cron 表达式(如 0 2 * * *):{schedule}",
                           code="invalid_schedule")


def next_pull(schedule: str, update_cycle: str | None, after: datetime) -> datetime | None:
    if schedule == "manual":
        return None
    if schedule == "cycle":
        return after + timedelta(days=quality.CYCLE_DAYS.get(update_cycle or "", 31))
    local = after.astimezone(local_tz())
    return croniter(schedule, local).get_next(datetime).astimezone(after.tzinfo)


def _spec(source: Source) -> connectors.SourceSpec:
    password = vault.decrypt(source.password_encrypted) if source.password_encrypted else None
    return connectors.SourceSpec(url=source.url, password=password, table=source.table_name, query=source.query,
                                 mode=source.mode, watermark_column=source.watermark_column,
                                 last_watermark=source.last_watermark)


def add_source(db: Session, principal: Principal, data: dict[str, Any], *, test: bool = True) -> Source:
    """Register a connection. The password (typed in the URL or given apart) is stored only encrypted."""
    doc = versions._manageable(db, principal, data["resource"])
    url, typed_password = connectors.split_url(data["url"])
    password = data.get("password") or typed_password
    secret = vault.encrypt(password) if password else None
    source = Source(name=data["name"].strip(), org_id=orgs.get_by_code(db, doc["provider"]).id,
                    resource_code=doc["code"], url=url, password_encrypted=secret,
                    table_name=data.get("table") or None, query=data.get("query") or None,
                    mode=data.get("mode") or "full", watermark_column=data.get("watermark_column") or None,
                    schedule=check_schedule(data.get("schedule") or "cycle"), enabled=True,
                    created_by=principal.name)
    if not source.name:
        raise ValidationFailed("请填写数据源名称", code="invalid_source")
    connectors.check_definition(_spec(source))
    if test:
        connectors.test_connection(_spec(source))
    if db.scalar(select(Source.id).where(Source.org_id == source.org_id, Source.name == source.name)):
        raise Conflict(f"本部门已有名为“{source.name}”的数据源", code="source_exists")
    source.next_pull_at = next_pull(source.schedule, doc.get("update_cycle"), utcnow())
    db.add(source)
    db.flush()
    actionlog.record(db, principal, "source.created", target_type="source", target_id=str(source.id),
                     summary=f"登记数据源 {source.name}({connectors.safe_url(url)})→ {doc['name']}",
                     after=source_dict(source))
    db.commit()
    return source


def source_dict(source: Source) -> dict[str, Any]:
    return {"id": source.id, "name": source.name, "resource": source.resource_code,
            "url": connectors.safe_url(source.url), "has_password": bool(source.password_encrypted),
            "table": source.table_name, "query": source.query, "mode": source.mode,
            "watermark_column": source.watermark_column, "last_watermark": source.last_watermark,
            "schedule": source.schedule, "enabled": source.enabled,
            "next_pull_at": source.next_pull_at.isoformat() if source.next_pull_at else None,
            "last_pull_at": source.last_pull_at.isoformat() if source.last_pull_at else None,
            "last_status": source.last_status, "last_error": source.last_error, "created_by": source.created_by}


def list_sources(db: Session, principal: Principal, resource: str | None = None) -> list[Source]:
    stmt = select(Source).order_by(Source.resource_code, Source.name)
    if not principal.has_role("auditor"):
        stmt = stmt.where(Source.org_id == (principal.org_id or -1))
    if resource:
        stmt = stmt.where(Source.resource_code == resource)
    return list(db.scalars(stmt))


def get_source(db: Session, principal: Principal, ref: str | int) -> Source:
    """By id, or by name within the caller's organisation."""
    by_name = select(Source).where(Source.name == str(ref)).order_by(Source.id).limit(1)
    if not principal.is_platform_admin:
        by_name = by_name.where(Source.org_id == (principal.org_id or -1))
    source = db.get(Source, int(ref)) if str(ref).isdigit() else db.scalar(by_name)
    if source is None or not (principal.has_role("auditor") or source.org_id == principal.org_id):
        raise NotFound(f"数据源不存在:{ref}", code="source_not_found")
    return source


def delete_source(db: Session, principal: Principal, ref: str | int) -> None:
    source = get_source(db, principal, ref)
    versions._manageable(db, principal, source.resource_code)
    actionlog.record(db, principal, "source.deleted", target_type="source", target_id=str(source.id),
                     summary=f"删除数据源 {source.name}", before=source_dict(source))
    db.delete(source)
    db.commit()


def _busy(db: Session, source_id: int) -> bool:
    return db.scalar(select(Job.id).where(Job.kind == "ingest.pull", Job.status.in_(("queued", "running")),
                                          Job.target == f"source:{source_id}").limit(1)) is not None


def start_pull(db: Session, principal: Principal, ref: str | int) -> Job:
    source = get_source(db, principal, ref)
    versions._manageable(db, principal, source.resource_code)
    if _busy(db, source.id):
        raise Conflict(f"数据源 {source.name} 正在拉取,请等待本次完成", code="pull_in_progress")
    job = jobs.enqueue(db, principal, "ingest.pull", {"source_id": source.id}, target=f"source:{source.id}",
                       org_id=source.org_id)
    db.commit()
    return job


def enqueue_due_pulls(db: Session) -> int:
    """Queue a pull for every enabled source whose time has come; one job per source and slot, on any number
    of servers (the job's dedupe key is the slot)."""
    now = utcnow()
    added = 0
    for source in db.scalars(select(Source).where(Source.enabled.is_(True), Source.next_pull_at <= now)):
        slot = source.next_pull_at.isoformat()
        actor = Principal(kind="system", name="scheduler", role="operator", org_id=source.org_id)
        if not _busy(db, source.id) and jobs.enqueue(db, actor, "ingest.pull", {"source_id": source.id},
                                                     target=f"source:{source.id}", org_id=source.org_id,
                                                     dedupe_key=f"pull:{source.id}:{slot}"):
            added += 1
        doc = versions.resource_doc(db, source.resource_code)
        source.next_pull_at = next_pull(source.schedule, doc.get("update_cycle"), now)
    return added


def _chunks(batches: Iterator[pl.DataFrame]) -> Iterator[readers.Chunk]:
    row = 1
    for batch in batches:
        if len(batch):
            yield readers.Chunk(frame=batch, rows=None, first_row=row, rejects=[])
            row += len(batch)


def pull(db: Session, principal: Principal, source: Source, *, job_id: str | None = None,
         progress: versions.ProgressFn | None = None) -> dict[str, Any]:
    """Pull once. Returns the new version's summary, or ``{"version": None}`` when an incremental pull found
    nothing new. A failure is recorded on the source (last status and error) and raised."""
    try:
        return _pull(db, principal, source, job_id=job_id, progress=progress)
    except Exception as exc:
        db.rollback()
        _mark(db, source, "failed", getattr(exc, "message", type(exc).__name__), None)
        raise


def _pull(db: Session, principal: Principal, source: Source, *, job_id: str | None,
          progress: versions.ProgressFn | None) -> dict[str, Any]:
    doc = versions.resource_doc(db, source.resource_code)
    spec = _spec(source)
    columns = connectors.test_connection(spec)
    watermark = {"value": source.last_watermark}

    def batches() -> Iterator[pl.DataFrame]:
        done = 0
        for batch in connectors.pull(spec):
            if source.watermark_column:
                watermark["value"] = connectors.max_watermark(batch, source.watermark_column) or watermark["value"]
            done += len(batch)
            if progress:
                progress("pull", done, 0)
            yield batch

    chunks = _chunks(batches())
    first = next(chunks, None)
    if first is None and source.mode == "incremental":
        _mark(db, source, "succeeded", None, watermark["value"])
        return {"version": None, "rows_total": 0}

    def after(session: Session, version: Any) -> None:
        # The watermark moves only with a published version: rows of a held one are pulled again next time, so
        # that a held or discarded version never makes later merges lose them.
        moved = watermark["value"] if version.status == "published" else source.last_watermark
        _mark(session, source, "succeeded", None, moved, commit=False)

    def all_chunks() -> Iterator[readers.Chunk]:
        if first is not None:
            yield first
        yield from chunks

    try:
        version = versions.ingest_chunks(
            db, principal, doc, all_chunks(), columns, source_kind="database",
            source={"source_id": source.id, "source_name": source.name, "url": connectors.safe_url(source.url),
                    "from_watermark": source.last_watermark},
            mode="merge" if source.mode == "incremental" else "replace", job_id=job_id, progress=progress,
            after=after)
    except ValidationFailed as exc:
        if exc.code == "missing_columns":
            raise connectors.SourceError(f"数据源的列与信息资源的信息项不再对应(表结构可能已变更):{exc.message}",
                                         code="source_schema_changed", status=422) from exc
        raise
    return versions.summary(version)


def _mark(db: Session, source: Source, status: str, error: str | None, watermark: str | None,
          commit: bool = True) -> None:
    source.last_pull_at, source.last_status, source.last_error = utcnow(), status, error
    if status == "succeeded":
        source.last_watermark = watermark
    if commit:
        db.commit()


def _run_pull(ctx: jobs.JobContext) -> dict[str, Any]:
    with new_session() as db:
        source = db.get(Source, ctx.payload["source_id"])
        if source is None:
            raise NotFound("数据源已被删除", code="source_not_found")
        done = versions.find_by_job(db, ctx.job_id)
        if done is not None:
            return versions.summary(done)
        return pull(db, ctx.actor, source, job_id=ctx.job_id, progress=ctx.progress)


jobs.register("ingest.pull", _run_pull)
jobs.register_schedule(enqueue_due_pulls)
