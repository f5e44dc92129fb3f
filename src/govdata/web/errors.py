"""Exception handlers: JSON ``{"error": {"code", "message"}}`` under /api, a Chinese page elsewhere."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from govdata.actionlog import service as actionlog
from govdata.db import new_session
from govdata.errors import AppError, logger
from govdata.principal import Principal
from govdata.web.deps import LoginRequired
from govdata.web.templating import render

_HTTP_CODES = {
    404: ("not_found", "请求的地址不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求内容过大"),
}

_FIELD_LABELS = {"missing": "缺少必填字段", "string_pattern_mismatch": "格式不符合要求",
                 "string_too_short": "长度不足", "string_too_long": "长度超出上限",
                 "json_invalid": "JSON 格式错误", "int_parsing": "应为整数", "bool_parsing": "应为布尔值",
                 "greater_than_equal": "数值过小", "less_than_equal": "数值过大"}


def _wants_json(request: Request) -> bool:
    machine = request.url.path.startswith(("/api/", "/dcat/"))
    return machine or "application/json" in request.headers.get("accept", "")


def _error_response(request: Request, error: AppError) -> Response:
    if _wants_json(request):
        headers = {**(error.headers or {}), **({"WWW-Authenticate": "Bearer"} if error.status == 401 else {})}
        return JSONResponse(error.to_json(), status_code=error.status, headers=headers or None)
    return render(request, _error_template(request), {"error": error}, status=error.status,
                  principal=getattr(request.state, "principal", None))


def _error_template(request: Request) -> str:
    """The public portal's pages (/open/...) show errors in the portal's layout, not the staff one."""
    path = request.url.path
    return "opendata/error.html" if path == "/open" or path.startswith("/open/") else "error.html"


async def app_error(request: Request, exc: AppError) -> Response:
    if isinstance(exc, LoginRequired) and not _wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    logger.info("refused %s %s: %s %s", request.method, request.url.path, exc.code, exc.message)
    principal = getattr(request.state, "principal", None)
    if exc.status == 403 and principal is not None:
        await run_in_threadpool(_record_denial, principal, request, exc)
    return _error_response(request, exc)


def _record_denial(principal: Principal, request: Request, exc: AppError) -> None:
    """A known person or system refused access is worth an auditor's look (e.g. reaching another department)."""
    with new_session() as db:
        actionlog.record_alone(db, principal, "access.denied", target_type="path",
                               target_id=f"{request.method} {request.url.path}"[:100],
                               summary=f"{exc.code}: {exc.message}", outcome="failure")


async def validation_error(request: Request, exc: RequestValidationError) -> Response:
    details = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"),
                "problem": _FIELD_LABELS.get(e["type"], e["msg"])} for e in exc.errors()]
    message = "请求参数有误:" + ";".join(f"{d['field']} {d['problem']}" for d in details)
    logger.info("invalid request %s %s: %s", request.method, request.url.path, message)
    return _error_response(request, AppError(message, code="validation_error", status=422, details=details))


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    code, message = _HTTP_CODES.get(exc.status_code, ("http_error", str(exc.detail)))
    return _error_response(request, AppError(message, code=code, status=exc.status_code))


async def unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_response(request, AppError("服务器内部错误,请稍后重试或联系管理员", code="internal_error",
                                             status=500))


def install(app: FastAPI) -> None:
    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
