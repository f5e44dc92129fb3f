"""Pages of data collection and quality (数据归集与治理): a department's resources and their data, uploading a
version (a job followed by a polling fragment), the version report with its quarantine, rollback and held
versions, the publishing policy, the quality ranking of departments, and the department's source databases.

Every action goes through ``ingest.service`` / ``ingest.sources`` (which check who may do it and write the action
log). Resource codes contain "/": the routes with a suffix (``/versions/1``, ``/upload``) are declared before
the bare ``/data/{code}``. Charts are drawn by app.js from data-* attributes (the CSP forbids inline script).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata import exports, i18n
from govdata.catalog import projection
from govdata.db import get_db
from govdata.errors import AppError, ValidationFailed
from govdata.i18n import N_
from govdata.ingest import connectors, dashboard, quality, service, sources
from govdata.ingest.api import read_upload
from govdata.ingest.models import DatasetVersion, Source
from govdata.jobs import service as jobs
from govdata.jobs import worker
from govdata.jobs.models import Job
from govdata.orgs import service as orgs
from govdata.principal import Principal
from govdata.web.deps import csrf_protect, page_principal, wants_partial
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
ERRORS_SHOWN = 100
COMPARE_SAMPLE = 5

# The back end's label tables hold Chinese text; these marks put their values in the translation catalog, so the
# templates translate them with _() (tests/ingest/test_pages.py checks every value of those tables is here).
BACKEND_LABELS = (
    N_("已发布"), N_("暂存待确认"), N_("已弃用"),  # service.STATUS_LABELS
    N_("整体替换"), N_("按主键补充/更正"),  # service.MODES
    N_("必填"), N_("数据类型"), N_("长度"), N_("代码集"), N_("公民身份号码"), N_("统一社会信用代码"),
    N_("行政区划代码"), N_("日期"), N_("格式"), N_("主键唯一"), N_("跨字段一致"), N_("行结构"),  # service.RULE_LABELS
    N_("完整性"), N_("有效性"), N_("唯一性"), N_("一致性"), N_("及时性"), N_("综合得分"),  # quality.LABELS
    N_("按更新周期"), N_("仅手动"),  # sources.SCHEDULE_LABELS
    N_("全量"), N_("增量(按水位列)"),  # sources.MODE_LABELS
)

NOTICES = {
    "policy_saved": N_("发布策略已保存"),
    "version_published": N_("该版本已发布,成为当前版本"),
    "version_discarded": N_("该版本已弃用,当前版本保持不变"),
    "version_rolled_back": N_("已回滚:以所选版本的数据生成了新的当前版本"),
    "source_created": N_("数据源已登记,连接测试通过"),
    "source_deleted": N_("数据源已删除"),
}
JOB_STATUS = {"queued": N_("排队中"), "running": N_("处理中"), "succeeded": N_("已完成"), "failed": N_("失败")}
JOB_PHASES = {"": N_("等待开始"), "validate": N_("读取并校验数据"), "store": N_("保存数据版本"),
              "pull": N_("从数据源拉取数据")}
JOB_KINDS = {"ingest.upload": N_("上传文件"), "ingest.pull": N_("数据源拉取")}
SOURCE_KINDS = {"upload": N_("文件上传"), "database": N_("数据库拉取"), "rollback": N_("回滚")}
ENCODINGS = (("", N_("自动识别")), ("utf-8", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030"))
DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency", "timeliness")


def _page(request: Request, name: str, context: dict[str, Any], principal: Principal, *,
          status: int = 200) -> Response:
    labels = {"status_labels": service.STATUS_LABELS, "modes": service.MODES, "rule_labels": service.RULE_LABELS,
              "quality_labels": quality.LABELS, "dimensions": DIMENSIONS, "job_status": JOB_STATUS,
              "job_phases": JOB_PHASES, "job_kinds": JOB_KINDS, "source_kinds": SOURCE_KINDS,
              "schedule_labels": sources.SCHEDULE_LABELS, "source_modes": sources.MODE_LABELS}
    return render(request, name, {**labels, **context}, status=status, principal=principal)


def _form_status(exc: AppError) -> int:
    """A form shown again with its error: the error's status, but never a 5xx (a proxy may replace the page)."""
    return exc.status if exc.status < 500 else 422


