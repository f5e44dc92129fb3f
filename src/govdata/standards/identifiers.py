"""Validators for the identifiers the government lives on, through python-stdnum (never reimplemented)."""

from __future__ import annotations

from stdnum.cn import ric, uscc
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
)
from stdnum.exceptions import ValidationError as StdnumError

from govdata.errors import ValidationFailed

_REASONS = (
    (InvalidChecksum, "校验位错误"),
    (InvalidLength, "长度错误"),
    (InvalidFormat, "格式错误"),
    (InvalidComponent, "组成部分无效"),
)


def reason(exc: StdnumError) -> str:
    """A short Chinese reason for a python-stdnum failure (校验位错误, 长度错误, …)."""
    return next((text for kind, text in _REASONS if isinstance(exc, kind)), "无效")


def validate_uscc(value: str) -> str:
    """统一社会信用代码 (GB 32100-2015): 18 characters with a mod-31 check character."""
    try:
        return uscc.validate(value)
    except StdnumError as exc:
        raise ValidationFailed(f"统一社会信用代码无效:{value}({reason(exc)})", code="invalid_uscc") from exc


def validate_id_number(value: str) -> str:
    """公民身份号码 (GB 11643-1999): region, birth date, sequence and check digit."""
    try:
        return ric.validate(value)
    except StdnumError as exc:
        raise ValidationFailed(f"公民身份号码无效:{value}({reason(exc)})", code="invalid_id_number") from exc
