"""Dataset versions (数据版本): ingest a file or a pull, keep every version, judge it, publish or hold it.

A version is written in this order: Parquet objects into the store (keyed by the job id, so a re-run
overwrites its own leftovers), then one transaction inserting the version row (``job_id`` unique) with its
action-log entry. A job that dies before that commit leaves no version; run again it produces exactly one.
Failures never touch earlier versions: the latest published one stays what other domains read.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.catalog import projection
from govdata.config import get_settings
from govdata.db import utcnow
from govdata.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from govdata.ingest import pipeline, quality, readers, rules
from govdata.ingest.models import DatasetVersion, IngestPolicy
from govdata.ingest.storage import get_store, sha256_file
from govdata.jobs import service as jobs
from govdata.orgs import service as orgs
from govdata.principal import Principal
from govdata.standards import service as standards

UPLOAD_KINDS = {".csv", ".txt", ".xlsx", ".xls", ".json", ".jsonl", ".ndjson"}
MODES = {"replace": "整体替换", "merge": "按主键补充/更正"}
STATUS_LABELS = {"published": "已发布", "held": "暂存待确认", "discarded": "已弃用"}
DEFAULT_HOLD_ABOVE = 5.0
ProgressFn = Callable[[str, int, int], None]


# -- who may do what -------------------------------------------------------------------------------------------

def resource_doc(db: Session, code: str) -> dict[str, Any]:
    return projection.published(db, code)


def can_manage(principal: Principal, doc: dict[str, Any]) -> bool:
    """The provider department's data people and its own systems (a credential pushing data), bureau admins
    and the CLI."""
    return principal.is_platform_admin or (
        principal.org_code == doc["provider"] and (principal.role in ("dept_admin", "dept_staff")
                                                   or principal.kind == "system"))


def can_read(principal: Principal, doc: dict[str, Any]) -> bool:
    return can_manage(principal, doc) or principal.has_role("auditor") or principal.org_code == doc["provider"]


def _manageable(db: Session, principal: Principal, code: str) -> dict[str, Any]:
    doc = resource_doc(db, code)
    if not can_manage(principal, doc):
        raise Forbidden("只有该信息资源提供部门的数据管理员或工作人员可以提交和管理数据", code="forbidden")
    return doc


def _readable(db: Session, principal: Principal, code: str) -> dict[str, Any]:
    doc = resource_doc(db, code)
    if not can_read(principal, doc):
        raise NotFound(f"信息资源不存在或尚未发布:{code}", code="resource_not_found")
    return doc


# -- checking rows ---------------------------------------------------------------------------------------------

def plan_for(db: Session, doc: dict[str, Any]) -> pipeline.Plan:
    items = doc["items"]
    elements = {code: standards.element_as_dict(e)
                for code, e in standards.elements_by_code(db, {i["data_element"] for i in items
                                                                if i.get("data_element")}).items()}
    codes: dict[str, frozenset[str]] = {}
    for element in elements.values():
        name = element.get("codeset")
        if element.get("rule") == "region_code":
            continue  # checked against GB/T 2260 by the region rule, not as a code set
        if name and name not in codes and standards.find_codeset(db, name) is not None:
            codes[name] = frozenset(standards.value_codes(db, name))
    checks = rules.compile_checks(items, elements, codes, doc.get("rules") or [])
    return pipeline.Plan(items=items, checks=checks, keys=[i["key"] for i in items if i.get("primary_key")])


# -- ingest ----------------------------------------------------------------------------------------------------

def _safe(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", code)


def check_upload(filename: str, encoding: str | None, mode: str) -> None:
    if Path(filename).suffix.lower() not in UPLOAD_KINDS:
        raise ValidationFailed(f"不支持的文件类型:{filename}(支持 CSV、Excel .xlsx/.xls、JSON、JSON Lines)",
                               code="unsupported_format")
    if mode not in MODES:
        raise ValidationFailed(f"未知的提交方式:{mode}(replace 或 merge)", code="invalid_mode")
    if encoding:
        readers.check_encoding(encoding)


def start_upload(db: Session, principal: Principal, code: str, fileobj: BinaryIO, filename: str, *,
                 encoding: str | None = None, mode: str = "replace") -> Any:
    """Store the upload, queue its ingest job and commit; the job's id is what the caller follows."""
    doc = _manageable(db, principal, code)
    filename = Path(filename or "upload.csv").name
    check_upload(filename, encoding, mode)
    job_id = uuid.uuid4().hex
    key = f"uploads/{job_id}/{_safe(filename)}"
    get_store().put_stream(fileobj, key)
    job = jobs.enqueue(db, principal, "ingest.upload", {"code": code, "upload_key": key, "filename": filename,
                                                        "encoding": encoding, "mode": mode},
                       target=code, org_id=_org_id(db, doc), job_id=job_id)
    db.commit()
    return job


