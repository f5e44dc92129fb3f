"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware on hot API paths): a request id on every
request and response, and security headers on every response."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs

from starlette.requests import cookie_parser
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


class BodyLimitMiddleware:
    """Refuses request bodies beyond the configured upload limit, from Content-Length at once or while the body
    streams in (a client may send none or lie). Raised inside ``receive``, so whatever reads the body (a form
    parser, an upload) stops there and the error handler answers 413 ``upload_too_large``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    def _refuse(self) -> BodyTooLarge:
        limit = self.max_bytes / (1 << 20)
        return BodyTooLarge(f"上传内容超过允许的上限({limit:,.0f} MB),未保存任何内容",
                            details={"limit_bytes": self.max_bytes})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        too_big = declared.isdigit() and int(declared) > self.max_bytes
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            if too_big:
                raise self._refuse()
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise self._refuse()
            return message

        await self.app(scope, limited, send)
