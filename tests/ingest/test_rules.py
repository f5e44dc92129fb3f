"""Vectorised row validation: every per-value rule agrees with its reference in standards.validators, checked by
property tests on random values and on the edge cases that break naive implementations."""

from __future__ import annotations

import re
from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from govdata.errors import ValidationFailed
from govdata.ingest import rules
from govdata.standards import regions, validators

TODAY = date(2024, 6, 30)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DIVISIONS = sorted(regions.divisions())
REVOKED = sorted(code for code, division in regions.divisions().items() if not division.current)
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# what a mutation may insert: ASCII, letters GB 32100 excludes, full-width and Arabic-Indic digits, blanks
ODD_CHARS = "0123456789XxAIOZSV-. \x1c\u00a0０５٣é中"


def _item(key: str = "v", element: str | None = "E", **fields) -> dict:
    return {"key": key, "name": fields.pop("name", key), "data_type": fields.pop("data_type", "C"),
            "length": fields.pop("length", None), "required": fields.pop("required", False),
            "primary_key": fields.pop("primary_key", False), "data_element": element, **fields}


def _element(rule: str | None = None, **fields) -> dict:
    return {"data_type": "C", "length": None, "codeset": None, "rule": rule, "name": "数据元", **fields}


def _frame(**columns: list) -> pl.DataFrame:
    return pl.DataFrame(columns, schema={key: pl.String for key in columns})


def _reasons(rule: str, values: list[str | None], *, birth: bool = False) -> list[str | None]:
    """The reason each value fails ``rule`` with through compile_checks + failures, None where it passes."""
    code = "DE0004" if birth else "E"
    checks = rules.compile_checks([_item(element=code)], {code: _element(rule)}, {}, [], today=TODAY)
    failed = rules.failures(_frame(v=values), checks)
    assert failed["index"].is_unique().all(), "one bad cell, one reason"
    reasons: list[str | None] = [None] * len(values)
    for index, reason in failed.select("index", "reason").iter_rows():
        reasons[index] = reason
    return reasons


def _reference_ok(rule: str, value: str) -> bool:
    return validators.validate_value(rule, value) is None


def _assert_agrees(rule: str, values: list[str | None], classify=None, reasons: dict | None = None) -> None:
    for value, reason in zip(values, _reasons(rule, values), strict=True):
        assert (reason is None) == (value is None or _reference_ok(rule, value)), (value, reason)
        if classify is not None and reason is not None:
            assert reason == reasons[classify(value)], value


# -------------------------------------------------------------------------------------------- value strategies

@st.composite
def mutated(draw, valid: st.SearchStrategy[str]) -> str:
    """A valid value, or one with a single edit: replace/insert/delete a char, truncate, lower-case, full-width."""
    value = draw(valid)
    how = draw(st.sampled_from(("keep", "keep", "replace", "insert", "delete", "truncate", "lower", "full_width")))
    position = draw(st.integers(0, max(len(value) - 1, 0)))
    char = draw(st.sampled_from(ODD_CHARS))
    return {"keep": value, "replace": value[:position] + char + value[position + 1:],
            "insert": value[:position] + char + value[position:], "delete": value[:position] + value[position + 1:],
            "truncate": value[:position], "lower": value.lower(), "full_width": value.translate(FULL_WIDTH)}[how]


DIGITS = st.text("0123456789", min_size=1, max_size=1)
YYYYMMDD = st.one_of(
    st.dates(date(1, 1, 1), date(9999, 12, 31)).map(lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}"),
    st.dates(date(1900, 1, 1), date(2030, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
    st.integers(0, 9999).map(lambda year: f"{year:04d}0229"),  # Feb 29 of leap and non-leap years, year 0
    st.text("0123456789", min_size=8, max_size=8),
)
ID_REGIONS = st.one_of(st.sampled_from(DIVISIONS), st.sampled_from(REVOKED),
                       st.text("0123456789", min_size=6, max_size=6))


@st.composite
def id_numbers(draw) -> str:
    """A number with a correct check digit for random regions and birth dates (it may still fail on those)."""
    first17 = draw(ID_REGIONS) + draw(YYYYMMDD) + draw(st.text("0123456789", min_size=3, max_size=3))
    return first17 + ric.calc_check_digit(first17 + "0")


@st.composite
def credit_codes(draw) -> str:
    head = draw(st.text(USCC_ALPHABET, min_size=2, max_size=2) | st.sampled_from(("91", "11", "52")))
    first17 = head + draw(ID_REGIONS) + draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    return first17 + uscc.calc_check_digit(first17)


DATES = st.one_of(
    st.dates(date(1, 1, 1), date(9999, 12, 31)).map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
    st.integers(0, 9999).map(lambda year: f"{year:04d}-02-29"),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),
    st.from_regex(r"\A\d{4}-\d{2}-\d{2}\Z"),  # \d: any Unicode digit
)
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)


