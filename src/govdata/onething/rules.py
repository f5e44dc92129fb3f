"""Expressions in package files (资格规则、预填来源、计算值), evaluated safely by simpleeval.

Names a case offers: ``applicant`` (id_number, name, type), ``input`` (what the applicant typed), ``evidence``
(key → the record found, a list for ``many`` evidence, or None), ``output`` (matter key → what its officer
recorded), ``tables`` (the package's lookup data) and ``today``. Functions: ``age`` (whole years from an ID
number or a date, on ``today``), ``months_until``, ``days_since``, ``region_of`` (the county code an ID number
or credit code carries), ``sex_of`` (1/2 from an ID number), ``assign_id_number`` and ``assign_credit_code``
(the demo's stand-ins for the police and the market regulator allocating a number), ``len``, ``any``, ``all``,
``str``, ``int``, ``float``, ``min``, ``max``. A missing piece of evidence makes a rule false and a
prefill empty — never an error the applicant sees.
"""

from __future__ import annotations

import ast
import random
import threading
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import simpleeval
from stdnum.cn import ric, uscc

NAMES = ("applicant", "input", "evidence", "output", "tables", "today", "True", "False", "None")


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if not value:
        return None
    text = str(value).strip()
    if len(text) == 18 and text[:17].isdigit():
        try:
            return ric.get_birth_date(text)
        except Exception:
            return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _age(value: Any, on: date | None = None) -> int | None:
    born, on = _as_date(value), on or date.today()
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _months_until(value: Any, on: date | None = None) -> int | None:
    end, on = _as_date(value), on or date.today()
    return None if end is None else (end.year - on.year) * 12 + end.month - on.month


def _days_since(value: Any, on: date | None = None) -> int | None:
    start, on = _as_date(value), on or date.today()
    return None if start is None else (on - start).days


def _region_of(value: Any) -> str | None:
    text = str(value or "")
    if len(text) == 18 and text[:6].isdigit():
        return text[:6]  # an ID number begins with the county of first registration
    if len(text) == 18 and text[2:8].isdigit():
        return text[2:8]  # a credit code carries it in positions 3–8
    return None


def _assign_id_number(region: Any, birth: Any, sex: Any) -> str | None:
    """A valid GB 11643 number for a newborn: region + birth date + sequence (odd for male) + check digit."""
    born = _as_date(birth)
    if not region or born is None:
        return None
    rng = random.Random(f"{region}{born}{sex}")
    seq = rng.randrange(0, 500) * 2 + (1 if str(sex) in ("1", "男") else 0)
    body = f"{str(region)[:6]}{born:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit


def _assign_credit_code(region: Any, name: Any) -> str | None:
    """A valid GB 32100 credit code for a new enterprise (登记管理部门 9, 企业 1, the county's code)."""
    if not region or not name:
        return None
    rng = random.Random(f"{region}{name}")
    body = f"91{str(region)[:6]}" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + uscc.calc_check_digit(body)


def _sex_of(value: Any) -> str | None:
    """1 (male) or 2 (female) from an ID number's 17th digit."""
    text = str(value or "")
    return ("1" if int(text[16]) % 2 else "2") if len(text) == 18 and text[16].isdigit() else None


FUNCTIONS = {"age": _age, "months_until": _months_until, "days_since": _days_since, "region_of": _region_of,
             "sex_of": _sex_of, "assign_id_number": _assign_id_number, "assign_credit_code": _assign_credit_code,
             "len": len, "any": any, "all": all, "str": str, "int": int, "float": float, "min": min, "max": max}


class _Evaluator(simpleeval.EvalWithCompoundTypes):
    def _eval_attribute(self, node: ast.Attribute) -> Any:
        base = self._eval(node.value)
        if base is None:
            return None  # evidence.x.y where x was not found: None, not an error
        if isinstance(base, dict):
            return base.get(node.attr)
        return super()._eval_attribute(node)

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        base = self._eval(node.value)
        if base is None:
            return None
        key = self._eval(node.slice)
        if isinstance(base, dict):
            return base.get(key)
        try:
            return base[key]
        except (IndexError, TypeError, KeyError):
            return None


