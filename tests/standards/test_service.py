from __future__ import annotations

import pytest
from sqlalchemy import select

from govdata.actionlog.models import ActionLogEntry
from govdata.errors import Conflict, Forbidden, NotFound, ValidationFailed
from govdata.principal import CLI
from govdata.standards import enums, service
from govdata.standards.models import CodeValue
from govdata.standards.schemas import ElementCreate, ElementUpdate
from tests.factories import liuzhou, principal_of

REQUIRED_ELEMENTS = {"DE0001": "姓名", "DE0002": "公民身份号码", "DE0003": "性别", "DE0004": "出生日期",
                     "DE0005": "行政区划代码", "DE0006": "统一社会信用代码", "DE0007": "手机号码", "DE0008": "地址",
                     "DE0009": "民族", "DE0010": "国籍", "DE0011": "与户主关系", "DE0012": "学历", "DE0013": "单位名称",
                     "DE0014": "法定代表人", "DE0015": "日期", "DE0016": "金额", "DE0017": "电子邮箱",
                     "DE0018": "邮政编码", "DE0019": "证照编号", "DE0020": "婚姻状况"}


@pytest.fixture
def loaded(db):
    service.load_shipped(db)
    return db


def values_of(db, name: str) -> dict[str, str]:
    return {v["code"]: v["label"] for v in service.codeset_detail(db, name)["values"]}


def parents_of(db, name: str) -> dict[str, str | None]:
    return {v["code"]: v["parent_code"] for v in service.codeset_detail(db, name)["values"]}


def test_sex_and_marital_status_codes(loaded):
    assert values_of(loaded, "gb2261_1_sex") == {"0": "未知的性别", "1": "男性", "2": "女性", "9": "未说明的性别"}
    marital = values_of(loaded, "gb2261_2_marital")
    assert marital["10"] == "未婚" and marital["20"] == "已婚" and marital["40"] == "离婚"
    assert parents_of(loaded, "gb2261_2_marital")["21"] == "20"


def test_ethnic_groups_are_the_56_with_their_codes(loaded):
    ethnic = values_of(loaded, "gb3304_ethnic")
    groups = {code: name for code, name in ethnic.items() if int(code) <= 56}
    assert len(groups) == 56 and set(groups) == {f"{i:02d}" for i in range(1, 57)}
    assert all(name.endswith("族") for name in groups.values())
    assert ethnic["01"] == "汉族" and ethnic["08"] == "壮族" and ethnic["12"] == "侗族" and ethnic["06"] == "苗族"
    assert ethnic["56"] == "基诺族" and ethnic["97"] == "其他未识别民族" and ethnic["98"] == "外国血统中国籍人士"
    assert len(ethnic) == 58


def test_countries_come_from_iso_3166_with_chinese_names(loaded):
    countries = values_of(loaded, "gb2659_country")
    assert countries["CHN"] == "中国" and countries["USA"] == "美国" and countries["VNM"] == "越南"
    assert countries["HKG"] == "中国香港" and countries["MAC"] == "中国澳门" and countries["TWN"] == "中国台湾"
    assert len(countries) >= 249 and all(len(code) == 3 and code.isupper() for code in countries)


def test_regions_are_current_gb2260_codes_with_their_parents(loaded):
    regions = values_of(loaded, "gb2260_region")
    parents = parents_of(loaded, "gb2260_region")
    assert regions["450202"] == "城中区" and parents["450202"] == "450200"
    assert regions["450200"] == "柳州市" and parents["450200"] == "450000"
    assert regions["450000"] == "广西壮族自治区" and parents["450000"] is None
    assert regions["450206"] == "柳江区"
    assert "450221" not in regions  # 柳江县, abolished in 2016
    children = service.codeset_detail(loaded, "gb2260_region", parent="450200")["values"]
    assert {"城中区", "鱼峰区", "三江侗族自治县"} <= {v["label"] for v in children}


def test_family_relation_and_education_codes(loaded):
    family = values_of(loaded, "gb4761_family_relation")
    assert family["01"] == "本人" and family["02"] == "户主" and family["10"] == "配偶"
    assert family["11"] == "夫" and family["12"] == "妻" and family["51"] == "父亲" and family["52"] == "母亲"
    assert parents_of(loaded, "gb4761_family_relation")["11"] == "10"
    education = values_of(loaded, "gb4658_education")
    assert education["10"] == "研究生教育" and education["11"] == "博士研究生毕业"
    assert education["14"] == "硕士研究生毕业" and education["21"] == "大学本科毕业" and education["90"] == "其他"


def test_catalog_code_sets_are_generated_from_the_enums(loaded):
    assert values_of(loaded, "catalog_share_type") == enums.SHARE_TYPES
    for name, (title, values) in enums.CODESETS.items():
        detail = service.codeset_detail(loaded, name)
        assert detail["title"] == title
        assert [(v["code"], v["label"]) for v in detail["values"]] == list(values.items())  # in display order
    assert list(enums.DATA_TYPES) == list("CNYDTLMGBIF")


def test_shipped_elements_have_the_agreed_codes_and_are_consistent(loaded):
    elements = {e.code: e for e in service.list_elements(loaded)}
    assert {code: elements[code].name for code in REQUIRED_ELEMENTS} == REQUIRED_ELEMENTS
    assert len(elements) >= 30
    assert elements["DE0002"].rule == "id_number" and elements["DE0002"].length == 18
    assert elements["DE0003"].codeset == "gb2261_1_sex"
    assert elements["DE0005"].codeset == "gb2260_region" and elements["DE0005"].rule == "region_code"
    for code in ("DE0001", "DE0002", "DE0007", "DE0008"):
        assert elements[code].default_sensitivity == "L3"
    assert elements["DE0001"].is_identifier and elements["DE0002"].is_identifier
    for element in elements.values():  # every shipped element would pass an administrator's checks
        service._check_element(loaded, {k: getattr(element, k) for k in service.ELEMENT_FIELDS})