def _batch(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.one_of(mutated(strategy), ANY_TEXT, st.none()), min_size=1, max_size=40)


# -------------------------------------------------------------------------------------------- agreement

@PROPERTY
@given(_batch(id_numbers()))
def test_id_number_agrees_with_reference(values):
    _assert_agrees("id_number", values, rules.classify_id_number, rules.ID_REASONS)


@PROPERTY
@given(_batch(credit_codes()))
def test_credit_code_agrees_with_reference(values):
    _assert_agrees("credit_code", values, rules.classify_credit_code, rules.CREDIT_CODE_REASONS)


@PROPERTY
@given(_batch(ID_REGIONS | st.sampled_from(REVOKED)))
def test_region_code_agrees_with_reference(values):
    _assert_agrees("region_code", values, rules.classify_region_code, rules.REGION_REASONS)


@PROPERTY
@given(_batch(DATES))
def test_date_agrees_with_reference(values):
    _assert_agrees("date", values, rules.date_classifier(), rules.DATE_REASONS)


@PROPERTY
@given(_batch(st.from_regex(validators.PHONE_PATTERN, fullmatch=True)))
def test_phone_agrees_with_reference(values):
    _assert_agrees("phone", values)


@PROPERTY
@given(_batch(st.emails() | st.from_regex(validators.EMAIL_PATTERN, fullmatch=True)
              | st.text("a.", min_size=250, max_size=260).map(lambda local: local + "@a.cn")))
def test_email_agrees_with_reference(values):
    _assert_agrees("email", values)


@PROPERTY
@given(_batch(st.from_regex(validators.POSTCODE_PATTERN, fullmatch=True)))
def test_postcode_agrees_with_reference(values):
    _assert_agrees("postcode", values)


REGEX_RULES = [
    r"[A-Z]{2}\d{4}",
    r"[一-龥]{2,4}",       # literal CJK range: Rust judges non-ASCII values too
    r"[\u4e00-\u9fa5]{2,20}",
    r"(?i)ab+c",
    r"a\s+b",             # Python's \s matches \x1c, Rust's does not
    r"\w+@\w+",
    r"a{,2}b",            # Python's {,n}, rewritten for Rust
    r"a{ 1}",             # a literal "{ 1}" in Python, a repetition to Rust
    r"x[a&&b]",           # a set intersection to Rust, literals to Python
    r"a*+a",              # possessive in Python 3.11+
    r"(ab|cd)$",
    r"[^]a-c]+",
    r"\d+(\.\d{1,2})?",
]


@pytest.mark.filterwarnings("ignore:Possible set intersection:FutureWarning")  # Python re on x[a&&b]
@PROPERTY
@given(rule=st.sampled_from(REGEX_RULES), data=st.data())
def test_regex_rules_agree_with_python_re(rule, data):
    samples = st.from_regex(rule, fullmatch=True) if "&&" not in rule else st.just("xa")
    alphabet = st.text("ab{} 1xyzABC&é中国人\x1c\n５$]", max_size=8)
    values = data.draw(st.lists(mutated(samples) | alphabet | st.none(), min_size=1, max_size=30))
    _assert_agrees(f"regex:{rule}", values)


# -------------------------------------------------------------------------------------------- edge cases

