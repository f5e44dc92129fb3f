"""Pages of sharing (数据共享): the department's requests and grants in tabs, the application form, a request with
its history and the decide / amend / withdraw forms, a grant with its use today and revoke / renew, and the
monthly evaluation with its charts.

Every action goes through ``sharing.service`` / ``sharing.grants`` (which check who may do it and write the action
log and the audit trail); the pages only decide which forms to offer. Charts are drawn by app.js from data-*
attributes (the CSP forbids inline script).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from govdata import i18n
from govdata.catalog import projection
from govdata.db import get_db, utcnow
from govdata.errors import AppError, ValidationFailed
from govdata.i18n import N_
from govdata.orgs import service as orgs
from govdata.principal import Principal
from govdata.sharing import evaluation, grants, service
from govdata.sharing.models import OPEN_STATUSES, Grant, SharingRequest
from govdata.sharing.schemas import Decision, RequestAmend, RequestCreate, Revoke
from govdata.standards.enums import SENSITIVITIES, SHARE_TYPES
from govdata.web.deps import csrf_protect, page_principal, wants_partial
from govdata.web.forms import parse
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
MASKED_LEVELS = ("L3", "L4")

# service.STATUS_LABELS holds Chinese text; marked here so the templates can translate it with _().
STATUS_LABELS = {
    "pending_provider": N_("待提供部门审核"), "pending_bureau": N_("待大数据局校核"),
    "changes_requested": N_("退回修改"), "granted": N_("已授权"), "rejected": N_("未通过"), "withdrawn": N_("已撤回"),
}
STAGE_LABELS = {**STATUS_LABELS, "new": N_("新申请")}
ACTION_LABELS = {
    "submit": N_("提交申请"), "approve": N_("同意"), "reject": N_("驳回"), "request_changes": N_("退回修改"),
    "amend": N_("修改后重新提交"), "withdraw": N_("撤回申请"), "grant": N_("授权"), "renew": N_("申请续期"),
}
GRANT_STATUS = {"active": N_("有效"), "expired": N_("已过期"), "revoked": N_("已撤销"),
                "superseded": N_("已被新授权替代")}
OUTCOME_LABELS = {
    "ok": N_("成功"), "not_granted": N_("未获授权"), "grant_expired": N_("授权已过期"),
    "grant_revoked": N_("授权已撤销"), "quota_exceeded": N_("超出日调用量"), "purpose_required": N_("未说明用途"),
    "rate_limited": N_("调用过于频繁"), "provider_unavailable": N_("提供方服务不可用"),
    "provider_timeout": N_("提供方服务超时"), "provider_error": N_("提供方服务出错"),
    "provider_bad_response": N_("提供方返回格式错误"), "no_published_version": N_("尚无已发布数据"),
}
TABS = {"todo": N_("待我审批"), "consumer": N_("本部门的申请"), "grants": N_("本部门获得的授权"),
        "provider": N_("对外授权"), "all": N_("全部申请")}
NOTICES = {
    "request_created": N_("共享申请已提交,等待提供部门审核"),
    "request_granted": N_("该资源为无条件共享,已自动授权"),
    "approve": N_("已同意该申请"), "reject": N_("已驳回该申请"), "request_changes": N_("已退回申请人修改"),
    "amended": N_("申请已修改并重新提交"), "withdrawn": N_("申请已撤回"), "revoked": N_("授权已撤销,下一次调用起生效"),
    "renewal_created": N_("续期申请已提交"), "renewal_granted": N_("续期已自动授权"),
}
REQUEST_FIELDS = ("purpose", "matter", "basis", "days", "daily_quota", "scope_item", "scope_values")


def _page(request: Request, name: str, context: dict[str, Any], principal: Principal, *,
          status: int = 200) -> Response:
    labels = {"status_labels": STATUS_LABELS, "stage_labels": STAGE_LABELS, "action_labels": ACTION_LABELS,
              "grant_status": GRANT_STATUS, "outcome_labels": OUTCOME_LABELS, "share_types": SHARE_TYPES,
              "sensitivities": SENSITIVITIES, "masked_levels": MASKED_LEVELS}
    return render(request, name, {**labels, **context}, status=status, principal=principal)


def _form_status(exc: AppError) -> int:
    """A form shown again with its error: the error's status, but never a 5xx (a proxy may replace the page)."""
    return exc.status if exc.status < 500 else 422


