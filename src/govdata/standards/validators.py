"""Per-value validation rules (校验规则), the reference semantics for every check of a data element's values.

``validate_value(rule, value)`` answers None for a valid value or a Chinese reason. Values are checked as
stored: no trimming, no upper-casing, so a value that passes is also in its canonical form (and matches the
Table Schema pattern exported for it). Bulk checks may be vectorised elsewhere but must agree with these.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import lru_cache

from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidComponent
from stdnum.exceptions import ValidationError as StdnumError

from govdata.errors import ValidationFailed
from govdata.standards import identifiers, regions

REGEX_PREFIX = "regex:"
MAX_PATTERN = 200

# Structural patterns, also exported as Table Schema constraints. ASCII digits only ([0-9], not \d, which
# admits full-width and other Unicode digits). XML Schema style: implicitly anchored,
# so an alternation is grouped to survive tools that wrap it in ^…$.
ID_NUMBER_PATTERN = r"[0-9]{17}[0-9X]"
CREDIT_CODE_PATTERN = r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}"  # GB 32100 excludes I O Z S V
REGION_PATTERN = r"[0-9]{6}"
PHONE_PATTERN = r"(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}(-[0-9]{1,6})?)"  # mobile, or landline with area code
POSTCODE_PATTERN = r"[0-9]{6}"
EMAIL_PATTERN = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+"
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
EARLIEST, LATEST = date(1900, 1, 1), date(2100, 12, 31)


def _stdnum(module, value: str) -> str | None:
    try:
        module.validate(value)
    except InvalidComponent:
        return "的组成部分无效(出生日期、地址码或登记管理部门代码不存在)"
    except StdnumError as exc:
        return identifiers.reason(exc)
    return None


@lru_cache(maxsize=8192)
def _code_periods(region: str) -> tuple[tuple[int | None, int | None], ...]:
    """The periods in which a GB/T 2260 county code was in use, from python-stdnum's division history."""
    from stdnum import numdb

    info = {k: v for _part, props in numdb.get("cn/loc").info(region) for k, v in props.items()}
    periods = []
    for name in (info.get("county") or "").split(",") if info.get("county") else []:
        m = re.match(r"^\[(\d{4})?-(\d{4})?\]", name)
        periods.append((int(m[1]) if m and m[1] else None, int(m[2]) if m and m[2] else None))
    return tuple(periods)


def birthplace_valid(region: str, year: int) -> bool:
    """地址码: the code exists in GB/T 2260's history and was not abolished before the birth year.

    python-stdnum also requires that the code existed *in* the birth year. That rejects everyone born before
    their county's current code was created (城中区 450202 dates from 1983), whose ID number — first issued in
    1984 or later — rightly carries it; so that one condition is relaxed here (docs/decisions.md)."""
    return any(end is None or end >= year for _start, end in _code_periods(region))


def check_id_number(value: str) -> str | None:
    """公民身份号码 (GB 11643): format, check digit (python-stdnum), birth date, and address code."""
    if not re.fullmatch(ID_NUMBER_PATTERN, value):
        return "公民身份号码应为 17 位数字加 1 位校验码(0-9 或大写 X)"
    if value[-1] != ric.calc_check_digit(value):
        return "公民身份号码校验位错误"
    try:
        born = ric.get_birth_date(value)
    except StdnumError:
        return "公民身份号码中的出生日期不存在"
    if not birthplace_valid(value[:6], born.year):
        return "公民身份号码中的地址码不存在或在出生前已撤销"
    return None


def check_credit_code(value: str) -> str | None:
    """统一社会信用代码 (GB 32100): 18 characters with a mod-31 check character, through python-stdnum."""
    if not re.fullmatch(CREDIT_CODE_PATTERN, value):
        return "统一社会信用代码应为 18 位数字或大写字母(不含 I、O、Z、S、V)"
    reason = _stdnum(uscc, value)
    return f"统一社会信用代码{reason}" if reason else None


def check_region_code(value: str) -> str | None:
    if not re.fullmatch(REGION_PATTERN, value):
        return "行政区划代码应为 6 位数字"
    division = regions.lookup(value)
    if division is None:
        return "行政区划代码不存在"
    return None if division.current else f"行政区划代码已撤销(原为{division.name})"


def check_phone(value: str) -> str | None:
    if re.fullmatch(PHONE_PATTERN, value):
        return None
    return "电话号码应为 11 位手机号码(1 开头)或带区号的固定电话(如 0772-2825000)"


def check_date(value: str) -> str | None:
    if not re.fullmatch(DATE_PATTERN, value):
        return "日期格式应为 YYYY-MM-DD"
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return "日期不存在"
    if not EARLIEST <= day <= LATEST:
        return "日期应在 1900-01-01 至 2100-12-31 之间"
    return None


def check_email(value: str) -> str | None:
    if len(value) <= 254 and re.fullmatch(EMAIL_PATTERN, value):
        return None
    return "电子邮箱格式无效"


def check_postcode(value: str) -> str | None:
    return None if re.fullmatch(POSTCODE_PATTERN, value) else "邮政编码应为 6 位数字"


RULES: dict[str, Callable[[str], str | None]] = {
    "id_number": check_id_number,
    "credit_code": check_credit_code,
    "region_code": check_region_code,
    "phone": check_phone,
    "date": check_date,
    "email": check_email,
    "postcode": check_postcode,
}

# The structural pattern of each rule, for Table Schema export ("date" is expressed by the field type instead).
PATTERNS = {"id_number": ID_NUMBER_PATTERN, "credit_code": CREDIT_CODE_PATTERN, "region_code": REGION_PATTERN,
            "phone": PHONE_PATTERN, "postcode": POSTCODE_PATTERN}


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def check_rule(rule: str) -> str:
    """The rule itself must be known: a name in RULES or ``regex:<pattern>`` that compiles."""
    if rule in RULES:
        return rule
    if not rule.startswith(REGEX_PREFIX):
        raise ValidationFailed(f"未知的校验规则:{rule}(可用 {'、'.join(RULES)} 或 regex:<正则表达式>)",
                               code="unknown_rule")
    pattern = rule[len(REGEX_PREFIX):]
    if not pattern or len(pattern) > MAX_PATTERN:
        raise ValidationFailed(f"正则表达式应为 1 至 {MAX_PATTERN} 个字符", code="invalid_regex")
    try:
        _compiled(pattern)
    except re.error as exc:
        raise ValidationFailed(f"正则表达式无法编译:{pattern}({exc})", code="invalid_regex") from exc
    return rule


def validate_value(rule: str, value: str) -> str | None:
    """None when ``value`` satisfies ``rule``, else a Chinese reason. An unknown rule raises ValidationFailed."""
    check = RULES.get(rule)
    if check is not None:
        return check(value)
    check_rule(rule)
    pattern = rule[len(REGEX_PREFIX):]
    return None if _compiled(pattern).fullmatch(value) else f"不符合格式要求 {pattern}"
