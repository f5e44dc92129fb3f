"""Data standards: data elements (数据元) and code sets (代码集).

The shipped standards (``shipped.py``) are loaded by ``load_shipped`` at every ``govdata db upgrade``. A shipped
element or code set stays maintained by the platform until an administrator changes it (update an element,
import over a code set); from then on it is local and later loads leave it alone.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.db import utcnow
from govdata.errors import Conflict, NotFound, ValidationFailed
from govdata.principal import CLI, Principal, require_role
from govdata.standards import enums, shipped, tabular, validators
from govdata.standards.models import CodeSet, CodeValue, DataElement
from govdata.standards.schemas import CODESET_NAME_PATTERN, ElementCreate, ElementUpdate
from govdata.standards.table_schema import LARGE_CODESETS, table_schema

ELEMENT_FIELDS = ("name", "definition", "data_type", "length", "format", "codeset", "rule", "default_sensitivity",
                  "is_identifier")
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
MAX_PROBLEMS = 20

# -- shipped standards ----------------------------------------------------------------------------------------


def load_shipped(db: Session) -> dict[str, int]:
    """Insert or refresh the shipped code sets and data elements. Idempotent: a second run changes nothing.
    Returns how many code sets and elements were created or changed."""
    changed = {"codesets": sum(_sync_codeset(db, spec) for spec in shipped.codesets()),
               "elements": sum(_sync_element(db, spec) for spec in shipped.elements())}
    if any(changed.values()):
        summary = f"载入平台数据标准:代码集 {changed['codesets']} 个、数据元 {changed['elements']} 个有更新"
        actionlog.record(db, CLI, "standards.load", target_type="standards", target_id="shipped", summary=summary,
                         after=changed)
    db.commit()
    return changed


def _sync_codeset(db: Session, spec: shipped.ShippedCodeSet) -> bool:
    codeset = find_codeset(db, spec.name)
    if codeset is not None and not codeset.shipped:
        return False
    meta = {"title": spec.title, "standard": spec.standard, "version": spec.version, "description": spec.description}
    if codeset is None:
        codeset = CodeSet(name=spec.name, shipped=True, **meta)
        db.add(codeset)
        db.flush()
        _insert_values(db, codeset.id, spec.values)
        return True
    changed = _assign(codeset, meta)
    return _sync_values(db, codeset, spec.values) or changed


def _assign(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def _insert_values(db: Session, codeset_id: int, values: list[tuple[str, str, str | None]]) -> None:
    if values:
        db.execute(insert(CodeValue), [{"codeset_id": codeset_id, "code": code, "label": label,
                                        "parent_code": parent or None, "sort_order": i}
                                       for i, (code, label, parent) in enumerate(values)])


def _sync_values(db: Session, codeset: CodeSet, values: list[tuple[str, str, str | None]]) -> bool:
    existing = {v.code: v for v in db.scalars(select(CodeValue).where(CodeValue.codeset_id == codeset.id))}
    wanted = {code for code, _, _ in values}
    gone = [v.id for code, v in existing.items() if code not in wanted]
    if gone:
        db.execute(delete(CodeValue).where(CodeValue.id.in_(gone)))
    changed = [_assign(existing[code], {"label": label, "parent_code": parent or None, "sort_order": i})
               for i, (code, label, parent) in enumerate(values) if code in existing]
    new = [(i, code, label, parent) for i, (code, label, parent) in enumerate(values) if code not in existing]
    if new:
        db.execute(insert(CodeValue), [{"codeset_id": codeset.id, "code": code, "label": label,
                                        "parent_code": parent or None, "sort_order": i}
                                       for i, code, label, parent in new])
    if not (gone or new or any(changed)):
        return False
    codeset.updated_at = utcnow()
    db.flush()
    return True


def _sync_element(db: Session, spec: dict[str, Any]) -> bool:
    element = find_element(db, spec["code"])
    fields = {key: spec.get(key) for key in ELEMENT_FIELDS}
    if element is None:
        db.add(DataElement(code=spec["code"], shipped=True, **fields))
        db.flush()
        return True
    return element.shipped and _assign(element, fields)


# -- data elements --------------------------------------------------------------------------------------------


def find_element(db: Session, code: str) -> DataElement | None:
    return db.scalar(select(DataElement).where(DataElement.code == code))


def elements_by_code(db: Session, codes: set[str] | list[str]) -> dict[str, DataElement]:
    """The elements among ``codes`` (unknown codes are simply absent), a thousand per query."""
    wanted = sorted(set(codes))
    found: dict[str, DataElement] = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start:start + 1000]
        found.update((e.code, e) for e in db.scalars(select(DataElement).where(DataElement.code.in_(chunk))))
    return found


def get_element(db: Session, code: str) -> DataElement:
    element = find_element(db, code)
    if element is None:
        raise NotFound(f"数据元不存在:{code}", code="data_element_not_found")
    return element


def list_elements(db: Session, q: str | None = None) -> list[DataElement]:
    stmt = select(DataElement)
    if q:
        stmt = stmt.where(or_(DataElement.code.contains(q, autoescape=True),
                              DataElement.name.contains(q, autoescape=True),
                              DataElement.definition.contains(q, autoescape=True)))
    return list(db.scalars(stmt.order_by(DataElement.code)))


def element_as_dict(element: DataElement) -> dict[str, Any]:
    return {
        "code": element.code, "name": element.name, "definition": element.definition,
        "data_type": element.data_type, "length": element.length, "format": element.format,
        "codeset": element.codeset, "rule": element.rule, "default_sensitivity": element.default_sensitivity,
        "is_identifier": element.is_identifier, "shipped": element.shipped,
        "created_at": element.created_at.isoformat(), "updated_at": element.updated_at.isoformat(),
    }


def _check_element(db: Session, fields: dict[str, Any]) -> None:
    if fields["data_type"] not in enums.DATA_TYPES:
        raise ValidationFailed(f"数据类型无效:{fields['data_type']}(应为 {' '.join(enums.DATA_TYPES)} 之一)",
                               code="invalid_data_type")
    if fields["default_sensitivity"] not in enums.SENSITIVITIES:
        raise ValidationFailed(f"敏感级别无效:{fields['default_sensitivity']}(应为 L1 至 L4)",
                               code="invalid_sensitivity")
    if fields["codeset"] and find_codeset(db, fields["codeset"]) is None:
        raise ValidationFailed(f"代码集不存在:{fields['codeset']}", code="unknown_codeset")
    if fields["rule"]:
        validators.check_rule(fields["rule"])


def create_element(db: Session, principal: Principal, data: ElementCreate) -> DataElement:
    require_role(principal)
    if find_element(db, data.code) is not None:
        raise Conflict(f"数据元编码已存在:{data.code}", code="data_element_exists")
    fields = data.model_dump(include=set(ELEMENT_FIELDS))
    _check_element(db, fields)
    element = DataElement(code=data.code, shipped=False, **fields)
    db.add(element)
    db.flush()
    actionlog.record(db, principal, "element.create", target_type="data_element", target_id=element.code,
                     summary=f"新建数据元 {element.code} {element.name}", after=element_as_dict(element))
    db.commit()
    return element


def update_element(db: Session, principal: Principal, code: str, data: ElementUpdate) -> DataElement:
    require_role(principal)
    element = get_element(db, code)
    before = element_as_dict(element)
    changes = data.model_dump(exclude_unset=True)
    for required in ("name", "data_type", "default_sensitivity", "is_identifier"):
        if changes.get(required, "") is None:
            changes.pop(required)  # null for a required field means "unchanged"
    fields = {key: changes.get(key, getattr(element, key)) for key in ELEMENT_FIELDS}
    _check_element(db, fields)
    if not _assign(element, fields):
        return element  # nothing changed: nothing to log, and a shipped element stays shipped
    element.shipped = False  # an administrator's change makes the element local
    db.flush()
    after = element_as_dict(element)
    actionlog.record(db, principal, "element.update", target_type="data_element", target_id=code,
                     summary=f"修改数据元 {code} {element.name}", before=_changed(before, after),
                     after=_changed(after, before))
    db.commit()
    return element


def _changed(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in a.items() if k == "code" or (b.get(k) != v and k != "updated_at")}


# -- code sets ------------------------------------------------------------------------------------------------


def find_codeset(db: Session, name: str) -> CodeSet | None:
    return db.scalar(select(CodeSet).where(CodeSet.name == name))


def get_codeset(db: Session, name: str) -> CodeSet:
    codeset = find_codeset(db, name)
    if codeset is None:
        raise NotFound(f"代码集不存在:{name}", code="codeset_not_found")
    return codeset


def codeset_values(db: Session, codeset: CodeSet, *, parent: str | None = None, page: int | None = None,
                   page_size: int = 200) -> tuple[int, list[CodeValue]]:
    """Values in the set's order; ``parent`` keeps the children of one code; ``page`` pages the result."""
    stmt = select(CodeValue).where(CodeValue.codeset_id == codeset.id)
    if parent:
        stmt = stmt.where(CodeValue.parent_code == parent)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    stmt = stmt.order_by(CodeValue.sort_order, CodeValue.code)
    if page is not None:
        stmt = stmt.offset((page - 1) * page_size).limit(page_size)
    return total, list(db.scalars(stmt))