def _id(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


def test_id_number_edge_cases():
    valid = _id("45020219900101123")
    born_feb29_leap, born_feb29_plain = _id("11010119960229123"), _id("11010119970229123")
    assert _reasons("id_number", [
        valid, valid[:-1] + "x" if valid.endswith("X") else valid[:17] + "x", valid[:17], valid.translate(FULL_WIDTH),
        born_feb29_leap, born_feb29_plain, _id("45020219800101123"), _id("11999919900101123"),
        _id("45022120170101123"), _id("45022120160101123"),
    ]) == [
        None, rules.ID_REASONS["format"], rules.ID_REASONS["format"],
        rules.ID_REASONS["format"],  # full-width digits are not the canonical form
        None, rules.ID_REASONS["birth_date"],
        None,  # born 1980, before 城中区 450202 existed (1983): the number, issued later, carries it rightly
        rules.ID_REASONS["birthplace"],  # province 11 exists, county 9999 never did
        rules.ID_REASONS["birthplace"],  # 柳江县 450221 was abolished in 2016, before this birth
        None,  # … but still existed in the birth year 2016
    ]


def test_credit_code_edge_cases():
    valid = "11450200MB15632086"
    assert _reasons("credit_code", [valid, valid[:-1] + "7", "A1450200MB1563208" + uscc.calc_check_digit(
        "A1450200MB1563208"), valid.replace("MB", "MO"), valid.lower(), valid[:2] + valid[2:8].translate(FULL_WIDTH)
        + valid[8:]]) == [None, rules.CREDIT_CODE_REASONS["checksum"], rules.CREDIT_CODE_REASONS["digits"],
                          rules.CREDIT_CODE_REASONS["format"], rules.CREDIT_CODE_REASONS["format"],
                          rules.CREDIT_CODE_REASONS["format"]]


def test_region_code_edge_cases():
    assert _reasons("region_code", ["450202", "450200", "450221", "999999", "45020", "４５０２０２"]) == [
        None, None, rules.REGION_REASONS["revoked"], rules.REGION_REASONS["missing"],
        rules.REGION_REASONS["format"], rules.REGION_REASONS["format"]]  # full-width digits are not canonical


def test_date_edge_cases_and_birth_dates_after_today():
    values = ["2024-02-29", "2023-02-29", "0000-01-01", "1899-12-31", "2024-7-01", "２０２４-01-01", "2024-07-01"]
    expected = [None, "日期不存在", "日期不存在", "日期应在 1900-01-01 至 2100-12-31 之间", "日期格式应为 YYYY-MM-DD",
                "日期格式应为 YYYY-MM-DD", None]
    assert _reasons("date", values) == expected
    assert _reasons("date", values, birth=True) == [*expected[:-1], "出生日期晚于当前日期"]


def test_non_ascii_values_are_judged_once_per_distinct_value(monkeypatch):
    calls, classify = [], rules.classify_id_number

    def counting(value):
        calls.append(value)
        return classify(value)

    monkeypatch.setattr(rules, "classify_id_number", counting)
    full_width = _id("45020219900101123").translate(FULL_WIDTH)
    ascii_ids = [_id(f"450202199001011{n:02d}") for n in range(50)]
    assert _reasons("id_number", [full_width] * 500 + ascii_ids) == [rules.ID_REASONS["format"]] * 500 + [None] * 50
    assert calls == [full_width]


@pytest.mark.parametrize(("pattern", "rust"), [
    (r"[A-Z]{2}\d{4}", r"^(?:[A-Z]{2}\d{4})$"),
    (r"a{,2}b", r"^(?:a{0,2}b)$"),
    (r"a{ 1}", r"^(?:a\{ 1\})$"),
    (r"a\sb", r"^(?:a[\s\x1c-\x1f]b)$"),
    (r"[^\s]", r"^(?:[^\s\x1c-\x1f])$"),
    (r"x[a&&b]", None), (r"[[:alpha:]]", None), (r"a*+", None), (r"a$|b", None), (r"\<a", None),
    (r"(?x)a b", None), (r"(?>a)", None), (r"a\Z", None),
])
def test_rust_pattern_translates_or_refuses(pattern, rust):
    translated = rules.rust_pattern(pattern)
    assert (translated and translated[0]) == rust


# -------------------------------------------------------------------------------------------- other rules

def _failures(items: list[dict], frame: pl.DataFrame, elements: dict | None = None, codes: dict | None = None,
              cross_rules: list[dict] | None = None) -> list[tuple]:
    checks = rules.compile_checks(items, elements or {}, codes or {}, cross_rules or [], today=TODAY)
    return rules.failures(frame, checks).rows()


def test_required_and_primary_key_values_must_be_present():
    items = [_item("a", None, required=True), _item("b", None, primary_key=True), _item("c", None)]
    assert _failures(items, _frame(a=[None, "1"], b=["x", None], c=[None, None])) == [
        (0, "required", "a", None, "必填项为空"), (1, "required", "b", None, "必填项为空")]


@pytest.mark.parametrize(("data_type", "good", "bad", "reason"), [
    ("N", ["0", "-12.5", "+3", "007"], ["1e3", "1.", ".5", "1,000", "１２", "NaN"], "应为数值(如 -12.5)"),
    ("Y", ["12.3456", "-0.01", "100"], ["1.23456", "¥1", "1e2"], "应为金额(数值,最多 4 位小数)"),
    ("B", ["1.5E-3", "-2e10", "3.25"], ["E5", "1.5E", "inf"], "应为数值(可用科学计数法,如 1.5E-3)"),
    ("F", ["0.25"], ["25%"], "应为数值(可用科学计数法,如 1.5E-3)"),
    ("I", ["42", "-7", "+0"], ["4.0", "1e3", "四"], "应为整数"),
    ("L", ["true", "FALSE", "1", "0", "是", "否", "y", "N"], ["yes", "2", "对"],
     "应为逻辑值(true/false、1/0、是/否 或 Y/N)"),
    ("D", ["2024-02-29"], ["2024/02/29", "20240229", "2024-2-29"], "日期格式应为 YYYY-MM-DD"),
    ("D", [], ["2023-02-29", "0000-01-01"], "日期不存在"),
    ("T", ["2024-02-29 23:59:59", "2024-02-29T00:00:00"], ["2024-02-29 24:00:00", "2024-02-29 12:00",
                                                             "2024-02-29 12:60:00"],
     "日期时间格式应为 YYYY-MM-DD hh:mm:ss"),
    ("T", [], ["2023-02-29 12:00:00"], "日期时间中的日期不存在"),
    ("C", ["anything", "任意"], [], ""),
    ("M", ["x" * 5000], [], ""),
])
def test_types(data_type, good, bad, reason):
    items = [_item("v", None, data_type=data_type)]
    failed = _failures(items, _frame(v=[*good, *bad, None]))
    assert failed == [(len(good) + n, "type", "v", value, reason) for n, value in enumerate(bad)]


def test_item_type_falls_back_to_the_elements():
    items = [_item("v", "DE0022", data_type=None)]
    assert _failures(items, _frame(v=["3", "3.5"]), {"DE0022": _element(data_type="I")}) == [
        (1, "type", "v", "3.5", "应为整数")]


def test_length_counts_characters_not_bytes():
    items = [_item("v", None, length=3)]
    assert _failures(items, _frame(v=["柳州市", "柳州市区", "abc", "abcd"])) == [
        (1, "length", "v", "柳州市区", "长度超过 3 个字符"), (3, "length", "v", "abcd", "长度超过 3 个字符")]


def test_a_fixed_format_rule_reports_a_too_long_value_once():
    items = [_item("v", "DE0002", length=18)]
    failed = _failures(items, _frame(v=[_id("45020219900101123") + "1"]), {"DE0002": _element("id_number")})
    assert [(rule, reason) for _, rule, _, _, reason in failed] == [("id_number", rules.ID_REASONS["format"])]


def test_codeset():
    items = [_item("sex", "DE0003"), _item("region", "DE0005")]
    elements = {"DE0003": _element(codeset="gb2261_1_sex"),
                "DE0005": _element("region_code", codeset="gb2260_region")}
    codes = {"gb2261_1_sex": frozenset({"0", "1", "2", "9"}), "gb2260_region": frozenset({"450202"})}
    failed = _failures(items, _frame(sex=["1", "男", None], region=["450203", "450202", "999999"]), elements, codes)
    assert failed == [(1, "codeset", "sex", "男", "不在代码集 gb2261_1_sex 中"),
                      (2, "region_code", "region", "999999", "行政区划代码不存在")]


def test_a_code_set_the_caller_did_not_load_is_not_checked():
    items = [_item("sex", "DE0003")]
    assert _failures(items, _frame(sex=["男"]), {"DE0003": _element(codeset="gb2261_1_sex")}) == []


def test_an_invalid_element_rule_is_refused():
    with pytest.raises(ValidationFailed):
        rules.compile_checks([_item()], {"E": _element("regex:(")}, {}, [])


# -------------------------------------------------------------------------------------------- cross-field

PERSON = [_item("sfzh", "DE0002", name="公民身份号码", primary_key=True),
          _item("csrq", "DE0004", name="出生日期", data_type="D"), _item("xb", "DE0003", name="性别")]
PERSON_ELEMENTS = {"DE0002": _element("id_number"), "DE0003": _element(codeset="gb2261_1_sex"),
                   "DE0004": _element("date", data_type="D")}
SEX_CODES = {"gb2261_1_sex": frozenset({"0", "1", "2", "9"})}
MAN = _id("45020219900101123")  # sequence 123: odd, a man
WOMAN = _id("45020219900101124")


def test_birth_date_and_sex_are_derived_from_the_id_number():
    frame = _frame(sfzh=[MAN, MAN, WOMAN, MAN, MAN, MAN[:-1] + "0", MAN],
                   csrq=["1990-01-01", "1990-01-02", "1990-01-01", "1990-01-01", "1990-01-01", "1990-01-02", None],
                   xb=["1", "1", "1", "0", "9", "2", "2"])
    assert _failures(PERSON, frame, PERSON_ELEMENTS, SEX_CODES) == [
        (1, "cross_field", "csrq", None, "出生日期与公民身份号码不一致"),
        (2, "cross_field", "xb", None, "性别与公民身份号码不一致"),
        (5, "id_number", "sfzh", MAN[:-1] + "0", "公民身份号码校验位错误"),  # an invalid ID is not compared
        (6, "cross_field", "xb", None, "性别与公民身份号码不一致"),
    ]


def test_only_individually_valid_values_are_compared():
    frame = _frame(sfzh=[MAN, MAN], csrq=["1990-02-30", "2030-01-01"], xb=["3", "3"])
    failed = _failures(PERSON, frame, PERSON_ELEMENTS, SEX_CODES)
    assert {rule for _, rule, _, _, _ in failed} == {"date", "codeset"}


def test_nothing_is_derived_when_an_element_is_bound_twice():
    items = [*PERSON, _item("jhr_sfzh", "DE0002", name="监护人公民身份号码")]
    frame = _frame(sfzh=[MAN], csrq=["1991-01-01"], xb=["2"], jhr_sfzh=[WOMAN])
    assert _failures(items, frame, PERSON_ELEMENTS, SEX_CODES) == []
    declared = [{"kind": "id_birth_date", "id": "sfzh", "date": "csrq", "message": "出生日期应与本人身份证一致"}]
    assert _failures(items, frame, PERSON_ELEMENTS, SEX_CODES, declared) == [
        (0, "cross_field", "csrq", None, "出生日期应与本人身份证一致")]


def test_nothing_is_derived_when_the_id_number_is_not_the_rows_subject():
    items = [_item("sfzh", "DE0002", name="母亲公民身份号码"), *PERSON[1:]]  # a mother's ID, a baby's birth date
    frame = _frame(sfzh=[MAN], csrq=["2024-05-01"], xb=["2"])
    assert _failures(items, frame, PERSON_ELEMENTS, SEX_CODES) == []


def test_a_declared_rule_replaces_the_derived_one():
    declared = [{"kind": "id_sex", "id": "sfzh", "sex": "xb", "message": "性别代码与身份证号第 17 位不符"}]
    frame = _frame(sfzh=[MAN], csrq=["1990-01-01"], xb=["2"])
    assert _failures(PERSON, frame, PERSON_ELEMENTS, SEX_CODES, declared) == [
        (0, "cross_field", "xb", None, "性别代码与身份证号第 17 位不符")]


def test_compare_numbers_numerically_and_dates_as_text():
    items = [_item("low", None, data_type="N", name="下限"), _item("high", None, data_type="I", name="上限"),
             _item("start", None, data_type="D", name="开始日期"), _item("end", None, data_type="T", name="结束时间")]
    cross = [{"kind": "compare", "left": "high", "op": ">=", "right": "low"},
             {"kind": "compare", "left": "end", "op": ">", "right": "start", "message": "结束时间应晚于开始日期"}]
    frame = _frame(low=["9.5", "10", "x", None], high=["10", "9", "1", "1"],
                   start=["2024-01-01", "2024-01-02", "2024-13-01", "2024-01-01"],
                   end=["2024-01-01T08:00:00", "2024-01-01 23:00:00", "2024-01-01 00:00:00", "2023-12-31T00:00:00"])
    failed = _failures(items, frame, cross_rules=cross)
    assert [row for row in failed if row[1] == "cross_field"] == [
        (1, "cross_field", "high", None, "上限应大于或等于下限"),
        (1, "cross_field", "end", None, "结束时间应晚于开始日期"),
        (3, "cross_field", "end", None, "结束时间应晚于开始日期"),
    ]


def test_required_if():
    items = [_item("status", None, name="状态"), _item("reason", None, name="退回原因"), _item("note", None)]
    cross = [{"kind": "required_if", "column": "reason", "when": "status", "in": ["2", "3"]},
             {"kind": "required_if", "column": "note", "when": "reason"}]
    frame = _frame(status=["1", "2", "3", None], reason=[None, None, "资料不全", None], note=[None, None, None, "x"])
    assert _failures(items, frame, cross_rules=cross) == [
        (1, "cross_field", "reason", None, "状态为 2、3 时退回原因不能为空"),
        (2, "cross_field", "note", None, "退回原因有值时note不能为空"),
    ]


def test_invalid_cross_rules_are_refused():
    with pytest.raises(ValidationFailed, match="引用了不存在的信息项:csrq2"):
        rules.compile_checks(PERSON, PERSON_ELEMENTS, {}, [{"kind": "id_birth_date", "id": "sfzh", "date": "csrq2"}])


# -------------------------------------------------------------------------------------------- failures, duplicated

def test_failures_shape_and_order():
    items = [_item("a", None, required=True, length=2), _item("b", None, data_type="I")]
    failed = rules.failures(_frame(a=["ok", "long", None, "ok"], b=["x", "1", "y", "2"]),
                            rules.compile_checks(items, {}, {}, []))
    assert failed.schema == pl.Schema(rules.FAILURE_SCHEMA)
    assert failed.rows() == [(0, "type", "b", "x", "应为整数"), (1, "length", "a", "long", "长度超过 2 个字符"),
                             (2, "required", "a", None, "必填项为空"), (2, "type", "b", "y", "应为整数")]


def test_failures_without_failing_rows_or_checks():
    checks = rules.compile_checks([_item("a", None, data_type="I")], {}, {}, [])
    assert rules.failures(_frame(a=["1"]), checks).shape == (0, 5)
    assert rules.failures(_frame(a=[]), checks).schema == pl.Schema(rules.FAILURE_SCHEMA)
    assert rules.failures(_frame(a=["x"]), []).is_empty()


def test_every_check_names_a_known_rule_and_a_never_null_verdict():
    items = [*PERSON, _item("n", None, data_type="N")]
    checks = rules.compile_checks(items, PERSON_ELEMENTS, SEX_CODES, [])
    frame = _frame(sfzh=[None, "x"], csrq=[None, "x"], xb=[None, "x"], n=[None, "x"])
    verdicts = frame.select(check.bad.alias(str(n)) for n, check in enumerate(checks))
    assert verdicts.null_count().row(0) == (0,) * len(checks)
    assert {check.rule for check in checks} <= set(rules.RULE_NAMES)
    assert all(re.search(r"[\u4e00-\u9fff]", check.reason) for check in checks)


def test_duplicated():
    frame = _frame(a=["1", "1", "2", "1", None, None], b=["x", "x", "x", "y", "x", "x"])
    assert rules.duplicated(frame, ["a"]).to_list() == [False, True, False, True, False, False]
    assert rules.duplicated(frame, ["a", "b"]).to_list() == [False, True, False, False, False, False]
    assert rules.duplicated(frame, []).to_list() == [False] * 6
