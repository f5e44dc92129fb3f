from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata.accounts import service as accounts
from govdata.db import get_db
from govdata.errors import AppError
from govdata.orgs import service
from govdata.orgs.models import LEVELS, ORG_TYPES
from govdata.orgs.schemas import OrgCreate, OrgUpdate
from govdata.principal import Principal, require_role
from govdata.standards import regions
from govdata.web.deps import csrf_protect, page_principal
from govdata.web.forms import NOTICES, parse
from govdata.web.templating import render

router = APIRouter(prefix="/orgs", include_in_schema=False)


def _form_context(db: Session) -> dict:
    return {"levels": LEVELS, "types": ORG_TYPES, "level_labels": service.LEVEL_LABELS,
            "type_labels": service.TYPE_LABELS, "org_options": service.options(db)}


@router.get("")
def org_index(request: Request, q: str | None = None, notice: str | None = None, db: Session = Depends(get_db),
              principal: Principal = Depends(page_principal)) -> Response:
    found = service.list_orgs(db, q=q, page_size=200)[1] if q else None
    return render(request, "orgs/index.html", {
        "tree": service.tree(db), "q": q or "", "found": found, "notice": NOTICES.get(notice or ""),
        "level_labels": service.LEVEL_LABELS}, principal=principal)


@router.get("/new")
def org_new(request: Request, parent: str | None = None, db: Session = Depends(get_db),
            principal: Principal = Depends(page_principal)) -> Response:
    require_role(principal)
    return render(request, "orgs/form.html", {**_form_context(db), "org": None, "values": {"parent": parent or ""}},
                  principal=principal)


@router.post("", dependencies=[Depends(csrf_protect)])
async def org_create(request: Request, db: Session = Depends(get_db),
                     principal: Principal = Depends(page_principal)) -> Response:
    values = dict(await request.form())
    try:
        org = service.create(db, principal, parse(OrgCreate, values))
    except AppError as exc:
        db.rollback()
        return render(request, "orgs/form.html", {**_form_context(db), "org": None, "values": values, "error": exc},
                      status=exc.status, principal=principal)
    return RedirectResponse(f"/orgs/{org.code}?notice=org_created", status_code=303)


@router.get("/{code}")
def org_detail(code: str, request: Request, notice: str | None = None, db: Session = Depends(get_db),
               principal: Principal = Depends(page_principal)) -> Response:
    org = service.get_by_code(db, code)
    data = service.as_dict(db, org)
    children = service.list_orgs(db, parent=code, page_size=200)[1]
    people = []
    if principal.has_role("auditor") or principal.org_id == org.id:
        people = accounts.list_users(db, principal, org=code, page_size=200)[1]
    return render(request, "orgs/detail.html", {
        **_form_context(db), "org": org, "data": data, "values": data, "children": children, "people": people,
        "notice": NOTICES.get(notice or ""), "division": regions.lookup(org.region_code)}, principal=principal)


@router.post("/{code}", dependencies=[Depends(csrf_protect)])
async def org_update(code: str, request: Request, db: Session = Depends(get_db),
                     principal: Principal = Depends(page_principal)) -> Response:
    values = dict(await request.form())
    values.pop("csrf_token", None)
    values.setdefault("parent", "")
    try:
        data = parse(OrgUpdate, values)
        if not values.get("parent"):
            data.parent = None  # an emptied parent field makes the organisation a root
        service.update(db, principal, code, data)
    except AppError as exc:
        db.rollback()
        org = service.get_by_code(db, code)
        return render(request, "orgs/detail.html", {
            **_form_context(db), "org": org, "data": service.as_dict(db, org), "values": values, "children": [],
            "people": [], "error": exc, "division": regions.lookup(org.region_code)},
            status=exc.status, principal=principal)
    return RedirectResponse(f"/orgs/{code}?notice=org_updated", status_code=303)


@router.post("/{code}/delete", dependencies=[Depends(csrf_protect)])
def org_delete(code: str, request: Request, db: Session = Depends(get_db),
               principal: Principal = Depends(page_principal)) -> Response:
    service.delete(db, principal, code)
    return RedirectResponse("/orgs?notice=org_deleted", status_code=303)