def _refused(exc: AppError) -> bool:
    """Errors that are not about what was typed: shown as an error page, not next to the form."""
    return exc.status == 404 or exc.code in ("forbidden", "not_decider", "csrf_failed")


def _names(db: Session, codes: set[str]) -> dict[str, str]:
    """Resource code → name for the published resources among ``codes``."""
    found = {}
    for code in codes:
        doc = projection.find_published(db, code)
        found[code] = doc["name"] if doc else code
    return found


# ---- who may do what (the services check again) --------------------------------------------------------------

def may_decide(principal: Principal, req: SharingRequest) -> bool:
    if req.status == "pending_provider":
        return principal.org_id == req.provider_org_id and principal.role in ("dept_admin", "bureau_admin")
    return req.status == "pending_bureau" and principal.is_platform_admin


def _applicant(principal: Principal, org_id: int) -> bool:
    return principal.org_id == org_id and principal.has_role(*service.APPLICANT_ROLES)


def may_revoke(principal: Principal, grant: Grant) -> bool:
    provider_admin = principal.org_id == grant.provider_org_id and principal.role == "dept_admin"
    return grant.status == "active" and (provider_admin or principal.is_platform_admin)


def _can_decide_any(principal: Principal) -> bool:
    return principal.role == "dept_admin" or principal.is_platform_admin


# ---- /sharing: tabs -------------------------------------------------------------------------------------------

def _tabs(principal: Principal) -> list[str]:
    tabs = ["todo"] if _can_decide_any(principal) else []
    if principal.org_id is not None and principal.role != "auditor":
        tabs += ["consumer", "grants", "provider"]
    if principal.has_role("auditor"):
        tabs.append("all")
    return tabs


@router.get("/sharing")
def sharing_index(request: Request, tab: str | None = None, notice: str | None = None,
                  page: int = Query(1, ge=1, le=100000), db: Session = Depends(get_db),
                  principal: Principal = Depends(page_principal)) -> Response:
    tabs = _tabs(principal)
    tab = tab if tab in tabs else (tabs[0] if tabs else "consumer")
    context = {"tabs": [(key, TABS[key]) for key in tabs], "tab": tab, "page": page, "page_size": PAGE_SIZE,
               "notice": NOTICES.get(notice or ""), **_tab_content(db, principal, tab, page)}
    if "todo" in tabs:
        context["todo_count"] = service.list_requests(db, principal, side="todo", page_size=1)[1]
    if wants_partial(request):
        response = _page(request, "sharing/_tab.html", context, principal)
        response.headers["Vary"] = "HX-Request"
        return response
    return _page(request, "sharing/index.html", context, principal)


def _tab_content(db: Session, principal: Principal, tab: str, page: int) -> dict[str, Any]:
    if tab in ("grants", "provider"):
        side = "consumer" if tab == "grants" else "provider"
        rows = _grant_rows(db, grants.list_grants(db, principal, side=side))
        return {"grants": rows, "expiring": [g for g in rows if g["expiring_soon"]] if tab == "grants" else []}
    side = None if tab == "all" else tab
    rows, total = service.list_requests(db, principal, side=side, page=page, page_size=PAGE_SIZE)
    return {"requests": _request_rows(db, rows), "total": total}


