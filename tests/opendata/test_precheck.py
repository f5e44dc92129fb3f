"""The pre-open check (开放前检查): detection of direct identifiers, treatments, k-anonymity and the report."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

import polars as pl
import pytest
from stdnum.cn import ric, uscc

from govdata.opendata import precheck
from govdata.opendata.precheck import Finding, apply, detect, k_anonymity, run

TODAY = date(2025, 6, 1)
SALT = "test-salt"


def id_number(birth: str = "19900101", seq: int = 123, region: str = "450202") -> str:
    body = f"{region}{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def credit_code(n: int) -> str:
    body = f"91450200MA5K{n:05d}"
    return body + uscc.calc_check_digit(body)


def item(key: str, name: str, data_element: str | None = None, data_type: str = "C") -> dict:
    return {"key": key, "name": name, "data_type": data_type, "data_element": data_element, "sensitivity": "L1",
            "identifies": False}


def kinds(findings: list[Finding]) -> dict[str, str]:
    return {f.key: f.kind for f in findings}


def treated(values: list, treatment: str, dtype: pl.DataType = pl.String) -> list:
    frame = pl.DataFrame({"v": values}, schema={"v": dtype})
    return apply(frame, {"v": treatment}, salt=SALT, today=TODAY).collect()["v"].to_list()


# -- detection ---------------------------------------------------------------------------------------------------

def test_detects_by_data_element_whatever_the_name() -> None:
    items = [item("a", "号码一", "DE0002"), item("b", "甲", "DE0001"), item("c", "乙", "DE0007"),
             item("d", "丙", "DE0017"), item("e", "丁", "DE0014"), item("f", "戊", "DE0031"), item("g", "己", "DE0003")]
    frame = pl.DataFrame({i["key"]: ["x"] for i in items})
    findings = detect(items, frame)
    assert kinds(findings) == {"a": "id_number", "b": "name", "c": "phone", "d": "email", "e": "name", "f": "phone"}
    assert findings[0].reason == "信息项绑定数据元 DE0002“公民身份号码”"
    assert findings[0].name == "号码一"


@pytest.mark.parametrize(("name", "kind"), [
    ("身份证号", "id_number"), ("证件号码", "id_number"), ("申请人公民身份号码", "id_number"),
    ("申请人姓名", "name"), ("法定代表人", "name"), ("项目负责人", "name"), ("联系人", "name"),
    ("联系人电话", "phone"), ("手机", "phone"), ("联系方式", "phone"),
    ("家庭住址", "address"), ("通讯地址", "address"), ("住所", "address"), ("居住地", "address"),
    ("电子邮箱", "email"), ("电子邮件地址", "email"),
    ("企业名称", None), ("单位名称", None), ("机构名称", None), ("统一社会信用代码", None), ("法人单位名称", None),
    ("下载地址", None), ("咨询电话", None), ("办公电话", None), ("性别", None), ("户籍地行政区划代码", None),
    ("身份证件类型", None), ("法定代表人证件类型", None), ("法定代表人证件号码", "id_number"),
    # a person in a role, when the item's name ends with the role
    ("申请人", "name"), ("经营者", "name"), ("户主", "name"), ("患者", "name"), ("当事人", "name"),
    ("持证人", "name"), ("监护人", "name"), ("机动车驾驶人", "name"), ("承租人", "name"), ("买受人", "name"),
    ("委托代理人(个人)", "name"),
    ("与户主关系", None), ("申请人性别", None), ("申请人类型", None), ("患者年龄", None), ("当事人人数", None),
    ("申请事项", None), ("经营者名称", None),  # 名称: an enterprise or a person, the values decide
])
def test_detects_by_item_name(name: str, kind: str | None) -> None:
    frame = pl.DataFrame({"col": ["值"]})
    findings = detect([item("col", name)], frame)
    assert kinds(findings) == ({"col": kind} if kind else {})
    if kind:
        assert findings[0].reason.startswith("信息项名称含“")


def test_detects_by_values_when_most_sampled_values_match() -> None:
    ids = [id_number(f"19{70 + i}0102", i) for i in range(9)] + [None, ""]
    frame = pl.DataFrame({
        "f1": ids,
        "f2": [f"1391234{i:04d}" for i in range(10)] + ["不详"],
        "f3": [f"user{i}@example.com" for i in range(11)],
        "f4": [13912345678 + i for i in range(11)],  # numbers kept as integers
    })
    items = [item(k, f"字段{k}") for k in frame.columns]
    findings = {f.key: f for f in detect(items, frame)}
    assert {k: f.kind for k, f in findings.items()} == {"f1": "id_number", "f2": "phone", "f3": "email", "f4": "phone"}
    assert findings["f1"].reason == "抽样 11 行的非空值中 100% 为有效身份证号码"
    assert findings["f2"].reason == "抽样 11 行的非空值中 90% 为手机号码"


def test_no_false_positives_for_enterprises_and_stray_values() -> None:
    valid_id = id_number()
    wrong_check = valid_id[:-1] + ("0" if valid_id[-1] != "0" else "1")
    frame = pl.DataFrame({
        "company": [f"柳州市龙城{i}号汽车零部件有限公司" for i in range(10)],
        "credit": [credit_code(i) for i in range(10)],
        "remark": ["已办结", "13912345678", "待补正", "联系 13800001111", "已办结", "已办结", "退回",
                   "13700002222", "已办结", "已办结"],
        "numbers": [wrong_check] * 10,  # 18 digits with a wrong check digit are no ID numbers
    })
    items = [item("company", "企业名称", "DE0013"), item("credit", "统一社会信用代码", "DE0006"),
             item("remark", "备注"), item("numbers", "流水号")]
    assert detect(items, frame) == []


PERSONS = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨秀英", "黄磊", "赵敏", "吴军", "周杰", "欧阳娜娜", "司马光明",
           "诸葛亮", "上官婉儿", "覃丽萍", "韦国强", "莫小贝", "蒙东强", "农彬瑞", "甘桂"]
COMPANIES = [f"柳州市龙城{i}号汽车零部件有限公司" for i in range(10)] + [
    "柳州市工人医院", "张记螺蛳粉店", "王氏五金厂", "李宁体育用品专卖店", "柳州市城中区市场监督管理局", "黄村小学校",
    "高新区管委会", "陈氏宗亲会", "周庄供销合作社", "刘家饭店"]
# Short ones that start with a surname, as most of these places and many of these diseases do: only their
# endings tell them from a person's name.
SHORT_COMPANIES = ["张记饭店", "刘家饭店", "周记粉店", "马氏诊所", "孙记超市", "金龙公司", "万达广场", "林业局",
                   "高新药房", "陈氏祠堂", "龙城中学", "黄村小学", "杨柳宾馆", "何记商行", "朱家餐厅", "吴氏药店",
                   "郑州大学", "罗城医院", "谢家酒店", "韩城站"]
PLACES = ["张家界", "王府井", "周庄", "黄山市", "高新区", "马山县", "林口县", "石门村", "何家湾", "李家庄",
          "江州区", "钟山县", "龙胜县", "方山乡", "田阳区", "金城江区", "杨家坪", "罗城县", "梁家巷", "白沙镇"]
DISEASES = ["白喉", "黄疸", "黄热病", "白血病", "马尔堡病", "石骨症", "高原病", "毛囊炎", "贾第虫病", "麻疹",
            "水痘", "霍乱", "梅毒", "鼠疫", "伤寒", "疟疾"]
# Words of a category that start with a surname, repeated: fewer than 10 different ones
CATEGORIES = [["许可", "备案"] * 10, ["高中", "高中", "高中", "本科", "大专"] * 4,
              [f"周{d}" for d in "一二三四五六日"] * 3, ["黄色", "白色", "金色", "蓝色"] * 5]


def test_detects_person_names_by_values() -> None:
    frame = pl.DataFrame({"who": PERSONS, "other": [*PERSONS[:9], *COMPANIES[:11]], "few": PERSONS[:8] + [""] * 12})
    findings = {f.key: f for f in detect([item("who", "字段一"), item("other", "字段二"), item("few", "备注")], frame)}
    assert {k: f.kind for k, f in findings.items()} == {"who": "name", "few": "name"}  # 9 of 20 is not most
    assert findings["who"].reason == "抽样 20 行的非空值中 100% 为人名"
    assert findings["few"].reason == "抽样 20 行的非空值中 100% 为人名"  # the empty values do not count


@pytest.mark.parametrize("values", [SHORT_COMPANIES, PLACES, DISEASES, *CATEGORIES])
def test_no_person_names_in_organisations_places_diseases_or_categories(values: list[str]) -> None:
    starts_with_a_surname = pl.Series(values).str.contains(precheck._PERSON_NAME).mean()
    assert starts_with_a_surname >= precheck.MATCH_SHARE  # a rule on the surname alone would take them for names
    assert detect([item("v", "字段")], pl.DataFrame({"v": values})) == []


INDUSTRIES = ["汽车制造", "电子", "服装", "食品", "建材", "物流", "餐饮", "教育", "医疗", "旅游", "农业", "软件",
              "零售", "批发", "印刷", "造纸", "化工", "纺织", "仓储", "邮政"]  # 2–4 characters, no surname first


@pytest.mark.parametrize("values", [COMPANIES, INDUSTRIES, ["男", "女"] * 10, [f"张{i}" for i in range(20)],
                                    ["Zhang Wei"] * 20])
def test_no_person_names_in_other_text(values: list[str]) -> None:
    assert detect([item("v", "字段")], pl.DataFrame({"v": values})) == []


def test_a_role_is_a_person_unless_the_values_are_organisations() -> None:
    frame = pl.DataFrame({"applicant": COMPANIES, "patient": PERSONS, "empty": [None] * 20})
    items = [item("applicant", "申请人"), item("patient", "患者"), item("empty", "监护人")]
    findings = {f.key: f for f in detect(items, frame)}
    assert {k: f.kind for k, f in findings.items()} == {"patient": "name", "empty": "name"}
    assert findings["patient"].reason == "信息项名称含“患者”"


def test_an_enterprise_or_person_role_is_a_name_when_some_values_are_persons() -> None:
    # 食品经营许可证信息: 经营者名称 bound to 企业名称 (DE0013) — enterprises in the demo, individual traders elsewhere
    mixed = [*COMPANIES[:16], *PERSONS[:4]]  # one in five is a person
    frame = pl.DataFrame({"uscc": [credit_code(i) for i in range(20)], "operator": mixed, "party": COMPANIES})
    items = [item("uscc", "统一社会信用代码", "DE0006"), item("operator", "经营者名称", "DE0013"),
             item("party", "当事人名称")]
    (finding,) = detect(items, frame)
    assert (finding.key, finding.kind) == ("operator", "name")
    assert finding.reason == "信息项名称含“经营者”,抽样 20 行的非空值中 20% 为人名"
    companies_only = frame.with_columns(operator=pl.Series(COMPANIES))
    assert detect(items, companies_only) == []
    # a bare role bound to the organisation-name element is decided the same way
    assert detect([item("operator", "经营者", "DE0013")], companies_only) == []


def test_entity_addresses_are_not_personal_but_legal_representatives_are() -> None:
    frame = pl.DataFrame({"uscc": [credit_code(1)], "company": ["柳州市某有限公司"], "legal": ["张三"],
                          "address": ["柳州市城中区文昌路1号"], "phone": ["0772-2812110"]})
    items = [item("uscc", "统一社会信用代码", "DE0006"), item("company", "企业名称", "DE0013"),
             item("legal", "法定代表人", "DE0014"), item("address", "住所", "DE0008"),
             item("phone", "联系电话", "DE0031")]
    assert kinds(detect(items, frame)) == {"legal": "name"}
    # the same address item in a dataset about people is a personal address
    people = frame.with_columns(id_number=pl.lit(id_number()))
    found = kinds(detect([*items, item("id_number", "公民身份号码", "DE0002")], people))
    assert found == {"legal": "name", "address": "address", "phone": "phone", "id_number": "id_number"}
    # a school's address is the school's, even with a personal data element
    assert detect([item("address", "学校地址", "DE0008")], pl.DataFrame({"address": ["柳州市城中区"]})) == []


def test_mobile_numbers_flag_an_entity_phone_column() -> None:
    frame = pl.DataFrame({"uscc": [credit_code(i) for i in range(4)], "phone": [f"1380000{i:04d}" for i in range(4)]})
    items = [item("uscc", "统一社会信用代码", "DE0006"), item("phone", "联系电话", "DE0031")]
    assert kinds(detect(items, frame)) == {"phone": "phone"}


def test_detection_looks_at_a_sample_only() -> None:
    frame = pl.DataFrame({"v": [f"1391234{i % 10000:04d}" for i in range(5000)]})
    (finding,) = detect([], frame, sample_rows=2000)
    assert (finding.key, finding.name, finding.kind) == ("v", "v", "phone")
    assert finding.reason == "抽样 2,000 行的非空值中 100% 为手机号码"


# -- treatments --------------------------------------------------------------------------------------------------

def test_mask_keeps_a_little_at_both_ends_and_only_the_area_of_an_id_number() -> None:
    valid = id_number("19850312", 123)
    assert treated([valid, "13812345678", "张三", "张小明", "欧阳娜娜", "zhang.san@example.com", "0772-2812110",
                    "张", "", None], "mask") == [
        f"{valid[:6]}************", "138****5678", "张*", "张**", "欧***", "z***@example.com", "077*****2110",
        "*", "", None]


def test_year_from_dates_text_and_id_numbers() -> None:
    assert treated([id_number("19850312"), "1990-07-01", "2001/2/3", "19991231", "2024年3月5日", "张三",
                    id_number("19850312")[:-1] + "Z", "19851332", "450202198513321234", None], "year") == [
        "1985", "1990", "2001", "1999", "2024", None, None, None, None, None]
    assert treated([date(1975, 5, 6), None], "year", pl.Date) == ["1975", None]
    assert treated([datetime(1975, 5, 6, 8, 30), None], "year", pl.Datetime) == ["1975", None]


def test_id_number_with_wrong_check_digit_or_unknown_area_generalises_to_null() -> None:
    valid = id_number("19850312", 7)
    wrong = valid[:-1] + ("1" if valid[-1] != "1" else "2")
    unknown_area = id_number("19850312", 7, region="990101")
    assert treated([valid, wrong, unknown_area, valid.lower()], "region") == ["450202", None, None, "450202"]
    assert treated([wrong, unknown_area], "age_band") == [None, None]


def test_region_from_id_numbers_and_addresses() -> None:
    assert treated([
        id_number(region="450205"),
        "广西壮族自治区柳州市城中区某路12号",
        "柳州市柳江区拉堡镇柳堡路5号",
        "广西壮族自治区柳州市柳城县大埔镇民主路3号",
        "融水苗族自治县融水镇寿星路8号",
        "北京市朝阳区建国路1号",
        "文昌路1号",
        "123456",
        None,
    ], "region") == ["450205", "广西壮族自治区柳州市城中区", "柳州市柳江区", "广西壮族自治区柳州市柳城县",
                     "融水苗族自治县", "北京市朝阳区", None, None, None]


def test_age_band_at_the_reference_date() -> None:
    assert treated([id_number("19950601"), id_number("19950602"), "1995-06-02", "2025-05-31", "1930-01-01",
                    "2030-01-01", "不详", None], "age_band") == [
        "30-39岁", "20-29岁", "20-29岁", "0-9岁", "90岁及以上", None, None, None]
    assert treated([datetime(1985, 6, 1), datetime(1985, 6, 2, 12)], "age_band", pl.Datetime) == ["40-49岁", "30-39岁"]
    assert treated([date(1985, 6, 1), None], "age_band", pl.Date) == ["40-49岁", None]


def test_hash_is_salted_sha256_and_stable_within_a_dataset() -> None:
    codes = treated(["张三", "张三", "李四", None], "hash")
    assert codes[0] == hashlib.sha256(f"{SALT}张三".encode()).hexdigest()[:16]
    assert codes[0] == codes[1] != codes[2]
    assert codes[3] is None
    other = apply(pl.DataFrame({"v": ["张三"]}), {"v": "hash"}, salt="other", today=TODAY).collect()["v"][0]
    assert other != codes[0]
    assert treated([42], "hash", pl.Int64) == [hashlib.sha256(f"{SALT}42".encode()).hexdigest()[:16]]


def test_apply_is_lazy_removes_keeps_and_sinks_to_parquet(tmp_path) -> None:
    frame = pl.DataFrame({"name": ["张三", "李四"], "sex": ["1", "2"], "phone": ["13812345678", None],
                          "note": ["甲", "乙"]})
    lazy = apply(frame.lazy(), {"name": "remove", "sex": "keep", "phone": "mask"}, salt=SALT, today=TODAY)
    assert isinstance(lazy, pl.LazyFrame)
    path = tmp_path / "open.parquet"
    lazy.sink_parquet(path)
    assert pl.read_parquet(path).to_dicts() == [{"sex": "1", "phone": "138****5678", "note": "甲"},
                                                {"sex": "2", "phone": None, "note": "乙"}]


def test_apply_refuses_unknown_treatments_and_columns() -> None:
    frame = pl.DataFrame({"a": ["x"]})
    with pytest.raises(ValueError, match="未定义的处理方式"):
        apply(frame, {"a": "encrypt"}, salt=SALT, today=TODAY)
    with pytest.raises(ValueError, match="数据中没有列"):
        apply(frame, {"b": "remove"}, salt=SALT, today=TODAY)


def test_treatment_labels_are_chinese() -> None:
    assert precheck.TREATMENTS["keep"] == "原样开放"
    assert precheck.TREATMENTS["region"] == "仅保留区县"
    assert set(precheck.IDENTIFIER_KINDS) == {"id_number", "name", "phone", "address", "email"}


# -- k-anonymity -------------------------------------------------------------------------------------------------

SMALL = pl.DataFrame({
    "sex": ["1", "1", "1", "2", "2", "2", "2", "1", None, None],
    "band": ["30-39岁"] * 3 + ["40-49岁"] * 4 + ["50-59岁", "30-39岁", "30-39岁"],
})


def test_k_anonymity_counts_classes_with_nulls_as_a_value() -> None:
    result = k_anonymity(SMALL, ["sex", "band"], 3)
    assert result == {"k": 1, "classes": 4, "classes_below": 2, "rows_below": 3,
                      "examples": [{"sex": "1", "band": "50-59岁", "count": 1},
                                   {"sex": None, "band": "30-39岁", "count": 2}]}
    assert k_anonymity(SMALL.lazy(), ["sex"], 2) == {"k": 2, "classes": 3, "classes_below": 0, "rows_below": 0,
                                                    "examples": []}
    assert k_anonymity(SMALL, ["sex"], 5)["classes_below"] == 3


def test_k_anonymity_without_quasi_identifiers_or_rows_and_threshold_floor() -> None:
    empty = {"k": None, "classes": 0, "classes_below": 0, "rows_below": 0, "examples": []}
    assert k_anonymity(SMALL, [], 5) == empty
    assert k_anonymity(SMALL.clear(), ["sex"], 5) == empty
    with pytest.raises(ValueError):
        k_anonymity(SMALL, ["sex"], 1)


# -- the report --------------------------------------------------------------------------------------------------

PEOPLE_ITEMS = [item("id_number", "公民身份号码", "DE0002"), item("name", "姓名", "DE0001"),
                item("sex", "性别", "DE0003"), item("birth_date", "出生日期", "DE0004", "D"),
                item("address", "住址", "DE0008"), item("income", "月收入", data_type="N")]


def people(n: int = 40) -> pl.DataFrame:
    births = [f"19{60 + (i % 4) * 10}{1 + i % 12:02d}{1 + i % 28:02d}" for i in range(n)]
    return pl.DataFrame({
        "id_number": [id_number(b, i) for i, b in enumerate(births)],
        "name": [f"张{i}" for i in range(n)],
        "sex": [str(1 + i % 2) for i in range(n)],
        "birth_date": [f"{b[:4]}-{b[4:6]}-{b[6:]}" for b in births],
        "address": [f"广西壮族自治区柳州市{('城中区', '鱼峰区')[i % 2]}某路{i}号" for i in range(n)],
        "income": [3000 + i for i in range(n)],
    })


def codes(report: dict) -> list[tuple[str, str | None]]:
    return [(p["code"], p["key"]) for p in report["problems"]]


def test_run_fails_on_untreated_identifiers_then_passes_after_treatment() -> None:
    frame = people()
    settings = {"treatments": {}, "quasi_identifiers": ["sex", "birth_date"], "k": 5}
    report = run(PEOPLE_ITEMS, frame, settings, salt=SALT, today=TODAY)
    assert not report["passed"]
    assert codes(report) == [("direct_identifier", "id_number"), ("direct_identifier", "name"),
                             ("direct_identifier", "address"), ("k_anonymity", None)]
    assert report["problems"][0]["message"] == "身份证号码列“公民身份号码”(id_number) 未经处理,须删除或泛化后才能开放"
    assert report["k"]["found"] == 1 and report["k"]["classes_below"] == 40
    assert "最小等价类仅 1 行" in report["problems"][-1]["message"]
    assert "更粗的泛化" in report["problems"][-1]["message"]
    assert [i["resolved"] for i in report["identifiers"]] == [False, False, False]

    settings["treatments"] = {"id_number": "remove", "name": "mask", "address": "region", "birth_date": "year"}
    settings["quasi_identifiers"] = ["sex", "birth_date", "address"]
    report = run(PEOPLE_ITEMS, frame.lazy(), settings, salt=SALT, today=TODAY)
    assert report["passed"], report["problems"]
    assert report["rows"] == 40 and report["k_threshold"] == 5
    assert report["k"] == {"found": 10, "threshold": 5, "classes": 4, "classes_below": 0, "rows_below": 0,
                           "examples": [], "quasi_identifiers": ["sex", "birth_date", "address"]}
    assert report["identifiers"][0] == {"key": "id_number", "name": "公民身份号码", "kind": "id_number",
                                        "kind_label": "身份证号码", "reason": "信息项绑定数据元 DE0002“公民身份号码”",
                                        "treatment": "remove", "resolved": True}
    assert report["columns"][0] == {"key": "id_number", "name": "公民身份号码", "kind": "id_number",
                                    "treatment": "remove", "treatment_label": "删除该列", "opened": False}
    assert report["columns"][2]["kind"] is None and report["columns"][2]["opened"]
    assert report["notes"] == []
    json.dumps(report, ensure_ascii=False)


def test_threshold_is_configurable() -> None:
    frame = people(12)  # sex × birth year: 4 classes of 3
    settings = {"treatments": {"id_number": "remove", "name": "remove", "address": "remove", "birth_date": "year"},
                "quasi_identifiers": ["sex", "birth_date"]}
    assert run(PEOPLE_ITEMS, frame, {**settings, "k": 3}, salt=SALT, today=TODAY)["passed"]
    report = run(PEOPLE_ITEMS, frame, settings, salt=SALT, today=TODAY)  # default 5
    assert codes(report) == [("k_anonymity", None)]
    assert report["k"]["found"] == 3 and report["k"]["rows_below"] == 12
    low = run(PEOPLE_ITEMS, frame, {**settings, "k": 1}, salt=SALT, today=TODAY)
    assert codes(low) == [("k_threshold_too_low", None)]


def test_unsuitable_and_unknown_treatments() -> None:
    settings = {"treatments": {"id_number": "age_band", "name": "year", "address": "mask", "income": "encrypt",
                               "sex": "region", "gone": "remove"}, "quasi_identifiers": []}
    report = run(PEOPLE_ITEMS, people(), settings, salt=SALT, today=TODAY)
    assert codes(report) == [("unknown_treatment", "income"), ("unknown_column", "gone"),
                             ("treatment_unsuitable", "name"), ("treatment_unsuitable", "address"),
                             ("treatment_unsuitable", "sex")]
    assert "不适用“仅保留年份”" in report["problems"][2]["message"]
    resolved = {i["key"]: i["resolved"] for i in report["identifiers"]}
    assert resolved == {"id_number": True, "name": False, "address": False}


def test_quasi_identifiers_must_be_open_columns() -> None:
    settings = {"treatments": {"id_number": "remove", "name": "remove", "address": "remove"},
                "quasi_identifiers": ["address", "nowhere", "sex"], "k": 2}
    report = run(PEOPLE_ITEMS, people(), settings, salt=SALT, today=TODAY)
    assert codes(report) == [("unknown_quasi_identifier", "address"), ("unknown_quasi_identifier", "nowhere")]
    assert report["k"]["quasi_identifiers"] == ["sex"] and report["k"]["found"] == 20


def test_unresolved_identifier_as_quasi_identifier_is_reported_once() -> None:
    settings = {"treatments": {"name": "remove", "address": "remove"}, "quasi_identifiers": ["id_number", "sex"]}
    report = run(PEOPLE_ITEMS, people(), settings, salt=SALT, today=TODAY)
    assert codes(report) == [("direct_identifier", "id_number")]
    assert report["k"]["quasi_identifiers"] == ["sex"]
    assert any("id_number" in note for note in report["notes"])


def test_no_quasi_identifiers_is_a_note_not_a_failure() -> None:
    settings = {"treatments": {"id_number": "hash", "name": "mask", "address": "region"}}
    report = run(PEOPLE_ITEMS, people(), settings, salt=SALT, today=TODAY)
    assert report["passed"]
    assert report["k"]["found"] is None and report["k_threshold"] == 5
    assert len(report["notes"]) == 2 and "未声明准标识符" in report["notes"][0]


def test_hashed_columns_are_reported_as_pseudonyms() -> None:
    settings = {"treatments": {"id_number": "hash", "name": "hash", "address": "remove"}, "quasi_identifiers": ["sex"],
                "k": 2}
    report = run(PEOPLE_ITEMS, people(), settings, salt=SALT, today=TODAY)
    assert report["passed"] and [i["resolved"] for i in report["identifiers"]] == [True, True, True]
    (note,) = report["notes"]
    assert note.startswith("“公民身份号码”(id_number)、“姓名”(name) 以不可逆代号开放:代号是假名(去标识化),不是匿名化")
    assert "《个人信息保护法》第七十三条仍属个人信息" in note


def test_a_masked_id_number_resolves_it_and_opens_the_area_code_only() -> None:
    settings = {"treatments": {"id_number": "mask", "name": "remove", "address": "remove"}, "quasi_identifiers": []}
    frame = people(4)
    report = run(PEOPLE_ITEMS, frame, settings, salt=SALT, today=TODAY)
    assert report["passed"] and report["identifiers"][0]["resolved"]
    opened = apply(frame, settings["treatments"], salt=SALT, today=TODAY).collect()["id_number"].to_list()
    assert opened == ["450202" + "*" * 12] * 4