def _org_id(db: Session, doc: dict[str, Any]) -> int:
    return orgs.get_by_code(db, doc["provider"]).id


def _run_upload(ctx: jobs.JobContext) -> dict[str, Any]:
    from govdata.db import new_session

    p = ctx.payload
    with new_session() as db:
        store = get_store()
        done = find_by_job(db, ctx.job_id)  # a re-run after the version was committed: nothing more to do
        try:
            if done is None:
                with store.local_path(p["upload_key"]) as path:
                    done = ingest_file(db, ctx.actor, p["code"], path, filename=p["filename"],
                                       encoding=p["encoding"], mode=p["mode"], job_id=ctx.job_id,
                                       progress=ctx.progress)
        except AppError:  # the file itself is refused: keeping it would serve no retry
            store.delete_prefix(f"uploads/{ctx.job_id}/")
            raise
        store.delete_prefix(f"uploads/{ctx.job_id}/")
        return summary(done)


jobs.register("ingest.upload", _run_upload)


def ingest_file(db: Session, principal: Principal, code: str, path: Path, *, filename: str | None = None,
                encoding: str | None = None, mode: str = "replace", job_id: str | None = None,
                progress: ProgressFn | None = None) -> DatasetVersion:
    """Validate and store one file as a new version of ``code`` (synchronously; the CLI and the job use it)."""
    doc = _manageable(db, principal, code)
    filename = filename or path.name
    check_upload(filename, encoding, mode)
    reader = readers.open_reader(path, filename=filename, encoding=encoding,
                                 chunk_bytes=get_settings().ingest_chunk_mb << 20)
    size = max(reader.size, 1)

    def report(done: int) -> None:
        if progress:
            progress("validate", min(done, size), size)

    source = {"filename": filename, "format": reader.kind, "encoding": reader.encoding, "bytes": reader.size}
    with ThreadPoolExecutor(1) as pool:  # hashing releases the GIL: the file is hashed while it is validated
        digest = pool.submit(sha256_file, path)
        return ingest_chunks(db, principal, doc, reader.chunks(report), reader.columns, source_kind="upload",
                             source=source, mode=mode, job_id=job_id, progress=progress,
                             source_digest=digest.result)


def ingest_chunks(db: Session, principal: Principal, doc: dict[str, Any], chunks: Iterable[readers.Chunk],
                  header: list[str], *, source_kind: str, source: dict[str, Any], mode: str = "replace",
                  job_id: str | None = None, progress: ProgressFn | None = None,
                  after: Callable[[Session, DatasetVersion], None] | None = None,
                  source_digest: Callable[[], str] | None = None) -> DatasetVersion:
    """The common path of uploads and pulls. ``after(db, version)`` runs inside the version's transaction (a pull
    records its new watermark there, so the two land together)."""
    job_id = job_id or uuid.uuid4().hex
    plan = plan_for(db, doc)
    base = _merge_base(db, doc["code"], plan) if mode == "merge" else None
    with tempfile.TemporaryDirectory(prefix="govdata-ingest-") as tmp:
        outcome = pipeline.process(chunks, header, plan, Path(tmp), base=base)
        if progress:
            progress("store", 0, 1)
        keys = _put_objects(doc["code"], job_id, outcome)
        if source_digest:
            source = {**source, "sha256": source_digest()}
        version = _record(db, principal, doc, outcome, keys, job_id=job_id, source_kind=source_kind,
                          source=source, mode=mode, after=after)
    if progress:
        progress("store", 1, 1)
    return version