def value_dict(value: CodeValue) -> dict[str, Any]:
    return {"code": value.code, "label": value.label, "parent_code": value.parent_code}


def codeset_as_dict(codeset: CodeSet, value_count: int | None = None) -> dict[str, Any]:
    return {"name": codeset.name, "title": codeset.title, "standard": codeset.standard, "version": codeset.version,
            "description": codeset.description, "shipped": codeset.shipped, "value_count": value_count,
            "updated_at": codeset.updated_at.isoformat()}


def codeset_summary(db: Session, codeset: CodeSet) -> dict[str, Any]:
    count = db.scalar(select(func.count()).where(CodeValue.codeset_id == codeset.id)) or 0
    return codeset_as_dict(codeset, count)


def list_codesets(db: Session) -> list[dict[str, Any]]:
    counts = dict(db.execute(select(CodeValue.codeset_id, func.count()).group_by(CodeValue.codeset_id)).all())
    return [codeset_as_dict(c, counts.get(c.id, 0)) for c in db.scalars(select(CodeSet).order_by(CodeSet.name))]


def codeset_detail(db: Session, name: str, parent: str | None = None) -> dict[str, Any]:
    codeset = get_codeset(db, name)
    total, values = codeset_values(db, codeset, parent=parent)
    return {**codeset_as_dict(codeset, total), "values": [value_dict(v) for v in values]}


