"""The portal's community pages: developers (/open/developer…), ratings and reports on a dataset, showcases
(/open/showcases…) and demands to open data (/open/demands…); and the staff pages that answer them
(/opendata/feedback, /opendata/showcases, /opendata/demands).

Public pages extend ``opendata/base_public.html`` and know the signed-in developer from the ``gd_dev`` cookie;
staff pages extend ``base.html`` and need a staff session. Every form posts with the CSRF token. What the public
files, and signing in, is throttled per client address (``developers.throttled``); request bodies under /open/ are
capped by ``BodyLimitMiddleware``. Everything the public typed is stored as typed and shown escaped by Jinja2.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata.catalog import demands
from govdata.catalog.schemas import PublicDemandIn
from govdata.config import get_settings
from govdata.db import get_db
from govdata.errors import AppError
from govdata.i18n import N_
from govdata.opendata import developers, feedback, service, showcases
from govdata.opendata.models import Developer, OpenDataset
from govdata.opendata.schemas import DemandAssign, DeveloperIn, ShowcaseIn, ShowcaseReview
from govdata.orgs import service as orgs
from govdata.principal import Principal, require_role
from govdata.web.deps import attempt_principal, csrf_protect, page_principal, request_meta, wants_partial
from govdata.web.forms import parse
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)

NOTICES = {
    "registered": N_("注册成功,已登录。现在可以创建接口密钥。"), "signed_in": N_("已登录"), "signed_out": N_("已退出"),
    "key_revoked": N_("密钥已吊销"), "demand_filed": N_("开放需求已提交,责任部门将在答复期限内答复"),
    "showcase_submitted": N_("利用成果已提交,审核通过后公开展示"), "answered": N_("答复已保存并公开"),
    "reviewed": N_("审核结论已保存"), "assigned": N_("已分派给责任部门"),
}
_SPLIT = re.compile(r"[\s,,、;;]+")


def _client(request: Request) -> str | None:
    return request_meta(request)[0]


def developer_of(request: Request, db: Session) -> Developer | None:
    """The developer signed in on the portal (the ``gd_dev`` cookie), or None."""
    return developers.resolve(db, request.cookies.get(developers.COOKIE))


def _attempt(request: Request, developer: Developer | None) -> Principal:
    attempt = attempt_principal(request)
    return developers.principal_of(developer, attempt) if developer is not None else attempt


def _form_status(exc: AppError) -> int:
    return exc.status if exc.status < 500 else 422


async def _form(request: Request) -> dict[str, str]:
    return {k: str(v)[:5000] for k, v in (await request.form()).items() if k != "csrf_token"}


def _page(request: Request, name: str, context: dict[str, Any], developer: Developer | None, *,
          status: int = 200, private: bool = False) -> Response:
    response = render(request, name, {"developer": developer, **context}, status=status)
    if private:
        response.headers["Cache-Control"] = "no-store"
    return response


# ---- developers ---------------------------------------------------------------------------------

def _developer_page(request: Request, db: Session, developer: Developer | None, *, mode: str = "login",
                    values: dict[str, str] | None = None, error: AppError | None = None, new_key: str | None = None,
                    notice: str | None = None, status: int = 200) -> Response:
    settings = get_settings()
    keys = developers.keys_of(db, developer) if developer is not None else []
    return _page(request, "opendata/developer.html", {
        "mode": mode, "values": values or {}, "error": error, "new_key": new_key, "keys": keys,
        "notice": NOTICES.get(notice or ""), "base_url": settings.base_url.rstrip("/"),
        "anonymous_per_minute": settings.open_anonymous_per_minute,
        "default_per_minute": settings.open_key_per_minute, "default_per_day": settings.open_key_per_day,
        "sample": db.scalar(select(OpenDataset).where(OpenDataset.status == "open")
                            .order_by(OpenDataset.opened_at.desc()).limit(1))}, developer, status=status, private=True)


def _signed_in(target: str, token: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(developers.COOKIE, token, httponly=True, samesite="lax", secure=get_settings().cookie_secure,
                        max_age=int(get_settings().session_hours * 3600), path=developers.COOKIE_PATH)
    return response


@router.get("/open/developer")
def developer_home(request: Request, notice: str | None = Query(None, max_length=40),
                   db: Session = Depends(get_db)) -> Response:
    return _developer_page(request, db, developer_of(request, db), notice=notice)


@router.get("/open/developer/register")
def developer_register_form(request: Request, db: Session = Depends(get_db)) -> Response:
    developer = developer_of(request, db)
    if developer is not None:
        return RedirectResponse("/open/developer", status_code=303)
    return _developer_page(request, db, None, mode="register")


@router.get("/open/developer/login")
def developer_login_form(request: Request, db: Session = Depends(get_db)) -> Response:
    developer = developer_of(request, db)
    if developer is not None:
        return RedirectResponse("/open/developer", status_code=303)
    return _developer_page(request, db, None, mode="login")


@router.post("/open/developer/register", dependencies=[Depends(csrf_protect)])
async def developer_register(request: Request, db: Session = Depends(get_db)) -> Response:
    values = await _form(request)
    shown = {k: v for k, v in values.items() if k != "password"}
    try:
        data = parse(DeveloperIn, values)
        with developers.throttled("register", _client(request)):
            developer = developers.register(db, data, attempt_principal(request))
        _, token = developers.sign_in(db, developer.email or developer.phone or "", data.password,
                                      attempt_principal(request))
    except AppError as exc:
        db.rollback()
        return _developer_page(request, db, None, mode="register", values=shown, error=exc,
                               status=_form_status(exc))
    return _signed_in("/open/developer?notice=registered", token)


@router.post("/open/developer/login", dependencies=[Depends(csrf_protect)])
async def developer_login(request: Request, db: Session = Depends(get_db)) -> Response:
    values = await _form(request)
    try:
        with developers.throttled("login", _client(request)):
            _, token = developers.sign_in(db, values.get("login", "")[:200], values.get("password", "")[:128],
                                          attempt_principal(request))
    except AppError as exc:
        db.rollback()
        return _developer_page(request, db, None, mode="login", values={"login": values.get("login", "")},
                               error=exc, status=_form_status(exc))
    return _signed_in("/open/developer?notice=signed_in", token)


@router.post("/open/developer/logout", dependencies=[Depends(csrf_protect)])
def developer_logout(request: Request, db: Session = Depends(get_db)) -> Response:
    developers.sign_out(db, request.cookies.get(developers.COOKIE))
    response = RedirectResponse("/open/developer?notice=signed_out", status_code=303)
    response.delete_cookie(developers.COOKIE, path=developers.COOKIE_PATH)
    return response


@router.post("/open/developer/keys", dependencies=[Depends(csrf_protect)])
async def developer_key_create(request: Request, db: Session = Depends(get_db)) -> Response:
    developer = developer_of(request, db)
    if developer is None:
        return RedirectResponse("/open/developer/login", status_code=303)
    values = await _form(request)
    try:
        _, full = developers.create_key(db, developer, values.get("name", ""), _attempt(request, developer))
    except AppError as exc:
        db.rollback()
        return _developer_page(request, db, developer, values=values, error=exc, status=_form_status(exc))
    return _developer_page(request, db, developer, new_key=full, status=201)


@router.post("/open/developer/keys/{key_id}/revoke", dependencies=[Depends(csrf_protect)])
def developer_key_revoke(key_id: int, request: Request, db: Session = Depends(get_db)) -> Response:
    developer = developer_of(request, db)
    if developer is None:
        return RedirectResponse("/open/developer/login", status_code=303)
    developers.revoke_key(db, developer, key_id, _attempt(request, developer))
    return RedirectResponse("/open/developer?notice=key_revoked", status_code=303)


# ---- ratings and reports on a dataset -----------------------------------------------------------

def _feedback_fragment(request: Request, db: Session, slug: str, *, notice: str | None = None,
                       error: AppError | None = None, values: dict[str, str] | None = None,
                       status: int = 200) -> Response:
    dataset = service.get_open(db, slug)
    return render(request, "opendata/_feedback.html", {
        "dataset": dataset, "feedback": feedback.public_for(db, dataset.code),
        "feedback_pending": feedback.pending_of(db, dataset.code), "feedback_notice": notice,
        "feedback_error": error, "feedback_values": values or {}}, status=status)


def _after_feedback(request: Request, db: Session, slug: str, key: str, notice: str) -> Response:
    if wants_partial(request):
        return _feedback_fragment(request, db, slug, notice=notice)
    dataset = service.get_open(db, slug)
    return RedirectResponse(f"/open/datasets/{dataset.slug}?feedback={key}#od-feedback", status_code=303)


def _feedback_error(request: Request, db: Session, slug: str, exc: AppError, values: dict[str, str]) -> Response:
    db.rollback()
    if wants_partial(request) and exc.status != 404:
        return _feedback_fragment(request, db, slug, error=exc, values=values, status=_form_status(exc))
    raise exc


@router.post("/open/datasets/{slug:path}/rate", dependencies=[Depends(csrf_protect)])
async def dataset_rate(slug: str, request: Request, db: Session = Depends(get_db)) -> Response:
    values = await _form(request)
    developer = developer_of(request, db)
    try:
        stars = int(values.get("rating", "0")) if values.get("rating", "").strip().isdigit() else 0
        with developers.throttled("rating", _client(request)):
            feedback.rate(db, slug, stars, developer_id=developer.id if developer else None, ip=_client(request))
    except AppError as exc:
        return _feedback_error(request, db, slug, exc, values)
    return _after_feedback(request, db, slug, "rated", N_("感谢评分"))


@router.post("/open/datasets/{slug:path}/feedback", dependencies=[Depends(csrf_protect)])
async def dataset_feedback(slug: str, request: Request, db: Session = Depends(get_db)) -> Response:
    values = await _form(request)
    developer = developer_of(request, db)
    try:
        service.get_open(db, slug)
        with developers.throttled("report", _client(request)):
            feedback.report(db, slug, values.get("kind", "error"), values.get("content", ""),
                            author=values.get("author", "")[:100], contact=values.get("contact", "")[:100],
                            developer_id=developer.id if developer else None, attempt=_attempt(request, developer))
    except AppError as exc:
        return _feedback_error(request, db, slug, exc, values)
    return _after_feedback(request, db, slug, "sent", N_("反馈已提交,提供部门将在期限内答复"))


# ---- showcases ----------------------------------------------------------------------------------

@router.get("/open/showcases")
def showcase_list(request: Request, dataset: str | None = Query(None, max_length=100),
                  notice: str | None = Query(None, max_length=40), db: Session = Depends(get_db)) -> Response:
    chosen = service.get_open(db, dataset) if dataset else None
    items = showcases.dicts(db, showcases.list_public(db, chosen.code if chosen else None))
    return _page(request, "opendata/showcases.html", {
        "items": items, "dataset": chosen, "kinds": showcases.KINDS, "notice": NOTICES.get(notice or "")},
        developer_of(request, db))


def _showcase_form(request: Request, db: Session, developer: Developer | None, values: dict[str, str], *,
                   error: AppError | None = None, status: int = 200) -> Response:
    return _page(request, "opendata/showcase_new.html", {"values": values, "error": error, "kinds": showcases.KINDS},
                 developer, status=status)


@router.get("/open/showcases/new")
def showcase_new(request: Request, dataset: str | None = Query(None, max_length=100),
                 db: Session = Depends(get_db)) -> Response:
    developer = developer_of(request, db)
    values = {"datasets": dataset or "", "submitter": developer.display_name if developer else ""}
    return _showcase_form(request, db, developer, values)


@router.post("/open/showcases/new", dependencies=[Depends(csrf_protect)])
async def showcase_submit(request: Request, db: Session = Depends(get_db)) -> Response:
    values = await _form(request)
    developer = developer_of(request, db)
    try:
        data = parse(ShowcaseIn, {**values, "datasets": [d for d in _SPLIT.split(values.get("datasets", "")) if d]})
        with developers.throttled("showcase", _client(request)):
            showcases.submit(db, data, developer_id=developer.id if developer else None,
                             attempt=_attempt(request, developer))
    except AppError as exc:
        db.rollback()
        return _showcase_form(request, db, developer, values, error=exc, status=_form_status(exc))
    return RedirectResponse("/open/showcases?notice=showcase_submitted", status_code=303)


@router.get("/open/showcases/{showcase_id}")
def showcase_detail(showcase_id: int, request: Request, db: Session = Depends(get_db)) -> Response:
    item = showcases.dicts(db, [showcases.get_public(db, showcase_id)])[0]
    return _page(request, "opendata/showcase.html", {"item": item}, developer_of(request, db))


# ---- demands ------------------------------------------------------------------------------------

@router.get("/open/demands")
def demand_list(request: Request, status: str | None = Query(None, max_length=16),
                org: str | None = Query(None, max_length=32), notice: str | None = Query(None, max_length=40),
                db: Session = Depends(get_db)) -> Response:
    status = status if status in demands.STATUSES else None
    items = _with_outcome(db, demands.public_list(db, status=status, org=org or None))
    return _page(request, "opendata/demands.html", {
        "items": items, "status": status or "", "org": org or "", "statuses": demands.STATUSES,
        "org_options": orgs.options(db), "notice": NOTICES.get(notice or ""), "reply_days": demands.REPLY_DAYS},
        developer_of(request, db))


def _with_outcome(db: Session, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each opened demand's link target: the slug of its dataset while it is open on the portal."""
    codes = {d["resource_code"] for d in items if d["status"] == "opened" and d["resource_code"]}
    slugs = dict(db.execute(select(OpenDataset.code, OpenDataset.slug).where(
        OpenDataset.code.in_(codes), OpenDataset.status == "open")).all()) if codes else {}
    return [{**d, "outcome_slug": slugs.get(d["resource_code"] or "")} for d in items]