def _merge_base(db: Session, code: str, plan: pipeline.Plan) -> pl.DataFrame | None:
    latest = latest_published(db, code)
    if latest is None:
        return None
    frame = get_store().read_parquet(latest.data_key)
    for key in plan.columns:
        if key not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(key))
    return frame.select(plan.columns)


def _put_objects(code: str, job_id: str, outcome: pipeline.Outcome) -> dict[str, Any]:
    store = get_store()
    base = f"{_safe(code)}/{job_id}"
    keys: dict[str, Any] = {"data": f"versions/{base}.parquet", "rejected": None, "errors": None}
    assert outcome.data_path is not None
    keys["sha256"] = sha256_file(outcome.data_path)
    keys["bytes"] = outcome.data_path.stat().st_size
    store.put_file(outcome.data_path, keys["data"])
    if outcome.rejected_path:
        keys["rejected"] = f"rejected/{base}.parquet"
        store.put_file(outcome.rejected_path, keys["rejected"])
    if outcome.errors_path:
        keys["errors"] = f"rejected/{base}-errors.parquet"
        store.put_file(outcome.errors_path, keys["errors"])
    return keys


def _policy_threshold(db: Session, code: str) -> float:
    policy = db.get(IngestPolicy, code)
    return policy.hold_above_percent if policy else DEFAULT_HOLD_ABOVE


def _status_for(db: Session, code: str, outcome: pipeline.Outcome) -> str:
    if outcome.rows_accepted == 0:
        return "held"
    rejected_percent = outcome.rows_rejected * 100 / max(outcome.rows_total, 1)
    threshold = _policy_threshold(db, code)
    if outcome.rows_rejected and rejected_percent > threshold:
        return "held"
    return "published"


def _record(db: Session, principal: Principal, doc: dict[str, Any], outcome: pipeline.Outcome,
            keys: dict[str, Any], *, job_id: str, source_kind: str, source: dict[str, Any], mode: str,
            after: Callable[[Session], None] | None) -> DatasetVersion:
    code = doc["code"]
    now = utcnow()
    previous = latest_published(db, code)
    timely = quality.timeliness(doc.get("update_cycle"), previous.created_at if previous else None, now)
    scores = quality.with_overall(outcome.dimensions, timely)
    status = _status_for(db, code, outcome)
    version = DatasetVersion(
        resource_code=code, provider_org_id=_org_id(db, doc), job_id=job_id, status=status,
        source_kind=source_kind, source=source, mode=mode, rows_total=outcome.rows_total,
        rows_accepted=outcome.rows_accepted, rows_rejected=outcome.rows_rejected, rows_stored=outcome.rows_stored,
        data_key=keys["data"], data_sha256=keys["sha256"], data_bytes=keys["bytes"], rejected_key=keys["rejected"],
        schema=[{"name": i["key"], "title": i["name"], "type": i["data_type"]} for i in doc["items"]],
        errors_by_rule=outcome.errors_by_rule, quality=scores, score=scores["score"],
        report={"warnings": outcome.warnings, "fill_rates": outcome.fill_rates, "errors_key": keys["errors"],
                "timings": outcome.timings, "hold_above_percent": _policy_threshold(db, code)},
        created_by=principal.name, created_at=now, published_at=now if status == "published" else None)
    for _attempt in range(5):
        version.number = (db.scalar(select(func.max(DatasetVersion.number))
                                    .where(DatasetVersion.resource_code == code)) or 0) + 1
        try:
            with db.begin_nested():
                db.add(version)
            break
        except IntegrityError:
            existing = find_by_job(db, job_id)
            if existing is not None:
                return existing
    else:
        raise Conflict("同时提交的数据版本过多,请稍后重试", code="version_conflict")
    if after:
        after(db, version)
    actionlog.record(db, principal, "dataset.version_created", target_type="resource", target_id=code,
                     summary=f"{doc['name']} 第 {version.number} 版:共 {outcome.rows_total} 行,"
                             f"接收 {outcome.rows_accepted} 行,拒绝 {outcome.rows_rejected} 行,"
                             f"{STATUS_LABELS[status]}",
                     after=summary(version))
    db.commit()
    return version


