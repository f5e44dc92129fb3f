"""Readers for uploaded dataset files: CSV (UTF-8, GBK/GB18030 …), Excel (.xlsx, .xls), JSON and JSON Lines.

``open_reader`` checks the file (format, encoding, header) and returns a reader whose ``chunks()`` yields frames
of string columns, so the caller can validate one chunk while the next is read. Every cell is text (``pl.String``)
or null: an empty cell is null in every format. Rows whose structure is wrong (a CSV record with too few or too
many fields, a JSON record with keys outside the header, an Excel row with values beyond the header) come back as
``StructureReject``s beside the good rows; a file that cannot be read at all raises ``ReadError``.

CSV is the format that gets large, so it has a pipeline: a background thread reads blocks of the file (4 MB),
transcodes them to UTF-8 and cuts them on record boundaries, while the consuming generator parses the previous
block with polars (which releases the GIL) and gathers blocks into chunks of about ``chunk_bytes``. Blocks whose
structure is regular — established exactly and cheaply, see ``_regular`` — stay on that fast path; any other block
is parsed again with the ``csv`` module, row by row, so that each bad record is reported with its row number and
text. With GB18030 the thread's decoding (Python's codec, which holds the GIL) is what bounds the speed.
"""

from __future__ import annotations

import abc
import codecs
import contextlib
import csv
import io
import itertools
import json
import math
import os
import queue
import re
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

import polars as pl

from govdata import xlsx_reader
from govdata.errors import ValidationFailed

MAX_COLUMNS = 1000
SAMPLE_BYTES = 1 << 20  # encoding detection and the CSV header look at this much of the file
MAX_RECORD_BYTES = 64 << 20  # a quoted field still open after this much text is an unclosed quote, not data
XLSX_MAX_UNCOMPRESSED = 2 << 30  # the XML inside an .xlsx; calamine holds the sheet in memory, so this bounds it
ROWS_PER_CHUNK = 100_000  # Excel and JSON chunks
REJECT_TEXT = 500

_BOM = codecs.BOM_UTF8
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_GB = frozenset({"gb2312", "gbk", "gb18030", "cp936", "hz"})
_SEPARATORS = (",", "\t", ";", "|")
_KINDS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xls": "xls", ".json": "json",
          ".jsonl": "jsonl", ".ndjson": "jsonl"}
_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_CJK = re.compile("[\u4e00-\u9fff]")


class ReadError(ValidationFailed):
    """The file cannot be read as a dataset; ``code`` says why (see the module's error codes)."""


@dataclass
class StructureReject:
    row: int  # row number in the source: CSV/Excel header is row 1; JSON record number, JSON Lines line number
    text: str  # the raw record, at most 500 characters
    reason: str


@dataclass
class Chunk:
    frame: pl.DataFrame  # every column pl.String, named by the header, in file order
    rows: list[int] | None  # the row number of each frame row when they are not contiguous
    first_row: int  # the row number of the frame's first row
    rejects: list[StructureReject] = field(default_factory=list)


class Reader(Protocol):
    kind: str
    encoding: str | None
    columns: list[str]
    size: int

    def chunks(self, progress: Callable[[int], None] | None = None) -> Iterator[Chunk]: ...


def open_reader(path: Path, *, filename: str | None = None, encoding: str | None = None,
                chunk_bytes: int = 16 << 20) -> Reader:
    """Kind from the filename's extension (filename defaults to path.name): .csv .txt → csv, .xlsx, .xls, .json,
    .jsonl/.ndjson. ``encoding`` overrides detection (csv/json/jsonl). Reads the header; raises ``ReadError``."""
    name = filename or path.name
    kind = _KINDS.get(Path(name).suffix.lower())
    if kind is None:
        raise ReadError(f"不支持的文件格式「{name}」:请上传 CSV、Excel(.xlsx/.xls)、JSON 或 JSON Lines 文件",
                        code="unsupported_format")
    codec = check_encoding(encoding) if encoding else None
    if kind == "csv":
        return CsvReader(path, codec, chunk_bytes)
    if kind in ("xlsx", "xls"):
        return ExcelReader(path, kind)
    if kind == "jsonl":
        return JsonLinesReader(path, codec)
    return JsonArrayReader(path, codec)


def detect_encoding(sample: bytes) -> str:
    """"utf-8" (also for pure ASCII), "gb18030" for anything GBK-like, else what charset-normalizer says."""
    if bom := _bom_encoding(sample):
        return bom
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample)  # a character cut at the end is not an error
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    cut = sample.rfind(b"\n")
    names = [_canonical(match.encoding) for match in from_bytes(sample[: cut + 1] if cut > 0 else sample)]
    # Short Chinese samples are often also plausible Korean or Japanese; here GB18030 is the likely one.
    if not names or "gb18030" in names:
        return "gb18030"
    return names[0]


# --- errors and small helpers ------------------------------------------------------------------------------------

