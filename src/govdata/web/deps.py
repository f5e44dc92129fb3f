"""Request dependencies: who is calling (API bearer token or page session), CSRF, paging."""

from __future__ import annotations

import secrets

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from govdata.accounts import service as accounts
from govdata.db import get_db
from govdata.errors import AppError, Forbidden, Unauthenticated
from govdata.principal import Principal, anonymous
from govdata.web.templating import CSRF_COOKIE

SESSION_COOKIE = "gd_session"


class LoginRequired(AppError):
    """A page needs a logged-in person; the handler redirects to /login."""

    status = 401
    code = "login_required"


def request_meta(request: Request) -> tuple[str | None, str | None, str | None]:
    ip = request.client.host if request.client else None
    return ip, request.headers.get("user-agent"), getattr(request.state, "request_id", None)


def attempt_principal(request: Request, name: str = "-") -> Principal:
    return anonymous(name, *request_meta(request))


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def api_principal(request: Request, db: Session = Depends(get_db)) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated("缺少访问令牌(Authorization: Bearer <token>)", code="not_authenticated")
    principal = accounts.resolve_token(db, token, kind="api")
    if principal is None:
        raise Unauthenticated("访问令牌无效、已过期或已吊销", code="invalid_token")
    request.state.principal = principal.with_request(*request_meta(request))
    return request.state.principal


def person_principal(principal: Principal = Depends(api_principal)) -> Principal:
    """API calls that only people make (administration), not system credentials."""
    if principal.kind != "user":
        raise Forbidden("系统凭证不能调用管理接口", code="person_required")
    return principal


def page_principal(request: Request, db: Session = Depends(get_db)) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    principal = accounts.resolve_token(db, token, kind="web") if token else None
    if principal is None:
        raise LoginRequired("请先登录")
    request.state.principal = principal.with_request(*request_meta(request))
    return request.state.principal


async def csrf_protect(request: Request) -> None:
    """Double-submit check for cookie-authenticated form posts: the form field (or the X-CSRF-Token
    header htmx sends) must equal the strict same-site cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        sent = str(form.get("csrf_token", ""))
    if not cookie or not secrets.compare_digest(cookie.encode(), sent.encode()):
        raise Forbidden("表单已失效或来源不可信,请刷新页面后重试", code="csrf_failed")


def wants_partial(request: Request) -> bool:
    """An htmx request that swaps part of a page; a history restore asks for the whole page again."""
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


class Paging:
    def __init__(self, page: int = Query(1, ge=1, le=100000),
                 page_size: int = Query(50, ge=1, le=200)) -> None:
        self.page = page
        self.page_size = page_size
