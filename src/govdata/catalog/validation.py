"""Checks on a resource before anything is written. Each failure has its own stable code.

The checks that need no database (``resource_problems``, ``item_problems``) return every problem they find, so a
catalog workbook can report all of a row's errors at once; ``check_resource`` and ``check_items`` raise the first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.models import Resource
from govdata.catalog.schemas import ItemIn, ResourceIn
from govdata.errors import AppError, Conflict, ValidationFailed
from govdata.standards import enums
from govdata.standards import service as standards

ITEM_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass
class CheckedItem:
    item: ItemIn
    sensitivity: str
    identifies: bool


@dataclass(frozen=True)
class Problem:
    """One failed check: the field at fault (a ResourceIn or ItemIn field name), a stable code, a message."""

    field: str
    code: str
    message: str
    kind: type[AppError] = ValidationFailed

    def error(self) -> AppError:
        return self.kind(self.message, code=self.code)


def _enum_problem(field: str, value: str, table: dict[str, str], names: Mapping[str, str] | None = None
                  ) -> Problem | None:
    if value in table:
        return None
    allowed = "、".join(f"{k}({v})" for k, v in table.items())
    shown = (names or {}).get(field, field)
    return Problem(field, f"invalid_{field}", f"{shown} 取值无效:{value}(应为 {allowed})")


def _enum(field: str, value: str, table: dict[str, str]) -> None:
    problem = _enum_problem(field, value, table)
    if problem:
        raise problem.error()


def resource_problems(data: ResourceIn, names: Mapping[str, str] | None = None) -> list[Problem]:
    """Every problem of the resource's own fields, in the order ``check_resource`` reports them. ``names`` maps
    field names to what the user calls them (e.g. a workbook's Chinese headers) in messages."""
    if data.secret:
        return [Problem("secret", "secret_resource",
                        "涉密信息资源不得在政务信息资源目录中登记,请按保密规定另行管理")]
    problems = [p for p in (
        _enum_problem("format", data.format, enums.FORMATS, names),
        _enum_problem("share_type", data.share_type, enums.SHARE_TYPES, names),
        _enum_problem("share_method", data.share_method, enums.SHARE_METHODS, names),
        _enum_problem("update_cycle", data.update_cycle, enums.UPDATE_CYCLES, names),
        _enum_problem("grade", data.grade, enums.GRADES, names),
        _enum_problem("sensitivity", data.sensitivity, enums.SENSITIVITIES, names),
    ) if p]
    if data.share_type == "none" and not data.share_basis:
        problems.append(Problem("share_basis", "share_basis_required", "不予共享的资源必须填写法律法规或政策依据"))
    if data.share_type == "conditional" and not data.share_condition:
        problems.append(Problem("share_condition", "share_condition_required", "有条件共享的资源必须写明共享条件"))
    if data.open and data.share_type == "none":
        problems.append(Problem("open", "open_not_allowed", "不予共享的资源不能向社会开放"))
    return problems


def check_resource(db: Session, data: ResourceIn, provider_id: int, resource_id: int | None) -> list[CheckedItem]:
    problems = resource_problems(data)
    if problems:
        raise problems[0].error()
    _check_unique_name(db, data.name, provider_id, resource_id)
    _check_related(db, data.related_codes)
    return check_items(db, data.items)


def duplicate_name_problem(name: str) -> Problem:
    return Problem("name", "duplicate_name", f"本部门已登记同名信息资源:{name}", Conflict)


def _check_unique_name(db: Session, name: str, provider_id: int, resource_id: int | None) -> None:
    clash = db.scalar(select(Resource.id).where(Resource.provider_org_id == provider_id, Resource.name == name))
    if clash is not None and clash != resource_id:
        raise duplicate_name_problem(name).error()


def related_problem(codes: Iterable[str], known: Callable[[str], bool]) -> Problem | None:
    missing = [c for c in codes if not known(c)]
    if not missing:
        return None
    return Problem("related_codes", "unknown_related_resource", f"关联资源代码不存在:{'、'.join(missing)}")


def _check_related(db: Session, codes: list[str]) -> None:
    if not codes:
        return
    known = set(db.scalars(select(Resource.code).where(Resource.code.in_(codes))))
    problem = related_problem(codes, known.__contains__)
    if problem:
        raise problem.error()


def check_items(db: Session, items: list[ItemIn]) -> list[CheckedItem]:
    elements = standards.elements_by_code(db, {i.data_element for i in items if i.data_element})
    checked, problems = item_problems(items, elements)
    if problems:
        raise problems[0][1].error()
    return checked


def _ordinal(n: int, item: ItemIn) -> str:
    return f"第 {n} 个信息项({item.name})"


def item_problems(items: list[ItemIn], elements: Mapping[str, Any],
                  where: Callable[[int, ItemIn], str] = _ordinal, names: Mapping[str, str] | None = None,
                  ) -> tuple[list[CheckedItem], list[tuple[int | None, Problem]]]:
    """Check a resource's items against each other and the data elements they bind (``elements``: code → the
    DataElement, or None when it does not exist). Returns the checked items and every problem with the index
    of its item (None: the item list as a whole)."""
    if not items:
        return [], [(None, Problem("items", "items_required", "信息资源至少要有一个信息项"))]
    seen: set[str] = set()
    checked: list[CheckedItem] = []
    problems: list[tuple[int | None, Problem]] = []
    for index, item in enumerate(items):
        here = where(index + 1, item)
        if not ITEM_KEY.match(item.key or ""):
            problems.append((index, Problem("key", "invalid_item_key",
                                            f"{here}的英文标识 {item.key!r} 无效:须为小写字母开头的 snake_case")))
        elif item.key in seen:
            problems.append((index, Problem("key", "duplicate_item_key", f"{here}的英文标识 {item.key} 重复")))
        seen.add(item.key)
        bad_type = _enum_problem("data_type", item.data_type, enums.DATA_TYPES, names)
        if bad_type:
            problems.append((index, bad_type))
        result, binding = _binding(item, elements, here, names)
        problems += [(index, p) for p in binding]
        checked.append(result)
    return checked, problems


def _binding(item: ItemIn, elements: Mapping[str, Any], where: str, names: Mapping[str, str] | None
             ) -> tuple[CheckedItem, list[Problem]]:
    problems = []
    element = elements.get(item.data_element) if item.data_element else None
    if item.data_element and element is None:
        problems.append(Problem("data_element", "unknown_data_element",
                                f"{where}绑定的数据元 {item.data_element} 不存在"))
    if element is not None and element.data_type != item.data_type:
        problems.append(Problem("data_type", "item_type_mismatch",
                                f"{where}的数据类型 {item.data_type} 与数据元 {element.code}({element.name})"
                                f"的类型 {element.data_type} 不一致"))
    sensitivity = item.sensitivity or (element.default_sensitivity if element else "L1")
    bad = _enum_problem("sensitivity", sensitivity, enums.SENSITIVITIES, names)
    if bad:
        problems.append(bad)
    return CheckedItem(item, sensitivity, bool(element and element.is_identifier)), problems
