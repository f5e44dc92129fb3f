from __future__ import annotations

import pytest
from stdnum.cn import ric

from govdata.errors import ValidationFailed
from govdata.standards import validators
from govdata.standards.validators import RULES, check_rule, validate_value

VALID_ID = "11010519491231002X"
VALID_USCC = "11450200MB15632086"


def _id_with_check_digit(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")  # stdnum takes the number with a check digit slot


@pytest.mark.parametrize(("rule", "value"), [
    ("id_number", VALID_ID),
    ("id_number", _id_with_check_digit("45020219900101123")),
    ("credit_code", VALID_USCC),
    ("region_code", "450202"),
    ("region_code", "450200"),
    ("phone", "13800138000"),
    ("phone", "19912345678"),
    ("phone", "0772-2825000"),
    ("phone", "07722825000"),
    ("phone", "010-12345678"),
    ("date", "2024-02-29"),
    ("date", "1900-01-01"),
    ("date", "2100-12-31"),
    ("email", "wj@liuzhou.gov.cn"),
    ("postcode", "545001"),
    ("regex:[A-Z]{2}\\d{4}", "AB1234"),
])
def test_valid_values_pass(rule, value):
    assert validate_value(rule, value) is None


@pytest.mark.parametrize(("rule", "value", "reason"), [
    ("id_number", VALID_ID[:-1] + "1", "校验位错误"),
    ("id_number", VALID_ID.lower(), "大写 X"),
    ("id_number", VALID_ID[:17], "17 位数字"),
    ("id_number", _id_with_check_digit("45020219901301123"), "出生日期"),  # 13th month
    ("credit_code", VALID_USCC[:-1] + "7", "校验位错误"),
    ("credit_code", "11450200MB1563208", "18 位"),
    ("credit_code", "11450200MB1563208I", "不含 I"),
    ("region_code", "450221", "已撤销(原为柳江县)"),
    ("region_code", "459999", "不存在"),
    ("region_code", "45020", "6 位数字"),
    ("phone", "12800138000", "手机号码"),
    ("phone", "1380013800", "手机号码"),
    ("phone", "138001380001", "手机号码"),
    ("phone", "0772-282", "固定电话"),
    ("date", "2023-02-29", "日期不存在"),
    ("date", "2024/01/01", "YYYY-MM-DD"),
    ("date", "1899-12-31", "1900-01-01"),
    ("date", "2024-1-1", "YYYY-MM-DD"),
    ("email", "wj@liuzhou", "电子邮箱"),
    ("email", "w j@liuzhou.gov.cn", "电子邮箱"),
    ("postcode", "54500", "6 位数字"),
    ("postcode", "54500a", "6 位数字"),
    ("regex:[A-Z]{2}\\d{4}", "AB12345", "[A-Z]{2}"),  # the whole value must match
])
def test_invalid_values_get_a_chinese_reason(rule, value, reason):
    result = validate_value(rule, value)
    assert result is not None and reason in result


def test_rules_are_a_fixed_set():
    assert set(RULES) == {"id_number", "credit_code", "region_code", "phone", "date", "email", "postcode"}
    assert check_rule("regex:^\\d+$") == "regex:^\\d+$"
    with pytest.raises(ValidationFailed) as info:
        validate_value("ssn", "1")
    assert info.value.code == "unknown_rule"
    with pytest.raises(ValidationFailed) as info:
        check_rule("regex:(")
    assert info.value.code == "invalid_regex"
    with pytest.raises(ValidationFailed) as info:
        check_rule("regex:")
    assert info.value.code == "invalid_regex"


def _id17_with_check(first17: str) -> str:
    from stdnum.cn import ric

    return first17 + ric.calc_check_digit(first17 + "0")


@pytest.mark.parametrize("birth_year", [1950, 1982, 1983, 1990, 2016, 2017, 2024])
@pytest.mark.parametrize("region", ["450202", "450206", "450221", "110101", "450299"])
def test_id_numbers_agree_with_python_stdnum_but_for_codes_created_after_the_birth(region, birth_year):
    """python-stdnum also demands that the address code existed in the birth year; the platform accepts a code
    created later (the number was issued later) but refuses one abolished before the birth."""
    from stdnum.cn import ric

    from govdata.standards.validators import _code_periods

    number = _id17_with_check(f"{region}{birth_year}0315123")
    ours = validators.check_id_number(number) is None
    periods = _code_periods(region)
    try:
        theirs = ric.is_valid(number)
    except KeyError:  # python-stdnum fails this way for a county code that never existed
        theirs = False
    if theirs:
        assert ours
    created_later = any(start and birth_year < start and (end is None or end >= birth_year)
                        for start, end in periods)
    assert ours == (theirs or created_later)