def _request_rows(db: Session, rows: list[SharingRequest]) -> list[dict[str, Any]]:
    codes = orgs.codes_by_id(db, {r.provider_org_id for r in rows} | {r.consumer_org_id for r in rows})
    org_names = orgs.names_by_code(db) if rows else {}
    names = _names(db, {r.resource_code for r in rows})
    now = utcnow()
    return [{"req": r, "resource_name": names.get(r.resource_code, r.resource_code),
             "provider": org_names.get(codes.get(r.provider_org_id, ""), ""),
             "consumer": org_names.get(codes.get(r.consumer_org_id, ""), ""),
             "overdue": bool(r.deadline_at and r.deadline_at < now)} for r in rows]


def _grant_rows(db: Session, rows: list[Grant]) -> list[dict[str, Any]]:
    org_names = orgs.names_by_code(db) if rows else {}
    names = _names(db, {g.resource_code for g in rows})
    out = []
    for g, d in zip(rows, grants.grant_dicts(db, rows), strict=True):
        out.append({**d, "row": g, "resource_name": names.get(g.resource_code, g.resource_code),
                    "provider_name": org_names.get(d["provider"] or "", d["provider"]),
                    "consumer_name": org_names.get(d["consumer"] or "", d["consumer"]),
                    "quota_percent": min(100, round(d["calls_today"] * 100 / d["daily_quota"]))
                    if d["daily_quota"] else None})
    return out


# ---- applying -------------------------------------------------------------------------------------------------

def _blocked(db: Session, principal: Principal, doc: dict[str, Any]) -> str | None:
    """Why the person cannot apply for ``doc`` (the service says so again on posting), else None."""
    if principal.org_id is None or not principal.has_role(*service.APPLICANT_ROLES) or principal.kind != "user":
        return i18n.gettext("只有部门数据管理员或工作人员可以代表本部门申请共享")
    if doc["share_type"] == "none":
        return i18n.gettext("该信息资源属于不予共享类,不能申请。依据:%(basis)s") % {
            "basis": doc.get("share_basis") or i18n.gettext("未注明")}
    if doc["provider"] == principal.org_code:
        return i18n.gettext("本部门的信息资源无需申请共享")
    return None


def _apply_page(request: Request, db: Session, principal: Principal, code: str | None, *,
                values: dict[str, Any] | None = None, error: AppError | None = None,
                status: int = 200) -> Response:
    if not code:
        choices = [e for e in projection.published_entries(db, share_types=("unconditional", "conditional"))
                   if e.provider != principal.org_code]
        return _page(request, "sharing/apply.html", {"doc": None, "choices": choices}, principal)
    doc = projection.published(db, code)  # 404 resource_not_found
    values = values or {"items": [i["key"] for i in doc["items"]], "unmasked_items": [], "days": "365"}
    return _page(request, "sharing/apply.html", {
        "doc": doc, "blocked": _blocked(db, principal, doc), "values": values, "error": error,
        "provider_name": orgs.names_by_code(db).get(doc["provider"], doc["provider"])}, principal, status=status)


@router.get("/sharing/apply")
def apply_form(request: Request, resource: str | None = Query(None, max_length=40), db: Session = Depends(get_db),
               principal: Principal = Depends(page_principal)) -> Response:
    return _apply_page(request, db, principal, (resource or "").strip() or None)


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in (*REQUEST_FIELDS, "comment")}
    values["items"] = [str(v) for v in form.getlist("items")]
    values["unmasked_items"] = [str(v) for v in form.getlist("unmasked_items")]
    return values


def _scope(values: dict[str, Any]) -> dict[str, list[str]]:
    """The optional row scope: one item and its allowed values, separated by commas (，、 too) or new lines."""
    item, typed = values.get("scope_item") or "", values.get("scope_values") or ""
    if not item and not typed:
        return {}
    if not item:
        raise ValidationFailed("请选择行范围对应的信息项", code="invalid_row_scope", details={"field": "row_scope"})
    return {item: [v for v in re.split(r"[,，、;；\s]+", typed) if v]}


def _whole_number(typed: str, field: str, message: str, upper: int) -> int | None:
    if not typed:
        return None
    if not typed.isdigit() or not 1 <= int(typed) <= upper:
        raise ValidationFailed(message, code="validation_error", details={"field": field})
    return int(typed)


