"""Staff pages of one-thing services (一件事一次办, the platform's layout).

The overview with the metrics dashboard, the officer's department queue, a task with its pre-filled form, proofs,
paper still needed and rule checks and the decide forms, and a package's detail with the form to load a new version
(bureau admins). The applicants' pages are in ``mobile``, the window staff's (窗口代办) in ``window``; what they share
in ``pages``.

Every action goes through ``onething.service`` / ``tasks`` / ``packages`` (which check who may do it and record it);
the pages only decide which forms to offer. Charts are drawn by app.js from data-* attributes (the CSP forbids
inline script).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata.db import get_db
from govdata.errors import AppError, ValidationFailed
from govdata.i18n import N_
from govdata.onething import metrics, packages, service, tasks
from govdata.onething import package as pkg
from govdata.onething.models import Case
from govdata.onething.pages import card, field_errors, form_status, items_of, labels, proofs, shown
from govdata.onething.schemas import PackageUpload
from govdata.orgs import service as orgs
from govdata.principal import Principal
from govdata.web.deps import csrf_protect, page_principal
from govdata.web.forms import parse
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)

QUEUE_TABS = {"open": N_("待办"), "needs_info": N_("待补正"), "accepted": N_("已通过"), "rejected": N_("未通过")}
DECISIONS = {"accept": N_("通过"), "reject": N_("不予办理"), "request_info": N_("要求补正")}
NOTICES = {
    "accept": N_("已通过该事项"), "reject": N_("已作出不予办理决定"), "request_info": N_("已要求申请人补正"),
    "package_loaded": N_("已载入套餐新版本"), "package_unchanged": N_("内容与当前版本相同,未生成新版本"),
}


def page(request: Request, name: str, context: dict[str, Any], principal: Principal, *,
         status: int = 200) -> Response:
    """A staff page of one-thing services, with the label tables."""
    return render(request, name, {**labels(), "queue_tabs": QUEUE_TABS, "decisions": DECISIONS, **context},
                  status=status, principal=principal)


def _decoded_form(db: Session, spec: pkg.PackageSpec, matter: str, form: dict[str, Any]) -> dict[str, Any]:
    """A task's form with ``shown``: a coded value read straight from a proof's item (e.g. sex 2) as its label."""
    sources = {f.key: f.source for f in spec.matter(matter).form} if matter in {m.key for m in spec.matters} else {}
    refs: dict[str, tuple[tuple[str, str], str]] = {}
    for key, source in sources.items():
        match = re.fullmatch(r"evidence\.(\w+)\.(\w+)", (source or "").strip())
        if match and match.group(1) in {e.key for e in spec.evidence}:
            resource = spec.evidence_of(match.group(1)).resource
            refs[key] = ((resource.provider, resource.name), match.group(2))
    items = items_of(db, {r for r, _ in refs.values()}) if refs else {}
    out = {}
    for key, f in form.items():
        resource, item = refs.get(key, (None, None))
        known = items.get(resource, {}).get(item) if resource else None
        value = shown(f.get("value"), known) if known else None
        out[key] = {**f, "shown": value if value not in (None, "—", str(f.get("value"))) else None}
    return out


# ---- staff: overview and metrics ------------------------------------------------------------------------------

def _is_officer(principal: Principal) -> bool:
    return principal.kind == "user" and principal.role in tasks.OFFICER_ROLES and bool(principal.org_code)


@router.get("/onething")
def overview(request: Request, db: Session = Depends(get_db),
             principal: Principal = Depends(page_principal)) -> Response:
    names = orgs.names_by_code(db)
    current = packages.list_current(db)
    cards = [card(db, row, p, names) for row, p in current]
    package_names = {row.key: p.spec.name for row, p in current}
    totals = metrics.totals(db)
    per_package = [{**p, "name": package_names.get(p["package"], p["package"])} for p in totals["packages"]]

    def series(rows: list[dict[str, Any]], field: str, scale: float = 1) -> list[dict[str, Any]]:
        return [{"name": r.get("name") or r.get("org_name"), "value": round(r[field] * scale, 2)}
                for r in rows if r.get(field) is not None]

    departments = totals["departments"]
    return page(request, "onething/index.html", {
        "cards": cards, "totals": totals, "per_package": per_package, "departments": departments,
        "officer": _is_officer(principal),
        "charts": {
            "materials": series(per_package, "materials_not_submitted"),
            "trips": series(per_package, "trips_saved"),
            "prefill": series(per_package, "prefill_rate", 100),
            "hours": series(per_package, "hours_to_completion_avg"),
            "dept_hours": series(departments, "handling_hours_avg"),
            "dept_open": [{"name": d["org_name"], "value": d["open"]} for d in departments if d["open"]],
        }}, principal)


# ---- staff: the department's queue and its tasks ----------------------------------------------------------------

@router.get("/onething/queue")
def queue_page(request: Request, status: str | None = Query(None, max_length=16),
               notice: str | None = Query(None, max_length=40), db: Session = Depends(get_db),
               principal: Principal = Depends(page_principal)) -> Response:
    tab = status if status in QUEUE_TABS else "open"
    context: dict[str, Any] = {"tab": tab, "notice": NOTICES.get(notice or ""), "rows": [], "refused": None}
    try:
        rows = tasks.queue(db, principal, status=None if tab == "open" else tab)
    except AppError as exc:
        if exc.code != "officer_required":
            raise
        return page(request, "onething/queue.html", {**context, "refused": exc}, principal, status=403)
    ids = sorted({t.case_id for t in rows})
    cases = {c.id: c for c in db.scalars(select(Case).where(Case.id.in_(ids)))} if ids else {}
    context["rows"] = [{**tasks.task_dict(t, brief=True), "case": cases.get(t.case_id)} for t in rows]
    context["org_name"] = orgs.names_by_code(db).get(principal.org_code or "", principal.org_code)
    return page(request, "onething/queue.html", context, principal)


def _task_page(request: Request, db: Session, principal: Principal, task_id: int, *, error: AppError | None = None,
               form: str | None = None, values: dict[str, Any] | None = None, status: int = 200) -> Response:
    detail = tasks.task_detail(db, principal, task_id)  # 404 outside the task's department
    names = orgs.names_by_code(db)
    case = service.get_case_row(db, detail["case"]["id"])
    spec = packages.version(db, case.package_key, case.package_version).spec
    matter_names = {m.key: m.name for m in spec.matters}
    output_labels = {o.key: o.label for m in spec.matters for o in m.outputs if m.key == detail["matter"]}
    may_decide = (detail["status"] == "open" and _is_officer(principal)
                  and principal.org_code == detail["department"])
    outputs = [{**o, "proposal": (detail["proposals"] or {}).get(o["key"])} for o in detail["outputs_spec"]]
    return page(request, "onething/task.html", {
        "t": detail, "department_name": names.get(detail["department"], detail["department"]),
        "form_rows": _decoded_form(db, spec, detail["matter"], detail["form"] or {}),
        "needs": [matter_names.get(n, n) for n in detail["needs"]],
        "outputs_shown": [(output_labels.get(k, k), v) for k, v in (detail["outputs"] or {}).items()],
        "proofs": proofs(db, detail["evidence"]), "outputs": outputs, "may_decide": may_decide,
        "error": error, "form": form, "values": values or {}, "field_errors": field_errors(error)}, principal,
        status=status)


@router.get("/onething/tasks/{task_id:int}")
def task_page(task_id: int, request: Request, db: Session = Depends(get_db),
              principal: Principal = Depends(page_principal)) -> Response:
    return _task_page(request, db, principal, task_id)


@router.post("/onething/tasks/{task_id:int}/decide", dependencies=[Depends(csrf_protect)])
async def task_decide(task_id: int, request: Request, db: Session = Depends(get_db),
                      principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    decision = str(form.get("decision") or "")
    comment = str(form.get("comment") or "").strip()[:2000]
    outputs = {str(k)[4:]: str(v).strip() for k, v in form.multi_items() if str(k).startswith("out_")}
    values = {"decision": decision, "comment": comment, "outputs": outputs}
    try:
        if decision not in DECISIONS:
            raise ValidationFailed("请选择办理结果", code="invalid_decision")
        tasks.decide(db, principal, task_id, decision, comment, outputs if decision == "accept" else None)
    except AppError as exc:
        db.rollback()
        if exc.status == 404 or exc.code in ("forbidden", "officer_required", "csrf_failed"):
            raise
        return _task_page(request, db, principal, task_id, error=exc, form=decision, values=values,
                          status=form_status(exc))
    return RedirectResponse(f"/onething/queue?notice={decision}", status_code=303)


# ---- staff: a package -------------------------------------------------------------------------------------------

def _package_page(request: Request, db: Session, principal: Principal, key: str, *, notice: str | None = None,
                  error: AppError | None = None, values: dict[str, str] | None = None,
                  status: int = 200) -> Response:
    row, package = packages.current(db, key)  # 404 package_not_found
    names = orgs.names_by_code(db)
    info = card(db, row, package, names)
    evidence = {e.key: e for e in package.spec.evidence}
    matter_names = {m.key: m.name for m in package.spec.matters}
    matters = []
    for m in package.spec.matters:
        matters.append({"m": m, "department_name": names.get(m.department, m.department),
                        "needs": [matter_names.get(n, n) for n in package.needs[m.key]],
                        "evidence": [evidence[k] for k in m.evidence if k in evidence]})
    problems = (error.details or {}).get("problems", []) if error is not None and isinstance(error.details, dict) \
        else []
    if values is None:
        values = {"content": row.content, "bpmn": row.bpmn if pkg.flow_name(row.content) else ""}
    return page(request, "onething/package.html", {
        "info": info, "row": row, "spec": package.spec, "matters": matters, "org_names": names,
        "versions": packages.versions(db, key), "may_load": principal.is_platform_admin and principal.kind == "user",
        "notice": NOTICES.get(notice or ""), "error": error, "problems": problems, "values": values}, principal,
        status=status)


@router.get("/onething/packages/{key}")
def package_page(key: str, request: Request, notice: str | None = Query(None, max_length=40),
                 db: Session = Depends(get_db), principal: Principal = Depends(page_principal)) -> Response:
    return _package_page(request, db, principal, key, notice=notice)


@router.post("/onething/packages/{key}", dependencies=[Depends(csrf_protect)])
async def package_load(key: str, request: Request, db: Session = Depends(get_db),
                       principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    values = {"content": str(form.get("content") or ""), "bpmn": str(form.get("bpmn") or "")}
    try:
        data = parse(PackageUpload, {"content": values["content"], "flow": values["bpmn"]})
        parsed = pkg.parse(data.content, data.flow)
        if parsed.key != key:
            raise pkg.PackageInvalid(f"文件中的 key ({parsed.key}) 与本套餐 {key} 不一致", code="package_key_mismatch")
        _, created = packages.store(db, principal, parsed)
    except AppError as exc:
        db.rollback()
        if exc.status == 404 or exc.code in ("forbidden", "csrf_failed"):
            raise
        return _package_page(request, db, principal, key, error=exc, values=values, status=form_status(exc))
    notice = "package_loaded" if created else "package_unchanged"
    return RedirectResponse(f"/onething/packages/{key}?notice={notice}", status_code=303)
