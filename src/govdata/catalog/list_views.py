"""The four lists' pages (共享清单、开放清单、开放需求清单、责任清单、负面清单) with Excel/CSV export, and the
open-data demand forms."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata import exports
from govdata.catalog import demands, lists
from govdata.catalog.labels import DEMAND_STATES, LIST_INTROS, NOTICES, TRANSLATED_COLUMNS, render_page
from govdata.catalog.schemas import DemandIn, DemandReply
from govdata.db import get_db
from govdata.errors import AppError
from govdata.orgs import service as orgs
from govdata.principal import Principal, require_role
from govdata.web.deps import csrf_protect, page_principal
from govdata.web.forms import parse

router = APIRouter(prefix="/catalog", include_in_schema=False)


@router.get("/lists")
def lists_index(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    return render_page(request, "catalog/lists.html", {
        "kinds": [(kind, spec.title, LIST_INTROS.get(kind, "")) for kind, spec in lists.LISTS.items()]},
        principal=principal)


@router.get("/lists/{kind}/export")
def list_export(kind: str, format: str = Query("xlsx", pattern="^(xlsx|csv)$"), org: str | None = None,
                db: Session = Depends(get_db), _: Principal = Depends(page_principal)) -> Response:
    listing = lists.build(db, kind, org or None)
    headers, rows = lists.as_table(listing)
    filename = f"{kind}-list{'-' + org if org else ''}.{format}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "csv":
        return Response(exports.csv_bytes(headers, rows), media_type="text/csv; charset=utf-8", headers=disposition)
    return Response(exports.xlsx_bytes([(listing["title"], headers, rows)]), media_type=exports.XLSX_MEDIA_TYPE,
                    headers=disposition)


def _list_page(request: Request, db: Session, principal: Principal, kind: str, org: str | None, *,
               notice: str | None = None, error: AppError | None = None, values: dict[str, Any] | None = None,
               status: int = 200) -> Response:
    listing = lists.build(db, kind, org or None)
    context: dict[str, Any] = {
        "listing": listing, "kind": kind, "org": org or "", "org_options": orgs.options(db), "notice": notice,
        "error": error, "values": values or {}, "intro": LIST_INTROS.get(kind, ""),
        "translated": TRANSLATED_COLUMNS, "query": urlencode({"org": org}) if org else ""}
    if kind == "open-demand":
        context.update({"can_record": principal.is_platform_admin, "demand_states": DEMAND_STATES,
                        "can_reply": lambda row: principal.is_platform_admin or (
                            principal.role == "dept_admin" and principal.org_code == row.get("target_org"))})
    return render_page(request, "catalog/list.html", context, status=status, principal=principal)


@router.get("/lists/{kind}")
def list_page(kind: str, request: Request, org: str | None = None, notice: str | None = None,
              db: Session = Depends(get_db), principal: Principal = Depends(page_principal)) -> Response:
    return _list_page(request, db, principal, kind, org, notice=NOTICES.get(notice or ""))


@router.post("/lists/open-demand/demands", dependencies=[Depends(csrf_protect)])
async def demand_create(request: Request, db: Session = Depends(get_db),
                        principal: Principal = Depends(page_principal)) -> Response:
    require_role(principal)
    values = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    try:
        demands.create(db, principal, parse(DemandIn, values))
    except AppError as exc:
        db.rollback()
        return _list_page(request, db, principal, "open-demand", None, error=exc, values=values, status=exc.status)
    return RedirectResponse("/catalog/lists/open-demand?notice=demand_created", status_code=303)


@router.post("/lists/open-demand/demands/{demand_id}/reply", dependencies=[Depends(csrf_protect)])
async def demand_reply(demand_id: int, request: Request, db: Session = Depends(get_db),
                       principal: Principal = Depends(page_principal)) -> Response:
    values = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    try:
        demands.reply(db, principal, demand_id, parse(DemandReply, values))
    except AppError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        return _list_page(request, db, principal, "open-demand", None, error=exc,
                          values={**values, "reply_to": demand_id}, status=exc.status)
    return RedirectResponse("/catalog/lists/open-demand?notice=demand_replied", status_code=303)
