"""Pages of one-thing services (一件事一次办).

Applicants (掌心办, phone-first, under ``/m/``, their own small layout): sign in through the citizen cookie
(``gd_citizen``, holding the token of ``citizens.sign_in``), choose the life event, type the package's inputs, see
exactly which proofs will be fetched from which department, consent (or not: then nothing is fetched and the case is
withdrawn), see the fetched proofs, fill only what no proof gives, submit once, and follow each matter to the end.

Staff (the platform's layout): the overview with the metrics dashboard, the officer's department queue, a task with
its pre-filled form, proofs, paper still needed and rule checks and the decide forms, and a package's detail with the
form to load a new version (bureau admins).

Every action goes through ``onething.service`` / ``tasks`` / ``packages`` (which check who may do it and record it);
the pages only decide which forms to offer. Charts are drawn by app.js from data-* attributes (the CSP forbids
inline script).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlparse

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata import i18n
from govdata.catalog import projection
from govdata.config import get_settings, local_tz
from govdata.db import get_db, utcnow
from govdata.errors import AppError, ValidationFailed
from govdata.i18n import N_
from govdata.onething import citizens, metrics, packages, service, tasks
from govdata.onething import package as pkg
from govdata.onething.models import Case
from govdata.onething.schemas import PackageUpload
from govdata.orgs import service as orgs
from govdata.principal import Principal
from govdata.standards import service as standards
from govdata.web.deps import attempt_principal, csrf_protect, page_principal, request_meta
from govdata.web.forms import parse
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)
logger = logging.getLogger(__name__)

CITIZEN_COOKIE = "gd_citizen"
CITIZEN_PATH = "/m"
SAMPLES_PER_PACKAGE = 5

# Chinese labels, marked for extraction and translated in the templates with _().
CASE_STATUS = {"draft": N_("待授权"), "consented": N_("待提交"), "in_progress": N_("办理中"),
               "completed": N_("已办结"), "closed": N_("已办结(部分事项未通过)"), "withdrawn": N_("已撤回")}
TASK_STATUS = {"waiting": N_("待前置事项"), "open": N_("办理中"), "needs_info": N_("待补正"),
               "accepted": N_("已通过"), "rejected": N_("未通过"), "cancelled": N_("已取消")}
EVIDENCE_STATUS = {"fetched": N_("已调取"), "not_found": N_("未查到"), "no_grant": N_("未获授权"),
                   "unavailable": N_("暂不可用"), "skipped": N_("缺少查询条件"), "not_needed": N_("无需调取")}
PLAN_STATUS = {"will_fetch": N_("将调取"), "no_grant": N_("需提交纸质材料")}
SOURCE_LABELS = {"evidence": N_("来自证明"), "input": N_("申请人填写"), "filled": N_("申请人填写"),
                 "applicant": N_("申请人身份信息"), "output": N_("前序事项结果"), "rule": N_("规则计算")}
EVENT_LABELS = {
    "created": N_("发起申请"), "consent": N_("同意调取证明"), "consent_refused": N_("不同意调取证明,办件已撤回"),
    "evidence": N_("调取证明"), "submitted": N_("提交申请"), "task.request_info": N_("要求补正"),
    "task.accepted": N_("事项通过"), "task.rejected": N_("事项未通过"), "supplemented": N_("申请人补正"),
    "withdrawn": N_("撤回申请"), "completed": N_("全部事项办结"), "closed": N_("办件办结(部分事项未通过)"),
}
QUEUE_TABS = {"open": N_("待办"), "needs_info": N_("待补正"), "accepted": N_("已通过"), "rejected": N_("未通过")}
DECISIONS = {"accept": N_("通过"), "reject": N_("不予办理"), "request_info": N_("要求补正")}
NOTICES = {
    "withdrawn": N_("办件已撤回"), "refused": N_("您未同意调取证明,办件已撤回,未调取任何证明"),
    "consented": N_("已按清单调取证明,请核对后提交"), "submitted": N_("已提交,各事项已分送办理部门"),
    "supplemented": N_("补正内容已提交,事项已回到办理部门"), "signed_out": N_("已退出"),
    "accept": N_("已通过该事项"), "reject": N_("已作出不予办理决定"), "request_info": N_("已要求申请人补正"),
    "package_loaded": N_("已载入套餐新版本"), "package_unchanged": N_("内容与当前版本相同,未生成新版本"),
}
INPUT_TYPES = {"phone": "tel", "date": "date", "number": "number"}


def _labels() -> dict[str, Any]:
    return {"case_status": CASE_STATUS, "task_status": TASK_STATUS, "evidence_status": EVIDENCE_STATUS,
            "plan_status": PLAN_STATUS, "source_labels": SOURCE_LABELS, "event_labels": EVENT_LABELS,
            "queue_tabs": QUEUE_TABS, "decisions": DECISIONS, "input_types": INPUT_TYPES,
            "when": _when, "duration": _duration}


def _when(value: datetime | None) -> str:
    return value.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M") if value else ""


def _duration(hours: float | None) -> str:
    if hours is None:
        return "—"
    _ = i18n.gettext
    minutes = round(hours * 60)
    if minutes < 60:
        return _("%(n)s 分钟") % {"n": max(minutes, 1)}
    if hours < 48:
        return _("%(n)s 小时") % {"n": round(hours, 1)}
    return _("%(n)s 天") % {"n": round(hours / 24, 1)}


def _form_status(exc: AppError) -> int:
    """A form shown again with its error: the error's status, but never a 5xx (a proxy may replace the page)."""
    return exc.status if exc.status < 500 else 422


