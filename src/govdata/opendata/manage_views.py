"""Staff pages of the open-data portal (开放管理, the platform's layout): which open catalog resources a department
may put on the portal and in what state each is, the opening settings (what happens to each column, the
quasi-identifiers, k), the pre-open check's report — shown to the department and the bureau alike — and
withdrawing. Every action goes through ``listing`` (which checks who may do it and records it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata.catalog import projection
from govdata.db import get_db
from govdata.errors import AppError, NotFound
from govdata.i18n import N_
from govdata.opendata import listing, precheck
from govdata.principal import Principal
from govdata.web.deps import csrf_protect, page_principal
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)

STATES = {"open": N_("已开放"), "ready": N_("可开放"), "refused": N_("检查未通过"), "no_version": N_("无已发布数据"),
          "withdrawn": N_("已撤回")}
NOTICES = {"opened": N_("检查通过,已在开放平台上开放"), "checked": N_("检查通过(尚未开放)"),
           "refused": N_("开放前检查未通过,未开放;请按报告处理后重新检查"), "withdrawn": N_("已从开放平台撤回")}


def _page(request: Request, name: str, context: dict[str, Any], principal: Principal, *,
          status: int = 200) -> Response:
    return render(request, name, {"states": STATES, "treatments": precheck.TREATMENTS,
                                  "kinds": precheck.IDENTIFIER_KINDS, **context}, status=status, principal=principal)


@router.get("/opendata")
def manage_index(request: Request, state: str | None = Query(None, max_length=16),
                 provider: str | None = Query(None, max_length=32), db: Session = Depends(get_db),
                 principal: Principal = Depends(page_principal)) -> Response:
    rows = listing.candidates(db, principal)
    counts = {s: sum(1 for r in rows if r["state"] == s) for s in STATES}
    providers = sorted({(r["provider"], r["provider_name"]) for r in rows})
    shown = [r for r in rows if (not state or r["state"] == state) and (not provider or r["provider"] == provider)]
    return _page(request, "opendata/manage.html", {
        "rows": shown, "counts": counts, "total": len(rows), "state": state, "provider": provider,
        "providers": providers, "k_floor": listing.settings_of(db, "")["k"]}, principal)


def _detail_context(db: Session, principal: Principal, code: str, check_id: int | None = None) -> dict[str, Any]:
    doc = projection.find_published(db, code)
    if doc is None or not listing.can_see(principal, doc):
        raise NotFound(f"信息资源不存在或尚未发布:{code}", code="resource_not_found")
    candidate = next((r for r in listing.candidates(db, principal) if r["code"] == code), None)
    checks = listing.checks_of(db, code)
    shown = listing.get_check(db, principal, check_id) if check_id else (checks[0] if checks else None)
    if shown is not None and shown.code != code:
        raise NotFound(f"开放前检查记录不存在:{check_id}", code="check_not_found")
    return {"doc": doc, "candidate": candidate, "settings": listing.settings_of(db, code), "checks": checks,
            "check": shown, "can_open": listing.can_open(principal, doc), "kinds_by_key": _kinds(shown)}


def _kinds(check: Any) -> dict[str, str]:
    if check is None:
        return {}
    return {c["key"]: c["kind"] for c in check.report.get("columns", []) if c.get("kind")}


@router.get("/opendata/datasets/{code:path}")
def manage_detail(code: str, request: Request, check: int | None = Query(None, ge=1),
                  notice: str | None = Query(None, max_length=32), db: Session = Depends(get_db),
                  principal: Principal = Depends(page_principal)) -> Response:
    context = _detail_context(db, principal, code, check)
    return _page(request, "opendata/manage_detail.html", {**context, "notice": NOTICES.get(notice or "")}, principal)


def _settings_from_form(form: Any, doc: dict[str, Any]) -> dict[str, Any]:
    treatments = {i["key"]: str(form.get(f"treatment_{i['key']}") or "keep") for i in doc["items"]}
    return {"treatments": {k: v for k, v in treatments.items() if v != "keep"},
            "quasi_identifiers": [str(v) for v in form.getlist("quasi")], "k": form.get("k")}


@router.post("/opendata/datasets/{code:path}/check", dependencies=[Depends(csrf_protect)])
async def manage_check(code: str, request: Request, db: Session = Depends(get_db),
                       principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    doc = projection.find_published(db, code)
    if doc is None or not listing.can_see(principal, doc):
        raise NotFound(f"信息资源不存在或尚未发布:{code}", code="resource_not_found")
    settings = _settings_from_form(form, doc)
    try:
        row = listing.check(db, principal, code, open_it=form.get("action") == "open", settings=settings)
    except AppError as exc:
        db.rollback()
        context = _detail_context(db, principal, code)
        return _page(request, "opendata/manage_detail.html", {**context, "error": exc, "settings": settings},
                     principal, status=exc.status)
    return RedirectResponse(f"/opendata/datasets/{code}?check={row.id}&notice={row.outcome}", status_code=303)


@router.post("/opendata/datasets/{code:path}/withdraw", dependencies=[Depends(csrf_protect)])
async def manage_withdraw(code: str, request: Request, db: Session = Depends(get_db),
                          principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    try:
        listing.withdraw(db, principal, code, str(form.get("reason") or ""))
    except AppError as exc:
        db.rollback()
        context = _detail_context(db, principal, code)
        return _page(request, "opendata/manage_detail.html", {**context, "error": exc}, principal,
                     status=exc.status)
    return RedirectResponse(f"/opendata/datasets/{code}?notice=withdrawn", status_code=303)