def _request_data(values: dict[str, Any]) -> dict[str, Any]:
    if not values["items"]:
        raise ValidationFailed("请至少选择一个信息项", code="items_required", details={"field": "items"})
    unmasked = [k for k in values["unmasked_items"] if k in set(values["items"])]
    return {**{k: values[k] for k in ("purpose", "matter", "basis")},
            "days": _whole_number(values["days"], "days", "申请期限应为 1 到 3650 之间的整数(天)", 3650),
            "daily_quota": _whole_number(values["daily_quota"], "daily_quota", "预计日调用量应为正整数",
                                         100_000_000),
            "items": values["items"], "unmasked_items": unmasked, "row_scope": _scope(values)}


@router.post("/sharing/apply", dependencies=[Depends(csrf_protect)])
async def apply_submit(request: Request, db: Session = Depends(get_db),
                       principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    code = str(form.get("resource") or "").strip()
    values = _form_values(form)
    try:
        data = parse(RequestCreate, {"resource": code, **_request_data(values)})
        req = service.create_request(db, principal, data)
    except AppError as exc:
        db.rollback()
        if _refused(exc):
            raise
        return _apply_page(request, db, principal, code, values=values, error=exc, status=_form_status(exc))
    notice = "request_granted" if req.status == "granted" else "request_created"
    return RedirectResponse(f"/sharing/requests/{req.id}?notice={notice}", status_code=303)


# ---- one request ----------------------------------------------------------------------------------------------

def _items_of(doc: dict[str, Any] | None, keys: list[str]) -> list[dict[str, Any]]:
    known = {i["key"]: i for i in (doc or {}).get("items", [])}
    return [{"key": k, "name": known.get(k, {}).get("name", k), "sensitivity": known.get(k, {}).get("sensitivity")}
            for k in keys]


def _request_page(request: Request, db: Session, principal: Principal, request_id: int, *,
                  notice: str | None = None, error: AppError | None = None, form: str | None = None,
                  values: dict[str, Any] | None = None, status: int = 200) -> Response:
    req = service.get_request(db, principal, request_id)  # 404 for whoever may not see it
    doc = projection.find_published(db, req.resource_code)
    codes = orgs.codes_by_id(db, {req.provider_org_id, req.consumer_org_id})
    names = orgs.names_by_code(db)
    events = service.events_of(db, req.id)
    own = _applicant(principal, req.consumer_org_id)
    scope_item, scope_values = next(iter(req.row_scope.items()), ("", []))
    amend_values = values if form == "amend" and values else {
        "items": list(req.items), "unmasked_items": list(req.unmasked_items), "purpose": req.purpose,
        "matter": req.matter, "basis": req.basis, "days": req.days, "daily_quota": req.daily_quota or "",
        "scope_item": scope_item, "scope_values": "、".join(scope_values)}
    return _page(request, "sharing/request.html", {
        "req": req, "doc": doc, "resource_name": doc["name"] if doc else req.resource_code,
        "provider": names.get(codes.get(req.provider_org_id, ""), ""),
        "consumer": names.get(codes.get(req.consumer_org_id, ""), ""),
        "items": _items_of(doc, req.items), "unmasked": _items_of(doc, req.unmasked_items),
        "all_items": (doc or {}).get("items", []), "events": events, "org_names": names,
        "item_names": {i["key"]: i["name"] for i in (doc or {}).get("items", [])},
        "overdue": bool(req.deadline_at and req.deadline_at < utcnow()),
        "can_decide": may_decide(principal, req), "narrowing": req.status == "pending_provider",
        "can_amend": own and req.status == "changes_requested" and doc is not None,
        "can_withdraw": own and req.status in OPEN_STATUSES,
        "notice": NOTICES.get(notice or ""), "error": error, "form": form,
        "values": values if form == "decide" and values else {}, "amend_values": amend_values}, principal,
        status=status)


@router.get("/sharing/requests/{request_id:int}")
def request_detail(request_id: int, request: Request, notice: str | None = None, db: Session = Depends(get_db),
                   principal: Principal = Depends(page_principal)) -> Response:
    return _request_page(request, db, principal, request_id, notice=notice)


def _decision(form: FormData, req: SharingRequest) -> Decision:
    decision = str(form.get("decision") or "")
    data: dict[str, Any] = {"decision": decision, "comment": str(form.get("comment") or "").strip()}
    if decision == "approve" and req.status == "pending_provider" and form.get("narrow"):
        items = [str(v) for v in form.getlist("items")]
        if not items:
            raise ValidationFailed("请至少保留一个信息项", code="items_required", details={"field": "items"})
        data.update(items=items, days=form.get("days"), daily_quota=form.get("daily_quota"))
        if req.unmasked_items:
            data["unmasked_items"] = [str(v) for v in form.getlist("unmasked_items")]
    elif decision != "approve" and not data["comment"]:
        raise ValidationFailed("驳回或退回修改时必须说明理由", code="comment_required", details={"field": "comment"})
    return parse(Decision, data)


@router.post("/sharing/requests/{request_id:int}/decide", dependencies=[Depends(csrf_protect)])
async def request_decide(request_id: int, request: Request, db: Session = Depends(get_db),
                         principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    values = {"decision": str(form.get("decision") or ""), "comment": str(form.get("comment") or ""),
              "items": [str(v) for v in form.getlist("items")], "days": str(form.get("days") or ""),
              "daily_quota": str(form.get("daily_quota") or ""),
              "unmasked_items": [str(v) for v in form.getlist("unmasked_items")]}
    try:
        req = service.get_request(db, principal, request_id)
        data = _decision(form, req)
        service.decide(db, principal, request_id, data)
    except AppError as exc:
        db.rollback()
        if _refused(exc):
            raise
        return _request_page(request, db, principal, request_id, error=exc, form="decide", values=values,
                             status=_form_status(exc))
    return RedirectResponse(f"/sharing/requests/{request_id}?notice={data.decision}", status_code=303)


@router.post("/sharing/requests/{request_id:int}/amend", dependencies=[Depends(csrf_protect)])
async def request_amend(request_id: int, request: Request, db: Session = Depends(get_db),
                        principal: Principal = Depends(page_principal)) -> Response:
    values = _form_values(await request.form())
    try:
        data = parse(RequestAmend, {**_request_data(values), "comment": values["comment"]})
        service.amend(db, principal, request_id, data)
    except AppError as exc:
        db.rollback()
        if _refused(exc):
            raise
        return _request_page(request, db, principal, request_id, error=exc, form="amend", values=values,
                             status=_form_status(exc))
    return RedirectResponse(f"/sharing/requests/{request_id}?notice=amended", status_code=303)


@router.post("/sharing/requests/{request_id:int}/withdraw", dependencies=[Depends(csrf_protect)])
async def request_withdraw(request_id: int, request: Request, db: Session = Depends(get_db),
                           principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    try:
        service.withdraw(db, principal, request_id, str(form.get("comment") or "").strip()[:2000])
    except AppError as exc:
        db.rollback()
        if _refused(exc):
            raise
        return _request_page(request, db, principal, request_id, error=exc, form="withdraw",
                             status=_form_status(exc))
    return RedirectResponse(f"/sharing/requests/{request_id}?notice=withdrawn", status_code=303)


# ---- one grant ------------------------------------------------------------------------------------------------

def _grant_page(request: Request, db: Session, principal: Principal, grant_id: int, *, notice: str | None = None,
                error: AppError | None = None, form: str | None = None, values: dict[str, str] | None = None,
                status: int = 200) -> Response:
    grant = grants.get(db, principal, grant_id)  # 404 for whoever may not see it
    [row] = _grant_rows(db, [grant])
    doc = projection.find_published(db, grant.resource_code)
    return _page(request, "sharing/grant.html", {
        "g": row, "grant": grant, "items": _items_of(doc, grant.items),
        "unmasked": _items_of(doc, grant.unmasked_items),
        "can_revoke": may_revoke(principal, grant),
        "can_renew": grant.status == "active" and _applicant(principal, grant.consumer_org_id),
        "notice": NOTICES.get(notice or ""), "error": error, "form": form, "values": values or {}}, principal,
        status=status)


@router.get("/sharing/grants/{grant_id:int}")
def grant_detail(grant_id: int, request: Request, notice: str | None = None, db: Session = Depends(get_db),
                 principal: Principal = Depends(page_principal)) -> Response:
    return _grant_page(request, db, principal, grant_id, notice=notice)


@router.post("/sharing/grants/{grant_id:int}/revoke", dependencies=[Depends(csrf_protect)])
async def grant_revoke(grant_id: int, request: Request, db: Session = Depends(get_db),
                       principal: Principal = Depends(page_principal)) -> Response:
    reason = str((await request.form()).get("reason") or "").strip()
    try:
        if not reason and may_revoke(principal, grants.get(db, principal, grant_id)):
            raise ValidationFailed("撤销授权时请说明理由", code="reason_required", details={"field": "reason"})
        grants.revoke(db, principal, grant_id, parse(Revoke, {"reason": reason}).reason)
    except AppError as exc:
        db.rollback()
        if _refused(exc):
            raise
        return _grant_page(request, db, principal, grant_id, error=exc, form="revoke", values={"reason": reason},
                           status=_form_status(exc))
    return RedirectResponse(f"/sharing/grants/{grant_id}?notice=revoked", status_code=303)


@router.post("/sharing/grants/{grant_id:int}/renew", dependencies=[Depends(csrf_protect)])
async def grant_renew(grant_id: int, request: Request, db: Session = Depends(get_db),
                      principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    values = {"days": str(form.get("days") or "").strip(), "comment": str(form.get("comment") or "").strip()}
    try:
        days = int(values["days"]) if values["days"].isdigit() else 0
        if not 1 <= days <= 3650:
            raise ValidationFailed("续期天数应为 1 到 3650 之间的整数", code="validation_error",
                                   details={"field": "days"})
        req = service.renew(db, principal, grant_id, days, values["comment"][:2000])
    except AppError as exc:
        db.rollback()
        if _refused(exc):
            raise
        return _grant_page(request, db, principal, grant_id, error=exc, form="renew", values=values,
                           status=_form_status(exc))
    notice = "renewal_granted" if req.status == "granted" else "renewal_created"
    return RedirectResponse(f"/sharing/requests/{req.id}?notice={notice}", status_code=303)


# ---- evaluation -----------------------------------------------------------------------------------------------

@router.get("/sharing/evaluation")
def evaluation_page(request: Request, month: str | None = Query(None, max_length=7), db: Session = Depends(get_db),
                    principal: Principal = Depends(page_principal)) -> Response:
    current = evaluation.current_month()
    month = (month or "").strip() or current
    data = evaluation.monthly(db, month)  # 422 invalid_month
    choices = sorted({current, month, *evaluation.months(db)}, reverse=True)
    providers = data["providers"]
    context = {
        "month": month, "choices": choices, "data": data, "providers": providers, "consumers": data["consumers"],
        "score_series": [{"name": p["org_name"], "value": p["score"]} for p in providers if p["score"] is not None],
        "hours_series": [{"name": p["org_name"], "value": p["decide_hours_avg"]}
                         for p in providers if p["decide_hours_avg"] is not None],
        "availability_series": [{"name": p["org_name"], "value": p["availability"]}
                                for p in providers if p["availability"] is not None],
    }
    if wants_partial(request):
        response = _page(request, "sharing/_evaluation.html", context, principal)
        response.headers["Vary"] = "HX-Request"
        return response
    return _page(request, "sharing/evaluation.html", context, principal)

