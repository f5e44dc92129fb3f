from __future__ import annotations

import pytest

from govdata.errors import ValidationFailed
from govdata.standards import identifiers, regions


def test_liuzhou_divisions_are_current_with_their_names():
    expected = {"450202": "城中区", "450203": "鱼峰区", "450204": "柳南区", "450205": "柳北区", "450206": "柳江区",
                "450222": "柳城县", "450223": "鹿寨县", "450224": "融安县", "450225": "融水苗族自治县",
                "450226": "三江侗族自治县"}
    assert {d.code: d.name for d in regions.children("450200")} == expected
    assert regions.lookup("450200").name == "柳州市" and regions.lookup("450200").level == "prefecture"
    assert regions.lookup("450000").level == "province"


def test_abolished_and_unknown_codes_are_not_current():
    assert regions.lookup("450221").name == "柳江县" and not regions.is_current("450221")
    assert not regions.is_current("459999")


def test_credit_code_validation_uses_the_check_character():
    assert identifiers.validate_uscc("11450200MB15632086") == "11450200MB15632086"
    with pytest.raises(ValidationFailed) as info:
        identifiers.validate_uscc("11450200MB15632087")
    assert info.value.code == "invalid_uscc" and "校验位错误" in info.value.message


def test_id_number_validation():
    with pytest.raises(ValidationFailed) as info:
        identifiers.validate_id_number("450202199001011230")
    assert info.value.code == "invalid_id_number"