def value_codes(db: Session, name: str) -> list[str]:
    codeset = get_codeset(db, name)
    return [v.code for v in codeset_values(db, codeset)[1]]


# -- import and export ----------------------------------------------------------------------------------------


def import_codeset(db: Session, principal: Principal, name: str, title: str | None = None, *,
                   rows: list[dict[str, Any]] | None = None, content: bytes | None = None,
                   filename: str | None = None, standard: str | None = None, version: str | None = None,
                   description: str | None = None) -> CodeSet:
    """Create a code set or replace all values of an existing one, from ``rows`` ({"code", "label",
    "parent_code"}) or an uploaded CSV/XLSX file. Every row is checked first: one bad row and nothing changes."""
    require_role(principal)
    if not re.fullmatch(CODESET_NAME_PATTERN, name):
        raise ValidationFailed(f"代码集名称无效:{name}(小写字母开头,只含小写字母、数字和下划线)",
                               code="invalid_codeset_name")
    numbered = tabular.read_rows(content, filename) if content is not None else list(enumerate(rows or [], 1))
    values = _checked_rows(numbered)
    codeset = find_codeset(db, name)
    if codeset is None and not (title or "").strip():
        raise ValidationFailed("新建代码集须填写标题", code="codeset_title_required")
    previous = codeset_summary(db, codeset)["value_count"] if codeset else 0
    codeset = _replace_values(db, codeset, name, values)
    meta = {"title": (title or "").strip() or codeset.title, "standard": standard or codeset.standard,
            "version": version or codeset.version, "description": description or codeset.description,
            "shipped": False}
    _assign(codeset, meta)
    db.flush()
    actionlog.record(db, principal, "codeset.import", target_type="codeset", target_id=name,
                     summary=f"导入代码集 {name} {codeset.title}({len(values)} 个代码)",
                     after={"name": name, "title": codeset.title, "value_count": len(values),
                            "previous_count": previous, "file": filename})
    db.commit()
    return codeset