# -- reading versions ------------------------------------------------------------------------------------------

def find_by_job(db: Session, job_id: str) -> DatasetVersion | None:
    return db.scalar(select(DatasetVersion).where(DatasetVersion.job_id == job_id))


def latest_published(db: Session, code: str) -> DatasetVersion | None:
    """The version other domains serve: the newest published one."""
    return db.scalar(select(DatasetVersion).where(DatasetVersion.resource_code == code,
                                                  DatasetVersion.status == "published")
                     .order_by(DatasetVersion.number.desc()).limit(1))


def latest_numbers(db: Session, codes: list[str]) -> dict[str, int]:
    """Resource code → number of its newest published version, for those of ``codes`` that have one."""
    found: dict[str, int] = {}
    for start in range(0, len(codes), 1000):
        stmt = (select(DatasetVersion.resource_code, func.max(DatasetVersion.number))
                .where(DatasetVersion.resource_code.in_(codes[start:start + 1000]),
                       DatasetVersion.status == "published")
                .group_by(DatasetVersion.resource_code))
        found.update({code: number for code, number in db.execute(stmt)})
    return found


def published_history(db: Session, code: str, limit: int = 50) -> list[DatasetVersion]:
    """The published versions of a resource, newest first (the open-data portal's update history)."""
    return list(db.scalars(select(DatasetVersion).where(DatasetVersion.resource_code == code,
                                                        DatasetVersion.status == "published")
                           .order_by(DatasetVersion.number.desc()).limit(limit)))


def read_rows(version: DatasetVersion, columns: list[str] | None = None) -> pl.DataFrame:
    return get_store().read_parquet(version.data_key, columns=columns)


def list_versions(db: Session, principal: Principal, code: str) -> list[DatasetVersion]:
    _readable(db, principal, code)
    return list(db.scalars(select(DatasetVersion).where(DatasetVersion.resource_code == code)
                           .order_by(DatasetVersion.number.desc())))


def get_version(db: Session, principal: Principal, code: str, number: int) -> DatasetVersion:
    _readable(db, principal, code)
    version = db.scalar(select(DatasetVersion).where(DatasetVersion.resource_code == code,
                                                     DatasetVersion.number == number))
    if version is None:
        raise NotFound(f"{code} 没有第 {number} 版", code="version_not_found")
    return version


def summary(version: DatasetVersion) -> dict[str, Any]:
    """The figures ``govdata ingest --json`` prints and the job's result carries."""
    return {"resource": version.resource_code, "version": version.number, "status": version.status,
            "rows_total": version.rows_total, "rows_accepted": version.rows_accepted,
            "rows_rejected": version.rows_rejected, "rows_stored": version.rows_stored,
            "errors_by_rule": version.errors_by_rule, "quality": version.quality}


def version_dict(version: DatasetVersion) -> dict[str, Any]:
    return {**summary(version), "status_label": STATUS_LABELS[version.status], "mode": version.mode,
            "source_kind": version.source_kind, "source": version.source, "sha256": version.data_sha256,
            "bytes": version.data_bytes, "schema": version.schema, "created_by": version.created_by,
            "created_at": version.created_at.isoformat(),
            "published_at": version.published_at.isoformat() if version.published_at else None,
            "decided_by": version.decided_by, "has_rejected": bool(version.rejected_key)}