def _bom_encoding(sample: bytes) -> str | None:
    for bom, name in ((_BOM, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                      (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if sample.startswith(bom):
            return name
    return None


def _error(code: str, message: str) -> ReadError:
    return ReadError(message, code=code)


def _canonical(name: str) -> str:
    name = codecs.lookup(name).name
    return "gb18030" if name in _GB else "utf-8" if name == "utf-8-sig" else name


def check_encoding(name: str) -> str:
    """The codec a user's encoding name stands for ("gbk", "GB2312", "cp936" → "gb18030"; "utf-8-sig" → "utf-8");
    ``ReadError`` "unknown_encoding" for a name that is not a text encoding."""
    try:
        info = codecs.lookup(name.strip())
    except LookupError:
        raise _error("unknown_encoding", f"不认识的字符编码「{name}」:可选 utf-8、gbk、gb18030 等") from None
    if not getattr(info, "_is_text_encoding", True):  # base64, zlib, rot13 … are codecs but not text encodings
        raise _error("unknown_encoding", f"「{name}」不是文本字符编码:可选 utf-8、gbk、gb18030 等")
    return _canonical(info.name)


def _line_at(path: Path, offset: int) -> int:
    """The 1-based line number of byte ``offset`` (counting b"\\n", so for ASCII-compatible encodings)."""
    lines = 1
    with path.open("rb") as fh:
        while offset > 0 and (block := fh.read(min(offset, 1 << 20))):
            lines += block.count(b"\n")
            offset -= len(block)
    return lines


def _encoding_error(path: Path, encoding: str, offset: int, bad: bytes) -> ReadError:
    other = "gb18030" if encoding == "utf-8" else "utf-8"
    return _error("encoding_error",
                  f"第 {_line_at(path, offset)} 行(文件第 {offset} 字节处)的内容 {bad[:8].hex(' ')} 不是有效的 "
                  f"{encoding} 编码。文件可能混用了多种编码(例如部分行另存为 GBK),请统一另存为 UTF-8,"
                  f"或在上传时选择其他编码(如 {other})")


def _read_head(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    with path.open("rb") as fh:
        return fh.read(size)


def _check_header(names: list[str]) -> list[str]:
    names = [name.replace("\ufeff", "").strip() for name in names]
    if len(names) > MAX_COLUMNS:
        raise _error("too_many_columns", f"表头有 {len(names)} 列,超过上限 {MAX_COLUMNS} 列")
    blank = [str(i) for i, name in enumerate(names, 1) if not name]
    if blank:
        raise _error("blank_header", f"表头第 {'、'.join(blank[:20])} 列的列名为空,请补全列名后重新上传")
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names, 1):
        seen.setdefault(name, []).append(i)
    duplicated = [f"「{name}」(第 {'、'.join(map(str, at))} 列)" for name, at in seen.items() if len(at) > 1]
    if duplicated:
        raise _error("duplicate_header", f"表头中有重复的列名:{'、'.join(duplicated[:20])}")
    return names


def _frame(columns: list[str], values: list[list[str | None]]) -> pl.DataFrame:
    """A frame of string columns from row lists (all of the header's length); empty text becomes null."""
    data = list(zip(*values, strict=True)) if values else [() for _ in columns]
    frame = pl.DataFrame({name: pl.Series(name, col, dtype=pl.String) for name, col in zip(columns, data, strict=True)})
    return frame.with_columns(pl.all().replace("", None))


def _chunk(columns: list[str], values: list[list[str | None]], rows: list[int], first: int,
           rejects: list[StructureReject]) -> Chunk:
    contiguous = not rows or rows[-1] - rows[0] == len(rows) - 1
    return Chunk(_frame(columns, values), None if contiguous else rows, rows[0] if rows else first, rejects)


def _merge(pieces: list[Chunk]) -> Chunk:
    """One chunk of consecutive chunks."""
    if len(pieces) == 1:
        return pieces[0]
    filled = [p for p in pieces if p.frame.height]
    contiguous = all(p.rows is None for p in filled) and all(
        a.first_row + a.frame.height == b.first_row for a, b in itertools.pairwise(filled))
    rows = None if contiguous else [n for p in filled for n in _row_numbers(p)]
    first = rows[0] if rows else (filled or pieces)[0].first_row
    frame = pl.concat([p.frame for p in pieces], rechunk=False)
    return Chunk(frame, rows, first, [r for p in pieces for r in p.rejects])


def _row_numbers(chunk: Chunk) -> Iterable[int]:
    return chunk.rows if chunk.rows is not None else range(chunk.first_row, chunk.first_row + chunk.frame.height)


def _reject(row: int, text: str, reason: str) -> StructureReject:
    return StructureReject(row, text[:REJECT_TEXT], reason)


# --- CSV ---------------------------------------------------------------------------------------------------------

@dataclass
class _Block:
    data: bytes  # UTF-8 text of whole records (without a BOM)
    offset: int  # file offset of data[0] when the file is UTF-8 (so data are the file's bytes), else -1
    done: int  # bytes of the file read so far
    open_quote: bool = False  # the file ends inside a quoted field (so this is the last block)


_END = object()
ICONV = shutil.which("iconv")
_ICONV_NAMES = {"gb18030": "GB18030"}  # encodings whose iconv output was checked against Python's codec
_SLICE = 1 << 20
_BLOCK_BYTES = 4 << 20


class _Blocks:
    """A background thread reading the file, transcoding it to UTF-8 and cutting it after whole records, feeding a
    bounded queue. Cutting: after the last b"\\n" with an even number of b'"' before it, which is right for quoted
    fields with embedded newlines and "" escapes. Exceptions of the thread are raised by the iterator."""

    def __init__(self, path: Path, encoding: str, block_bytes: int, ahead: int) -> None:
        self.path, self.encoding, self.block_bytes = path, encoding, max(block_bytes, 4)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="csv-reader", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[_Block]:
        while (item := self._queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a put() waiting on a full queue
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for block in self._produce():
                if not self._put(block):
                    return
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)

    def _produce(self) -> Iterator[_Block]:
        utf8 = self.encoding == "utf-8"
        rest, odd, start = b"", False, 0  # the partial record carried over, its quote parity, its file offset
        first = True
        for text, done, last in self._texts():
            if first and text.startswith(_BOM):
                text, start = text[3:], 3
            first = False
            if last:
                if rest or text:
                    yield _Block(rest + text, start if utf8 else -1, done, odd ^ (text.count(b'"') % 2 == 1))
                return
            cut = _record_end(text, odd)
            if not cut:
                rest, odd = rest + text, odd ^ (text.count(b'"') % 2 == 1)
                if odd and len(rest) > MAX_RECORD_BYTES:  # not a field any more: an unpaired quote
                    yield _Block(rest, start if utf8 else -1, done, True)
                    return
                continue
            data = rest + text[:cut] if rest else text[:cut]
            yield _Block(data, start if utf8 else -1, done)
            start += len(data)
            rest = text[cut:]
            odd = rest.count(b'"') % 2 == 1 if b'"' in rest else False

    def _texts(self) -> Iterator[tuple[bytes, int, bool]]:
        """(UTF-8 text, file bytes read so far, end of file): the file itself when it is UTF-8, else transcoded by
        glibc's iconv in a process of its own when available (three times Python's speed, and it leaves this
        process's GIL to the parser), else by Python's codec."""
        if self.encoding == "utf-8":
            yield from self._decoded(None, 0)
        elif ICONV and self.encoding in _ICONV_NAMES:
            yield from self._iconv()
        else:
            yield from self._decoded(codecs.getincrementaldecoder(self.encoding)("strict"), 0)

    def _decoded(self, decoder: codecs.IncrementalDecoder | None, offset: int) -> Iterator[tuple[bytes, int, bool]]:
        with self.path.open("rb") as fh:
            fh.seek(offset)
            while raw := fh.read(self.block_bytes):
                done = fh.tell()
                yield (raw if decoder is None else self._transcode(decoder, raw, done)), done, False
            done = fh.tell()
        yield (b"" if decoder is None else self._transcode(decoder, b"", done)), done, True

    def _iconv(self) -> Iterator[tuple[bytes, int, bool]]:
        """iconv's output up to the end, or up to the first sequence it refuses: from there on Python's codec
        decides (GB18030 editions map a few private-use characters differently; a truly bad byte is then reported
        by Python with its line)."""
        size = self.path.stat().st_size
        ratio = _utf8_ratio(self.path, self.encoding)
        cmd = [ICONV, "-f", _ICONV_NAMES[self.encoding], "-t", "UTF-8", str(self.path)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # noqa: S603
                                env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "")})
        try:
            out = 0
            assert proc.stdout is not None and proc.stderr is not None
            while block := proc.stdout.read(self.block_bytes):
                out += len(block)
                yield block, min(size, int(out / ratio)), False
            message = proc.stderr.read().decode("ascii", "replace")
            if proc.wait() == 0:
                yield b"", size, True
                return
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        failed_at = re.search(r"position (\d+)", message)
        if failed_at is None:
            raise _error("encoding_error", f"文件末尾的内容不是完整的 {self.encoding} 字符,文件可能被截断")
        yield from self._decoded(codecs.getincrementaldecoder(self.encoding)("strict"), int(failed_at.group(1)))

    def _transcode(self, decoder: codecs.IncrementalDecoder, raw: bytes, done: int) -> bytes:
        """UTF-8 for ``raw``, the file's bytes up to offset ``done``. Decoded in 1 MB slices: each slice's text is
        encoded while it is still in the CPU cache, about 10% faster than a 4 MB string at a time."""
        if not raw:
            return self._decode(decoder, b"", done)
        start = done - len(raw)
        return b"".join([self._decode(decoder, raw[i:i + _SLICE], start + min(i + _SLICE, len(raw)))
                         for i in range(0, len(raw), _SLICE)])

    def _decode(self, decoder: codecs.IncrementalDecoder, raw: bytes, end: int) -> bytes:
        try:
            return decoder.decode(raw, final=not raw).encode("utf-8")
        except UnicodeDecodeError as exc:  # exc.object is the decoder's pending bytes plus raw, ending at ``end``
            offset = end - len(exc.object) + exc.start
            raise _encoding_error(self.path, self.encoding, offset, exc.object[exc.start:exc.end]) from None


def _utf8_ratio(path: Path, encoding: str) -> float:
    """UTF-8 bytes per source byte in the file's first megabyte, to turn iconv's output into progress."""
    head = _read_head(path)
    return max(len(head.decode(encoding, "ignore").encode("utf-8")) / max(len(head), 1), 0.1)


def _record_end(buf: bytes, odd: bool) -> int:
    """Index just past the last b"\\n" of ``buf`` outside quotes (``odd``: buf starts inside quotes), or 0."""
    if not odd and b'"' not in buf:
        return buf.rfind(b"\n") + 1
    quotes = buf.count(b'"') + odd
    end = len(buf)
    while (newline := buf.rfind(b"\n", 0, end)) >= 0:
        quotes -= buf.count(b'"', newline, end)
        if quotes % 2 == 0:
            return newline + 1
        end = newline
    return 0


def _first_record_end(buf: bytes) -> int:
    """Index just past the first b"\\n" of ``buf`` outside quotes, or 0."""
    quotes = start = 0
    while (newline := buf.find(b"\n", start)) >= 0:
        quotes += buf.count(b'"', start, newline)
        if quotes % 2 == 0:
            return newline + 1
        start = newline + 1
    return 0


@dataclass
class _CsvHeader:
    columns: list[str]
    separator: str
    skip: int  # UTF-8 bytes before the first data record: blank lines and the header record
    row: int  # the header's row number


class CsvReader:
    kind = "csv"

    def __init__(self, path: Path, encoding: str | None, chunk_bytes: int) -> None:
        self.path, self.chunk_bytes = path, chunk_bytes
        self.size = path.stat().st_size
        head = _read_head(path)
        if not head.strip():
            raise _error("empty_file", "文件是空的:没有表头,也没有数据")
        _refuse_binary(head, encoding)
        self.encoding = _text_encoding(path, head, encoding)
        self._header = self._read_header()
        self.columns = self._header.columns

    def chunks(self, progress: Callable[[int], None] | None = None) -> Iterator[Chunk]:
        # Blocks smaller than a chunk keep the CPU caches warm and the pipeline's start and end short (a 1M-row
        # GB18030 file reads about 15% faster with 4 MB blocks than with 16 MB ones); a chunk gathers several.
        block_bytes = min(self.chunk_bytes, _BLOCK_BYTES)
        blocks = _Blocks(self.path, self.encoding, block_bytes, ahead=max(2, 2 * self.chunk_bytes // block_bytes))
        skip, row = self._header.skip, self._header.row + 1
        pieces: list[Chunk] = []
        gathered = 0
        try:
            for block in blocks:
                front = min(skip, len(block.data))
                data, skip = block.data[front:], skip - front
                if block.open_quote:
                    raise _unclosed_quote(data, row)
                data, blank = _strip_trailing_blank_lines(data)
                chunk, count = self._parse(data, row, block.offset + front)
                row += count + blank
                if progress:
                    progress(block.done)
                if chunk is not None:
                    pieces.append(chunk)
                    gathered += len(data)
                if pieces and gathered >= self.chunk_bytes:
                    yield _merge(pieces)
                    pieces, gathered = [], 0
            if pieces:
                yield _merge(pieces)
        finally:
            blocks.close()

    def _read_header(self) -> _CsvHeader:
        """The first non-blank record, from the decoded start of the file (read further if it is that long)."""
        decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        text, offset = "", 0
        with self.path.open("rb") as fh:
            while True:
                raw = fh.read(SAMPLE_BYTES)
                try:
                    text += decoder.decode(raw, final=not raw)
                except UnicodeDecodeError as exc:
                    at = offset + len(raw) - len(exc.object) + exc.start
                    raise _encoding_error(self.path, self.encoding, at, exc.object[exc.start:exc.end]) from None
                offset += len(raw)
                text = text.removeprefix("\ufeff")
                header = _parse_header(text, eof=not raw)
                if header is not None:
                    return header
                if len(text) > MAX_RECORD_BYTES:
                    raise _error("truncated_file", "读到 64 MB 仍未找到表头的结尾:表头的引号没有闭合,"
                                 "或者文件没有换行符")

    def _parse(self, data: bytes, row: int, offset: int) -> tuple[Chunk | None, int]:
        """(chunk, records in data including blank lines) for a block of whole records starting at ``row``."""
        if not data:
            return None, 0
        frame = self._parse_fast(data)
        if frame is not None:
            return Chunk(frame, None, row, []), frame.height
        return self._parse_slow(data, row, offset)

    def _parse_fast(self, data: bytes) -> pl.DataFrame | None:
        columns = self.columns
        quoted = b'"' in data
        try:
            frame = pl.read_csv(data, has_header=False, new_columns=columns, infer_schema=False,
                                schema=dict.fromkeys(columns, pl.String), separator=self._header.separator,
                                quote_char='"', truncate_ragged_lines=False, raise_if_empty=False)
        except Exception:  # too many fields, invalid UTF-8, odd quoting: the slow path says exactly what
            return None
        if frame.width != len(columns) or not _regular(frame, data, self._header.separator, quoted):
            return None
        return frame.with_columns(pl.all().replace("", None)) if quoted else frame

    def _parse_slow(self, data: bytes, row: int, offset: int) -> tuple[Chunk | None, int]:
        text = self._utf8(data, offset)
        lines = list(io.StringIO(text, newline=""))
        if csv.field_size_limit() < MAX_RECORD_BYTES:
            csv.field_size_limit(MAX_RECORD_BYTES)
        reader = csv.reader(lines, delimiter=self._header.separator, strict=False)
        ncols = len(self.columns)
        values: list[list[str | None]] = []
        rows: list[int] = []
        rejects: list[StructureReject] = []
        consumed = count = 0
        for count, fields in enumerate(reader, 1):
            record = "".join(lines[consumed:reader.line_num]).rstrip("\r\n")
            consumed = reader.line_num
            if len(fields) == ncols:
                values.append(fields)
                rows.append(row + count - 1)
            elif not fields:  # a completely empty line
                continue
            else:
                rejects.append(_reject(row + count - 1, record, f"字段数为 {len(fields)},与表头的 {ncols} 列不符"))
        if not values and not rejects:
            return None, count
        return _chunk(self.columns, values, rows, row, rejects), count

    def _utf8(self, data: bytes, offset: int) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:  # only a UTF-8 file's own bytes can fail here: the rest is transcoded
            raise _encoding_error(self.path, self.encoding, offset + exc.start, data[exc.start:exc.end]) from None


def _regular(frame: pl.DataFrame, data: bytes, separator: str, quoted: bool) -> bool:
    """Whether every record of ``data`` has exactly the header's number of fields and no record is blank, given
    that polars parsed it without error, which it does not do for a record with too many fields. A record with too
    few fields gets null in the last column, so without nulls there the block is regular. Otherwise count the
    separators outside quotes (all of them, less those inside the parsed values): records with too few fields or
    blank lines (which polars turns into all-null rows) make them fewer than (fields − 1) per row."""
    if frame.get_column(frame.columns[-1]).null_count() == 0:
        return True
    if frame.width == 1:
        return False  # null there is a blank line: let the slow path skip it
    separators = data.count(separator.encode())
    if quoted:
        inside = frame.select(pl.all().str.count_matches(separator, literal=True).sum()).sum_horizontal().item()
        separators -= inside or 0
    return separators == frame.height * (frame.width - 1)


def _strip_trailing_blank_lines(data: bytes) -> tuple[bytes, int]:
    """(data without blank lines at its end, their number): blank lines at the end of a block (often the end of the
    file) would otherwise send a whole regular block down the slow path."""
    if data in (b"\n", b"\r\n"):
        return b"", 1
    if not data.endswith((b"\n\n", b"\n\r\n")):
        return data, 0
    stripped = data.rstrip(b"\r\n")
    newlines = data.count(b"\n", len(stripped))
    return (stripped + b"\n", newlines - 1) if stripped else (b"", newlines)


def _unclosed_quote(data: bytes, row: int) -> ReadError:
    pieces = data.split(b'"')
    opened = row + sum(piece.count(b"\n") for piece in pieces[0:-1:2])  # newlines outside quotes before it
    return _error("truncated_file",
                  f"第 {opened} 行有一个引号(\")开始的字段直到文件末尾(或 64 MB 之内)都没有闭合:文件可能不完整"
                  "(上传或导出中断),"
                  "或者该行的字段中有不成对的引号")


def _parse_header(text: str, *, eof: bool) -> _CsvHeader | None:
    """The header from the start of the decoded file, or None when the text read so far does not hold it all."""
    if "\n" not in text and re.search("\r[^\n]", text):
        raise _error("unsupported_format", "文件使用旧式 Mac 换行符(只有 CR),无法读取:请在 Excel 中另存为"
                     "「CSV UTF-8(逗号分隔)」后上传")
    start, row = 0, 1
    while (newline := text.find("\n", start)) >= 0 and not text[start:newline].strip():  # skip blank lines
        start, row = newline + 1, row + 1
    data = text[start:].encode()
    end = _first_record_end(data) or (len(data) if eof else 0)
    if not end:
        return None
    record = data[:end].decode()
    if not record.strip():
        raise _error("empty_file", "文件中没有表头:只有空行")
    separator = max(_SEPARATORS, key=record.count) if any(s in record for s in _SEPARATORS) else ","
    fields = next(csv.reader(io.StringIO(record, newline=""), delimiter=separator))
    skip = len(text[:start].encode()) + end
    return _CsvHeader(_check_header(fields), separator, skip, row)


def _refuse_binary(head: bytes, encoding: str | None) -> None:
    if head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        raise _error("unsupported_format", "文件内容是 Excel 工作簿或压缩包,不是 CSV 文本:请把扩展名改为 .xlsx/.xls,"
                     "或在 Excel 中另存为 CSV 后上传")
    wide = (encoding or _bom_encoding(head) or "").startswith(("utf-16", "utf-32"))  # NUL bytes are text there
    if b"\x00" in head[:4096] and not wide:
        raise _error("unsupported_format", "文件内容不是文本(含有二进制数据),无法作为 CSV 读取")


def _text_encoding(path: Path, head: bytes, chosen: str | None) -> str:
    if chosen:
        return chosen
    detected = detect_encoding(head)
    if detected != "utf-8":
        _refuse_mixed(path, head)
    return detected


def _refuse_mixed(path: Path, head: bytes) -> None:
    """A sample that is not UTF-8 yet has lines of Chinese that are: two encodings in one file. Guessing one would
    silently garble the other's rows, so name the first line that is not UTF-8."""
    utf8_lines, first_bad, offset = 0, None, 0
    whole = head if len(head) < SAMPLE_BYTES else head[: head.rfind(b"\n") + 1]  # no character cut at the end
    for line in whole.splitlines(keepends=True):
        if not line.isascii():
            try:
                utf8_lines += _utf8_chinese(line)
            except UnicodeDecodeError as exc:
                first_bad = first_bad if first_bad is not None else (offset + exc.start, line[exc.start:exc.end])
        offset += len(line)
    if utf8_lines and first_bad is not None:
        at, bad = first_bad
        raise _error("encoding_error",
                     f"文件混用了多种编码:有些行是 UTF-8,而第 {_line_at(path, at)} 行(文件第 {at} 字节处的 "
                     f"{bad[:8].hex(' ')})不是 UTF-8,可能是 GBK。请把整个文件统一另存为 UTF-8 后重新上传;"
                     "如果确认整个文件都是 GBK 编码,请在上传时明确选择编码 GBK")


def _utf8_chinese(line: bytes) -> bool:
    """Whether a line is Chinese in UTF-8 beyond reasonable doubt (UnicodeDecodeError when it is not UTF-8). Short
    GBK text is now and then valid UTF-8 by accident, but then nearly always GB2312 as well, which UTF-8 Chinese
    hardly ever is: its continuation bytes (0x80–0xBF) are mostly not GB2312 trail bytes (0xA1–0xFE). Measured on
    random three-character GBK lines, 30% of them rare characters: about 1 line in 40,000 passes; hence the advice
    in the error to choose the encoding, which skips this check."""
    if len(_CJK.findall(line.decode("utf-8"))) < 2:
        return False
    try:
        line.decode("gb2312")
    except UnicodeDecodeError:
        return True
    return False


# --- Excel -------------------------------------------------------------------------------------------------------

class ExcelReader:
    """The first sheet of an .xlsx or .xls workbook, through calamine; the first non-empty row is the header."""

    encoding = None

    def __init__(self, path: Path, kind: str) -> None:
        self.path, self.kind = path, kind
        self.size = path.stat().st_size
        if self.size == 0:
            raise _error("empty_file", "文件是空的:没有表头,也没有数据")
        _check_workbook(path, kind)
        self._sheet = self._first_sheet()
        self._header_row, self.columns = self._find_header()

    def chunks(self, progress: Callable[[int], None] | None = None) -> Iterator[Chunk]:
        ncols, total = len(self.columns), max(self._sheet.height, 1)
        values: list[list[str | None]] = []
        rows: list[int] = []
        rejects: list[StructureReject] = []
        for number, cells in enumerate(self._sheet.iter_rows(), 1):
            if number <= self._header_row:
                continue
            texts = [_cell_text(cell) for cell in cells]
            extra = [i for i, text in enumerate(texts[ncols:], ncols + 1) if text is not None]
            if extra:
                rejects.append(_reject(number, ",".join(t or "" for t in texts).rstrip(","),
                                       f"第 {extra[0]} 列有内容,但表头只有 {ncols} 列"))
            elif any(text is not None for text in texts):
                values.append(texts[:ncols] + [None] * (ncols - len(texts)))
                rows.append(number)
            if len(values) + len(rejects) >= ROWS_PER_CHUNK:
                yield _chunk(self.columns, values, rows, number, rejects)
                values, rows, rejects = [], [], []
                if progress:
                    progress(min(self.size, self.size * number // total))
        if values or rejects:
            yield _chunk(self.columns, values, rows, self._header_row + 1, rejects)
        if progress:
            progress(self.size)

    def _first_sheet(self) -> Any:
        from python_calamine import CalamineWorkbook

        try:
            book = CalamineWorkbook.from_path(str(self.path))
            if not book.sheet_names:
                raise _error("empty_file", "工作簿中没有工作表")
            return book.get_sheet_by_index(0)
        except ReadError:
            raise
        except Exception as exc:  # calamine raises its own kinds for damaged or foreign files
            raise _error("unsupported_format", f"无法读取 Excel 工作簿:{exc}") from exc

    def _find_header(self) -> tuple[int, list[str]]:
        for number, cells in enumerate(self._sheet.iter_rows(), 1):
            texts = [_cell_text(cell) or "" for cell in cells]
            while texts and not texts[-1].strip():
                texts.pop()
            if texts:
                return number, _check_header(texts)
        raise _error("empty_file", "第一个工作表是空的:没有表头")


def _check_workbook(path: Path, kind: str) -> None:
    head = _read_head(path, 8)
    if kind == "xlsx" and head.startswith(_OLE_MAGIC):
        raise _error("unsupported_format", "文件不是 .xlsx 工作簿:它是旧版 Excel 97-2003 格式(请把扩展名改为 .xls),"
                     "或者是设置了打开密码的工作簿(请取消密码后重新上传)")
    if kind == "xls" and head.startswith(_ZIP_MAGIC):
        raise _error("unsupported_format", "文件不是 .xls 工作簿:内容是 .xlsx 格式,请把扩展名改为 .xlsx 后重新上传")
    if kind == "xlsx":
        _check_xlsx(path)
    elif not head.startswith(_OLE_MAGIC):
        raise _error("unsupported_format", "文件不是 Excel 97-2003 工作簿(.xls):内容与扩展名不符")


def _check_xlsx(path: Path) -> None:
    """Zip-bomb and DTD checks before calamine inflates anything."""
    with path.open("rb") as fh:
        if not zipfile.is_zipfile(fh):
            raise _error("unsupported_format", "文件不是 Excel 工作簿(.xlsx):内容不是 xlsx 格式,与扩展名不符")
        try:
            xlsx_reader.check_archive(fh, XLSX_MAX_UNCOMPRESSED)  # type: ignore[arg-type]
        except ValidationFailed as exc:
            if exc.code == "invalid_workbook":
                raise _error("unsupported_format", exc.message) from None
            raise _error("unsafe_archive", _archive_problem(fh)) from None
        with zipfile.ZipFile(fh) as archive:
            for member in archive.infolist():
                if member.filename.endswith((".xml", ".rels")):
                    with archive.open(member) as part:
                        if _DTD.search(part.read(1 << 16)):
                            raise _error("unsafe_archive",
                                         f"工作簿的「{member.filename}」含有 DTD 声明(Excel 不会写入),拒绝读取")


def _archive_problem(fh: IO[bytes]) -> str:
    with zipfile.ZipFile(fh) as archive:
        members = archive.infolist()
    total = sum(m.file_size for m in members)
    if total > XLSX_MAX_UNCOMPRESSED:
        return (f"工作簿解压后过大({total / 1048576:.0f} MB,上限 {XLSX_MAX_UNCOMPRESSED / 1048576:.0f} MB),"
                "可能是压缩炸弹,拒绝读取")
    return f"工作簿包含 {len(members)} 个文件,远超正常的 Excel 工作簿,拒绝读取"


def _cell_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, datetime):
        if value.microsecond >= 500_000:
            value += timedelta(seconds=1)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, timedelta):
        seconds = round(value.total_seconds())
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return str(value)


def _number_text(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e16:  # beyond that a float no longer holds every integer
        return str(int(value))
    return repr(value) if math.isfinite(value) else str(value)


# --- JSON --------------------------------------------------------------------------------------------------------

def _json_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


class _JsonRecords:
    """Turns records (dicts) into chunks: the header is the first record's keys; a record with other keys is a
    ``StructureReject``, missing keys are null."""

    def __init__(self, first: dict[str, Any]) -> None:
        if not first:
            raise _error("empty_file", "第一条记录是空对象 {}:无法从中确定列(表头取自第一条记录的字段)")
        self.keys = list(first)
        self.columns = _check_header(self.keys)
        self.index = {key: i for i, key in enumerate(self.keys)}

    def chunks(self, records: Iterable[tuple[int, Any]], progress: Callable[[], None]) -> Iterator[Chunk]:
        values: list[list[str | None]] = []
        rows: list[int] = []
        rejects: list[StructureReject] = []
        first = 1
        for number, record in records:
            if len(values) + len(rejects) >= ROWS_PER_CHUNK:
                yield _chunk(self.columns, values, rows, first, rejects)
                progress()
                values, rows, rejects, first = [], [], [], number
            self._add(number, record, values, rows, rejects)
        if values or rejects:
            yield _chunk(self.columns, values, rows, first, rejects)
        progress()

    def _add(self, number: int, record: dict[str, Any], values: list[list[str | None]], rows: list[int],
             rejects: list[StructureReject]) -> None:
        index = self.index
        if record.keys() <= index.keys():
            row: list[str | None] = [None] * len(index)
            for key, value in record.items():
                row[index[key]] = _json_text(value)
            values.append(row)
            rows.append(number)
        else:
            extra = "、".join(f"「{key}」" for key in record if key not in index)
            text = json.dumps(record, ensure_ascii=False, default=str)
            rejects.append(_reject(number, text, f"含有表头之外的字段 {extra[:200]}"))


class _JsonReader(abc.ABC):
    """What both JSON readers share: the header from the first record, and chunks of the records."""

    path: Path

    @abc.abstractmethod
    def _records(self, fh: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
        """(row number, record) for every record of the open file."""

    def _first_record(self, empty_message: str) -> None:
        with self.path.open("rb") as fh:
            first = next(self._records(fh), None)
        if first is None:
            raise _error("empty_file", empty_message)
        self._converter = _JsonRecords(first[1])
        self.columns = self._converter.columns

    def chunks(self, progress: Callable[[int], None] | None = None) -> Iterator[Chunk]:
        with self.path.open("rb") as fh:
            yield from self._converter.chunks(self._records(fh), _reporter(fh, progress))


class JsonLinesReader(_JsonReader):
    """JSON Lines: one object per line; blank lines are skipped; row numbers are line numbers."""

    kind = "jsonl"

    def __init__(self, path: Path, encoding: str | None) -> None:
        self.path, self.size = path, path.stat().st_size
        self.encoding = _text_encoding(path, _read_head(path), encoding)
        self._first_record("文件是空的:没有任何 JSON 记录")

    def _records(self, fh: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
        """Lines are split as bytes (right for UTF-8, GB18030 and other ASCII-compatible encodings) and decoded one
        by one, so that an encoding error names its line."""
        for number, line in enumerate(fh, 1):
            if number == 1:
                line = line.removeprefix(_BOM)
            if not line.strip():
                continue
            try:
                record = json.loads(line if self.encoding == "utf-8" else line.decode(self.encoding))
            except UnicodeDecodeError:
                raise _error("encoding_error", f"第 {number} 行不是有效的 {self.encoding} 编码:文件可能混用了多种编码,"
                             "请统一另存为 UTF-8,或在上传时选择其他编码") from None
            except ValueError as exc:
                raise _error("invalid_json", f"第 {number} 行不是有效的 JSON:{exc}") from None
            if not isinstance(record, dict):
                raise _not_object(f"第 {number} 行", record)
            yield number, record


class JsonArrayReader(_JsonReader):
    """A JSON array of objects, streamed with ijson; row numbers are 1-based record numbers."""

    kind = "json"

    def __init__(self, path: Path, encoding: str | None) -> None:
        self.path, self.size = path, path.stat().st_size
        head = _read_head(path)
        self.encoding = _text_encoding(path, head, encoding)
        start = head.decode(self.encoding, "ignore").lstrip("\ufeff \t\r\n")
        if not start:
            raise _error("empty_file", "文件是空的:没有任何 JSON 记录")
        if not start.startswith("["):
            what = "对象 {…}" if start.startswith("{") else "单个值"
            raise _error("invalid_json", f"JSON 文件的顶层应是对象数组 [{{…}}, {{…}}],而这里是{what}")
        self._first_record("JSON 数组是空的:没有任何记录")

    def _records(self, fh: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
        import ijson

        if fh.read(3) != _BOM:
            fh.seek(0)
        source: Any = fh if self.encoding == "utf-8" else _Utf8Stream(fh, self.encoding)
        number = 0
        try:
            for number, record in enumerate(ijson.items(source, "item", use_float=True), 1):
                if not isinstance(record, dict):
                    raise _not_object(f"第 {number} 条记录", record)
                yield number, record
        except ijson.JSONError as exc:
            raise _error("invalid_json", f"第 {number + 1} 条记录处不是有效的 JSON:{exc}") from None
        except UnicodeDecodeError:
            raise _error("encoding_error", f"第 {number + 1} 条记录处不是有效的 {self.encoding} 编码:文件可能混用"
                         "了多种编码,请统一另存为 UTF-8,或在上传时选择其他编码") from None


def _reporter(fh: IO[bytes], progress: Callable[[int], None] | None) -> Callable[[], None]:
    def report() -> None:
        if progress:
            progress(fh.tell())
    return report


def _not_object(where: str, value: Any) -> ReadError:
    text = json.dumps(value, ensure_ascii=False, default=str)[:80]
    return _error("invalid_json", f"{where}不是 JSON 对象({{…}}),而是 {text}")


class _Utf8Stream:
    """A binary file in another encoding, read as UTF-8 (for ijson, which reads UTF-8)."""

    def __init__(self, fh: IO[bytes], encoding: str) -> None:
        self.fh = fh
        self.decoder = codecs.getincrementaldecoder(encoding)("strict")

    def read(self, size: int = -1) -> bytes:
        raw = self.fh.read(size)
        return self.decoder.decode(raw, final=not raw).encode("utf-8")
