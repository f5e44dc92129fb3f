from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

ELEMENT_CODE_PATTERN = r"^DE\d{4}$"
CODESET_NAME_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _blank_to_none(value: str | None) -> str | None:
    value = _strip(value)
    return value or None


class ElementUpdate(BaseModel):
    """Fields left out keep their value; an optional field sent as null (or blank) is cleared."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    definition: str | None = Field(default=None, max_length=2000)
    data_type: str | None = Field(default=None, description="C N Y D T L M G B I F")
    length: int | None = Field(default=None, ge=1, le=100000)
    format: str | None = Field(default=None, max_length=40, description="如 YYYY-MM-DD")
    codeset: str | None = Field(default=None, description="代码集名称,如 gb2261_1_sex")
    rule: str | None = Field(default=None, max_length=300,
                             description="id_number credit_code region_code phone date email postcode 或 regex:<正则>")
    default_sensitivity: str | None = Field(default=None, description="L1 L2 L3 L4")
    is_identifier: bool | None = None

    _strip_name = field_validator("name", mode="before")(_strip)
    _blank = field_validator("definition", "data_type", "format", "codeset", "rule", "default_sensitivity",
                             mode="before")(_blank_to_none)


class ElementCreate(ElementUpdate):
    code: str = Field(pattern=ELEMENT_CODE_PATTERN, description="数据元编码,DE 加 4 位数字,创建后不可更改")
    name: str = Field(min_length=1, max_length=100)
    data_type: str = Field(description="C N Y D T L M G B I F")
    default_sensitivity: str = Field(default="L1", description="L1 L2 L3 L4")
    is_identifier: bool = False

    _strip_code = field_validator("code", mode="before")(_strip)


class CodeRow(BaseModel):
    code: str
    label: str
    parent_code: str | None = None
