from __future__ import annotations

import pytest

from govdata.errors import ValidationFailed
from govdata.standards.crossfield import check_rules, default_message

KEYS = {"start_date", "end_date", "status", "reason", "sfzh", "csrq", "xb"}


def test_valid_rules_are_normalised():
    rules = check_rules([
        {"kind": "compare", "left": "end_date", "op": ">=", "right": "start_date",
         "message": "  结束日期不能早于开始日期 "},
        {"kind": "required_if", "column": "reason", "when": "status", "in": ["2", 3], "name": "退回须填原因"},
        {"kind": "required_if", "column": "reason", "when": "status", "message": "   "},
        {"kind": "id_birth_date", "id": "sfzh", "date": "csrq"},
        {"kind": "id_sex", "id": "sfzh", "sex": "xb"},
    ], KEYS)
    assert rules == [
        {"kind": "compare", "left": "end_date", "right": "start_date", "op": ">=",
         "message": "结束日期不能早于开始日期"},
        {"kind": "required_if", "column": "reason", "when": "status", "in": ["2", "3"], "name": "退回须填原因"},
        {"kind": "required_if", "column": "reason", "when": "status"},
        {"kind": "id_birth_date", "id": "sfzh", "date": "csrq"},
        {"kind": "id_sex", "id": "sfzh", "sex": "xb"},
    ]


def test_no_rules():
    assert check_rules([], KEYS) == []
    assert check_rules(None, KEYS) == []


@pytest.mark.parametrize(("rules", "message"), [
    ({"kind": "compare"}, "跨字段校验规则应为列表"),
    ([["compare"]], "第 1 条跨字段校验规则应为对象"),
    ([{"left": "end_date"}], "第 1 条跨字段校验规则缺少类型 kind"),
    ([{"kind": "lookup"}], "第 1 条跨字段校验规则的类型 kind 未知:lookup"),
    ([{"kind": "id_sex", "id": "sfzh", "sex": "xb"}, {"kind": "compare", "left": "end_date", "right": "start_date"}],
     "第 2 条跨字段校验规则缺少比较运算符 op"),
    ([{"kind": "compare", "left": "end_date", "op": "=<", "right": "start_date"}], "比较运算符 op 无效:=<"),
    ([{"kind": "compare", "left": "end_date", "op": "<"}], "第 1 条跨字段校验规则缺少字段 right"),
    ([{"kind": "compare", "left": "end_date", "op": "<", "right": "stop_date"}],
     "第 1 条跨字段校验规则的 right 引用了不存在的信息项:stop_date"),
    ([{"kind": "compare", "left": "end_date", "op": "<", "right": "end_date"}], "不能是同一信息项:end_date"),
    ([{"kind": "compare", "left": "end_date", "op": "<", "right": "start_date", "value": 3}], "含有未知字段:value"),
    ([{"kind": "id_sex", "id": "sfzh", "sex": "xb", "in": ["1"]}], "含有未知字段:in"),
    ([{"kind": "required_if", "column": "reason", "when": "status", "in": []}], "in 应为非空的取值列表"),
    ([{"kind": "required_if", "column": "reason", "when": "status", "in": "2"}], "in 应为非空的取值列表"),
    ([{"kind": "required_if", "column": "reason", "when": "status", "in": [True]}], "in 只能包含字符串或整数"),
    ([{"kind": "id_birth_date", "id": 7, "date": "csrq"}], "id 应为信息项标识"),
    ([{"kind": "id_birth_date", "id": "sfzh", "date": "csrq", "message": 1}], "message 应为字符串"),
])
def test_invalid_rules_name_position_and_problem(rules, message):
    with pytest.raises(ValidationFailed) as caught:
        check_rules(rules, KEYS)
    assert caught.value.code == "invalid_rule"
    assert message in caught.value.message


def test_default_messages_use_item_names():
    names = {"end_date": "结束日期", "start_date": "开始日期", "status": "状态", "reason": "原因"}
    assert default_message({"kind": "compare", "left": "end_date", "op": ">=", "right": "start_date"}, names) \
        == "结束日期应大于或等于开始日期"
    assert default_message({"kind": "required_if", "column": "reason", "when": "status", "in": ["2", "3"]},
                           names) == "状态为 2、3 时原因不能为空"
    assert default_message({"kind": "required_if", "column": "reason", "when": "status"}, names) \
        == "状态有值时原因不能为空"
    assert default_message({"kind": "id_birth_date", "id": "sfzh", "date": "csrq"}, names) \
        == "出生日期与公民身份号码不一致"
    assert default_message({"kind": "id_sex", "id": "sfzh", "sex": "xb"}, names) == "性别与公民身份号码不一致"