# ---- /data: the department's resources ---------------------------------------------------------------------

@router.get("/data")
def data_index(request: Request, org: str | None = None, page: int = Query(1, ge=1, le=100000),
               db: Session = Depends(get_db), principal: Principal = Depends(page_principal)) -> Response:
    sees_all = principal.has_role("auditor")
    provider = (org or None) if sees_all else (principal.org_code or "-")
    entries = projection.published_entries(db, provider=provider)
    total = len(entries)
    entries = entries[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    codes = [e.code for e in entries]
    current = _current_versions(db, codes)
    held = _held_counts(db, codes)
    last_jobs = _last_jobs(db, principal, codes)
    rows = []
    for entry in entries:
        version = current.get(entry.code)
        rows.append({"code": entry.code, "name": entry.name, "provider": entry.provider,
                     "provider_name": entry.provider_name, "version": version,
                     "score": dashboard.current_scores(version, entry.update_cycle)["score"] if version else None,
                     "held": held.get(entry.code, 0), "job": last_jobs.get(entry.code)})
    query = urlencode({"org": org} if sees_all and org else {})
    return _page(request, "ingest/index.html", {
        "rows": rows, "total": total, "page": page, "page_size": PAGE_SIZE, "sees_all": sees_all,
        "org": org or "", "org_options": orgs.options(db) if sees_all else [],
        "pager_base": f"/data?{query}&" if query else "/data?"}, principal)


def _current_versions(db: Session, codes: list[str]) -> dict[str, DatasetVersion]:
    if not codes:
        return {}
    newest = (select(DatasetVersion.resource_code, func.max(DatasetVersion.number).label("number"))
              .where(DatasetVersion.status == "published", DatasetVersion.resource_code.in_(codes))
              .group_by(DatasetVersion.resource_code).subquery())
    rows = db.scalars(select(DatasetVersion).join(newest, (DatasetVersion.resource_code == newest.c.resource_code)
                                                  & (DatasetVersion.number == newest.c.number)))
    return {v.resource_code: v for v in rows}


def _held_counts(db: Session, codes: list[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = db.execute(select(DatasetVersion.resource_code, func.count()).where(
        DatasetVersion.status == "held", DatasetVersion.resource_code.in_(codes))
        .group_by(DatasetVersion.resource_code))
    return {code: n for code, n in rows}


def _last_jobs(db: Session, principal: Principal, codes: list[str]) -> dict[str, Job]:
    """The newest upload or pull job of each resource (a pull's target is its source)."""
    if not codes:
        return {}
    source_of = {f"source:{s.id}": s.resource_code for s in sources.list_sources(db, principal)
                 if s.resource_code in set(codes)}
    targets = [*codes, *source_of]
    newest = (select(Job.target, func.max(Job.created_at).label("at"))
              .where(Job.kind.in_(tuple(JOB_KINDS)), Job.target.in_(targets)).group_by(Job.target).subquery())
    found: dict[str, Job] = {}
    for job in db.scalars(select(Job).join(newest, (Job.target == newest.c.target) & (Job.created_at == newest.c.at))):
        code = source_of.get(job.target or "", job.target or "")
        if code not in found or job.created_at > found[code].created_at:
            found[code] = job
    return found


# ---- one version -------------------------------------------------------------------------------------------

@router.get("/data/{code:path}/versions/{number:int}/rejected.xlsx")
def version_rejected_xlsx(code: str, number: int, db: Session = Depends(get_db),
                          principal: Principal = Depends(page_principal)) -> Response:
    """The quarantine as Excel: the rejected rows under the items' Chinese names, then every error."""
    data = service.rejected_xlsx(db, principal, code, number)
    name = f"rejected-{service._safe(code)}-v{number}.xlsx"
    return Response(data, media_type=exports.XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/data/{code:path}/versions/{number:int}/compare")
def version_compare(code: str, number: int, request: Request, db: Session = Depends(get_db),
                    principal: Principal = Depends(page_principal)) -> Response:
    """What changed from the previous version: a fragment for htmx, else a page of its own."""
    service.get_version(db, principal, code, number)
    doc = service.resource_doc(db, code)
    context = {"doc": doc, "number": number, "comparison": _comparison(db, principal, doc, number)}
    if wants_partial(request):
        response = _page(request, "ingest/_compare.html", context, principal)
        response.headers["Vary"] = "HX-Request"
        return response
    return _page(request, "ingest/compare.html", context, principal)


def _comparison(db: Session, principal: Principal, doc: dict[str, Any], number: int) -> dict[str, Any] | None:
    if number <= 1:
        return None
    result = service.compare(db, principal, doc["code"], number - 1, number, sample=COMPARE_SAMPLE)
    items = doc["items"]
    keys = result["keys"]
    changed = []
    for row in result["changed_sample"]:
        diffs = [{"name": i["name"], "old": row.get(f"{i['key']}__old"), "new": row.get(i["key"])}
                 for i in items if i["key"] not in keys and f"{i['key']}__old" in row
                 and row.get(f"{i['key']}__old") != row.get(i["key"])]
        changed.append({"key": " / ".join(str(row.get(k)) for k in keys), "diffs": diffs})
    return {**result, "columns": [(i["key"], i["name"]) for i in items], "changed_rows": changed}


def _report(request: Request, db: Session, principal: Principal, code: str, number: int, *,
            notice: str | None = None, error: AppError | None = None, status: int = 200) -> Response:
    rep = service.report(db, principal, code, number, sample=ERRORS_SHOWN)
    version = service.get_version(db, principal, code, number)
    doc = service.resource_doc(db, code)
    gettext = i18n.gettext
    names = {i["key"]: i["name"] for i in doc["items"]}
    latest = service.latest_published(db, code)
    scores = [{"name": gettext(quality.LABELS[k]), "value": rep["quality"].get(k, 0.0)} for k in quality.LABELS]
    by_rule = [{"name": gettext(service.RULE_LABELS.get(rule, rule)), "value": n}
               for rule, n in sorted(rep["errors_by_rule"].items(), key=lambda kv: -kv[1])]
    fill = [{"key": i["key"], "name": i["name"], "required": i.get("required"),
             "rate": rep["fill_rates"].get(i["key"])} for i in doc["items"]]
    can_manage = service.can_manage(principal, doc)
    context = {
        "doc": doc, "rep": rep, "number": number, "scores_series": scores, "rules_series": by_rule,
        "fill": fill, "names": names, "current": latest.number if latest else None,
        "created_at": version.created_at,
        "rejected_percent": round(rep["rows_rejected"] * 100 / rep["rows_total"], 2) if rep["rows_total"] else 0.0,
        "can_manage": can_manage,
        "can_rollback": can_manage and rep["rows_stored"] > 0 and rep["status"] != "discarded"
        and not (latest and latest.number == number),
        "can_decide": can_manage and rep["status"] == "held",
        "notice": NOTICES.get(notice or ""), "error": error,
    }
    return _page(request, "ingest/report.html", context, principal, status=status)


@router.get("/data/{code:path}/versions/{number:int}")
def version_report(code: str, number: int, request: Request, notice: str | None = None,
                   db: Session = Depends(get_db), principal: Principal = Depends(page_principal)) -> Response:
    return _report(request, db, principal, code, number, notice=notice)


def _version_action(request: Request, db: Session, principal: Principal, code: str, number: int,
                    action: str) -> Response:
    try:
        if action == "rollback":
            version = service.rollback(db, principal, code, number)
            return RedirectResponse(f"/data/{code}/versions/{version.number}?notice=version_rolled_back",
                                    status_code=303)
        service.decide(db, principal, code, number, publish=action == "publish")
    except AppError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        return _report(request, db, principal, code, number, error=exc, status=_form_status(exc))
    notice = "version_published" if action == "publish" else "version_discarded"
    return RedirectResponse(f"/data/{code}/versions/{number}?notice={notice}", status_code=303)


@router.post("/data/{code:path}/versions/{number:int}/rollback", dependencies=[Depends(csrf_protect)])
def version_rollback(code: str, number: int, request: Request, db: Session = Depends(get_db),
                     principal: Principal = Depends(page_principal)) -> Response:
    return _version_action(request, db, principal, code, number, "rollback")


@router.post("/data/{code:path}/versions/{number:int}/publish", dependencies=[Depends(csrf_protect)])
def version_publish(code: str, number: int, request: Request, db: Session = Depends(get_db),
                    principal: Principal = Depends(page_principal)) -> Response:
    return _version_action(request, db, principal, code, number, "publish")


@router.post("/data/{code:path}/versions/{number:int}/discard", dependencies=[Depends(csrf_protect)])
def version_discard(code: str, number: int, request: Request, db: Session = Depends(get_db),
                    principal: Principal = Depends(page_principal)) -> Response:
    return _version_action(request, db, principal, code, number, "discard")


# ---- uploading, the policy ---------------------------------------------------------------------------------

@router.post("/data/{code:path}/upload", dependencies=[Depends(csrf_protect)])
async def data_upload(code: str, request: Request, db: Session = Depends(get_db),
                      principal: Principal = Depends(page_principal)) -> Response:
    """Store the file and queue its ingest job; htmx gets the progress fragment, a plain form the job's page."""
    fields: dict[str, str] = {}
    try:
        upload, fields = await read_upload(request)
        job = service.start_upload(db, principal, code, upload.file, upload.filename or "",
                                   encoding=fields.get("encoding") or None, mode=fields.get("mode") or "replace")
    except AppError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        if wants_partial(request):  # htmx swaps only 2xx answers: the error is this fragment's content
            return _page(request, "ingest/_upload_error.html", {"error": exc}, principal)
        return _data_page(request, db, principal, code, upload_error=exc, upload_values=fields,
                          status=_form_status(exc))
    worker.wake()
    if wants_partial(request):
        return _page(request, "ingest/_job.html", _job_context(db, job), principal, status=202)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.post("/data/{code:path}/policy", dependencies=[Depends(csrf_protect)])
async def data_policy(code: str, request: Request, db: Session = Depends(get_db),
                      principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    typed = str(form.get("hold_above_percent") or "").strip()
    try:
        try:
            value = float(typed)
        except ValueError:
            raise ValidationFailed(f"暂存阈值应为 0 到 100 之间的数字:{typed}", code="invalid_policy") from None
        if not math.isfinite(value):
            raise ValidationFailed("暂存阈值应在 0 到 100 之间(百分比)", code="invalid_policy")
        service.set_policy(db, principal, code, value)
    except AppError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        return _data_page(request, db, principal, code, policy_error=exc, policy_value=typed,
                          status=_form_status(exc))
    return RedirectResponse(f"/data/{code}?notice=policy_saved#policy", status_code=303)


# ---- one resource's data -----------------------------------------------------------------------------------

def _data_page(request: Request, db: Session, principal: Principal, code: str, *, notice: str | None = None,
               upload_error: AppError | None = None, upload_values: dict[str, str] | None = None,
               policy_error: AppError | None = None, policy_value: str | None = None,
               status: int = 200) -> Response:
    versions = service.list_versions(db, principal, code)  # 404 for whoever may not read them
    doc = service.resource_doc(db, code)
    trend = dashboard.resource_trend(db, principal, code)
    gettext = i18n.gettext
    points = trend["points"]
    context = {
        "doc": doc, "versions": versions, "current": next((v.number for v in versions if v.status == "published"),
                                                          None),
        "can_manage": service.can_manage(principal, doc), "policy": service.get_policy(db, code),
        "policy_value": policy_value, "policy_error": policy_error, "upload_error": upload_error,
        "upload_values": upload_values or {}, "encodings": ENCODINGS, "notice": NOTICES.get(notice or ""),
        "trend_x": [gettext("第 %(n)s 版") % {"n": p["version"]} for p in points],
        "trend_series": [{"name": gettext(quality.LABELS[k]), "data": [p.get(k) for p in points]}
                         for k in quality.LABELS],
        "current_scores": trend["current"],
        "sources": [_source_row(s) for s in sources.list_sources(db, principal, resource=code)],
        "active_jobs": [_job_context(db, j) for j in jobs.recent(db, target=code, limit=5)
                        if j.status in ("queued", "running")],
    }
    return _page(request, "ingest/data.html", context, principal, status=status)


# ---- jobs ------------------------------------------------------------------------------------------------

def _job_context(db: Session, job: Job) -> dict[str, Any]:
    result = job.result or {}
    code = result.get("resource") or (job.target if job.kind == "ingest.upload" else None)
    return {"job": job, "percent": jobs.percent(job), "finished": job.status in ("succeeded", "failed"),
            "result": result, "code": code}


@router.get("/jobs/{job_id}")
def job_page(job_id: str, request: Request, db: Session = Depends(get_db),
             principal: Principal = Depends(page_principal)) -> Response:
    """A job's progress: the fragment htmx polls every second until the job ends, or the page around it."""
    job = jobs.get_for(db, principal, job_id)
    context = _job_context(db, job)
    if wants_partial(request):
        response = _page(request, "ingest/_job.html", context, principal)
        response.headers["Vary"] = "HX-Request"
        response.headers["Cache-Control"] = "no-store"
        if context["finished"]:
            response.headers["HX-Trigger"] = "ingest-job-done"  # the page refreshes its versions table
        return response
    return _page(request, "ingest/job.html", context, principal)


# ---- quality ---------------------------------------------------------------------------------------------

@router.get("/quality")
def quality_page(request: Request, db: Session = Depends(get_db),
                 principal: Principal = Depends(page_principal)) -> Response:
    ranking = dashboard.department_ranking(db)
    overview = dashboard.overview(db)
    catalogued = len(projection.published_entries(db))
    with_data = sum(r["resources_with_data"] for r in ranking)
    return _page(request, "ingest/quality.html", {
        "ranking": ranking, "overview": overview, "catalogued": catalogued, "with_data": with_data,
        "coverage": round(with_data * 100 / catalogued, 1) if catalogued else 0.0,
        "ranking_series": [{"name": r["org_name"], "value": r["score"]} for r in ranking]}, principal)


# ---- source databases ------------------------------------------------------------------------------------

SOURCE_FIELDS = ("name", "resource", "url", "table", "query", "mode", "watermark_column", "schedule")


def _source_row(source: Source) -> dict[str, Any]:
    """``sources.source_dict`` (the URL without its password) with the times as datetimes, shown in local time."""
    return {**sources.source_dict(source), "last_pull_at": source.last_pull_at, "next_pull_at": source.next_pull_at}


def _source_resources(db: Session, principal: Principal) -> list[tuple[str, str]]:
    """The published resources the person may attach a source to."""
    if principal.is_platform_admin:
        entries = projection.published_entries(db)
    elif principal.role in ("dept_admin", "dept_staff") and principal.org_code:
        entries = projection.published_entries(db, provider=principal.org_code)
    else:
        return []
    return [(e.code, e.name) for e in entries]


def _sources_page(request: Request, db: Session, principal: Principal, *, notice: str | None = None,
                  error: AppError | None = None, values: dict[str, str] | None = None,
                  action_error: AppError | None = None, status: int = 200) -> Response:
    rows = sources.list_sources(db, principal)
    names = {e.code: e.name for e in projection.published_entries(db)} if rows else {}
    manageable = {code for code, _ in _source_resources(db, principal)}
    return _page(request, "ingest/sources.html", {
        "rows": [{**_source_row(s), "resource_name": names.get(s.resource_code, s.resource_code),
                  "can_manage": s.resource_code in manageable} for s in rows],
        "resource_options": _source_resources(db, principal), "notice": NOTICES.get(notice or ""),
        "error": error, "action_error": action_error,
        "values": values or {"mode": "full", "schedule": "cycle"}}, principal, status=status)


@router.get("/sources")
def sources_index(request: Request, notice: str | None = None, db: Session = Depends(get_db),
                  principal: Principal = Depends(page_principal)) -> Response:
    return _sources_page(request, db, principal, notice=notice)


def _without_password(url: str) -> str:
    """The URL as typed, less any password in it (a password is never sent back to the browser)."""
    try:
        return connectors.split_url(url)[0] if url.strip() else ""
    except AppError:
        return connectors.safe_url(url)


@router.post("/sources", dependencies=[Depends(csrf_protect)])
async def sources_create(request: Request, db: Session = Depends(get_db),
                         principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in SOURCE_FIELDS}
    password = str(form.get("password") or "")
    try:
        if not values["resource"]:
            raise ValidationFailed("请选择数据源对应的信息资源", code="invalid_source")
        if not values["url"]:
            raise ValidationFailed("请填写数据库连接地址", code="invalid_source")
        sources.add_source(db, principal, {**values, "password": password or None}, test=True)
    except AppError as exc:
        db.rollback()
        if exc.status == 403:
            raise
        shown = {**values, "url": _without_password(values["url"])}
        return _sources_page(request, db, principal, error=exc, values=shown, status=_form_status(exc))
    return RedirectResponse("/sources?notice=source_created", status_code=303)


@router.post("/sources/{source_id:int}/pull", dependencies=[Depends(csrf_protect)])
def sources_pull(source_id: int, request: Request, db: Session = Depends(get_db),
                 principal: Principal = Depends(page_principal)) -> Response:
    try:
        job = sources.start_pull(db, principal, source_id)
    except AppError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        if wants_partial(request):
            return _page(request, "ingest/_upload_error.html", {"error": exc}, principal)
        return _sources_page(request, db, principal, action_error=exc, status=_form_status(exc))
    worker.wake()
    if wants_partial(request):
        return _page(request, "ingest/_job.html", _job_context(db, job), principal, status=202)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.post("/sources/{source_id:int}/delete", dependencies=[Depends(csrf_protect)])
def sources_delete(source_id: int, db: Session = Depends(get_db),
                   principal: Principal = Depends(page_principal)) -> Response:
    sources.delete_source(db, principal, source_id)
    return RedirectResponse("/sources?notice=source_deleted", status_code=303)


# ---- declared last: the bare code matches every suffix -----------------------------------------------------

@router.get("/data/{code:path}")
def data_resource(code: str, request: Request, notice: str | None = None, part: str | None = None,
                  db: Session = Depends(get_db), principal: Principal = Depends(page_principal)) -> Response:
    if part == "versions" and wants_partial(request):
        versions = service.list_versions(db, principal, code)
        doc = service.resource_doc(db, code)
        response = _page(request, "ingest/_versions.html", {
            "doc": doc, "versions": versions, "can_manage": service.can_manage(principal, doc),
            "current": next((v.number for v in versions if v.status == "published"), None)}, principal)
        response.headers["Vary"] = "HX-Request"
        return response
    return _data_page(request, db, principal, code, notice=notice)

