"""The applicants' pages of one-thing services (掌心办, phone-first, under ``/m/``, their own small layout).

Applicants sign in through the citizen cookie (``gd_citizen``, holding the token of ``citizens.sign_in``), choose the
life event, type the package's inputs, see exactly which proofs will be fetched from which department, consent (or
not: then nothing is fetched and the case is withdrawn), see the fetched proofs, fill only what no proof gives,
submit once, and follow each matter to the end.

Every action goes through ``onething.service`` (which checks who may do it and records it); the pages only decide
which forms to offer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlparse

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata.config import get_settings
from govdata.db import get_db
from govdata.errors import AppError, ValidationFailed
from govdata.i18n import N_
from govdata.onething import citizens, packages, service
from govdata.onething.pages import CASE_NOTICES, card, case_context, field_errors, form_status, labels, typed_fields
from govdata.orgs import service as orgs
from govdata.principal import Principal
from govdata.web.deps import attempt_principal, csrf_protect, request_meta
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)
logger = logging.getLogger(__name__)

CITIZEN_COOKIE = "gd_citizen"
CITIZEN_PATH = "/m"
SAMPLES_PER_PACKAGE = 5
NOTICES = {**CASE_NOTICES, "signed_out": N_("已退出")}


def _citizen(request: Request, db: Session) -> Principal | None:
    token = request.cookies.get(CITIZEN_COOKIE)
    principal = citizens.resolve(db, token) if token else None
    return principal.with_request(*request_meta(request)) if principal else None


def _safe_next(target: str | None) -> str:
    """Only the applicant pages, so the sign-in form cannot send anyone elsewhere."""
    if not target:
        return "/m/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/m/") or "\\" in target or ".." in parsed.path:
        return "/m/"
    return target


def _to_sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/m/?" + urlencode({"next": target}), status_code=303)


def _m(request: Request, name: str, context: dict[str, Any], citizen: Principal | None, *,
       status: int = 200) -> Response:
    response = render(request, name, {**labels(), "citizen": citizen, **context}, status=status)
    response.headers["Cache-Control"] = "no-store"  # a person's own data, on a possibly shared phone
    return response


def _m_error(request: Request, citizen: Principal | None, exc: AppError) -> Response:
    return _m(request, "onething/m_error.html", {"error": exc}, citizen, status=form_status(exc))


def _samples(db: Session, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Demo: a few sample applicants per package, each with the link that fills the sign-in form."""
    from govdata.demo import families  # demo instances only (the caller checks); the demo depends on this domain

    out = []
    for key, name in keys:
        try:
            people = families.samples(db, key, limit=SAMPLES_PER_PACKAGE) or []
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


@router.get("/m/")
def m_home(request: Request, id_number: str | None = Query(None, max_length=18),
           name: str | None = Query(None, max_length=50), next: str | None = Query(None, max_length=1000),
           notice: str | None = Query(None, max_length=40), db: Session = Depends(get_db)) -> Response:
    citizen = _citizen(request, db)
    if citizen is None:
        values = {"id_number": id_number or "", "name": name or "", "next": _safe_next(next)}
        return _sign_in_page(request, db, values, notice=notice)
    names = orgs.names_by_code(db)
    cards = [card(db, row, p, names) for row, p in packages.list_current(db)]
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
        return _sign_in_page(request, db, values, error=exc, status=form_status(exc))
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


# ---- starting a case ------------------------------------------------------------------------------------------

def _start_page(request: Request, db: Session, citizen: Principal, key: str, values: dict[str, str], *,
                error: AppError | None = None, status: int = 200) -> Response:
    row, package = packages.current(db, key)  # 404 package_not_found
    names = orgs.names_by_code(db)
    return _m(request, "onething/m_start.html", {
        "card": card(db, row, package, names), "fields": package.spec.inputs, "values": values, "error": error,
        "field_errors": field_errors(error)}, citizen, status=status)


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
        return _start_page(request, db, citizen, key, values, error=exc, status=form_status(exc))
    return RedirectResponse(f"/m/cases/{case.id}", status_code=303)


# ---- a case -----------------------------------------------------------------------------------------------------

def _case_page(request: Request, db: Session, citizen: Principal, case_id: int, *, notice: str | None = None,
               error: AppError | None = None, form: str | None = None, values: dict[str, Any] | None = None,
               status: int = 200) -> Response:
    case = service.get(db, citizen, case_id)  # 404 for anyone but the applicant
    context = case_context(db, case, error=error, form=form, values=values)
    return _m(request, "onething/m_case.html", {**context, "notice": NOTICES.get(notice or ""),
                                                "case_base": f"/m/cases/{case.id}", "acting": False},
              citizen, status=status)


def _citizen_action(request: Request, db: Session, case_id: int, action: Callable[[Principal], object], *,
                    form: str, values: dict[str, Any] | None = None, notice: str) -> Response:
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
                              status=form_status(exc))
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
        service.submit(db, citizen, case_id, fields=typed_fields(db, case, form, values))

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