def _replace_values(db: Session, codeset: CodeSet | None, name: str,
                    values: list[tuple[str, str, str | None]]) -> CodeSet:
    if codeset is None:
        codeset = CodeSet(name=name, title=name, shipped=False)
        db.add(codeset)
        db.flush()
    else:
        db.execute(delete(CodeValue).where(CodeValue.codeset_id == codeset.id))
        codeset.updated_at = utcnow()
    _insert_values(db, codeset.id, values)
    return codeset


def _checked_rows(numbered: list[tuple[int, dict[str, Any]]]) -> list[tuple[str, str, str | None]]:
    problems: list[dict[str, Any]] = []
    values: list[tuple[str, str, str | None]] = []
    seen: dict[str, int] = {}
    for number, row in numbered:
        code, label = str(row.get("code") or "").strip(), str(row.get("label") or "").strip()
        parent = str(row.get("parent_code") or "").strip() or None
        problem = _row_problem(code, label, seen)
        if problem:
            problems.append({"row": number, "code": code, "problem": problem})
        seen.setdefault(code, number)
        values.append((code, label, parent))
    problems += [{"row": n, "code": code, "problem": f"上级代码 {parent} 不在本代码集中"}
                 for (n, _), (code, _, parent) in zip(numbered, values, strict=True) if parent and parent not in seen]
    if not values:
        raise ValidationFailed("代码集没有任何代码", code="empty_codeset")
    if problems:
        shown = ";".join(f"第 {p['row']} 行:{p['problem']}" for p in problems[:5])
        more = f" 等 {len(problems)} 处" if len(problems) > 5 else ""
        raise ValidationFailed(f"代码集有误,未导入任何内容 —— {shown}{more}", code="invalid_codeset_rows",
                               details=problems[:MAX_PROBLEMS])
    return values


def _row_problem(code: str, label: str, seen: dict[str, int]) -> str | None:
    if not code:
        return "代码为空"
    if len(code) > 64:
        return "代码超过 64 个字符"
    if code in seen:
        return f"代码 {code} 与第 {seen[code]} 行重复"
    if not label:
        return "名称为空"
    if len(label) > 200:
        return "名称超过 200 个字符"
    return None


def export_codeset(db: Session, name: str, fmt: str = "csv") -> bytes:
    if fmt not in EXPORT_TYPES:
        raise ValidationFailed(f"不支持的导出格式:{fmt}(应为 csv 或 xlsx)", code="invalid_format")
    codeset = get_codeset(db, name)
    rows = [(v.code, v.label, v.parent_code) for v in codeset_values(db, codeset)[1]]
    return tabular.write_csv(rows) if fmt == "csv" else tabular.write_xlsx(rows, codeset.title)


# -- Table Schema ---------------------------------------------------------------------------------------------


def schema_elements(db: Session, codes: set[str]) -> dict[str, dict[str, Any]]:
    """Element dicts for ``table_schema``, each with ``values`` listing its code set's codes when small."""
    out = {}
    for element in db.scalars(select(DataElement).where(DataElement.code.in_(codes))):
        data = element_as_dict(element)
        if element.codeset and element.codeset not in LARGE_CODESETS and find_codeset(db, element.codeset):
            data["values"] = value_codes(db, element.codeset)
        out[element.code] = data
    return out


def resource_table_schema(db: Session, resource: dict[str, Any]) -> dict[str, Any]:
    """The Frictionless Table Schema of a catalog resource given in its API shape."""
    codes = {item["data_element"] for item in resource.get("items") or [] if item.get("data_element")}
    return table_schema(resource, schema_elements(db, codes))
