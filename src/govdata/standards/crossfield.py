"""Cross-field rules (跨字段校验规则): the small rule language declared on a resource's ``rules`` JSON list.

Four kinds, each naming the resource's items (信息项) by key::

    {"kind": "compare", "left": "end_date", "op": ">=", "right": "start_date"}
    {"kind": "required_if", "column": "reason", "when": "status", "in": ["2", "3"]}   # omit "in": when present
    {"kind": "id_birth_date", "id": "sfzh", "date": "csrq"}
    {"kind": "id_sex", "id": "sfzh", "sex": "xb"}

Every rule may also carry "message" (the reason shown for a failing row) and "name". ``check_rules`` validates
and normalises the list; ``govdata.ingest.rules`` compiles it into vectorised checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govdata.errors import ValidationFailed

KINDS = {"compare", "required_if", "id_birth_date", "id_sex"}
OPS = {"<": "小于", "<=": "小于或等于", ">": "大于", ">=": "大于或等于", "==": "等于", "!=": "不等于"}

# kind → the fields naming items, in the order they are checked
COLUMNS = {
    "compare": ("left", "right"),
    "required_if": ("column", "when"),
    "id_birth_date": ("id", "date"),
    "id_sex": ("id", "sex"),
}
_EXTRA = {"compare": ("op",), "required_if": ("in",), "id_birth_date": (), "id_sex": ()}
_COMMON = ("kind", "message", "name")

ID_BIRTH_DATE_MESSAGE = "出生日期与公民身份号码不一致"
ID_SEX_MESSAGE = "性别与公民身份号码不一致"


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="invalid_rule")


def check_rules(rules: list[dict] | None, item_keys: set[str]) -> list[dict]:
    """Validate and normalise declared rules; raise ValidationFailed(code="invalid_rule") naming the rule's
    position (1-based) and its problem."""
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise _fail("跨字段校验规则应为列表")
    return [_check_rule(position, rule, item_keys) for position, rule in enumerate(rules, 1)]


def _check_rule(position: int, rule: Any, item_keys: set[str]) -> dict:
    where = f"第 {position} 条跨字段校验规则"
    if not isinstance(rule, dict):
        raise _fail(f"{where}应为对象")
    kind = rule.get("kind")
    if kind not in KINDS:
        known = "、".join(sorted(KINDS))
        raise _fail(f"{where}缺少类型 kind(可用 {known})" if kind is None
                    else f"{where}的类型 kind 未知:{kind}(可用 {known})")
    unknown = sorted(set(rule) - set(_COMMON) - set(COLUMNS[kind]) - set(_EXTRA[kind]), key=str)
    if unknown:
        raise _fail(f"{where}({kind})含有未知字段:{'、'.join(map(str, unknown))}")
    normal: dict[str, Any] = {"kind": kind}
    for field in COLUMNS[kind]:
        normal[field] = _column(rule, field, item_keys, where)
    first, second = COLUMNS[kind]
    if normal[first] == normal[second]:
        raise _fail(f"{where}的 {first} 与 {second} 不能是同一信息项:{normal[first]}")
    if kind == "compare":
        normal["op"] = _op(rule, where)
    if kind == "required_if" and "in" in rule:
        normal["in"] = _values(rule["in"], where)
    for field in ("message", "name"):
        text = _text(rule, field, where)
        if text:
            normal[field] = text
    return normal


def _column(rule: dict, field: str, item_keys: set[str], where: str) -> str:
    value = rule.get(field)
    if value is None or value == "":
        raise _fail(f"{where}缺少字段 {field}")
    if not isinstance(value, str):
        raise _fail(f"{where}的 {field} 应为信息项标识(字符串)")
    if value not in item_keys:
        raise _fail(f"{where}的 {field} 引用了不存在的信息项:{value}")
    return value


def _op(rule: dict, where: str) -> str:
    op = rule.get("op")
    if op is None:
        raise _fail(f"{where}缺少比较运算符 op")
    if op not in OPS:
        raise _fail(f"{where}的比较运算符 op 无效:{op}(可用 {' '.join(OPS)})")
    return op


def _values(values: Any, where: str) -> list[str]:
    if not isinstance(values, list) or not values:
        raise _fail(f"{where}的 in 应为非空的取值列表")
    normal = []
    for value in values:
        # bool is an int: reject it explicitly, "True" is never a code
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _fail(f"{where}的 in 只能包含字符串或整数,不能是 {value!r}")
        normal.append(str(value))
    return normal


def _text(rule: dict, field: str, where: str) -> str | None:
    value = rule.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(f"{where}的 {field} 应为字符串")
    return value.strip() or None


def default_message(rule: dict, names: Mapping[str, str]) -> str:
    """The Chinese reason for a normalised rule without its own "message"; ``names`` maps item key → name."""
    kind = rule["kind"]
    if kind == "compare":
        return f"{names.get(rule['left'], rule['left'])}应{OPS[rule['op']]}{names.get(rule['right'], rule['right'])}"
    if kind == "required_if":
        when, column = names.get(rule["when"], rule["when"]), names.get(rule["column"], rule["column"])
        if "in" in rule:
            return f"{when}为 {'、'.join(rule['in'])} 时{column}不能为空"
        return f"{when}有值时{column}不能为空"
    return ID_BIRTH_DATE_MESSAGE if kind == "id_birth_date" else ID_SEX_MESSAGE