def _field_errors(exc: AppError | None) -> dict[str, str]:
    """Problems per field when the service names them (``details.fields`` as a mapping)."""
    fields = (exc.details or {}).get("fields") if exc is not None and isinstance(exc.details, dict) else None
    return {str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else {}


# ---- what the proofs say, with the catalog's item names ------------------------------------------------------

def _items_of(db: Session, resources: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """(provider, resource name) → item key → {name, codes}: the published resources' items, codes decoded when
    the item's data element has a small code set (e.g. sex: 1 男, 2 女)."""
    found: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for provider in sorted({p for p, _ in resources}):
        for entry in projection.published_entries(db, provider=provider):
            if (entry.provider, entry.name) in resources:
                found[(entry.provider, entry.name)] = {i["key"]: dict(i) for i in entry.document.get("items", [])}
    elements = standards.elements_by_code(db, {i["data_element"] for items in found.values() for i in items.values()
                                               if i.get("data_element")})
    codes: dict[str, dict[str, str]] = {}
    for name in sorted({e.codeset for e in elements.values() if e.codeset}):
        codeset = standards.find_codeset(db, name)
        if codeset is None:
            continue
        total, values = standards.codeset_values(db, codeset, page=1, page_size=200)
        if total <= 200:
            codes[name] = {v.code: v.label for v in values}
    for items in found.values():
        for item in items.values():
            element = elements.get(item.get("data_element") or "")
            item["codes"] = codes.get(element.codeset, {}) if element and element.codeset else {}
    return found


def _shown(value: Any, item: dict[str, Any] | None) -> str:
    if value is None or value == "":
        return "—"
    text = str(value)
    label = (item or {}).get("codes", {}).get(text)
    return f"{label}" if label else text


def _proofs(db: Session, preview: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fetched proofs as rows of (item name, value) per record."""
    names = orgs.names_by_code(db) if preview else {}
    items = _items_of(db, {(p["provider"], p["resource"]) for p in preview})
    out = []
    for p in preview:
        known = items.get((p["provider"], p["resource"]), {})
        records = [[((known.get(k) or {}).get("name", k), _shown(v, known.get(k))) for k, v in rec.items()]
                   for rec in p["records"]]
        out.append({**p, "provider_name": names.get(p["provider"], p["provider"]), "rows": records})
    return out


def _plan(db: Session, plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items = _items_of(db, {(p["provider"], p["resource"]) for p in plan})
    return [{**p, "item_names": [(items.get((p["provider"], p["resource"]), {}).get(k) or {}).get("name", k)
                                 for k in p.get("items") or []]} for p in plan]


# ---- applicants (掌心办) ----------------------------------------------------------------------------------------

def _citizen(request: Request, db: Session) -> Principal | None:
    token = request.cookies.get(CITIZEN_COOKIE)
    principal = citizens.resolve(db, token) if token else None
    return principal.with_request(*request_meta(request)) if principal else None


def _safe_next(target: str | None) -> str:
    """Only the applicant pages, so the sign-in form cannot send anyone elsewhere."""
    if not target:
        return "/m/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/m/") or "\\" in target:
        return "/m/"
    return target


def _to_sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/m/?" + urlencode({"next": target}), status_code=303)


def _m(request: Request, name: str, context: dict[str, Any], citizen: Principal | None, *,
       status: int = 200) -> Response:
    response = render(request, name, {**_labels(), "citizen": citizen, **context}, status=status)
    response.headers["Cache-Control"] = "no-store"  # a person's own data, on a possibly shared phone
    return response


def _m_error(request: Request, citizen: Principal | None, exc: AppError) -> Response:
    return _m(request, "onething/m_error.html", {"error": exc}, citizen, status=_form_status(exc))


def _samples(db: Session, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Demo: a few sample applicants per package, each with the link that fills the sign-in form."""
    try:
        from govdata.demo import families
    except ImportError:
        return []
    out = []
    for key, name in keys:
        try:
            people = families.applicants(db, key, limit=SAMPLES_PER_PACKAGE) or []
        except AppError:
            people = []
        except Exception:  # the sign-in page must stay usable whatever the demo data holds
            logger.exception("sample applicants of %s", key)
            people = []
        rows = []
        for person in people[:SAMPLES_PER_PACKAGE]:
            start = f"/m/start/{key}" + (f"?{urlencode(person.get('inputs') or {})}" if person.get("inputs") else "")
            query = {"id_number": person["id_number"], "name": person["name"], "next": start}
            rows.append({**person, "href": "/m/?" + urlencode(query)})
        if rows:
            out.append({"key": key, "name": name, "people": rows})
    return out


def _sign_in_page(request: Request, db: Session, values: dict[str, str], *, error: AppError | None = None,
                  notice: str | None = None, status: int = 200) -> Response:
    demo = citizens.demo_enabled(db)
    current = [(row.key, p.spec.name) for row, p in packages.list_current(db)] if demo else []
    return _m(request, "onething/m_signin.html", {
        "values": values, "error": error, "demo": demo, "samples": _samples(db, current) if demo else [],
        "notice": NOTICES.get(notice or "")}, None, status=status)


def _card(db: Session, row: Any, package: pkg.Package, names: dict[str, str]) -> dict[str, Any]:
    info = packages.summary(db, row, package)
    paper_left = any(m.materials for m in package.spec.matters)
    departments = list(dict.fromkeys(names.get(m["department"], m["department"]) for m in info["matters"]))
    return {**info, "departments": departments, "paper_saved_count": len(info["paper_saved"]),
            "trips_saved": info["trips_without"] - (1 if paper_left else 0)}


@router.get("/m/")
def m_home(request: Request, id_number: str | None = Query(None, max_length=18),
           name: str | None = Query(None, max_length=50), next: str | None = Query(None, max_length=1000),
           notice: str | None = Query(None, max_length=40), db: Session = Depends(get_db)) -> Response:
    citizen = _citizen(request, db)
    if citizen is None:
        values = {"id_number": id_number or "", "name": name or "", "next": _safe_next(next)}
        return _sign_in_page(request, db, values, notice=notice)
    names = orgs.names_by_code(db)
    cards = [_card(db, row, p, names) for row, p in packages.list_current(db)]
    mine = [service.case_dict(db, c, detail=False) for c in service.list_mine(db, citizen)]
    return _m(request, "onething/m_home.html", {"cards": cards, "cases": mine, "notice": NOTICES.get(notice or "")},
              citizen)


@router.post("/m/", dependencies=[Depends(csrf_protect)])
async def m_sign_in(request: Request, db: Session = Depends(get_db)) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip()[:1000] for k in ("id_number", "name", "next")}
    values["next"] = _safe_next(values["next"])
    try:
        token = citizens.sign_in(db, values["id_number"], values["name"],
                                 attempt_principal(request, values["id_number"][:6] or "-"))
    except AppError as exc:
        db.rollback()
        return _sign_in_page(request, db, values, error=exc, status=_form_status(exc))
    response = RedirectResponse(values["next"], status_code=303)
    response.set_cookie(CITIZEN_COOKIE, token, httponly=True, samesite="strict", secure=get_settings().cookie_secure,
                        max_age=citizens.SESSION_HOURS * 3600, path=CITIZEN_PATH)
    return response


@router.post("/m/logout", dependencies=[Depends(csrf_protect)])
def m_logout(request: Request, db: Session = Depends(get_db)) -> Response:
    token = request.cookies.get(CITIZEN_COOKIE)
    if token:
        citizens.sign_out(db, token)
    response = RedirectResponse("/m/?notice=signed_out", status_code=303)
    response.delete_cookie(CITIZEN_COOKIE, path=CITIZEN_PATH, httponly=True, samesite="strict",
                           secure=get_settings().cookie_secure)
    return response


def _start_page(request: Request, db: Session, citizen: Principal, key: str, values: dict[str, str], *,
                error: AppError | None = None, status: int = 200) -> Response:
    row, package = packages.current(db, key)  # 404 package_not_found
    names = orgs.names_by_code(db)
    return _m(request, "onething/m_start.html", {
        "card": _card(db, row, package, names), "fields": package.spec.inputs, "values": values, "error": error,
        "field_errors": _field_errors(error)}, citizen, status=status)


@router.get("/m/start/{key}")
def m_start_form(key: str, request: Request, db: Session = Depends(get_db)) -> Response:
    citizen = _citizen(request, db)
    if citizen is None:
        return _to_sign_in(request)
    values = {k: v[:500] for k, v in request.query_params.items()}
    try:
        return _start_page(request, db, citizen, key, values)
    except AppError as exc:
        return _m_error(request, citizen, exc)


@router.post("/m/start/{key}", dependencies=[Depends(csrf_protect)])
async def m_start(key: str, request: Request, db: Session = Depends(get_db)) -> Response:
    citizen = _citizen(request, db)
    if citizen is None:
        return _to_sign_in(request)
    form = await request.form()
    try:
        _, package = packages.current(db, key)
    except AppError as exc:
        return _m_error(request, citizen, exc)
    values = {f.key: str(form.get(f.key) or "").strip() for f in package.spec.inputs}
    # a blank optional input is absent; a blank required one is sent, so its problem is shown beside it
    inputs = {f.key: values[f.key] for f in package.spec.inputs if values[f.key] or f.required}
    try:
        case = service.start(db, citizen, key, {"id_number": citizen.subject, "name": citizen.name,
                                                "inputs": inputs})
    except AppError as exc:
        db.rollback()
        if exc.status in (403, 404):
            return _m_error(request, citizen, exc)
        return _start_page(request, db, citizen, key, values, error=exc, status=_form_status(exc))
    return RedirectResponse(f"/m/cases/{case.id}", status_code=303)


def _missing_groups(db: Session, case: Case, missing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the applicant still has to type, one input per value: fields of several matters that a package fills
    from the same expression (e.g. the newborn's name, when no birth certificate was fetched) are asked once."""
    spec = packages.version(db, case.package_key, case.package_version).spec
    groups: dict[str, dict[str, Any]] = {}
    for gap in missing:
        matter, key = gap["field"].split(".", 1)
        field = next(f for f in spec.matter(matter).form if f.key == key)
        group = groups.setdefault(f"from:{field.source}" if field.source else gap["field"], {
            "name": gap["field"], "label": gap["label"], "type": gap["type"], "options": gap["options"],
            "fields": [], "matters": []})
        group["fields"].append(gap["field"])
        group["matters"].append(spec.matter(matter).name)
    return list(groups.values())


def _case_page(request: Request, db: Session, citizen: Principal, case_id: int, *, notice: str | None = None,
               error: AppError | None = None, form: str | None = None, values: dict[str, Any] | None = None,
               status: int = 200) -> Response:
    case = service.get(db, citizen, case_id)  # 404 for anyone but the applicant
    data = service.case_dict(db, case)
    spec = packages.version(db, case.package_key, case.package_version).spec
    names = orgs.names_by_code(db)
    matters = {m.key: m for m in spec.matters}
    rows = []
    for t in data["matters"]:
        outputs = {o.key: o.label for o in matters[t["matter"]].outputs} if t["matter"] in matters else {}
        rows.append({**t, "department_name": names.get(t["department"], t["department"]),
                     "outputs_shown": [(outputs.get(k, k), v) for k, v in (t["outputs"] or {}).items()
                                       if v not in (None, "")]})
    events = []
    for e in data["events"]:
        matter = matters.get((e["detail"] or {}).get("matter", ""))
        events.append({**e, "matter_name": matter.name if matter else None})
    inputs = [(f.label, (data["inputs"] or {}).get(f.key)) for f in spec.inputs if (data["inputs"] or {}).get(f.key)]
    elapsed = None
    if case.submitted_at and case.status == "in_progress":
        elapsed = (utcnow() - case.submitted_at).total_seconds() / 3600
    return _m(request, "onething/m_case.html", {
        "case": data, "plan": _plan(db, data["plan"]) if case.status == "draft" else [],
        "proofs": _proofs(db, data["evidence"]) if data["evidence"] else [],
        "groups": _missing_groups(db, case, data["missing"]), "matters": rows, "events": events,
        "inputs": inputs, "elapsed": elapsed, "notice": NOTICES.get(notice or ""), "error": error, "form": form,
        "values": values or {}, "field_errors": _field_errors(error),
        "reasons": (error.details or {}).get("reasons", []) if error is not None and isinstance(error.details, dict)
        else []}, citizen, status=status)


def _citizen_action(request: Request, db: Session, case_id: int, action, *, form: str,
                    values: dict[str, Any] | None = None, notice: str) -> Response:
    """Run an applicant's action on a case: back to the case with a notice, or the case page with the error."""
    citizen = _citizen(request, db)
    if citizen is None:
        return _to_sign_in(request)
    try:
        action(citizen)
    except AppError as exc:
        db.rollback()
        if exc.status in (403, 404):
            return _m_error(request, citizen, exc)
        try:
            return _case_page(request, db, citizen, case_id, error=exc, form=form, values=values,
                              status=_form_status(exc))
        except AppError as again:
            return _m_error(request, citizen, again)
    return RedirectResponse(f"/m/cases/{case_id}?notice={notice}", status_code=303)


@router.get("/m/cases/{case_id:int}")
def m_case(case_id: int, request: Request, notice: str | None = Query(None, max_length=40),
           db: Session = Depends(get_db)) -> Response:
    citizen = _citizen(request, db)
    if citizen is None:
        return _to_sign_in(request)
    try:
        return _case_page(request, db, citizen, case_id, notice=notice)
    except AppError as exc:
        return _m_error(request, citizen, exc)


@router.post("/m/cases/{case_id:int}/consent", dependencies=[Depends(csrf_protect)])
async def m_consent(case_id: int, request: Request, db: Session = Depends(get_db)) -> Response:
    form = await request.form()
    agree = str(form.get("answer") or "") == "agree"

    def act(citizen: Principal) -> None:
        if agree and not form.get("consent"):
            raise ValidationFailed("请先勾选同意调取证明的声明", code="consent_unchecked", details={"field": "consent"})
        service.consent(db, citizen, case_id, agree=agree)

    return _citizen_action(request, db, case_id, act, form="consent", notice="consented" if agree else "refused")


@router.post("/m/cases/{case_id:int}/submit", dependencies=[Depends(csrf_protect)])
async def m_submit(case_id: int, request: Request, db: Session = Depends(get_db)) -> Response:
    form = await request.form()
    values: dict[str, str] = {}

    def act(citizen: Principal) -> None:
        case = service.get(db, citizen, case_id)
        fields: dict[str, str] = {}
        if case.status == "consented":
            for group in _missing_groups(db, case, service.case_dict(db, case)["missing"]):
                typed = str(form.get(group["name"]) or "").strip()
                values[group["name"]] = typed
                if typed:
                    fields.update(dict.fromkeys(group["fields"], typed))
        service.submit(db, citizen, case_id, fields=fields)

    return _citizen_action(request, db, case_id, act, form="submit", values=values, notice="submitted")


@router.post("/m/cases/{case_id:int}/supplement", dependencies=[Depends(csrf_protect)])
async def m_supplement(case_id: int, request: Request, db: Session = Depends(get_db)) -> Response:
    form = await request.form()
    task_id = str(form.get("task_id") or "")
    values = {"task_id": task_id, "note": str(form.get("note") or "").strip()}

    def act(citizen: Principal) -> None:
        if not task_id.isdigit():
            raise ValidationFailed("请选择要补正的事项", code="task_required")
        service.supplement(db, citizen, case_id, int(task_id), values["note"])

    return _citizen_action(request, db, case_id, act, form=f"supplement-{task_id}", values=values,
                           notice="supplemented")


@router.post("/m/cases/{case_id:int}/withdraw", dependencies=[Depends(csrf_protect)])
def m_withdraw(case_id: int, request: Request, db: Session = Depends(get_db)) -> Response:
    return _citizen_action(request, db, case_id, lambda citizen: service.withdraw(db, citizen, case_id),
                           form="withdraw", notice="withdrawn")


# ---- staff: overview and metrics ------------------------------------------------------------------------------

def _page(request: Request, name: str, context: dict[str, Any], principal: Principal, *,
          status: int = 200) -> Response:
    return render(request, name, {**_labels(), **context}, status=status, principal=principal)


def _is_officer(principal: Principal) -> bool:
    return principal.kind == "user" and principal.role in tasks.OFFICER_ROLES and bool(principal.org_code)


@router.get("/onething")
def overview(request: Request, db: Session = Depends(get_db),
             principal: Principal = Depends(page_principal)) -> Response:
    names = orgs.names_by_code(db)
    current = packages.list_current(db)
    cards = [_card(db, row, p, names) for row, p in current]
    package_names = {row.key: p.spec.name for row, p in current}
    totals = metrics.totals(db)
    per_package = [{**p, "name": package_names.get(p["package"], p["package"])} for p in totals["packages"]]

    def series(rows: list[dict[str, Any]], field: str, scale: float = 1) -> list[dict[str, Any]]:
        return [{"name": r.get("name") or r.get("org_name"), "value": round(r[field] * scale, 1)}
                for r in rows if r.get(field) is not None]

    departments = totals["departments"]
    return _page(request, "onething/index.html", {
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
        return _page(request, "onething/queue.html", {**context, "refused": exc}, principal, status=403)
    cases = {c.id: c for c in db.scalars(select(Case).where(Case.id.in_({t.case_id for t in rows})))} if rows else {}
    context["rows"] = [{**tasks.task_dict(t, brief=True), "case": cases.get(t.case_id)} for t in rows]
    context["org_name"] = orgs.names_by_code(db).get(principal.org_code or "", principal.org_code)
    return _page(request, "onething/queue.html", context, principal)


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
    return _page(request, "onething/task.html", {
        "t": detail, "department_name": names.get(detail["department"], detail["department"]),
        "needs": [matter_names.get(n, n) for n in detail["needs"]],
        "outputs_shown": [(output_labels.get(k, k), v) for k, v in (detail["outputs"] or {}).items()],
        "proofs": _proofs(db, detail["evidence"]), "outputs": outputs, "may_decide": may_decide,
        "error": error, "form": form, "values": values or {}, "field_errors": _field_errors(error)}, principal,
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
                          status=_form_status(exc))
    return RedirectResponse(f"/onething/queue?notice={decision}", status_code=303)


# ---- staff: a package -------------------------------------------------------------------------------------------

def _package_page(request: Request, db: Session, principal: Principal, key: str, *, notice: str | None = None,
                  error: AppError | None = None, values: dict[str, str] | None = None,
                  status: int = 200) -> Response:
    row, package = packages.current(db, key)  # 404 package_not_found
    names = orgs.names_by_code(db)
    info = _card(db, row, package, names)
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
    return _page(request, "onething/package.html", {
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
        return _package_page(request, db, principal, key, error=exc, values=values, status=_form_status(exc))
    notice = "package_loaded" if created else "package_unchanged"
    return RedirectResponse(f"/onething/packages/{key}?notice={notice}", status_code=303)