def context(*, applicant: dict[str, Any], inputs: dict[str, Any], evidence: dict[str, Any],
            outputs: dict[str, Any], tables: dict[str, Any], on: date | None = None) -> dict[str, Any]:
    return {"applicant": applicant, "input": inputs, "evidence": evidence, "output": outputs, "tables": tables,
            "today": (on or date.today()).isoformat(), "True": True, "False": False, "None": None}


_PARSING = threading.Lock()
_LOCAL = threading.local()


@lru_cache(maxsize=4096)
def _tree(expr: str) -> ast.Expression:
    """An expression's tree, parsed once per process (a package's expressions are few). Parsing is serialised:
    CPython 3.11 can raise SystemError when threads build ASTs at the same moment."""
    with _PARSING:
        return ast.parse(expr.strip() or "None", mode="eval")


def _parsed(expr: str) -> ast.AST:
    return ast.Expr(_tree(expr).body)  # the statement node simpleeval's own parse would give


def evaluate(expr: str, names: dict[str, Any]) -> Any:
    """The value, or None when the expression cannot be computed from what the case has."""
    evaluator = getattr(_LOCAL, "evaluator", None)
    if evaluator is None:  # one per thread: building one costs more than most evaluations
        evaluator = _LOCAL.evaluator = _Evaluator(names={}, functions=FUNCTIONS)
    evaluator.names = names
    try:
        value = evaluator.eval(expr, previously_parsed=_parsed(expr))
    except (simpleeval.InvalidExpression, TypeError, ValueError, ArithmeticError, AttributeError, KeyError):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def holds(expr: str, names: dict[str, Any]) -> bool:
    return bool(evaluate(expr, names))


def check(expr: str) -> str | None:
    """A problem with an expression as written (syntax, unknown name or function), or None."""
    try:
        tree = _tree(expr)
    except SyntaxError as exc:
        return f"表达式语法错误:{exc.msg}({expr})"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            return f"不支持的函数调用({expr})"
        if isinstance(node, ast.Name) and node.id not in NAMES and node.id not in FUNCTIONS and not _bound(tree, node):
            return f"未知的名称 {node.id}({expr})"
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            return f"不允许访问以下划线开头的属性({expr})"
    return None


@lru_cache(maxsize=4096)
def source_of(expr: str) -> str:
    """Where a pre-filled value comes from: evidence, output, input or applicant (the first the expression reads),
    else "rule" (computed from the date or the package's tables)."""
    try:
        names = {n.id for n in ast.walk(_tree(expr)) if isinstance(n, ast.Name)}
    except SyntaxError:
        return "rule"
    return next((n for n in ("evidence", "output", "input", "applicant") if n in names), "rule")


def _nodes(exprs: list[str]) -> list[ast.AST]:
    """Every node of the expressions (unparsable ones are reported by ``check``)."""
    nodes: list[ast.AST] = []
    for expr in exprs:
        try:
            nodes += ast.walk(_tree(expr))
        except SyntaxError:
            continue
    return nodes


def _is_evidence(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "evidence"


def evidence_refs(exprs: list[str]) -> set[str]:
    """The evidence keys expressions read (``evidence.<key>``): an evidence query may only use earlier ones."""
    return {node.attr for node in _nodes(exprs) if _is_evidence(node)}


def evidence_items(exprs: list[str]) -> dict[str, set[str]]:
    """evidence key → the items expressions read from it (``evidence.<key>.<item>``)."""
    found: dict[str, set[str]] = {}
    for node in _nodes(exprs):
        if isinstance(node, ast.Attribute) and _is_evidence(node.value):
            found.setdefault(node.value.attr, set()).add(node.attr)
    return found


def _bound(tree: ast.AST, name: ast.Name) -> bool:
    """A comprehension variable (``[v for v in evidence.vaccinations]``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            targets = [n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)]
            if name.id in targets:
                return True
    return False
