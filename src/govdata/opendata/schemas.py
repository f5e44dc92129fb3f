"""Input of the portal's community features and of the opening API (Pydantic): developers, API keys, feedback,
showcases, the bureau's review and the listing actions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator


class _Stripped(BaseModel):
    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


class DeveloperIn(_Stripped):
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    display_name: str = Field(min_length=1, max_length=100)
    organisation: str = Field(default="", max_length=200)
    password: str = Field(min_length=1, max_length=128)


class DeveloperLogin(_Stripped):
    login: str = Field(min_length=1, max_length=200, description="e-mail or mobile number")
    password: str = Field(min_length=1, max_length=128)


class KeyIn(_Stripped):
    name: str = Field(min_length=1, max_length=100)


class KeyLimits(BaseModel):
    per_minute: int = Field(ge=1, le=1_000_000)
    per_day: int = Field(ge=1, le=1_000_000_000)


class FeedbackIn(_Stripped):
    kind: str = Field(default="error", description="rating | error | question")
    rating: int | None = Field(default=None, ge=1, le=5)
    content: str = Field(default="", max_length=2000)
    author: str = Field(default="", max_length=100)
    contact: str = Field(default="", max_length=100)


class FeedbackAnswer(_Stripped):
    reply: str = Field(min_length=1, max_length=2000)


class ShowcaseIn(_Stripped):
    title: str = Field(min_length=1, max_length=200)
    kind: str = Field(default="app", description="app | analysis | visualisation | research | other")
    description: str = Field(min_length=1, max_length=4000)
    url: str = Field(default="", max_length=500)
    datasets: list[str] = Field(default_factory=list, max_length=50)
    submitter: str = Field(min_length=1, max_length=100)
    contact: str = Field(default="", max_length=100)


class ShowcaseReview(_Stripped):
    decision: str = Field(description="approve | reject")
    comment: str = Field(default="", max_length=2000)


class DemandAssign(_Stripped):
    target_org: str = Field(min_length=1, max_length=32)


class OpenSettingsIn(BaseModel):
    treatments: dict[str, str] = Field(default_factory=dict)
    quasi_identifiers: list[str] = Field(default_factory=list, max_length=200)
    k: int | None = Field(default=None, ge=1, le=1000)


class CheckIn(BaseModel):
    open: bool = False
    settings: OpenSettingsIn | None = None


class WithdrawIn(_Stripped):
    reason: str = Field(min_length=1, max_length=500)