def test_load_is_idempotent_and_logged_once(loaded):
    first = {c["name"]: c["value_count"] for c in service.list_codesets(loaded)}
    assert service.load_shipped(loaded) == {"codesets": 0, "elements": 0}
    assert {c["name"]: c["value_count"] for c in service.list_codesets(loaded)} == first
    assert len(first) == 14
    actions = loaded.scalars(select(ActionLogEntry.action)).all()
    assert actions == ["standards.load"]


def test_load_repairs_a_shipped_code_set(loaded):
    codeset = service.get_codeset(loaded, "gb2261_1_sex")
    values = {v.code: v for v in service.codeset_values(loaded, codeset)[1]}
    values["1"].label = "男"
    loaded.delete(values["9"])
    loaded.add(CodeValue(codeset_id=codeset.id, code="5", label="多余"))
    loaded.commit()
    assert service.load_shipped(loaded)["codesets"] == 1
    assert values_of(loaded, "gb2261_1_sex") == {"0": "未知的性别", "1": "男性", "2": "女性", "9": "未说明的性别"}


def test_an_administrators_change_survives_a_reload(loaded):
    service.update_element(loaded, CLI, "DE0008", ElementUpdate(length=300))
    rows = [{"code": "1", "label": "男"}, {"code": "2", "label": "女"}]
    service.import_codeset(loaded, CLI, "gb2261_1_sex", rows=rows)
    service.load_shipped(loaded)
    assert service.get_element(loaded, "DE0008").length == 300
    assert values_of(loaded, "gb2261_1_sex") == {"1": "男", "2": "女"}
    assert not service.get_codeset(loaded, "gb2261_1_sex").shipped


def test_create_and_update_elements_are_logged(loaded):
    liuzhou(loaded)
    admin = principal_of(loaded, "admin")
    element = service.create_element(loaded, admin, ElementCreate(
        code="DE0100", name="社会保障卡号", data_type="C", length=20, rule=r"regex:[A-Z0-9]{9,20}",
        default_sensitivity="L3", is_identifier=True))
    assert element.code == "DE0100" and not element.shipped
    service.update_element(loaded, admin, "DE0100", ElementUpdate(length=30, rule=None))
    changed = service.get_element(loaded, "DE0100")
    assert changed.length == 30 and changed.rule is None and changed.name == "社会保障卡号"
    entries = loaded.scalars(select(ActionLogEntry).where(ActionLogEntry.target_id == "DE0100")
                             .order_by(ActionLogEntry.id)).all()
    assert [(e.action, e.actor_name) for e in entries] == [("element.create", "admin"), ("element.update", "admin")]
    assert entries[1].before == {"code": "DE0100", "length": 20, "rule": r"regex:[A-Z0-9]{9,20}"}
    assert entries[1].after == {"code": "DE0100", "length": 30, "rule": None}


@pytest.mark.parametrize(("fields", "code"), [
    ({"data_type": "X"}, "invalid_data_type"),
    ({"codeset": "no_such_set"}, "unknown_codeset"),
    ({"rule": "ssn"}, "unknown_rule"),
    ({"rule": "regex:([a-z"}, "invalid_regex"),
    ({"default_sensitivity": "L5"}, "invalid_sensitivity"),
])
def test_element_checks(loaded, fields, code):
    data = ElementCreate(**{"code": "DE0101", "name": "测试", "data_type": "C", **fields})
    with pytest.raises(ValidationFailed) as info:
        service.create_element(loaded, CLI, data)
    assert info.value.code == code
    assert service.find_element(loaded, "DE0101") is None


def test_element_code_is_unique_and_well_formed(loaded):
    with pytest.raises(Conflict) as info:
        service.create_element(loaded, CLI, ElementCreate(code="DE0001", name="姓名", data_type="C"))
    assert info.value.code == "data_element_exists"
    with pytest.raises(ValueError, match="DE"):
        ElementCreate(code="E0001", name="x", data_type="C")


def test_only_the_bureau_changes_standards(loaded):
    liuzhou(loaded)
    dept_admin = principal_of(loaded, "ga_admin")
    with pytest.raises(Forbidden):
        service.create_element(loaded, dept_admin, ElementCreate(code="DE0102", name="x", data_type="C"))
    with pytest.raises(Forbidden):
        service.update_element(loaded, dept_admin, "DE0001", ElementUpdate(length=60))
    with pytest.raises(Forbidden):
        service.import_codeset(loaded, dept_admin, "local_x", "本地", rows=[{"code": "1", "label": "一"}])


def test_lookups(loaded):
    assert [e.code for e in service.list_elements(loaded, q="身份")] == ["DE0002"]
    with pytest.raises(NotFound) as info:
        service.get_element(loaded, "DE9999")
    assert info.value.code == "data_element_not_found"
    with pytest.raises(NotFound) as info:
        service.get_codeset(loaded, "gb0000")
    assert info.value.code == "codeset_not_found"


def test_saving_an_element_unchanged_changes_nothing(loaded):
    service.update_element(loaded, CLI, "DE0001", ElementUpdate(name="姓名", length=50))
    assert service.get_element(loaded, "DE0001").shipped  # still maintained by the platform
    assert loaded.scalars(select(ActionLogEntry.action)).all() == ["standards.load"]