def report(db: Session, principal: Principal, code: str, number: int, *, sample: int = 100) -> dict[str, Any]:
    version = get_version(db, principal, code, number)
    errors = error_rows(version, limit=sample)
    return {**version_dict(version), "warnings": version.report.get("warnings", []),
            "fill_rates": version.report.get("fill_rates", {}), "hold_above_percent":
            version.report.get("hold_above_percent"), "errors_sample": errors.to_dicts(),
            "labels": quality.LABELS}


def error_rows(version: DatasetVersion, limit: int | None = None) -> pl.DataFrame:
    key = version.report.get("errors_key")
    if not key:
        return pl.DataFrame(schema={"row": pl.Int64, "rule": pl.String, "column": pl.String, "value": pl.String,
                                    "reason": pl.String})
    frame = get_store().read_parquet(key)
    return frame.head(limit) if limit else frame


def rejected_frame(version: DatasetVersion) -> pl.DataFrame | None:
    return get_store().read_parquet(version.rejected_key) if version.rejected_key else None


def rejected_xlsx(db: Session, principal: Principal, code: str, number: int) -> bytes:
    """The quarantine as Excel: the rejected rows under the items' Chinese names (so the corrected sheet can be
    uploaded again as it is, in merge mode), then every error."""
    from govdata import exports

    version = get_version(db, principal, code, number)
    doc = resource_doc(db, code)
    titles = [i["name"] for i in doc["items"]]
    keys = [i["key"] for i in doc["items"]]
    rejected = rejected_frame(version)
    sheets: list[tuple[str, list[str], Any]] = []
    if rejected is not None:
        columns = [k for k in keys if k in rejected.columns]
        sheets.append(("被拒绝的行", [titles[keys.index(k)] for k in columns] + [pipeline.REJECT_ROW,
                                                                          pipeline.REJECT_REASONS],
                       rejected.select(*columns, pipeline.REJECT_ROW, pipeline.REJECT_REASONS)
                       .head(EXCEL_MAX_ROWS).iter_rows()))
    errors = error_rows(version, limit=EXCEL_MAX_ROWS)
    names = dict(zip(keys, titles, strict=True))
    sheets.append(("错误明细", ["行号", "规则", "信息项", "值", "原因"],
                   ((r, RULE_LABELS.get(rule, rule), names.get(col or "", col or ""), val, why)
                    for r, rule, col, val, why in errors.iter_rows())))
    return exports.xlsx_bytes(sheets)


EXCEL_MAX_ROWS = 1_048_575
RULE_LABELS = {
    "required": "必填", "type": "数据类型", "length": "长度", "codeset": "代码集", "id_number": "公民身份号码",
    "credit_code": "统一社会信用代码", "region_code": "行政区划代码", "date": "日期", "format": "格式",
    "unique": "主键唯一", "cross_field": "跨字段一致", "structure": "行结构",
}


# -- comparing, rolling back, deciding -------------------------------------------------------------------------

def compare(db: Session, principal: Principal, code: str, old: int, new: int, *, sample: int = 20) -> dict[str, Any]:
    """Rows added, removed and changed between two versions, by key (by whole row when the resource has none)."""
    doc = _readable(db, principal, code)
    a, b = (read_rows(get_version(db, principal, code, n)) for n in (old, new))
    keys = [i["key"] for i in doc["items"] if i.get("primary_key")] or None
    columns = [c for c in b.columns if c in a.columns]
    a, b = a.select(columns), b.select(columns)
    on = keys or columns
    added = b.join(a, on=on, how="anti", nulls_equal=True)
    removed = a.join(b, on=on, how="anti", nulls_equal=True)
    changed = _changed_rows(a, b, keys, columns) if keys else b.clear()
    return {"old": old, "new": new, "keys": keys or [], "added": len(added), "removed": len(removed),
            "changed": len(changed), "added_sample": added.head(sample).to_dicts(),
            "removed_sample": removed.head(sample).to_dicts(), "changed_sample": changed.head(sample).to_dicts()}


