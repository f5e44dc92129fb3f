from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$"


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class OrgCreate(BaseModel):
    code: str = Field(pattern=CODE_PATTERN, description="稳定的机构编码,创建后不可更改")
    name: str = Field(min_length=1, max_length=200)
    level: str = Field(description="city | county | township")
    type: str = Field(default="department", description="government | department | institution")
    region_code: str = Field(pattern=r"^\d{6}$", description="GB/T 2260 行政区划代码")
    parent: str | None = Field(default=None, description="上级机构编码")
    uscc: str | None = Field(default=None, description="统一社会信用代码")
    short_name: str | None = Field(default=None, max_length=60)
    sort_order: int = 0

    _strip_all = field_validator("code", "name", "parent", "uscc", "short_name", mode="before")(_strip)


class OrgUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    level: str | None = None
    type: str | None = None
    region_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    parent: str | None = None
    uscc: str | None = None
    short_name: str | None = Field(default=None, max_length=60)
    sort_order: int | None = None

    _strip_all = field_validator("name", "parent", "uscc", "short_name", mode="before")(_strip)
