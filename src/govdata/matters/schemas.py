"""Input of the register of service matters, shared by the API and the pages."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field, field_validator

CODE_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z-]{3,47}$"
PACKAGE_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _blank_to_none(value: str | None) -> str | None:
    value = _strip(value)
    return value or None


class MatterUpdate(BaseModel):
    """Fields left out keep their value; a date or package sent as null (or blank) is cleared.

    ``level`` and ``region_code`` are checked by the service (stable codes ``invalid_level``,
    ``invalid_region_code``), not here, so every caller gets the same errors."""

    name: str | None = Field(default=None, min_length=1, max_length=200, description="事项名称")
    org_code: str | None = Field(default=None, max_length=32, description="实施机构编码,如 450200-GA")
    level: str | None = Field(default=None, max_length=16, description="city | county | township,默认取实施机构的层级")
    region_code: str | None = Field(default=None, max_length=6, description="GB/T 2260 行政区划代码,默认取实施机构的")
    category: str | None = Field(default=None, max_length=24, description="事项类型,如 permit(行政许可)")
    online_since: date | None = Field(default=None, description="网上可办起始日期")
    fully_online_since: date | None = Field(default=None, description="全程网办起始日期,不早于网上可办日期")
    exempt: bool | None = Field(default=None, description="国家另有规定,不计入全程网办目标")
    trips_required: int | None = Field(default=None, ge=0, le=20, description="线下办理跑动次数")
    promised_days: int | None = Field(default=None, ge=0, le=365, description="承诺办结时限(工作日,0 为即办)")
    package_key: str | None = Field(default=None, pattern=PACKAGE_PATTERN, description="所属一件事,如 newborn")

    _strip_name = field_validator("name", mode="before")(_strip)
    _blank = field_validator("org_code", "level", "region_code", "category", "package_key",
                             mode="before")(_blank_to_none)


class MatterCreate(MatterUpdate):
    code: str = Field(pattern=CODE_PATTERN, description="事项实施编码,创建后不可更改")
    name: str = Field(min_length=1, max_length=200, description="事项名称")
    org_code: str = Field(min_length=1, max_length=32, description="实施机构编码,如 450200-GA")
    category: str = Field(min_length=1, max_length=24, description="事项类型,如 permit(行政许可)")
    exempt: bool = False
    trips_required: int = Field(default=1, ge=0, le=20)
    promised_days: int = Field(default=0, ge=0, le=365)

    _strip_code = field_validator("code", mode="before")(_strip)
