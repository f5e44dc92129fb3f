"""Resource JSON, in and out. Enumerations are accepted as their key (``conditional``) or their Chinese label
(``有条件共享``) — catalog workbooks and people write the labels — and always stored and returned as keys."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field, field_validator

from govdata.standards import enums

_ENUMS = {
    "format": enums.FORMATS, "share_type": enums.SHARE_TYPES, "share_method": enums.SHARE_METHODS,
    "update_cycle": enums.UPDATE_CYCLES, "grade": enums.GRADES,
}


def to_key(table: dict[str, str], value: Any) -> Any:
    """Map a Chinese label to its key; anything else passes through to be checked by the service."""
    if isinstance(value, str):
        value = value.strip()
        for key, label in table.items():
            if value == label:
                return key
    return value


class ItemIn(BaseModel):
    key: str = Field(max_length=64)
    name: str = Field(min_length=1, max_length=100)
    data_type: str = Field(default="C", max_length=1)
    length: int | None = Field(default=None, ge=1, le=1_000_000)
    required: bool = False
    primary_key: bool = False
    data_element: str | None = Field(default=None, max_length=16)
    sensitivity: str | None = None

    @field_validator("key", "name", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("data_element", "sensitivity", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return (value.strip() or None) if isinstance(value, str) else value


class ResourceIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    provider: str = Field(description="提供方机构编码")
    summary: str = Field(default="", max_length=4000)
    classification: str = Field(description="分类路径(如 基础/人口)或分类代码(如 101)")
    format: str
    share_type: str = Field(description="unconditional | conditional | none")
    share_condition: str = Field(default="", max_length=2000)
    share_method: str = Field(description="database | file | api")
    share_basis: str = Field(default="", max_length=2000)
    open: bool = False
    open_condition: str = Field(default="", max_length=2000)
    update_cycle: str
    publish_date: date | None = None
    related_codes: list[str] = Field(default_factory=list)
    grade: str = "general"
    sensitivity: str = "L1"
    secret: bool = Field(default=False, description="涉密资源不得登记")
    responsible_person: str = Field(default="", max_length=50)
    contact: str = Field(default="", max_length=50)
    rules: list[dict[str, Any]] = Field(default_factory=list)
    items: list[ItemIn] = Field(default_factory=list)

    @field_validator(*_ENUMS, mode="before")
    @classmethod
    def _labels_to_keys(cls, value: Any, info) -> Any:
        return to_key(_ENUMS[info.field_name], value)

    @field_validator("name", "provider", "classification", "summary", "share_condition", "share_basis",
                     "open_condition", "responsible_person", "contact", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


class ReviewIn(BaseModel):
    decision: str = Field(description="approve | reject")
    comment: str = Field(default="", max_length=2000)


class DemandIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=4000)
    requester: str = Field(min_length=1, max_length=100)
    contact: str = Field(default="", max_length=100)
    target_org: str | None = None


class PublicDemandIn(BaseModel):
    """A demand filed by anyone on the portal (开放需求): the contact is kept for the department, never shown."""

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=4000)
    target_org: str | None = Field(default=None, max_length=32)
    related: str = Field(default="", max_length=200, description="the dataset or resource it concerns, if known")
    requester: str = Field(min_length=1, max_length=100)
    contact: str = Field(default="", max_length=100)

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


class DemandReply(BaseModel):
    status: str = Field(description="accepted | rejected | opened")
    reply: str = Field(min_length=1, max_length=4000)
    resource_code: str | None = None
