"""The catalog workbook (编目工作簿): the catalog as one Excel file, for bulk registration and for export.

Two sheets, Chinese headers in the order of the guide's core metadata (《政务信息资源目录编制指南(试行)》):
「信息资源」 one row per resource, 「信息项」 one row per item, an item row naming its resource by 信息资源名称 and
信息资源提供方代码. Enumerations are written as their Chinese labels and read as labels or keys. The layout and
its rules are written down in docs/decisions.md, "Catalog workbook (issue 3)".

Import is all or nothing. The file is checked as a file (size, zip, decompressed size, sheets, headers, row
count), then every row of both sheets is checked with ``catalog.validation`` and every error is collected with
its sheet, Excel row number and column. Only when no row has an error is anything written: in one transaction,
through ``service.create_many`` (published directly when asked). Otherwise ``ImportFailed`` carries the errors
and the only write is one ``catalog.import_failed`` action-log entry.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata import exports, xlsx_reader
from govdata.actionlog import service as actionlog
from govdata.catalog import projection, service, validation
from govdata.catalog.classifications import DEPARTMENT_ROOT
from govdata.catalog.models import Classification, Resource, ResourceItem
from govdata.catalog.schemas import ItemIn, ResourceIn, to_key
from govdata.errors import AppError, Forbidden, ValidationFailed
from govdata.orgs import service as orgs
from govdata.principal import Principal, require_role
from govdata.standards import enums
from govdata.standards import service as standards

RESOURCE_SHEET = "信息资源"
ITEM_SHEET = "信息项"

# (field, header) in the guide's order. ``provider_name`` is written on export and ignored on import.
RESOURCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("code", "信息资源代码"), ("name", "信息资源名称"), ("provider", "信息资源提供方代码"),
    ("provider_name", "信息资源提供方"), ("classification", "信息资源分类"), ("summary", "信息资源摘要"),
    ("format", "信息资源格式"), ("share_type", "共享类型"), ("share_condition", "共享条件"),
    ("share_method", "共享方式"), ("share_basis", "不予共享依据"), ("open", "是否向社会开放"),
    ("open_condition", "开放条件"), ("update_cycle", "更新周期"), ("publish_date", "发布日期"),
    ("related_codes", "关联资源代码"), ("grade", "数据分级"), ("sensitivity", "敏感级别"),
    ("responsible_person", "责任人"), ("contact", "联系方式"),
)
# Accepted on import, never written: a 涉密 resource is refused (it must not be in the catalog at all).
OPTIONAL_RESOURCE_COLUMNS: tuple[tuple[str, str], ...] = (("secret", "是否涉密"),)
ITEM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("resource_name", "信息资源名称"), ("provider", "信息资源提供方代码"), ("key", "信息项标识"),
    ("name", "信息项名称"), ("data_type", "数据类型"), ("length", "长度"), ("required", "必填"),
    ("primary_key", "主键"), ("data_element", "数据元"), ("sensitivity", "敏感级别"),
)
RESOURCE_HEADERS = dict(RESOURCE_COLUMNS + OPTIONAL_RESOURCE_COLUMNS)
ITEM_HEADERS = dict(ITEM_COLUMNS)
_REQUIRED = ("name", "provider", "classification", "format", "share_type", "share_method", "update_cycle")
_MAX_HEADER_COLUMNS = 200
_YES = frozenset({"是", "y", "yes", "true", "1", "√", "✓"})
_NO = frozenset({"否", "n", "no", "false", "0", ""})
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_CODE_SPLIT = re.compile(r"[;;,,、\s]+")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and other OLE2 files)

Progress = Callable[[str, int, int | None], None]  # (phase, done, total or None)


class Limits(BaseSettings):
    """What an import accepts. Environment: ``GOVDATA_CATALOG_IMPORT_MAX_ROWS`` etc."""

    model_config = SettingsConfigDict(env_prefix="GOVDATA_CATALOG_IMPORT_", extra="ignore", frozen=True)

    max_bytes: int = 50 * 1024 * 1024  # the .xlsx file
    max_uncompressed: int = 1024 * 1024 * 1024  # the XML inside it: a zip bomb stops here
    max_rows: int = 100_000  # rows of 信息资源
    max_item_rows: int = 2_000_000  # rows of 信息项
    max_errors: int = 10_000  # row errors reported (the count is always exact)


class ImportFailed(ValidationFailed):
    """Some rows have errors; nothing was imported. ``details`` lists the errors (sheet, row, column, code,
    message), at most ``Limits.max_errors`` of them."""

    code = "import_failed"


@dataclass
class ImportReport:
    resources: int
    items: int
    published: bool
    codes: list[str]
    providers: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)  # seconds: read, validate, write, publish

    def as_dict(self) -> dict[str, Any]:
        return {"resources": self.resources, "items": self.items, "published": self.published,
                "providers": self.providers, "codes": self.codes,
                "seconds": {k: round(v, 3) for k, v in self.timings.items()}}


# ---- export ------------------------------------------------------------------------------------

def export_workbook(db: Session, principal: Principal | None = None, *, working: bool = False) -> bytes:
    """The published catalog, or (``working``) the working copies ``principal`` may see, as a workbook."""
    docs = _working_docs(db, principal) if working else [e.document for e in projection.published_entries(db)]
    resources = [_resource_cells(d) for d in docs]
    items = [_item_cells(d, i) for d in docs for i in d["items"]]
    return exports.xlsx_bytes([(RESOURCE_SHEET, [h for _, h in RESOURCE_COLUMNS], resources),
                               (ITEM_SHEET, [h for _, h in ITEM_COLUMNS], items)])


def _label(table: dict[str, str], key: str | None) -> str:
    return table.get(key, key) if key else ""


def _resource_cells(doc: dict[str, Any]) -> list[Any]:
    return [doc["code"], doc["name"], doc["provider"], doc["provider_name"], doc["classification"], doc["summary"],
            _label(enums.FORMATS, doc["format"]), _label(enums.SHARE_TYPES, doc["share_type"]),
            doc["share_condition"], _label(enums.SHARE_METHODS, doc["share_method"]), doc["share_basis"],
            bool(doc["open"]), doc["open_condition"], _label(enums.UPDATE_CYCLES, doc["update_cycle"]),
            date.fromisoformat(doc["publish_date"]) if doc.get("publish_date") else None,
            list(doc.get("related_codes") or []), _label(enums.GRADES, doc["grade"]),
            _label(enums.SENSITIVITIES, doc["sensitivity"]), doc["responsible_person"], doc["contact"]]


def _item_cells(doc: dict[str, Any], item: dict[str, Any]) -> list[Any]:
    return [doc["name"], doc["provider"], item["key"], item["name"], item["data_type"], item["length"],
            bool(item["required"]), bool(item["primary_key"]), item["data_element"] or "",
            _label(enums.SENSITIVITIES, item["sensitivity"])]


def _working_docs(db: Session, principal: Principal | None) -> list[dict[str, Any]]:
    """Working copies as JSON, read in bulk (a few queries whatever the catalog's size)."""
    stmt = select(Resource)
    if principal is None or not principal.has_role("auditor"):
        stmt = stmt.where(Resource.provider_org_id == (principal.org_id if principal else -1))
    resources = list(db.scalars(stmt))
    providers = {o.id: o for o in orgs.all_orgs(db)}
    paths = {code: path for code, path in db.execute(select(Classification.code, Classification.path))}
    items: dict[int, list[dict[str, Any]]] = {}
    ids = [r.id for r in resources]
    for start in range(0, len(ids), 1000):
        rows = db.scalars(select(ResourceItem).where(ResourceItem.resource_id.in_(ids[start:start + 1000]))
                          .order_by(ResourceItem.resource_id, ResourceItem.position))
        for item in rows:
            items.setdefault(item.resource_id, []).append(service.item_dict(item))
    docs = [service.resource_doc(r, providers[r.provider_org_id], paths[r.classification_code], items.get(r.id, []))
            for r in resources]
    return sorted(docs, key=lambda d: (d["provider"], d["code"]))


# ---- import: the file --------------------------------------------------------------------------

Row = tuple[int, tuple[Any, ...]]  # (Excel row number, cell values in column order)


@dataclass
class Sheet:
    name: str
    columns: dict[str, int]  # field → index in the row tuple
    rows: list[Row]


def _file_error(message: str, code: str, status: int = 422, details: Any = None) -> ValidationFailed:
    return ValidationFailed(message, code=code, status=status, details=details)


def read_workbook(data: bytes, limits: Limits, progress: Progress | None = None) -> tuple[Sheet, Sheet]:
    """Check the file and read both sheets' non-blank rows (values only)."""
    if len(data) > limits.max_bytes:
        raise _file_error(f"文件过大:{len(data) / 1048576:.1f} MB,上限 {limits.max_bytes / 1048576:.0f} MB",
                          "file_too_large", 413)
    if data.startswith(_OLE_MAGIC):
        raise _file_error("这是旧版 Excel(.xls)文件,请在 Excel 中另存为 .xlsx 后再导入", "invalid_workbook")
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        raise _file_error("文件不是 Excel 工作簿(.xlsx),无法读取", "invalid_workbook")
    xlsx_reader.check_archive(buffer, limits.max_uncompressed)
    book = xlsx_reader.Book.open(buffer, _MAX_HEADER_COLUMNS)
    try:
        missing = [name for name in (RESOURCE_SHEET, ITEM_SHEET) if name not in book.sheets]
        if missing:
            raise _file_error(f"工作簿缺少工作表:{'、'.join(missing)}(应有「{RESOURCE_SHEET}」和「{ITEM_SHEET}」两个"
                              f"工作表;可先导出一份目录作为模板)", "missing_sheet", details={"missing": missing})
        resource_rows = book.rows(RESOURCE_SHEET)
        item_rows = book.rows(ITEM_SHEET)
        resource_columns = _header(resource_rows)
        item_columns = _header(item_rows)
        problems = [p for p in (_header_problem(RESOURCE_SHEET, resource_columns, RESOURCE_COLUMNS,
                                                OPTIONAL_RESOURCE_COLUMNS),
                                _header_problem(ITEM_SHEET, item_columns, ITEM_COLUMNS, ())) if p]
        if problems:
            raise _file_error("表头不符合编目工作簿格式:" + ";".join(p["message"] for p in problems),
                              "invalid_headers", details=problems)
        resources = _rows(RESOURCE_SHEET, resource_rows, len(resource_columns), limits.max_rows, progress)
        items = _rows(ITEM_SHEET, item_rows, len(item_columns), limits.max_item_rows, progress)
    except AppError:
        raise
    except Exception as exc:  # broken XML or zip members surface as many kinds
        raise _file_error("工作簿已损坏,无法读取", "invalid_workbook") from exc
    finally:
        book.close()
    return (Sheet(RESOURCE_SHEET, _field_index(resource_columns, RESOURCE_HEADERS), resources),
            Sheet(ITEM_SHEET, _field_index(item_columns, ITEM_HEADERS), items))


def _header(rows: Iterator[tuple[int, list[Any]]]) -> list[str]:
    """Row 1's headers (a sheet whose first row is elsewhere has none)."""
    for number, values in rows:
        if number != 1:
            return []
        cells = [_text(v).replace("\n", "").rstrip("*＊").strip() for v in values]
        while cells and not cells[-1]:
            cells.pop()
        return cells
    return []


def _header_problem(sheet: str, headers: list[str], required: tuple[tuple[str, str], ...],
                    optional: tuple[tuple[str, str], ...]) -> dict[str, Any] | None:
    known = {h for _, h in required + optional}
    present = [h for h in headers if h]
    missing = [h for _, h in required if h not in present]
    unexpected = [h for h in present if h not in known]
    duplicated = sorted({h for h in present if present.count(h) > 1})
    if not (missing or unexpected or duplicated):
        return None
    parts = ([f"缺少 {'、'.join(missing)}"] if missing else []) + \
            ([f"无法识别 {'、'.join(unexpected)}"] if unexpected else []) + \
            ([f"重复 {'、'.join(duplicated)}"] if duplicated else [])
    return {"sheet": sheet, "missing": missing, "unexpected": unexpected, "duplicated": duplicated,
            "message": f"工作表「{sheet}」{','.join(parts)}"}


def _field_index(headers: list[str], by_field: dict[str, str]) -> dict[str, int]:
    by_header = {h: f for f, h in by_field.items()}
    return {by_header[h]: i for i, h in enumerate(headers) if h in by_header}


def _rows(sheet: str, rows: Iterator[tuple[int, list[Any]]], width: int, limit: int,
          progress: Progress | None) -> list[Row]:
    kept: list[Row] = []
    for number, values in rows:
        if number < 2 or all(v is None or (isinstance(v, str) and not v.strip()) for v in values[:width]):
            continue
        if len(kept) >= limit:
            raise _file_error(f"工作表「{sheet}」超过 {limit} 行,请分批导入", "too_many_rows",
                              details={"sheet": sheet, "limit": limit})
        kept.append((number, tuple(values[:width]) + (None,) * (width - len(values))))
        if progress and len(kept) % 5000 == 0:
            progress("read", len(kept), None)
    return kept


# ---- import: cells -----------------------------------------------------------------------------

class CellError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _bool(value: Any, header: str) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellError("invalid_boolean", f"{header} 应填“是”或“否”,实际为:{_text(value)}")


def _date(value: Any, header: str) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    match = _DATE.match(text)
    try:
        if match:
            return date(*(int(g) for g in match.groups()))
    except ValueError:
        pass
    raise CellError("invalid_date", f"{header} 应为日期(如 2024-03-01),实际为:{text}")


def _int(value: Any, header: str) -> int | None:
    if isinstance(value, bool):
        raise CellError("invalid_length", f"{header} 应为正整数,实际为:{_text(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = _text(value)
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    raise CellError("invalid_length", f"{header} 应为正整数,实际为:{text}")


def _pydantic_errors(exc: ValidationError, headers: dict[str, str]) -> Iterator[tuple[str, str, str, str]]:
    """(field, column, code, message) for each error pydantic found."""
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        column = headers.get(name, name)
        kind, ctx = error["type"], error.get("ctx") or {}
        if kind in ("missing", "string_too_short"):
            yield name, column, "value_required", f"{column} 不能为空"
        elif kind == "string_too_long":
            yield name, column, "value_too_long", f"{column} 不能超过 {ctx.get('max_length')} 个字符"
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            bound = ctx.get("ge", ctx.get("gt", ""))
            top = ctx.get("le", ctx.get("lt", ""))
            yield name, column, "value_out_of_range", f"{column} 应在 {bound}–{top} 之间,实际为:{error.get('input')}"
        else:
            yield name, column, "invalid_value", f"{column} 无效:{error.get('msg')}"


# ---- import: rows ------------------------------------------------------------------------------

@dataclass
class _Pending:
    """A resource row on its way to ``service.NewResource``."""

    row: int
    key: tuple[str, str]  # (provider code, name)
    data: ResourceIn | None
    provider: Any  # the provider Organization, or None
    classification: Classification | None  # None with ``classified``: the provider's department class
    department_code: str | None  # when this import creates that department class: its code
    code: str | None  # a filled-in 信息资源代码, to be kept
    classified: bool = False
    items: list[tuple[int, ItemIn]] = field(default_factory=list)
    item_count: int = 0  # item rows naming this resource, with or without errors
    checked: list[validation.CheckedItem] = field(default_factory=list)


# Values that stand in for a field pydantic refused, so that the row's other checks can still run.
_STAND_INS: dict[str, Any] = {
    "name": "-", "summary": "", "format": "database", "share_type": "unconditional", "share_condition": "",
    "share_method": "file", "share_basis": "", "open": False, "open_condition": "", "update_cycle": "yearly",
    "publish_date": None, "related_codes": [], "grade": "general", "sensitivity": "L1", "secret": False,
    "responsible_person": "", "contact": "", "provider": "-", "classification": "-",
}


class _Checker:
    """Checks every row against the catalog as it is, loaded in bulk: a few queries whatever the file's size."""

    def __init__(self, db: Session, principal: Principal, resources: Sheet, items: Sheet, limits: Limits) -> None:
        self.db, self.principal, self.limits = db, principal, limits
        self.resources, self.items = resources, items
        self.errors: list[dict[str, Any]] = []
        self.error_count = 0
        self.orgs = {o.code: o for o in orgs.all_orgs(db)}
        classes = list(db.scalars(select(Classification)))
        self.classes = {c.path: c for c in classes} | {c.code: c for c in classes}
        self.department_codes = {c.code for c in classes if c.parent_code == DEPARTMENT_ROOT}
        self.planned: dict[str, str] = {}  # provider code → code of the department class this import creates
        file_codes = {_text(values[resources.columns["code"]]) for _, values in resources.rows}
        file_codes |= {c for _, values in resources.rows
                       for c in _CODE_SPLIT.split(_text(values[resources.columns["related_codes"]])) if c}
        file_codes.discard("")
        self.existing_codes = self._existing_codes(file_codes)
        self.file_codes: dict[str, int] = {}  # code kept from the file → its row

    # -- errors

    def error(self, sheet: str, row: int, column: str | None, code: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.limits.max_errors:
            self.errors.append({"sheet": sheet, "row": row, "column": column, "code": code, "message": message})

    def _existing_codes(self, codes: set[str]) -> set[str]:
        found: set[str] = set()
        listed = sorted(codes)
        for start in range(0, len(listed), 1000):
            found.update(self.db.scalars(select(Resource.code).where(Resource.code.in_(listed[start:start + 1000]))))
        return found

    # -- the whole file

    def run(self, progress: Progress | None) -> list[_Pending]:
        pending = [self._resource(number, values) for number, values in self.resources.rows]
        if progress:
            progress("validate", len(pending) // 2, len(pending))
        self._plan_departments(pending)
        self._codes(pending)
        self._names(pending)
        self._attach_items(pending)
        self._check_items(pending)
        self._related(pending)
        if progress:
            progress("validate", len(pending), len(pending))
        return pending

    # -- 信息资源

    def _resource(self, number: int, values: tuple[Any, ...]) -> _Pending:
        cols = self.resources.columns
        cell = {f: values[i] if i < len(values) else None for f, i in cols.items()}
        raw: dict[str, Any] = {}
        bad: set[str] = set()
        for name in ("name", "provider", "summary", "classification", "format", "share_type", "share_condition",
                     "share_method", "share_basis", "open_condition", "update_cycle", "grade", "responsible_person",
                     "contact"):
            text = _text(cell.get(name))
            if text or name not in (*_REQUIRED, "grade"):
                raw[name] = text
        sensitivity = _text(cell.get("sensitivity"))
        if sensitivity:
            raw["sensitivity"] = to_key(enums.SENSITIVITIES, sensitivity)
        raw["related_codes"] = [c for c in _CODE_SPLIT.split(_text(cell.get("related_codes"))) if c]
        for name, parse in (("open", _bool), ("secret", _bool), ("publish_date", _date)):
            try:
                raw[name] = parse(cell.get(name), RESOURCE_HEADERS[name])
            except CellError as exc:
                self.error(RESOURCE_SHEET, number, RESOURCE_HEADERS[name], exc.code, exc.message)
                bad.add(name)
                raw[name] = _STAND_INS[name]
        data = self._resource_in(number, raw, bad)
        key = (_text(cell.get("provider")), _text(cell.get("name")))
        pending = _Pending(number, key, data, None, None, None, None)
        for problem in validation.resource_problems(data, RESOURCE_HEADERS):
            if problem.field not in bad:
                self.error(RESOURCE_SHEET, number, RESOURCE_HEADERS.get(problem.field), problem.code, problem.message)
        if "provider" not in bad:
            pending.provider = self._provider(number, data.provider)
        if pending.provider is not None and "classification" not in bad:
            self._classify(pending, data.classification)
        code = _text(cell.get("code"))
        if code:
            self._code(pending, code)
        if bad:
            pending.data = None
        return pending

    def _resource_in(self, number: int, raw: dict[str, Any], bad: set[str]) -> ResourceIn:
        try:
            return ResourceIn.model_validate(raw)
        except ValidationError as exc:
            for name, column, code, message in _pydantic_errors(exc, RESOURCE_HEADERS):
                self.error(RESOURCE_SHEET, number, column, code, message)
                bad.add(name)
        return ResourceIn.model_validate({**raw, **{name: _STAND_INS[name] for name in bad}})

    def _provider(self, number: int, code: str) -> Any:
        org = self.orgs.get(code)
        column = RESOURCE_HEADERS["provider"]
        if org is None:
            self.error(RESOURCE_SHEET, number, column, "unknown_provider", f"提供方机构不存在:{code}")
            return None
        try:
            service.ensure_can_edit(self.principal, org.id)
        except Forbidden as exc:
            self.error(RESOURCE_SHEET, number, column, exc.code,
                       f"{exc.message}:本行的提供方是 {org.code} {org.name}")
            return None
        return org

    def _classify(self, pending: _Pending, value: str) -> None:
        provider = pending.provider
        try:
            cls = service.classification_for(value, provider, self.classes.get)
        except ValidationFailed as exc:
            self.error(RESOURCE_SHEET, pending.row, RESOURCE_HEADERS["classification"], exc.code, exc.message)
            return
        if cls is None and f"部门/{provider.code}" in self.classes:
            cls = self.classes[f"部门/{provider.code}"]
        pending.classification, pending.classified = cls, True

    def _code(self, pending: _Pending, code: str) -> None:
        """A filled-in 信息资源代码 is kept when it can be, so that a catalog moves between installations with its
        codes (and the 关联资源代码 pointing at them) intact. Its classification part is checked by ``_codes``."""
        column = RESOURCE_HEADERS["code"]
        if code in self.existing_codes:
            self.error(RESOURCE_SHEET, pending.row, column, "resource_exists",
                       f"信息资源 {code} 已在目录中;批量导入只登记新资源(修改请在系统中编辑,新登记请清空本格)")
        elif service.split_code(code) is None:
            self.error(RESOURCE_SHEET, pending.row, column, "invalid_resource_code",
                       f"信息资源代码格式应为 分类代码/六位顺序码(如 105/000001),实际为:{code};新登记可留空")
        elif code in self.file_codes:
            self.error(RESOURCE_SHEET, pending.row, column, "duplicate_resource_code",
                       f"信息资源代码 {code} 与第 {self.file_codes[code]} 行重复")
        else:
            self.file_codes[code] = pending.row
            pending.code = code

    def _plan_departments(self, pending: list[_Pending]) -> None:
        """Department classes this import creates get their codes now, so that kept codes can be checked: the
        code the provider's kept resource codes carry when it is free, else the next free one."""
        new = [p for p in pending if p.classified and p.classification is None]
        for p in new:
            prefix = p.code.partition("/")[0] if p.code else ""
            if (p.provider.code not in self.planned and re.fullmatch(rf"{DEPARTMENT_ROOT}\d\d", prefix)
                    and prefix not in self.department_codes):
                self.planned[p.provider.code] = prefix
                self.department_codes.add(prefix)
        for p in new:
            if p.provider.code not in self.planned:
                self.planned[p.provider.code] = service.department_class_code(self.department_codes)
                self.department_codes.add(self.planned[p.provider.code])
            p.department_code = self.planned[p.provider.code]

    def _codes(self, pending: list[_Pending]) -> None:
        for p in pending:
            if not (p.code and p.classified):
                continue
            prefix, seq = service.split_code(p.code)
            cls = p.classification
            expected = cls.code if cls is not None else p.department_code
            if prefix != expected:
                path = cls.path if cls is not None else f"部门/{p.provider.code}"
                why = f"分类「{path}」在本目录中的代码是 {expected}"
            elif cls is not None and seq < cls.next_sequence:
                why = f"顺序码 {seq:06d} 在本目录中已分配过"
            else:
                continue
            self.error(RESOURCE_SHEET, p.row, RESOURCE_HEADERS["code"], "invalid_resource_code",
                       f"信息资源代码 {p.code} 不能沿用:{why};清空本格则自动编码")

    def _names(self, pending: list[_Pending]) -> None:
        """信息资源名称 is unique within a provider: in the file and against the catalog."""
        provider_ids = {p.provider.id for p in pending if p.provider is not None}
        taken: set[tuple[int, str]] = set()
        ids = sorted(provider_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            taken.update((provider_id, name) for provider_id, name in self.db.execute(
                select(Resource.provider_org_id, Resource.name).where(Resource.provider_org_id.in_(chunk))))
        first: dict[tuple[int, str], int] = {}
        column = RESOURCE_HEADERS["name"]
        for p in pending:
            if p.provider is None or not p.key[1]:
                continue
            key = (p.provider.id, p.key[1])
            if key in first:
                self.error(RESOURCE_SHEET, p.row, column, "duplicate_name",
                           f"与第 {first[key]} 行重名:同一提供方的信息资源名称不能重复({p.key[1]})")
            elif key in taken:
                self.error(RESOURCE_SHEET, p.row, column, "duplicate_name",
                           validation.duplicate_name_problem(p.key[1]).message)
            first.setdefault(key, p.row)

    def _related(self, pending: list[_Pending]) -> None:
        known = self.existing_codes | set(self.file_codes)
        for p in pending:
            if p.data is not None:
                problem = validation.related_problem(p.data.related_codes, known.__contains__)
                if problem:
                    self.error(RESOURCE_SHEET, p.row, RESOURCE_HEADERS["related_codes"], problem.code, problem.message)

    # -- 信息项

    def _attach_items(self, pending: list[_Pending]) -> None:
        by_key: dict[tuple[str, str], _Pending] = {}
        for p in pending:
            by_key.setdefault(p.key, p)
        cols = self.items.columns
        for number, values in self.items.rows:
            cell = {f: values[i] if i < len(values) else None for f, i in cols.items()}
            key = (_text(cell.get("provider")), _text(cell.get("resource_name")))
            owner = by_key.get(key)
            if owner is None:
                self.error(ITEM_SHEET, number, ITEM_HEADERS["resource_name"], "unknown_resource",
                           f"工作表「{RESOURCE_SHEET}」中没有提供方 {key[0] or '(空)'} 的信息资源「{key[1]}」")
                continue
            owner.item_count += 1
            item = self._item_in(number, cell)
            if item is not None:
                owner.items.append((number, item))

    def _item_in(self, number: int, cell: dict[str, Any]) -> ItemIn | None:
        raw: dict[str, Any] = {"key": _text(cell.get("key")), "name": _text(cell.get("name")),
                               "data_element": _text(cell.get("data_element")) or None,
                               "sensitivity": to_key(enums.SENSITIVITIES, _text(cell.get("sensitivity"))) or None}
        data_type = _text(cell.get("data_type"))
        if data_type:
            raw["data_type"] = data_type.upper() if len(data_type) == 1 else to_key(enums.DATA_TYPES, data_type)
        failed = False
        for name, parse in (("length", _int), ("required", _bool), ("primary_key", _bool)):
            try:
                raw[name] = parse(cell.get(name), ITEM_HEADERS[name])
            except CellError as exc:
                self.error(ITEM_SHEET, number, ITEM_HEADERS[name], exc.code, exc.message)
                failed = True
        try:
            item = ItemIn.model_validate(raw)
        except ValidationError as exc:
            for _, column, code, message in _pydantic_errors(exc, ITEM_HEADERS):
                self.error(ITEM_SHEET, number, column, code, message)
            return None
        return None if failed else item

    def _check_items(self, pending: list[_Pending]) -> None:
        codes = sorted({i.data_element for p in pending for _, i in p.items if i.data_element})
        elements = standards.elements_by_code(self.db, codes)
        for p in pending:
            if p.item_count == 0:
                self.error(RESOURCE_SHEET, p.row, None, "items_required",
                           f"信息资源至少要有一个信息项:工作表「{ITEM_SHEET}」中没有属于本行资源的行")
                continue
            rows = [n for n, _ in p.items]
            checked, problems = validation.item_problems([i for _, i in p.items], elements,
                                                         where=lambda _, item: f"信息项「{item.name}」",
                                                         names=ITEM_HEADERS)
            for index, problem in problems:
                if index is not None:
                    self.error(ITEM_SHEET, rows[index], ITEM_HEADERS.get(problem.field), problem.code,
                               problem.message)
            p.checked = checked


# ---- import: the whole ---------------------------------------------------------------------------

def import_workbook(db: Session, principal: Principal, data: bytes, *, publish: bool, source: str | None = None,
                    limits: Limits | None = None, progress: Progress | None = None) -> ImportReport:
    """Register every resource of a catalog workbook, or none. ``publish`` (bureau admins and the CLI only)
    publishes them at once; otherwise they are drafts of their departments. Raises ``ImportFailed`` (details:
    every row error) or a file-level ValidationFailed (``invalid_workbook``, ``missing_sheet``,
    ``invalid_headers``, ``too_many_rows``, ``file_too_large``)."""
    limits = limits or Limits()
    require_role(principal, "dept_admin", "dept_staff")
    if publish and not principal.is_platform_admin:
        raise Forbidden("只有大数据局管理员可以导入并直接发布;部门导入的信息资源为草稿,提交审核后发布",
                        code="forbidden")
    timings: dict[str, float] = {}
    try:
        started = time.perf_counter()
        resource_sheet, item_sheet = read_workbook(data, limits, progress)
        timings["read"] = time.perf_counter() - started
        started = time.perf_counter()
        checker = _Checker(db, principal, resource_sheet, item_sheet, limits)
        pending = checker.run(progress)
        if not pending and not checker.error_count:
            raise _file_error(f"工作表「{RESOURCE_SHEET}」没有任何信息资源", "empty_workbook")
        timings["validate"] = time.perf_counter() - started
        if checker.error_count:
            checker.errors.sort(key=_error_order)
            shown = "" if checker.error_count <= len(checker.errors) else f"(列出前 {len(checker.errors)} 处)"
            raise ImportFailed(f"工作簿有 {checker.error_count} 处错误{shown},未导入任何内容;请改正后重新导入",
                               details=checker.errors)
        if progress:
            progress("write", 0, len(pending))
        batch = [service.NewResource(data=p.data, provider=p.provider, classification=p.classification,
                                     items=p.checked, code=p.code, department_code=p.department_code)
                 for p in pending]
        codes = service.create_many(db, principal, batch, publish=publish, source=source, timings=timings)
    except AppError as exc:
        if not isinstance(exc, Forbidden):
            _record_failure(db, principal, exc, source)
        raise
    if progress:
        progress("write", len(pending), len(pending))
    providers: dict[str, int] = {}
    for p in pending:
        providers[p.provider.code] = providers.get(p.provider.code, 0) + 1
    return ImportReport(resources=len(pending), items=sum(len(p.checked) for p in pending), published=publish,
                        codes=codes, providers=providers, timings=timings)


def _record_failure(db: Session, principal: Principal, exc: AppError, source: str | None) -> None:
    """The one trace a refused import leaves: what was refused and the first errors, committed on its own."""
    errors = exc.details if isinstance(exc, ImportFailed) else []
    actionlog.record_alone(db, principal, "catalog.import_failed", target_type="catalog", target_id=source,
                           outcome="failure", summary=f"批量导入未成功:{exc.message}"[:1000],
                           after={"code": exc.code, "file": source, "errors": errors[:20]})


_COLUMN_ORDER = {(RESOURCE_SHEET, h): i for i, h in enumerate(RESOURCE_HEADERS.values())} | {
    (ITEM_SHEET, h): i for i, h in enumerate(ITEM_HEADERS.values())}


def _error_order(error: dict[str, Any]) -> tuple[int, int, int]:
    """Sheet by sheet, row by row, left to right (a row's own errors before its whole-row ones)."""
    return (error["sheet"] != RESOURCE_SHEET, error["row"], _COLUMN_ORDER.get((error["sheet"], error["column"]), 99))


def error_lines(errors: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Row errors as lines a person reads (the CLI prints these)."""
    for e in errors:
        column = e.get("column") or ""
        where = f"「{e['sheet']}」第 {e['row']} 行" + (f" {column}" if column and not e["message"].startswith(column)
                                                     else "")
        yield f"{where}:{e['message']} [{e['code']}]"
