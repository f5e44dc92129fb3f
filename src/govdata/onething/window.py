"""Window staff act for an applicant (窗口代办), in the staff layout.

At the service centre's counter a member of the package's operator department (dept_staff or dept_admin), or a
bureau admin, starts a case for the applicant in front of them (公民身份号码, 姓名 and the package's inputs), shows
them the evidence plan and records that they consented at the counter, then — as on the applicant's own phone — sees
the fetched proofs, types what no proof gives, submits once, and follows the matters (supplements included). The
case page is the applicant's (``onething/_case_body.html``) with the wording turned to the applicant; the service
records who acted (``acting_for`` on the case, ``acting`` on the consent) and decides who may (``service.start`` /
``service.get``). The applicant sees the case on 掌心办 too: citizens see the cases of their ID number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata.db import get_db, new_session
from govdata.errors import AppError, Forbidden, ValidationFailed
from govdata.i18n import N_
from govdata.onething import package as pkg
from govdata.onething import packages, service
from govdata.onething.models import Case
from govdata.onething.pages import CASE_NOTICES, card, case_context, field_errors, form_status, labels, typed_fields
from govdata.orgs import service as orgs
from govdata.principal import Principal
from govdata.web.deps import csrf_protect, page_principal
from govdata.web.templating import render, templates

router = APIRouter(include_in_schema=False)

NOTICES = {**CASE_NOTICES, "refused": N_("申请人未同意调取证明,办件已撤回,未调取任何证明")}
REFUSED = "窗口代办只对一件事牵头部门的窗口工作人员和大数据局管理员开放:您的账号不能代申请人办理一件事。"
INPUT_PREFIX = "in_"  # the package's inputs in the start form, apart from the applicant's own fields


# ---- who may act ------------------------------------------------------------------------------------------------

def _window_packages(db: Session, principal: Principal) -> list[tuple[Any, pkg.Package]]:
    """The current packages this person may start for an applicant; none: 403 with the reason."""
    current = [(row, p) for row, p in packages.list_current(db) if service.acts_for(principal, p.spec)]
    if not current:
        raise Forbidden(REFUSED, code="window_staff_required")
    return current


def shows_window_link(principal: Principal | None) -> bool:
    """For the sub-navigation (``onething/_nav.html``, also on the matters pages): does this person see 窗口代办?"""
    if principal is None or principal.kind != "user":
        return False
    if principal.is_platform_admin:
        return True
    if principal.role not in service.WINDOW_ROLES or not principal.org_code:
        return False
    with new_session() as db:
        return any(p.spec.operator == principal.org_code for _, p in packages.list_current(db))


templates.env.globals["onething_window_link"] = shows_window_link


def _started(db: Session, principal: Principal) -> list[Case]:
    """The cases this person started for applicants."""
    return service.list_mine(db, principal)


def _page(request: Request, name: str, context: dict[str, Any], principal: Principal, *,
          status: int = 200) -> Response:
    response = render(request, name, {**labels(), **context}, status=status, principal=principal)
    response.headers["Cache-Control"] = "no-store"  # an applicant's data, on a counter's computer
    return response


# ---- starting a case --------------------------------------------------------------------------------------------

def _start_errors(exc: AppError | None) -> dict[str, str]:
    """Problems beside their fields: the applicant's (``details.field``) and the inputs' (``details.fields``)."""
    errors = {INPUT_PREFIX + k: v for k, v in field_errors(exc).items()}
    field = (exc.details or {}).get("field") if exc is not None and isinstance(exc.details, dict) else None
    if field in ("id_number", "name"):
        errors[field] = exc.message
    return errors


def _window_page(request: Request, db: Session, principal: Principal, *, key: str | None = None,
                 values: dict[str, str] | None = None, error: AppError | None = None,
                 status: int = 200) -> Response:
    allowed = _window_packages(db, principal)
    names = orgs.names_by_code(db)
    cards = [card(db, row, p, names) for row, p in allowed]
    chosen = next(((row, p) for row, p in allowed if row.key == key), None)
    mine = [service.case_dict(db, c, detail=False) for c in _started(db, principal)]
    return _page(request, "onething/window.html", {
        "cards": cards, "cases": mine, "org_name": names.get(principal.org_code or "", principal.org_code),
        "chosen": card(db, *chosen, names) if chosen else None, "fields": chosen[1].spec.inputs if chosen else [],
        "prefix": INPUT_PREFIX, "values": values or {}, "error": error, "field_errors": _start_errors(error),
        "unknown": key is not None and chosen is None}, principal, status=status)


@router.get("/onething/window")
def window_page(request: Request, package: str | None = Query(None, max_length=40),
                db: Session = Depends(get_db), principal: Principal = Depends(page_principal)) -> Response:
    return _window_page(request, db, principal, key=package or None)


@router.post("/onething/window", dependencies=[Depends(csrf_protect)])
async def window_start(request: Request, db: Session = Depends(get_db),
                       principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    key = str(form.get("package") or "")[:40]
    allowed = {row.key: p for row, p in _window_packages(db, principal)}
    if key not in allowed:
        return _window_page(request, db, principal, key=None, status=422,
                            error=ValidationFailed("请选择要办理的一件事", code="package_required"))
    spec = allowed[key].spec
    values = {k: str(form.get(k) or "").strip()[:500] for k in ("id_number", "name")}
    values |= {INPUT_PREFIX + f.key: str(form.get(INPUT_PREFIX + f.key) or "").strip()[:500] for f in spec.inputs}
    # a blank optional input is absent; a blank required one is sent, so its problem is shown beside it
    inputs = {f.key: values[INPUT_PREFIX + f.key] for f in spec.inputs if values[INPUT_PREFIX + f.key] or f.required}
    try:
        case = service.start(db, principal, key, {"id_number": values["id_number"], "name": values["name"],
                                                  "inputs": inputs})
    except AppError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        return _window_page(request, db, principal, key=key, values=values, error=exc, status=form_status(exc))
    return RedirectResponse(f"/onething/window/cases/{case.id}", status_code=303)


# ---- a case -----------------------------------------------------------------------------------------------------

def _case_page(request: Request, db: Session, principal: Principal, case_id: int, *, notice: str | None = None,
               error: AppError | None = None, form: str | None = None, values: dict[str, Any] | None = None,
               status: int = 200) -> Response:
    _window_packages(db, principal)  # 403 for those who may not act at all
    case = service.get(db, principal, case_id)  # 404 outside the packages this person may act for
    context = case_context(db, case, error=error, form=form, values=values)
    return _page(request, "onething/window_case.html", {
        **context, "notice": NOTICES.get(notice or ""), "case_base": f"/onething/window/cases/{case.id}",
        "acting": True}, principal, status=status)


def _act(request: Request, db: Session, principal: Principal, case_id: int, action: Callable[[], object], *,
         form: str, values: dict[str, Any] | None = None, notice: str) -> Response:
    """Run an action for the applicant: back to the case with a notice, or the case page with the error."""
    _window_packages(db, principal)
    try:
        action()
    except AppError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        return _case_page(request, db, principal, case_id, error=exc, form=form, values=values,
                          status=form_status(exc))
    return RedirectResponse(f"/onething/window/cases/{case_id}?notice={notice}", status_code=303)


@router.get("/onething/window/cases/{case_id:int}")
def window_case(case_id: int, request: Request, notice: str | None = Query(None, max_length=40),
                db: Session = Depends(get_db), principal: Principal = Depends(page_principal)) -> Response:
    return _case_page(request, db, principal, case_id, notice=notice)


@router.post("/onething/window/cases/{case_id:int}/consent", dependencies=[Depends(csrf_protect)])
async def window_consent(case_id: int, request: Request, db: Session = Depends(get_db),
                         principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    agree = str(form.get("answer") or "") == "agree"

    def act() -> None:
        if agree and not form.get("consent"):
            raise ValidationFailed("请先勾选申请人已阅读并同意调取清单的确认", code="consent_unchecked",
                                   details={"field": "consent"})
        service.consent(db, principal, case_id, agree=agree)

    return _act(request, db, principal, case_id, act, form="consent", notice="consented" if agree else "refused")


@router.post("/onething/window/cases/{case_id:int}/submit", dependencies=[Depends(csrf_protect)])
async def window_submit(case_id: int, request: Request, db: Session = Depends(get_db),
                        principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    values: dict[str, str] = {}

    def act() -> None:
        case = service.get(db, principal, case_id)
        service.submit(db, principal, case_id, fields=typed_fields(db, case, form, values))

    return _act(request, db, principal, case_id, act, form="submit", values=values, notice="submitted")


@router.post("/onething/window/cases/{case_id:int}/supplement", dependencies=[Depends(csrf_protect)])
async def window_supplement(case_id: int, request: Request, db: Session = Depends(get_db),
                            principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    task_id = str(form.get("task_id") or "")
    values = {"task_id": task_id, "note": str(form.get("note") or "").strip()}

    def act() -> None:
        if not task_id.isdigit():
            raise ValidationFailed("请选择要补正的事项", code="task_required")
        service.supplement(db, principal, case_id, int(task_id), values["note"])

    return _act(request, db, principal, case_id, act, form=f"supplement-{task_id}", values=values,
                notice="supplemented")


@router.post("/onething/window/cases/{case_id:int}/withdraw", dependencies=[Depends(csrf_protect)])
def window_withdraw(case_id: int, request: Request, db: Session = Depends(get_db),
                    principal: Principal = Depends(page_principal)) -> Response:
    return _act(request, db, principal, case_id, lambda: service.withdraw(db, principal, case_id),
                form="withdraw", notice="withdrawn")
