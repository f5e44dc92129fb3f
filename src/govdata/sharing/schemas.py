"""Input of the sharing workflow, shared by the API, the pages and the CLI."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator


def _clean_text(value: str) -> str:
    return value.strip() if isinstance(value, str) else value


class RequestCreate(BaseModel):
    resource: str = Field(min_length=1, max_length=40, description="信息资源代码")
    items: list[str] = Field(min_length=1, max_length=500, description="所需信息项的 key")
    purpose: str = Field(min_length=2, max_length=1000, description="用途")
    matter: str = Field(min_length=2, max_length=200, description="办理事项")
    basis: str = Field(min_length=2, max_length=2000, description="法律法规或政策依据")
    days: int = Field(ge=1, le=3650, description="申请期限(天)")
    daily_quota: int | None = Field(default=None, ge=1, le=100_000_000, description="预计日调用量,空为不限")
    unmasked_items: list[str] = Field(default_factory=list, max_length=500, description="申请不脱敏的信息项")
    row_scope: dict[str, list[str]] = Field(default_factory=dict, description="行范围:信息项 → 允许的取值")

    _strip = field_validator("purpose", "matter", "basis", "resource", mode="before")(_clean_text)


class RequestAmend(BaseModel):
    """What the applicant may change after the request was sent back for changes (退回修改)."""

    items: list[str] | None = Field(default=None, min_length=1, max_length=500)
    purpose: str | None = Field(default=None, min_length=2, max_length=1000)
    matter: str | None = Field(default=None, min_length=2, max_length=200)
    basis: str | None = Field(default=None, min_length=2, max_length=2000)
    days: int | None = Field(default=None, ge=1, le=3650)
    daily_quota: int | None = Field(default=None, ge=1, le=100_000_000)
    unmasked_items: list[str] | None = Field(default=None, max_length=500)
    row_scope: dict[str, list[str]] | None = None
    comment: str = Field(default="", max_length=2000)


class Decision(BaseModel):
    decision: Literal["approve", "reject", "request_changes"]
    comment: str = Field(default="", max_length=2000)
    # an approving provider may narrow what was asked for (never widen it)
    items: list[str] | None = Field(default=None, min_length=1, max_length=500)
    days: int | None = Field(default=None, ge=1, le=3650)
    daily_quota: int | None = Field(default=None, ge=1, le=100_000_000)
    unmasked_items: list[str] | None = Field(default=None, max_length=500)


class Revoke(BaseModel):
    reason: str = Field(default="", max_length=2000)


class Renew(BaseModel):
    days: int = Field(ge=1, le=3650)
    comment: str = Field(default="", max_length=2000)


class RateLimitSet(BaseModel):
    per_minute: int | None = Field(ge=1, le=10_000_000, description="每分钟调用上限,空为不限")
