"""Code set files: read an uploaded CSV/XLSX with the header 代码,名称[,上级代码]; write CSV (UTF-8 with BOM, so
Excel opens it) and XLSX. Cells that a spreadsheet would run as a formula are neutralised on the way out."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator

import charset_normalizer

from govdata.errors import ValidationFailed
from govdata.exports import FORMULA_START

HEADER = ("代码", "名称", "上级代码")
_COLUMNS = {"代码": "code", "编码": "code", "code": "code", "名称": "label", "label": "label",
            "上级代码": "parent_code", "parent_code": "parent_code"}
MAX_ROWS = 100_000
# The encodings a Chinese office's CSV arrives in. Detection is limited to these: left free, charset-normalizer
# takes a short GBK file for Korean (cp949).
_ENCODINGS = ["utf_8", "gb18030", "utf_16", "utf_32"]

Row = tuple[int, dict[str, str]]  # (row number as a spreadsheet shows it, {"code", "label", "parent_code"})


def is_xlsx(content: bytes, filename: str | None) -> bool:
    return content.startswith(b"PK\x03\x04") or (filename or "").lower().endswith(".xlsx")


def read_rows(content: bytes, filename: str | None = None) -> list[Row]:
    if (filename or "").lower().endswith(".xls") or content.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationFailed("不支持旧版 Excel(.xls)文件,请另存为 .xlsx 或 CSV", code="unsupported_file")
    table = _xlsx_cells(content) if is_xlsx(content, filename) else _csv_cells(decode_text(content))
    return _rows(table)


def decode_text(content: bytes) -> str:
    """UTF-8 with or without BOM, GB18030 (a superset of GBK and GB2312), or UTF-16/32 with a BOM."""
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8):]
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(content, cp_isolation=_ENCODINGS).best()
    if best is None:
        raise ValidationFailed("无法识别文件的字符编码,请另存为 UTF-8 或 GB18030(GBK)编码的 CSV 文件",
                               code="unsupported_encoding")
    return str(best)


def _csv_cells(text: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""))


def _xlsx_cells(content: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or non-xlsx file
        raise ValidationFailed("无法读取 Excel 文件,请确认是 .xlsx 格式", code="unsupported_file") from exc
    sheet = book.worksheets[0]
    return ([_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True))


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _header(cells: list[str]) -> list[str | None]:
    columns = [_COLUMNS.get(c.strip().lstrip("\ufeff")) for c in cells]
    if "code" not in columns or "label" not in columns:
        seen = ",".join(c.strip() for c in cells)[:100]
        raise ValidationFailed(f"表头应为 代码,名称[,上级代码],实际为:{seen}", code="invalid_codeset_header")
    return columns


def _rows(table: Iterable[list[str]]) -> list[Row]:
    rows: list[Row] = []
    columns: list[str | None] | None = None
    for number, cells in enumerate(table, start=1):
        if not any(c.strip() for c in cells):
            continue
        if columns is None:
            columns = _header(cells)
            continue
        if len(rows) >= MAX_ROWS:
            raise ValidationFailed(f"代码集最多 {MAX_ROWS} 行", code="too_many_rows")
        row = {key: _unneutralise(cells[i].strip()) if i < len(cells) else ""
               for i, key in enumerate(columns) if key}
        rows.append((number, row))
    if columns is None:
        raise ValidationFailed("文件是空的", code="empty_codeset")
    return rows


def neutralise(text: str) -> str:
    """A leading ' keeps a spreadsheet from running ``=cmd()`` and the like (CSV injection)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _unneutralise(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def write_csv(rows: Iterable[tuple[str, str, str | None]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADER)
    for code, label, parent in rows:
        writer.writerow([neutralise(code), neutralise(label), neutralise(parent or "")])
    return codecs.BOM_UTF8 + buf.getvalue().encode("utf-8")


def write_xlsx(rows: Iterable[tuple[str, str, str | None]], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_sheet_title(title))
    sheet.append(list(HEADER))
    for values in rows:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value or None)
            if value:
                cell.data_type = "s"  # text, never a formula, and codes keep their leading zeros
                cell.number_format = "@"
            cells.append(cell)
        sheet.append(cells)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _sheet_title(title: str) -> str:
    cleaned = "".join("_" if c in "[]:*?/\\" else c for c in title)
    return cleaned[:31] or "代码集"
