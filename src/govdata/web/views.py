"""Shell pages: login, logout, language switch, the home dashboard, and the health check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata import __version__, i18n
from govdata.accounts import service as accounts
from govdata.actionlog import service as actionlog
from govdata.catalog import service as catalog
from govdata.config import get_settings
from govdata.db import get_db, utcnow
from govdata.errors import AppError
from govdata.orgs import service as orgs
from govdata.principal import ROLE_LABELS, Principal
from govdata.standards import enums
from govdata.web.deps import SESSION_COOKIE, attempt_principal, csrf_protect, page_principal
from govdata.web.templating import LANG_COOKIE, render

router = APIRouter(include_in_schema=False)
health_router = APIRouter(tags=["platform 平台"])


@health_router.get("/healthz")
def healthz(db: Session = Depends(get_db)) -> dict[str, Any]:
    db.execute(text("SELECT 1"))
    return {"status": "ok", "database": db.get_bind().dialect.name, "version": __version__}


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot be used to redirect elsewhere."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next)})


@router.post("/login", dependencies=[Depends(csrf_protect)])
def login_submit(request: Request, username: str = Form(""), password: str = Form(""),
                 next: str = Form("/"), db: Session = Depends(get_db)) -> Response:
    try:
        _, token = accounts.login(db, username.strip(), password, attempt_principal(request, username.strip()),
                                  kind="web")
    except AppError as exc:
        return render(request, "login.html", {"error": exc, "next": _safe_next(next), "username": username},
                      status=exc.status)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=get_settings().cookie_secure,
                        max_age=int(get_settings().session_hours * 3600), path="/")
    return response


@router.post("/logout", dependencies=[Depends(csrf_protect)])
def logout(request: Request, db: Session = Depends(get_db),
           principal: Principal = Depends(page_principal)) -> Response:
    accounts.logout(db, principal, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{locale}")
def switch_language(locale: str, request: Request) -> Response:
    back = _safe_next(urlparse(request.headers.get("referer", "/")).path or "/")
    response = RedirectResponse(back, status_code=303)
    if locale in i18n.LOCALES:
        response.set_cookie(LANG_COOKIE, locale, samesite="lax", max_age=365 * 86400, path="/")
    return response


@router.get("/")
def home(request: Request, db: Session = Depends(get_db),
         principal: Principal = Depends(page_principal)) -> Response:
    by_level = orgs.count_by_level(db)
    by_role = accounts.count_by_role(db)
    can_audit = principal.has_role("auditor")
    _ = i18n.gettext
    context = {
        "org_total": sum(by_level.values()), "user_total": sum(by_role.values()),
        "by_level_named": [{"name": _(orgs.LEVEL_LABELS[k]), "value": by_level.get(k, 0)} for k in orgs.LEVEL_LABELS],
        "by_role_named": [{"name": _(ROLE_LABELS[k]), "value": by_role.get(k, 0)} for k in ROLE_LABELS],
        "recent_logins": accounts.last_activity(db, utcnow() - timedelta(days=1)),
        "recent_actions": actionlog.recent(db, 8) if can_audit else [],
        "my_org": orgs.get_by_id(db, principal.org_id) if principal.org_id else None,
    }
    figures = catalog.dashboard_figures(db, principal)
    context["catalog"] = figures
    context["by_share_type_named"] = [{"name": _(enums.SHARE_TYPES[k]), "value": n}
                                      for k, n in figures["by_share_type"]]
    return render(request, "home.html", context, principal=principal)
