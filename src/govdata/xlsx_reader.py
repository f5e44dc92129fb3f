"""Streaming reader for .xlsx uploads: refuses zip bombs and DTDs, then yields each sheet's rows as plain
values. openpyxl reads the package, shared strings and date styles; sheet rows are parsed with the standard
library's C XML parser (see ``Book`` for why)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from govdata.errors import ValidationFailed


def _error(message: str, code: str, status: int = 422) -> ValidationFailed:
    return ValidationFailed(message, code=code, status=status)


def check_archive(buffer: io.BytesIO, max_uncompressed: int) -> None:
    """Refuse a zip bomb before anything is decompressed. The sizes come from the zip's directory; zipfile
    never inflates a member beyond its declared size (it fails the CRC check instead), so they are a bound."""
    try:
        with zipfile.ZipFile(buffer) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise _error("文件不是有效的 Excel 工作簿(.xlsx),无法读取", "invalid_workbook") from exc
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise _error("压缩包不是 Excel 工作簿(.xlsx)", "invalid_workbook")
    total = sum(m.file_size for m in members)
    if total > max_uncompressed or len(members) > 10_000:
        raise _error(f"工作簿解压后过大({total / 1048576:.0f} MB,上限 {max_uncompressed / 1048576:.0f} MB),"
                          "拒绝读取", "file_too_large", 413)


_MAIN_NS = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main",  # transitional (what Excel/WPS write)
            "http://purl.oclc.org/ooxml/spreadsheetml/main")  # strict
_ROW_TAGS = frozenset(f"{{{ns}}}row" for ns in _MAIN_NS)
_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


class Book:
    """A workbook opened by openpyxl (``read_only``, ``data_only``): package, workbook part, shared strings and
    date styles. Sheet rows are then streamed with the C XML parser.

    Why not ``openpyxl.load_workbook(...).iter_rows()``: with defusedxml installed openpyxl parses every XML
    part with the pure-Python expat driver, and for a sheet without a ``<dimension>`` element (openpyxl's own
    streaming writer omits it) it parses the whole sheet once more at load time just to size it. Together about
    four times slower on a 10,000-resource catalog workbook (docs/benchmarks.md). The C parser is safe here: expat ≥ 2.4
    limits entity amplification, ElementTree never fetches external entities, and a sheet that declares a DTD
    (Excel never writes one) is refused outright."""

    def __init__(self, reader: Any, max_columns: int) -> None:
        self.max_columns = max_columns
        self.archive = reader.archive
        self.shared_strings: list[str] = list(reader.shared_strings)
        self.date_styles = set(reader.wb._date_formats) - set(getattr(reader.wb, "_timedelta_formats", ()))
        self.epoch = reader.wb.epoch
        self.sheets = {sheet.name: rel.target for sheet, rel in reader.parser.find_sheets()
                       if rel.Type.endswith("/worksheet") and rel.target in reader.valid_files}

    @classmethod
    def open(cls, buffer: io.BytesIO, max_columns: int = 200) -> Book:
        from openpyxl.reader.excel import ExcelReader
        from openpyxl.styles.stylesheet import apply_stylesheet

        buffer.seek(0)
        try:
            reader = ExcelReader(buffer, read_only=True, data_only=True)
            reader.read_manifest()
            reader.read_strings()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
            return cls(reader, max_columns)
        except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
            raise _error("压缩包不是可读取的 Excel 工作簿(.xlsx)", "invalid_workbook") from exc

    def close(self) -> None:
        self.archive.close()

    def rows(self, sheet: str) -> Iterator[tuple[int, list[Any]]]:
        """(row number, cell values with None for blanks) for each row present in the sheet, in order."""
        from xml.etree.ElementTree import XMLPullParser

        parser = XMLPullParser(events=("end",))
        last = 0
        with self.archive.open(self.sheets[sheet]) as source:
            first = True
            while chunk := source.read(1 << 14):  # small reads keep few elements alive: faster than large ones
                if first and (_DTD.search(chunk) or b"worksheet" not in chunk):
                    raise _error(f"工作表「{sheet}」不是有效的工作表(或含有 DTD 声明),拒绝读取",
                                      "invalid_workbook")
                first = False
                parser.feed(chunk)
                for _, element in parser.read_events():
                    if element.tag in _ROW_TAGS:
                        number = int(element.get("r") or last + 1)
                        last = number
                        yield number, self._values(element)
                        element.clear()
        parser.close()

    def _values(self, row: Any) -> list[Any]:
        from openpyxl.utils.cell import column_index_from_string

        values: list[Any] = []
        column = 0
        for cell in row:
            ref = cell.get("r")
            column = column_index_from_string(ref.rstrip("0123456789")) if ref else column + 1
            if column > self.max_columns:
                break
            value = self._value(cell)
            if value is not None:
                values.extend([None] * (column - len(values)))
                values[column - 1] = value
        return values

    def _value(self, cell: Any) -> Any:
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            for child in cell:
                if child.tag.endswith("}is"):
                    return _rich_text(child)
            return None
        raw = None
        for child in cell:
            if child.tag.endswith("}v"):
                raw = child.text
                break
        if raw is None:
            return None
        if kind == "s":
            return self.shared_strings[int(raw)]
        if kind == "n":
            number = float(raw) if any(c in raw for c in ".eE") else int(raw)
            style = cell.get("s")
            if style and int(style) in self.date_styles:
                from openpyxl.utils.datetime import from_excel

                return from_excel(number, self.epoch)
            return number
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind == "d":
            from openpyxl.utils.datetime import from_ISO8601

            return from_ISO8601(raw)
        return raw  # "str" (a formula's cached text) and "e" (an error such as #N/A) are text


def _rich_text(element: Any) -> str:
    """The text of an inline or shared string: its ``t``, or its runs' ``t``; phonetic hints (``rPh``) are not
    text."""
    parts = []
    for child in element:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if t.tag.endswith("}t"))
    return "".join(parts)