def _demand_form(request: Request, db: Session, values: dict[str, str], *, error: AppError | None = None,
                 status: int = 200) -> Response:
    return _page(request, "opendata/demand_new.html", {
        "values": values, "error": error, "org_options": orgs.options(db), "reply_days": demands.REPLY_DAYS},
        developer_of(request, db), status=status)


@router.get("/open/demands/new")
def demand_new(request: Request, related: str | None = Query(None, max_length=200),
               db: Session = Depends(get_db)) -> Response:
    return _demand_form(request, db, {"related": related or ""})


@router.post("/open/demands/new", dependencies=[Depends(csrf_protect)])
async def demand_file(request: Request, db: Session = Depends(get_db)) -> Response:
    values = await _form(request)
    developer = developer_of(request, db)
    try:
        data = parse(PublicDemandIn, values)
        with developers.throttled("demand", _client(request)):
            demand = demands.file_public(db, data, _attempt(request, developer))
    except AppError as exc:
        db.rollback()
        return _demand_form(request, db, values, error=exc, status=_form_status(exc))
    return RedirectResponse(f"/open/demands/{demand.id}?notice=demand_filed", status_code=303)


@router.get("/open/demands/{demand_id}")
def demand_detail(demand_id: int, request: Request, notice: str | None = Query(None, max_length=40),
                  db: Session = Depends(get_db)) -> Response:
    return _page(request, "opendata/demand.html", {
        "item": _with_outcome(db, [demands.public_get(db, demand_id)])[0], "notice": NOTICES.get(notice or ""),
        "related_label": demands.RELATED_LABEL}, developer_of(request, db))