def _changed_rows(a: pl.DataFrame, b: pl.DataFrame, keys: list[str], columns: list[str]) -> pl.DataFrame:
    others = [c for c in columns if c not in keys]
    if not others:
        return b.clear()
    joined = b.join(a, on=keys, how="inner", suffix="__old", nulls_equal=True)
    differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}__old")) for c in others])
    return joined.filter(differs)


def rollback(db: Session, principal: Principal, code: str, number: int) -> DatasetVersion:
    """回滚: a new published version whose rows are those of version ``number`` (history is never rewritten)."""
    doc = _manageable(db, principal, code)
    old = get_version(db, principal, code, number)
    job_id = uuid.uuid4().hex
    key = f"versions/{_safe(code)}/{job_id}.parquet"
    get_store().copy(old.data_key, key)
    outcome = pipeline.Outcome(rows_total=old.rows_stored, rows_accepted=old.rows_stored, rows_stored=old.rows_stored,
                               errors_by_rule={}, dimensions={d: old.quality.get(d, 0.0)
                                                              for d in pipeline.DIMENSIONS},
                               fill_rates=old.report.get("fill_rates", {}),
                               warnings=[f"由第 {number} 版回滚生成"])
    keys = {"data": key, "sha256": old.data_sha256, "bytes": old.data_bytes, "rejected": None, "errors": None}
    return _record(db, principal, doc, outcome, keys, job_id=job_id, source_kind="rollback",
                   source={"from_version": number}, mode="replace", after=None)


def decide(db: Session, principal: Principal, code: str, number: int, *, publish: bool) -> DatasetVersion:
    """Publish or discard a held version (暂存的版本由部门确认后发布或弃用)."""
    doc = _manageable(db, principal, code)
    version = get_version(db, principal, code, number)
    if version.status != "held":
        raise Conflict(f"第 {number} 版的状态是“{STATUS_LABELS[version.status]}”,只有暂存的版本可以发布或弃用",
                       code="version_not_held")
    if publish and version.rows_stored == 0:
        raise Conflict("该版本没有任何被接收的行,不能发布", code="version_empty")
    version.status = "published" if publish else "discarded"
    version.decided_by = principal.name
    if publish:
        version.published_at = utcnow()
    actionlog.record(db, principal, "dataset.version_published" if publish else "dataset.version_discarded",
                     target_type="resource", target_id=code,
                     summary=f"{doc['name']} 第 {number} 版{'发布' if publish else '弃用'}")
    db.commit()
    return version


def get_policy(db: Session, code: str) -> float:
    return _policy_threshold(db, code)


def set_policy(db: Session, principal: Principal, code: str, hold_above_percent: float) -> float:
    doc = _manageable(db, principal, code)
    if not 0 <= hold_above_percent <= 100:
        raise ValidationFailed("暂存阈值应在 0 到 100 之间(百分比)", code="invalid_policy")
    policy = db.get(IngestPolicy, code)
    before = policy.hold_above_percent if policy else DEFAULT_HOLD_ABOVE
    if policy is None:
        policy = IngestPolicy(resource_code=code, updated_by=principal.name)
        db.add(policy)
    policy.hold_above_percent, policy.updated_by, policy.updated_at = hold_above_percent, principal.name, utcnow()
    actionlog.record(db, principal, "dataset.policy_changed", target_type="resource", target_id=code,
                     summary=f"{doc['name']} 发布策略:拒绝行超过 {hold_above_percent}% 时暂存",
                     before={"hold_above_percent": before}, after={"hold_above_percent": hold_above_percent})
    db.commit()
    return hold_above_percent
