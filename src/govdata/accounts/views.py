from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata.accounts import service
from govdata.accounts.models import ROLES
from govdata.accounts.schemas import CredentialCreate, UserCreate, UserUpdate
from govdata.db import get_db
from govdata.errors import AppError
from govdata.orgs import service as orgs
from govdata.principal import Principal, require_role
from govdata.web.deps import csrf_protect, page_principal
from govdata.web.forms import NOTICES, parse
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)


def _assignable(principal: Principal) -> tuple[str, ...]:
    return ROLES if principal.is_platform_admin else service.DEPT_ASSIGNABLE_ROLES


def _org_choices(db: Session, principal: Principal) -> list[tuple[str, str]]:
    options = orgs.options(db)
    return options if principal.is_platform_admin else [o for o in options if o[0] == principal.org_code]


@router.get("/users")
def user_index(request: Request, org: str | None = None, role: str | None = None, q: str | None = None,
               page: int = 1, notice: str | None = None, db: Session = Depends(get_db),
               principal: Principal = Depends(page_principal)) -> Response:
    total, rows = service.list_users(db, principal, org=org or None, role=role or None, q=q or None,
                                     page=max(page, 1), page_size=50)
    return render(request, "accounts/users.html", {
        "total": total, "users": service.user_dicts(db, rows), "page": max(page, 1),
        "filters": {"org": org or "", "role": role or "", "q": q or ""}, "roles": ROLES,
        "org_options": orgs.options(db), "notice": NOTICES.get(notice or "")}, principal=principal)


@router.get("/users/new")
def user_new(request: Request, db: Session = Depends(get_db),
             principal: Principal = Depends(page_principal)) -> Response:
    require_role(principal, "dept_admin")
    return render(request, "accounts/user_form.html", {
        "values": {"org": principal.org_code}, "roles": _assignable(principal),
        "org_options": _org_choices(db, principal)}, principal=principal)


@router.post("/users", dependencies=[Depends(csrf_protect)])
async def user_create(request: Request, db: Session = Depends(get_db),
                      principal: Principal = Depends(page_principal)) -> Response:
    values = dict(await request.form())
    try:
        user = service.create_user(db, principal, parse(UserCreate, values))
    except AppError as exc:
        db.rollback()
        values.pop("password", None)
        return render(request, "accounts/user_form.html", {
            "values": values, "roles": _assignable(principal), "org_options": _org_choices(db, principal),
            "error": exc}, status=exc.status, principal=principal)
    return RedirectResponse(f"/users/{user.username}?notice=user_created", status_code=303)


@router.get("/users/{username}")
def user_detail(username: str, request: Request, notice: str | None = None, db: Session = Depends(get_db),
                principal: Principal = Depends(page_principal)) -> Response:
    user = service.get_user(db, username)
    if not principal.has_role("auditor") and user.id != principal.user_id:
        service.ensure_can_manage(principal, user.org_id)
    return render(request, "accounts/user_detail.html", {
        "user": service.user_dict(db, user), "roles": _assignable(principal),
        "org_options": _org_choices(db, principal), "notice": NOTICES.get(notice or ""),
        "can_manage": principal.is_platform_admin or (principal.role == "dept_admin"
                                                      and principal.org_id == user.org_id)},
        principal=principal)


@router.post("/users/{username}", dependencies=[Depends(csrf_protect)])
async def user_update(username: str, request: Request, db: Session = Depends(get_db),
                      principal: Principal = Depends(page_principal)) -> Response:
    values = dict(await request.form())
    values.pop("csrf_token", None)
    values["is_active"] = values.get("is_active") == "on"
    service.update_user(db, principal, username, parse(UserUpdate, values))
    return RedirectResponse(f"/users/{username}?notice=user_updated", status_code=303)


@router.post("/users/{username}/password", dependencies=[Depends(csrf_protect)])
def user_password(username: str, password: str = Form(""), current_password: str = Form(""),
                  db: Session = Depends(get_db), principal: Principal = Depends(page_principal)) -> Response:
    service.reset_password(db, principal, username, password, current_password)
    return RedirectResponse(f"/users/{username}?notice=password_reset", status_code=303)


@router.post("/users/{username}/delete", dependencies=[Depends(csrf_protect)])
def user_delete(username: str, db: Session = Depends(get_db),
                principal: Principal = Depends(page_principal)) -> Response:
    service.delete_user(db, principal, username)
    return RedirectResponse("/users?notice=user_deleted", status_code=303)


@router.get("/credentials")
def credential_index(request: Request, notice: str | None = None, db: Session = Depends(get_db),
                     principal: Principal = Depends(page_principal)) -> Response:
    rows = service.list_credentials(db, principal)
    return render(request, "accounts/credentials.html", {
        "credentials": [service.credential_dict(db, c) for c in rows], "org_options": _org_choices(db, principal),
        "notice": NOTICES.get(notice or ""), "can_issue": principal.has_role("dept_admin")}, principal=principal)


@router.post("/credentials", dependencies=[Depends(csrf_protect)])
async def credential_create(request: Request, db: Session = Depends(get_db),
                            principal: Principal = Depends(page_principal)) -> Response:
    values = dict(await request.form())
    cred, token = service.create_credential(db, principal, parse(CredentialCreate, values))
    return render(request, "accounts/credential_issued.html", {
        "credential": service.credential_dict(db, cred), "token": token}, principal=principal)


@router.post("/credentials/{cred_id}/revoke", dependencies=[Depends(csrf_protect)])
def credential_revoke(cred_id: int, db: Session = Depends(get_db),
                      principal: Principal = Depends(page_principal)) -> Response:
    service.revoke_credential(db, principal, cred_id)
    return RedirectResponse("/credentials?notice=credential_revoked", status_code=303)