# ---- staff: answering feedback, reviewing showcases, assigning demands --------------------------

def _inbox_page(request: Request, db: Session, principal: Principal, status: str | None, *,
                notice: str | None = None, error: AppError | None = None, values: dict[str, Any] | None = None,
                code: int = 200) -> Response:
    items = feedback.inbox(db, principal, status or None)
    codes = {i.code for i in items}
    names = dict(db.execute(select(OpenDataset.code, OpenDataset.name).where(OpenDataset.code.in_(codes))).all())
    return render(request, "opendata/feedback_inbox.html", {
        "items": [{**feedback.staff_dict(i), "dataset_name": names.get(i.code, i.code)} for i in items],
        "status": status or "", "statuses": feedback.STATUSES, "notice": NOTICES.get(notice or ""), "error": error,
        "values": values or {}}, status=code, principal=principal)


@router.get("/opendata/feedback")
def feedback_inbox(request: Request, status: str | None = Query(None, max_length=16),
                   notice: str | None = Query(None, max_length=40), db: Session = Depends(get_db),
                   principal: Principal = Depends(page_principal)) -> Response:
    status = status if status in feedback.STATUSES else None
    return _inbox_page(request, db, principal, status, notice=notice)


@router.post("/opendata/feedback/{feedback_id}/answer", dependencies=[Depends(csrf_protect)])
async def feedback_answer(feedback_id: int, request: Request, db: Session = Depends(get_db),
                          principal: Principal = Depends(page_principal)) -> Response:
    values = await _form(request)
    try:
        feedback.answer(db, principal, feedback_id, values.get("reply", ""))
    except AppError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        return _inbox_page(request, db, principal, None, error=exc, values={**values, "answer_to": feedback_id},
                           code=_form_status(exc))
    return RedirectResponse("/opendata/feedback?notice=answered", status_code=303)


