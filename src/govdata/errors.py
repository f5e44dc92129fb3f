"""Errors with stable codes. The API answers ``{"error": {"code", "message"}}``; pages show the message."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("govdata")


class AppError(Exception):
    """A failure the user can act on: a stable snake_case code, a Chinese message, an HTTP status."""

    status = 400
    code = "bad_request"
    headers: dict[str, str] | None = None  # extra response headers (e.g. the gateway's X-Audit-Request-Id)

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class Unauthenticated(AppError):
    status = 401
    code = "not_authenticated"


class Forbidden(AppError):
    status = 403
    code = "forbidden"
