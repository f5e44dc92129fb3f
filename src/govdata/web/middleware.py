"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware on hot API paths): a request id on every
request and response, and security headers on every response."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs

from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govdata import i18n
from govdata.errors import AppError

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"content-security-policy", CSP.encode()),
]


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.headers = list(SECURITY_HEADERS)
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        i18n.current_locale.set(_locale(scope))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in self.headers if h[0] not in present)
                headers.append((b"x-request-id", request_id.encode()))
                if scope["path"].startswith(("/api/", "/login")):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _locale(scope: Scope) -> str:
    cookie_header = dict(scope["headers"]).get(b"cookie", b"").decode("latin-1")
    cookie = cookie_parser(cookie_header).get("gd_lang") if cookie_header else None
    query = scope.get("query_string", b"")
    param = parse_qs(query.decode("latin-1")).get("lang", [None])[0] if b"lang=" in query else None
    return i18n.negotiate(cookie, param)


class BodyTooLarge(AppError):
    status = 413
    code = "upload_too_large"


PUBLIC_BODY_BYTES = 1 << 20
# (path prefix, bytes): tighter caps where anyone may post without an account (the portal's forms, its public
# JSON API and the CKAN Action API); the first matching prefix applies, never above the upload limit
PATH_LIMITS: tuple[tuple[str, int], ...] = (
    ("/api/3/action/", PUBLIC_BODY_BYTES), ("/api/action/", PUBLIC_BODY_BYTES),
    ("/api/v1/opendata/", PUBLIC_BODY_BYTES), ("/open/", PUBLIC_BODY_BYTES),
)


def _size(limit: int) -> str:
    return f"{limit / (1 << 20):,.0f} MB" if limit >= 1 << 20 else f"{limit / 1024:,.0f} KB"


class BodyLimitMiddleware:
    """Refuses request bodies beyond the configured upload limit (``max_bytes``) or, under a prefix of
    ``path_limits``, that path's smaller one: from Content-Length at once or while the body streams in (a client may
    send none or lie). Raised inside ``receive``, so whatever reads the body (a form parser, an upload) stops there
    and the error handler answers 413 ``upload_too_large``; no more of the body is read. Where the reader turns the
    error into another answer (FastAPI answers 400 when a JSON body cannot be read), the answer is replaced by the
    413 in the project's error shape."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 path_limits: tuple[tuple[str, int], ...] = PATH_LIMITS) -> None:
        self.app, self.max_bytes, self.path_limits = app, max_bytes, path_limits

    def limit_for(self, path: str) -> int:
        """The body limit of a request path."""
        for prefix, limit in self.path_limits:
            if path.startswith(prefix):
                return min(limit, self.max_bytes)
        return self.max_bytes

    def _refuse(self, limit: int) -> BodyTooLarge:
        return BodyTooLarge(f"上传内容超过允许的上限({_size(limit)}),未保存任何内容", details={"limit_bytes": limit})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        too_big = declared.isdigit() and int(declared) > limit
        seen = 0
        refused: BodyTooLarge | None = None
        replaced = False

        async def limited() -> Message:
            nonlocal seen, refused
            if too_big:
                refused = self._refuse(limit)
                raise refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                refused = self._refuse(limit)
                raise refused
            return message

        async def checked(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the body of the answer that was replaced
            if refused is not None and message["type"] == "http.response.start" and message["status"] != 413:
                replaced = True
                await JSONResponse(refused.to_json(), status_code=413)(scope, receive, send)
                return
            await send(message)

        await self.app(scope, limited, checked)