def _review_page(request: Request, db: Session, principal: Principal, status: str | None, *,
                 notice: str | None = None, error: AppError | None = None, values: dict[str, Any] | None = None,
                 code: int = 200) -> Response:
    items = showcases.dicts(db, showcases.for_review(db, principal, status or None), staff=True)
    return render(request, "opendata/showcase_review.html", {
        "items": items, "status": status or "", "statuses": showcases.STATUSES, "notice": NOTICES.get(notice or ""),
        "error": error, "values": values or {}}, status=code, principal=principal)


@router.get("/opendata/showcases")
def showcase_review_list(request: Request, status: str | None = Query(None, max_length=16),
                         notice: str | None = Query(None, max_length=40), db: Session = Depends(get_db),
                         principal: Principal = Depends(page_principal)) -> Response:
    require_role(principal)
    status = status if status in showcases.STATUSES else None
    return _review_page(request, db, principal, status, notice=notice)


@router.post("/opendata/showcases/{showcase_id}/review", dependencies=[Depends(csrf_protect)])
async def showcase_review(showcase_id: int, request: Request, db: Session = Depends(get_db),
                          principal: Principal = Depends(page_principal)) -> Response:
    require_role(principal)
    values = await _form(request)
    try:
        showcases.review(db, principal, showcase_id, parse(ShowcaseReview, values))
    except AppError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        return _review_page(request, db, principal, None, error=exc, values={**values, "review_of": showcase_id},
                            code=_form_status(exc))
    return RedirectResponse("/opendata/showcases?notice=reviewed", status_code=303)


@router.get("/opendata/demands")
def demand_assign_list(request: Request, notice: str | None = Query(None, max_length=40),
                       db: Session = Depends(get_db), principal: Principal = Depends(page_principal)) -> Response:
    """The bureau's list of demands filed without a department, to assign them."""
    require_role(principal)
    return render(request, "opendata/demand_assign.html", {
        "items": demands.public_list(db, unassigned=True, status="pending"), "org_options": orgs.options(db),
        "notice": NOTICES.get(notice or "")}, principal=principal)


@router.post("/opendata/demands/{demand_id}/assign", dependencies=[Depends(csrf_protect)])
async def demand_assign(demand_id: int, request: Request, db: Session = Depends(get_db),
                        principal: Principal = Depends(page_principal)) -> Response:
    require_role(principal)
    data = parse(DemandAssign, await _form(request))
    demands.assign(db, principal, demand_id, data.target_org)
    return RedirectResponse("/opendata/demands?" + urlencode({"notice": "assigned"}), status_code=303)
