"""Reading uploaded dataset files (govdata.ingest.readers): encodings, CSV structure, Excel, JSON."""

from __future__ import annotations

import csv
import io
import json
import struct
import threading
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govdata.ingest import readers
from govdata.ingest.readers import Chunk, ReadError, detect_encoding, open_reader

# --- helpers -----------------------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def read_all(path: Path, **options) -> tuple[pl.DataFrame, list[int], list[readers.StructureReject]]:
    """The whole file as one frame, the row number of every frame row, and all rejects."""
    chunks = list(open_reader(path, **options).chunks())
    return combine(chunks)


def combine(chunks: list[Chunk]) -> tuple[pl.DataFrame, list[int], list[readers.StructureReject]]:
    rows: list[int] = []
    for chunk in chunks:
        contiguous = range(chunk.first_row, chunk.first_row + len(chunk.frame))
        rows += chunk.rows if chunk.rows is not None else list(contiguous)
    frame = pl.concat([c.frame for c in chunks]) if chunks else pl.DataFrame()
    return frame, rows, [r for c in chunks for r in c.rejects]


def refused(path: Path, code: str, **options) -> ReadError:
    with pytest.raises(ReadError) as info:
        list(open_reader(path, **options).chunks())
    assert info.value.code == code, info.value.message
    assert info.value.status == 422
    return info.value


PEOPLE = "姓名,住址,备注\n张三,北京市海淀区中关村大街1号,无\n李四,上海市浦东新区世纪大道,已核实\n"

# --- encodings ---------------------------------------------------------------------------------------------------


def test_utf8_with_and_without_bom(tmp_path):
    for data in (PEOPLE.encode(), b"\xef\xbb\xbf" + PEOPLE.encode()):
        reader = open_reader(write(tmp_path, "p.csv", data))
        assert (reader.kind, reader.encoding, reader.columns) == ("csv", "utf-8", ["姓名", "住址", "备注"])
        frame, rows, rejects = read_all(tmp_path / "p.csv")
        assert frame.rows() == [("张三", "北京市海淀区中关村大街1号", "无"),
                                ("李四", "上海市浦东新区世纪大道", "已核实")]
        assert frame.dtypes == [pl.String] * 3
        assert (rows, rejects) == ([2, 3], [])


def test_gbk_is_detected_and_read_as_gb18030(tmp_path):
    path = write(tmp_path, "p.csv", PEOPLE, "gbk")
    reader = open_reader(path)
    assert reader.encoding == "gb18030"
    assert read_all(path)[0].row(1) == ("李四", "上海市浦东新区世纪大道", "已核实")


def test_gb18030_only_characters_and_rare_surnames(tmp_path):
    text = "姓名,备注\n王䶮,生僻字\n李㐀,扩展A区\n𠀀明,扩展B区(四字节)\n"
    path = write(tmp_path, "p.csv", text, "gb18030")
    assert detect_encoding(path.read_bytes()) == "gb18030"
    assert read_all(path)[0]["姓名"].to_list() == ["王䶮", "李㐀", "𠀀明"]


def test_short_gbk_sample_is_taken_for_gb18030_not_korean(tmp_path):
    assert detect_encoding("名称\n测试\n".encode("gbk")) == "gb18030"
    assert detect_encoding(b"a,b\n1,2\n") == "utf-8"


def test_excel_unicode_text_export_utf16_tab_separated(tmp_path):
    text = "姓名\t住址\r\n" + "".join(f"张{i}\t\"北京市,{i}号\"\r\n" for i in range(2000))
    path = write(tmp_path, "导出.txt", text, "utf-16")
    reader = open_reader(path, chunk_bytes=1001)
    assert (reader.encoding, reader.columns) == ("utf-16", ["姓名", "住址"])
    frame, rows, _ = read_all(path, chunk_bytes=1001)
    assert frame.row(1999) == ("张1999", "北京市,1999号") and rows == list(range(2, 2002))


@pytest.mark.parametrize("name", ["gbk", "GB2312", "gb18030", "cp936"])
def test_encoding_override(tmp_path, name):
    path = write(tmp_path, "p.csv", PEOPLE, "gbk")
    reader = open_reader(path, encoding=name)
    assert reader.encoding == "gb18030"
    assert read_all(path, encoding=name)[0].row(0)[0] == "张三"


def test_encoding_override_wins_over_detection(tmp_path):
    path = write(tmp_path, "p.csv", "name,city\nJosé,São Paulo\n", "latin-1")
    assert read_all(path, encoding="latin-1")[0].row(0) == ("José", "São Paulo")
    assert open_reader(write(tmp_path, "q.csv", PEOPLE), encoding="utf-8-sig").encoding == "utf-8"


@pytest.mark.parametrize("name", ["klingon", "base64"])
def test_unknown_encoding(tmp_path, name):
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.csv", PEOPLE), encoding=name)
    assert info.value.code == "unknown_encoding"
    assert name in info.value.message
    with pytest.raises(ReadError):
        readers.check_encoding(name)  # for checking a form before the upload is stored


def test_check_encoding_names_the_codec_used():
    assert [readers.check_encoding(n) for n in ("GBK", "gb2312", "cp936", "utf-8-sig", "UTF8", " big5 ")] == [
        "gb18030", "gb18030", "gb18030", "utf-8", "utf-8", "big5"]


def test_mixed_encodings_in_the_sample_name_the_line(tmp_path):
    data = PEOPLE.encode() + "王五,广州市天河区体育西路,待复核\n".encode("gbk") + "赵六,深圳,无\n".encode()
    error = refused(write(tmp_path, "p.csv", data), "encoding_error")
    assert "第 4 行" in error.message and "UTF-8" in error.message


def test_a_gbk_line_after_a_utf8_start_is_an_encoding_error_with_its_line(tmp_path):
    good = "".join(f"{i},北京市朝阳区建国路{i}号,无\n" for i in range(40_000))  # > 1 MB: past the detection sample
    data = "序号,住址,备注\n".encode() + good.encode() + "40000,广州市天河区,待复核\n".encode("gbk")
    path = write(tmp_path, "p.csv", data)
    assert open_reader(path).encoding == "utf-8"
    error = refused(path, "encoding_error", chunk_bytes=1 << 16)
    assert "第 40002 行" in error.message
    assert f"第 {len(data) - len('广州市天河区,待复核'.encode('gbk')) - 1} 字节" in error.message
    assert "gb18030" in error.message  # suggests another encoding


def test_bytes_invalid_in_gb18030_are_an_encoding_error_with_line_and_offset(tmp_path):
    head = "序号,住址\n" + "".join(f"{i},海淀区\n" for i in range(1000))
    data = head.encode("gb18030") + b"1000,\xff\xfe\n1001,x\n"
    error = refused(write(tmp_path, "p.csv", data), "encoding_error", encoding="gb18030", chunk_bytes=256)
    assert "第 1002 行" in error.message
    assert f"第 {len(head.encode('gb18030')) + 5} 字节" in error.message


@pytest.mark.skipif(readers.ICONV is None, reason="no iconv on this machine")
def test_iconv_and_python_decode_gb18030_alike_even_where_editions_differ(tmp_path, monkeypatch):
    """GB18030 is transcoded by glibc's iconv when present; from a sequence iconv refuses (龴 U+9FB4 and its
    neighbours, mapped differently by the 2005 and 2022 editions) Python's codec takes over."""
    rows = [f"{i},王{chr(0x9FB4 + i % 8)}{i},𠀀䶮{i},广西柳州\n" for i in range(3000)]
    path = write(tmp_path, "p.csv", "编号,姓名,备注,地址\n" + "".join(rows), "gb18030")
    with_iconv = read_all(path, chunk_bytes=4096)
    monkeypatch.setattr(readers, "ICONV", None)
    with_python = read_all(path, chunk_bytes=4096)
    assert with_iconv[0].equals(with_python[0]) and with_iconv[1] == with_python[1]
    assert with_iconv[0].row(2999) == ("2999", f"王{chr(0x9FB4 + 2999 % 8)}2999", "𠀀䶮2999", "广西柳州")


@pytest.mark.parametrize("use_iconv", [True, False])
def test_an_invalid_gb18030_byte_is_reported_with_its_line_by_either_decoder(tmp_path, monkeypatch, use_iconv):
    if not use_iconv:
        monkeypatch.setattr(readers, "ICONV", None)
    elif readers.ICONV is None:
        pytest.skip("no iconv on this machine")
    head = "序号,住址\n" + "".join(f"{i},海淀区\n" for i in range(5000))
    data = head.encode("gb18030") + b"5000,\x81\x20\n5001,x\n"
    error = refused(write(tmp_path, "p.csv", data), "encoding_error", encoding="gb18030")
    assert "第 5002 行" in error.message


# --- CSV structure -----------------------------------------------------------------------------------------------


def quoted_csv(records: int) -> tuple[bytes, list[list[str]]]:
    rows = [["编号", "说明", "金额"]]
    for i in range(records):
        notes = [f"第{i}条", f"多行\n说明{i}", f'他说""好""{i}', f"逗号,分隔{i}", f"回车\r\n换行{i}", "", f"普通{i}"]
        note = notes[i % 7]
        rows.append([str(i), note, f"{i}.5"])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return out.getvalue().encode(), rows


@pytest.mark.parametrize("chunk_bytes", [7, 64, 1000, 16 << 20])
def test_quoted_fields_with_newlines_and_escaped_quotes_across_chunk_boundaries(tmp_path, chunk_bytes):
    data, rows = quoted_csv(500)
    path = write(tmp_path, "p.csv", data)
    frame, numbers, rejects = read_all(path, chunk_bytes=chunk_bytes)
    expected = [tuple(v or None for v in row) for row in rows[1:]]
    assert frame.rows() == expected
    assert numbers == list(range(2, 502))  # a record with an embedded newline is one row
    assert rejects == []
    assert len(list(open_reader(path, chunk_bytes=chunk_bytes).chunks())) > (1 if chunk_bytes < 1000 else 0)


def test_gb18030_stream_in_tiny_chunks_equals_one_chunk(tmp_path):
    text = "姓名,地址,备注\n" + "".join(f'王䶮{i},"北京市\n海淀区{i}号","𠀀,{i}"\n' for i in range(300))
    path = write(tmp_path, "p.csv", text, "gb18030")
    whole = read_all(path)
    small = read_all(path, chunk_bytes=5)
    assert small[0].equals(whole[0]) and small[1] == whole[1] == list(range(2, 302))
    assert whole[0].row(299) == ("王䶮299", "北京市\n海淀区299号", "𠀀,299")


def ragged_csv() -> bytes:
    lines = ["a,b,c"]
    for i in range(2, 302):
        if i in (10, 150):
            lines.append(f"{i},short")
        elif i in (11, 200):
            lines.append(f"{i},too,many,fields")
        else:
            lines.append(f"{i},x{i},y{i}")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("chunk_bytes", [50, 16 << 20])
def test_ragged_rows_are_rejected_with_exact_row_numbers(tmp_path, chunk_bytes):
    frame, rows, rejects = read_all(write(tmp_path, "p.csv", ragged_csv()), chunk_bytes=chunk_bytes)
    assert [(r.row, r.text) for r in rejects] == [
        (10, "10,short"), (11, "11,too,many,fields"), (150, "150,short"), (200, "200,too,many,fields")]
    assert rejects[0].reason == "字段数为 2,与表头的 3 列不符"
    assert rejects[1].reason == "字段数为 4,与表头的 3 列不符"
    assert len(frame) == 296
    assert rows == [i for i in range(2, 302) if i not in (10, 11, 150, 200)]
    assert frame["a"].to_list() == [str(i) for i in rows]  # every good row kept, with its own number


def test_chunks_gather_blocks_up_to_chunk_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "_BLOCK_BYTES", 500)
    path = write(tmp_path, "p.csv", ragged_csv())
    chunks = list(open_reader(path, chunk_bytes=2000).chunks())
    assert 2 <= len(chunks) <= len(ragged_csv()) // 2000 + 1
    frame, rows, rejects = combine(chunks)
    whole = combine(list(open_reader(path).chunks()))
    assert frame.equals(whole[0]) and (rows, rejects) == whole[1:]
    assert chunks[0].rows is not None and chunks[0].rows[:9] == [2, 3, 4, 5, 6, 7, 8, 9, 12]  # around rows 10, 11
    assert chunks[-1].rows is None  # contiguous


def test_a_short_and_a_long_row_in_one_block_do_not_cancel_out(tmp_path):
    data = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,,\n"
    frame, rows, rejects = read_all(write(tmp_path, "p.csv", data))
    assert [r.row for r in rejects] == [3, 4]
    assert frame.rows() == [("1", "2", "3"), ("10", None, None)] and rows == [2, 5]


def test_ragged_rows_among_quoted_fields(tmp_path):
    data = 'a,b,c\n1,"x,y",3\n2,"多\n行"\n3,"q""",4\n"4",5,6,7\n'.encode()
    frame, rows, rejects = read_all(write(tmp_path, "p.csv", data))
    assert [(r.row, r.text) for r in rejects] == [(3, '2,"多\n行"'), (5, '"4",5,6,7')]
    assert frame.rows() == [("1", "x,y", "3"), ("3", 'q"', "4")] and rows == [2, 4]


def oracle(text: str) -> tuple[list[tuple[str | None, ...]], list[int], list[tuple[int, str]]]:
    """What a reader must make of a CSV text, by the csv module: good rows, their numbers, rejects."""
    lines = list(io.StringIO(text, newline=""))
    records = csv.reader(lines)
    header, good, numbers, rejects, consumed = None, [], [], [], 0
    for number, fields in enumerate(records, 1):
        raw, consumed = "".join(lines[consumed:records.line_num]).rstrip("\r\n"), records.line_num
        if header is None:
            header = fields
        elif len(fields) == len(header):
            good.append(tuple(f or None for f in fields))
            numbers.append(number)
        elif fields:
            rejects.append((number, raw))
    return good, numbers, rejects


FIELD = st.lists(st.sampled_from(["a", "张", "䶮", ",", '"', "\n", "\r\n", " ", "="]), max_size=6).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.lists(FIELD, min_size=1, max_size=4), min_size=1, max_size=25),
       terminator=st.sampled_from(["\n", "\r\n"]), blank=st.lists(st.integers(0, 30), max_size=3),
       chunk_bytes=st.sampled_from([1, 3, 16, 100, 16 << 20]), block_bytes=st.sampled_from([1, 7, 64, 4 << 20]),
       encoding=st.sampled_from(["utf-8", "gb18030"]))
def test_any_csv_reads_like_the_csv_module(tmp_path, monkeypatch, records, terminator, blank, chunk_bytes,
                                           block_bytes, encoding):
    monkeypatch.setattr(readers, "_BLOCK_BYTES", block_bytes)  # chunks gathered from several blocks
    out = io.StringIO()
    csv.writer(out, lineterminator=terminator).writerows([["h1", "h2", "h3"], *records])
    text = out.getvalue()
    for at in blank:  # empty lines between records
        cut = text.find(terminator, min(at, len(text)))
        if cut > 0 and text.count('"', 0, cut) % 2 == 0:
            text = text[:cut] + terminator + text[cut:]
    path = write(tmp_path, "p.csv", text, encoding)
    frame, numbers, rejects = read_all(path, chunk_bytes=chunk_bytes, encoding=encoding)
    good, expected_numbers, expected_rejects = oracle(text)
    assert frame.rows() == good
    assert numbers == expected_numbers
    assert [(r.row, r.text) for r in rejects] == expected_rejects


def test_empty_last_columns_are_not_mistaken_for_short_rows(tmp_path):
    data = "a,b,c\n" + "".join(f"{i},,\n" if i % 2 else f'{i},"x,y",\n' for i in range(1000))
    chunks = list(open_reader(write(tmp_path, "p.csv", data)).chunks())
    frame, _, rejects = combine(chunks)
    assert rejects == [] and len(frame) == 1000 and all(c.rows is None for c in chunks)
    assert frame.row(0) == ("0", "x,y", None) and frame.row(1) == ("1", None, None)


def test_empty_and_quoted_empty_fields_are_both_null(tmp_path):
    frame = read_all(write(tmp_path, "p.csv", b'a,b,c\n"",,x\n1,"",""\n'))[0]
    assert frame.rows() == [(None, None, "x"), ("1", None, None)]


def test_unterminated_quote_is_a_truncated_file_naming_the_row(tmp_path):
    data = b'a,b\n1,2\n3,"x\n4,5\n5,6\n'
    for chunk_bytes in (4, 1 << 20):
        error = refused(write(tmp_path, "p.csv", data), "truncated_file", chunk_bytes=chunk_bytes)
        assert "第 3 行" in error.message


def test_regular_files_never_take_the_row_by_row_path(tmp_path, monkeypatch):
    """Speed: a regular block is parsed by polars alone, even with quotes, empty last columns, CRLF and blank lines
    at the end of the file."""
    def slow(*args):
        raise AssertionError("slow path")

    monkeypatch.setattr(readers.CsvReader, "_parse_slow", slow)
    body = "".join(f'{i},"张,{i}",\r\n' if i % 3 else f"{i},x,y\r\n" for i in range(20_000))
    path = write(tmp_path, "p.csv", "\ufeffa,b,c\r\n" + body + "\r\n\r\n", "gb18030")
    frame, rows, rejects = read_all(path, chunk_bytes=50_000)
    assert len(frame) == 20_000 and rows == list(range(2, 20_002)) and rejects == []
    assert frame.row(1) == ("1", "张,1", None) and frame.row(3) == ("3", "x", "y")


def test_an_unpaired_quote_does_not_make_the_reader_hold_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_RECORD_BYTES", 10_000)
    data = "a,b\n1,2\n3,\"开头\n" + "".join(f"{i},x\n" for i in range(100_000))
    error = refused(write(tmp_path, "p.csv", data), "truncated_file", chunk_bytes=1000)
    assert "第 3 行" in error.message


def test_crlf_line_endings(tmp_path):
    data = b"a,b\r\n1,2\r\n3,\"x\r\ny\"\r\n5,6\r\n\r\n"
    frame, rows, rejects = read_all(write(tmp_path, "p.csv", data))
    assert frame.rows() == [("1", "2"), ("3", "x\r\ny"), ("5", "6")]
    assert (rows, rejects) == ([2, 3, 4], [])


def test_old_mac_line_endings_are_refused_with_advice(tmp_path):
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.csv", b"a,b\r1,2\r3,4\r"))
    assert info.value.code == "unsupported_format" and "CSV UTF-8" in info.value.message


@pytest.mark.parametrize("chunk_bytes", [1, 3, 16 << 20])
def test_blank_lines_are_skipped_but_counted(tmp_path, chunk_bytes):
    data = b"\n\na,b\n1,2\n\n3,4\n   \n5,6\n\n\n"
    reader = open_reader(write(tmp_path, "p.csv", data))
    assert reader.columns == ["a", "b"]
    frame, rows, rejects = read_all(tmp_path / "p.csv", chunk_bytes=chunk_bytes)
    assert frame.rows() == [("1", "2"), ("3", "4"), ("5", "6")]
    assert rows == [4, 6, 8]
    assert [(r.row, r.text) for r in rejects] == [(7, "   ")]  # spaces are not an empty line


def test_single_column_file_with_blank_lines(tmp_path):
    frame, rows, _ = read_all(write(tmp_path, "p.csv", b"name\nx\n\ny\n"))
    assert frame["name"].to_list() == ["x", "y"] and rows == [2, 4]


def test_formulas_are_kept_as_text(tmp_path):
    data = 'a,b,c,d\n=SUM(A1:A2),+1,-2,@cmd\n"=HYPERLINK(""http://x"",""y"")",=1+1,+86 138,-\n'
    frame = read_all(write(tmp_path, "p.csv", data))[0]
    assert frame.rows() == [("=SUM(A1:A2)", "+1", "-2", "@cmd"), ('=HYPERLINK("http://x","y")', "=1+1", "+86 138", "-")]


@pytest.mark.parametrize(("separator", "name"), [("\t", "p.tsv"), (";", "p.csv"), ("|", "p.txt")])
def test_separator_is_detected_from_the_header(tmp_path, separator, name):
    data = f"a{separator}b\n1,5{separator}2\n"
    assert read_all(write(tmp_path, name, data))[0].rows() == [("1,5", "2")]


def test_header_is_stripped_of_whitespace_and_bom(tmp_path):
    reader = open_reader(write(tmp_path, "p.csv", b"\xef\xbb\xbf \xef\xbb\xbf\xe5\x90\x8d ,\t b\n1,2\n"))
    assert reader.columns == ["名", "b"]


def test_header_only_file_has_columns_and_no_rows(tmp_path):
    reader = open_reader(write(tmp_path, "p.csv", b"a,b\n"))
    assert reader.columns == ["a", "b"] and list(reader.chunks()) == []


@pytest.mark.parametrize("data", [b"", b"\n\r\n\n", b"   "])
def test_empty_file(tmp_path, data):
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.csv", data))
    assert info.value.code == "empty_file"


def test_duplicate_header(tmp_path):
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.csv", "姓名,年龄,姓名, 年龄\n1,2,3,4\n"))
    assert info.value.code == "duplicate_header"
    assert "「姓名」(第 1、3 列)" in info.value.message and "「年龄」(第 2、4 列)" in info.value.message


def test_blank_header(tmp_path):
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.csv", "姓名,, \n1,2,3\n"))
    assert info.value.code == "blank_header"
    assert "第 2、3 列" in info.value.message


def test_too_many_columns(tmp_path):
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.csv", ",".join(f"c{i}" for i in range(1001)) + "\n"))
    assert info.value.code == "too_many_columns"


def test_binary_content_under_a_csv_name_is_unsupported(tmp_path):
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.csv", xlsx_bytes([["a"], ["1"]])))
    assert info.value.code == "unsupported_format"


@pytest.mark.parametrize("name", ["p.pdf", "p", "p.csv.exe"])
def test_unknown_extension(tmp_path, name):
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "upload.bin", PEOPLE), filename=name)
    assert info.value.code == "unsupported_format"


def test_filename_decides_the_kind(tmp_path):
    assert open_reader(write(tmp_path, "upload.bin", PEOPLE), filename="数据.CSV").kind == "csv"


def test_progress_reports_bytes_up_to_the_size(tmp_path):
    path = write(tmp_path, "p.csv", quoted_csv(2000)[0])
    seen: list[int] = []
    list(open_reader(path, chunk_bytes=4096).chunks(seen.append))
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size and len(seen) > 5


def test_abandoning_the_chunks_stops_the_reading_thread(tmp_path):
    path = write(tmp_path, "p.csv", quoted_csv(5000)[0])
    before = threading.active_count()
    chunks = open_reader(path, chunk_bytes=1024).chunks()
    next(chunks)
    chunks.close()
    assert threading.active_count() == before


def test_large_file_in_many_chunks_keeps_every_row(tmp_path):
    lines = "".join(f"{i},张{i},{'' if i % 3 else '备注'}\n" for i in range(200_000))
    path = write(tmp_path, "p.csv", "序号,姓名,备注\n" + lines, "gb18030")
    chunks = list(open_reader(path, chunk_bytes=256 << 10).chunks())
    frame, rows, rejects = combine(chunks)
    assert len(chunks) > 5 and rejects == [] and rows == list(range(2, 200_002))
    assert frame["序号"].to_list() == [str(i) for i in range(200_000)]
    assert frame["备注"].null_count() == 200_000 - 66_667


# --- Excel -------------------------------------------------------------------------------------------------------


def xlsx_bytes(rows: list[list[object]], top: int = 0) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for _ in range(top):
        sheet.append([])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_values_become_text_with_excel_row_numbers(tmp_path):
    rows = [["姓名", "金额", "日期", "时间", "是否", "编号"],
            ["张三", 12, date(2024, 1, 5), datetime(2024, 1, 5, 13, 4, 5), True, "0012"],
            ["李四", 12.5, None, None, False, "=不是公式"],
            [],
            ["王五", 1e20, None, None, None, None]]
    path = write(tmp_path, "p.xlsx", xlsx_bytes(rows, top=2))
    reader = open_reader(path)
    assert (reader.kind, reader.encoding) == ("xlsx", None)
    assert reader.columns == ["姓名", "金额", "日期", "时间", "是否", "编号"]
    frame, numbers, rejects = read_all(path)
    assert frame.rows() == [("张三", "12", "2024-01-05", "2024-01-05 13:04:05", "true", "0012"),
                            ("李四", "12.5", None, None, "false", None),  # openpyxl wrote a formula, no value
                            ("王五", "1e+20", None, None, None, None)]
    assert numbers == [4, 5, 7] and rejects == []


def test_xlsx_values_beyond_the_header_are_rejects(tmp_path):
    path = write(tmp_path, "p.xlsx", xlsx_bytes([["a", "b"], ["1", "2"], ["3", "4", "多出来"]]))
    frame, rows, rejects = read_all(path)
    assert frame.rows() == [("1", "2")] and rows == [2]
    assert [(r.row, r.text) for r in rejects] == [(3, "3,4,多出来")]
    assert "第 3 列" in rejects[0].reason


def test_xlsx_headers_are_checked(tmp_path):
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.xlsx", xlsx_bytes([["a", "a"], ["1", "2"]])))
    assert info.value.code == "duplicate_header"
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.xlsx", xlsx_bytes([["a", None, "c"], ["1", "2", "3"]])))
    assert info.value.code == "blank_header"
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.xlsx", xlsx_bytes([])))
    assert info.value.code == "empty_file"


def test_xlsx_zip_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "XLSX_MAX_UNCOMPRESSED", 64 << 20)
    buffer = io.BytesIO(xlsx_bytes([["a"], ["1"]]))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive, archive.open("xl/media/x.bin", "w") as fh:
        for _ in range(80):
            fh.write(bytes(1 << 20))
    assert len(buffer.getvalue()) < 200_000
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.xlsx", buffer.getvalue()))
    assert info.value.code == "unsafe_archive" and "压缩炸弹" in info.value.message


def test_xlsx_with_a_dtd_is_refused(tmp_path):
    source, target = io.BytesIO(xlsx_bytes([["a"], ["1"]])), io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            content = old.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"<worksheet", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><worksheet', 1)
            new.writestr(info, content)
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.xlsx", target.getvalue()))
    assert info.value.code == "unsafe_archive"


@pytest.mark.parametrize("data", [PEOPLE.encode(), b"PK\x03\x04 not really a zip", b""])
def test_xlsx_that_is_not_a_workbook(tmp_path, data):
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.xlsx", data))
    assert info.value.code == ("empty_file" if not data else "unsupported_format")


def test_xlsx_zip_without_a_workbook(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.xlsx", buffer.getvalue()))
    assert info.value.code == "unsupported_format"


def biff8_xls(rows: list[list[object]]) -> bytes:
    """A minimal Excel 97-2003 workbook (one sheet of LABEL and NUMBER cells in an OLE compound file): no writer
    for .xls is installed, and calamine only reads."""
    def record(kind: int, data: bytes) -> bytes:
        return struct.pack("<HH", kind, len(data)) + data

    def text(value: str, width: str) -> bytes:
        return struct.pack(width, len(value)) + b"\x01" + value.encode("utf-16-le")

    def bof(kind: int) -> bytes:
        return record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))

    cells = b"".join(
        record(0x0204, struct.pack("<HHH", r, c, 0) + text(v, "<H")) if isinstance(v, str)
        else record(0x0203, struct.pack("<HHHd", r, c, 0, float(v)))
        for r, row in enumerate(rows) for c, v in enumerate(row) if v is not None)
    sheet = bof(0x10) + cells + record(0x0A, b"")
    boundsheet = lambda at: record(0x0085, struct.pack("<IBB", at, 0, 0) + text("Sheet1", "<B"))  # noqa: E731
    size = len(bof(5) + boundsheet(0) + record(0x0A, b""))
    stream = (bof(5) + boundsheet(size) + record(0x0A, b"") + sheet).ljust(4096, b"\0")  # ≥ 4096: no mini stream
    stream = stream.ljust(-(-len(stream) // 512) * 512, b"\0")
    sectors = len(stream) // 512
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<10I", 0, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0, 0) + b"\xff" * 4 * 108)
    fat = [0xFFFFFFFD, 0xFFFFFFFE, *range(3, 2 + sectors), 0xFFFFFFFE]
    fat_sector = struct.pack(f"<{len(fat)}I", *fat).ljust(512, b"\xff")

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = (name + "\0").encode("utf-16-le")
        return (raw.ljust(64, b"\0") + struct.pack("<HBBIII", len(raw), kind, 1, 0xFFFFFFFF, 0xFFFFFFFF, child)
                + bytes(36) + struct.pack("<IQ", start, size))

    directory = (entry("Root Entry", 5, 1, 0xFFFFFFFE, 0) + entry("Workbook", 2, 0xFFFFFFFF, 2, len(stream)))
    return header + fat_sector + directory.ljust(512, b"\0") + stream


def test_xls_is_read_through_calamine(tmp_path):
    path = write(tmp_path, "p.xls", biff8_xls([["姓名", "金额"], ["张三", 12], ["李四", 12.5], [None, None], ["王五"]]))
    reader = open_reader(path)
    assert (reader.kind, reader.columns) == ("xls", ["姓名", "金额"])
    frame, rows, _ = read_all(path)
    assert frame.rows() == [("张三", "12"), ("李四", "12.5"), ("王五", None)] and rows == [2, 3, 5]


@pytest.mark.parametrize("data", [PEOPLE.encode(), xlsx_bytes([["a"], ["1"]])])
def test_xls_that_is_not_ole_is_unsupported(tmp_path, data):
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.xls", data))
    assert info.value.code == "unsupported_format"


# --- JSON --------------------------------------------------------------------------------------------------------

RECORDS = [
    {"编号": 1, "名称": "市场监督管理局", "金额": 12.0, "比例": 0.25, "有效": True, "备注": None,
     "标签": ["a", "乙"], "地址": {"市": "北京", "区": "海淀"}},
    {"编号": 110101199003077777, "名称": "", "金额": -3.5, "有效": False},
    {"编号": 3, "名称": "税务局", "多余": "x", "另一个": 1},
    {"编号": 4, "名称": "教育局", "金额": 1e20},
]
EXPECTED = [
    ("1", "市场监督管理局", "12", "0.25", "true", None, '["a","乙"]', '{"市":"北京","区":"海淀"}'),
    ("110101199003077777", None, "-3.5", None, "false", None, None, None),
    ("4", "教育局", "1e+20", None, None, None, None, None),
]


def test_json_array_values_become_text(tmp_path):
    path = write(tmp_path, "p.json", json.dumps(RECORDS, ensure_ascii=False, indent=1))
    reader = open_reader(path)
    assert (reader.kind, reader.columns) == ("json", list(RECORDS[0]))
    frame, rows, rejects = read_all(path)
    assert frame.rows() == EXPECTED and rows == [1, 2, 4]
    assert [(r.row, r.reason) for r in rejects] == [(3, "含有表头之外的字段 「多余」、「另一个」")]
    assert json.loads(rejects[0].text) == RECORDS[2]


def test_json_lines_values_become_text_with_line_numbers(tmp_path):
    lines = [json.dumps(r, ensure_ascii=False) for r in RECORDS]
    path = write(tmp_path, "p.jsonl", "\ufeff" + lines[0] + "\n\n" + "\n".join(lines[1:]) + "\n")
    reader = open_reader(path)
    assert (reader.kind, reader.encoding, reader.columns) == ("jsonl", "utf-8", list(RECORDS[0]))
    frame, rows, rejects = read_all(path)
    assert frame.rows() == EXPECTED and rows == [1, 3, 5]
    assert [r.row for r in rejects] == [4]


def test_json_lines_in_gb18030(tmp_path):
    path = write(tmp_path, "p.ndjson", '{"名称": "王䶮", "地址": "北京市海淀区"}\n{"名称": "李四", "地址": "上海"}\n',
                 "gb18030")
    reader = open_reader(path)
    assert (reader.kind, reader.encoding) == ("jsonl", "gb18030")
    assert read_all(path)[0].rows() == [("王䶮", "北京市海淀区"), ("李四", "上海")]


def test_json_array_in_gb18030(tmp_path):
    path = write(tmp_path, "p.json", '[{"名称": "王䶮", "金额": 1.5}, {"名称": "𠀀", "金额": 2}]', "gb18030")
    reader = open_reader(path)
    assert reader.encoding == "gb18030"
    assert read_all(path)[0].rows() == [("王䶮", "1.5"), ("𠀀", "2")]


def test_json_lines_encoding_error_names_the_line(tmp_path):
    data = '{"名称": "北京市海淀区"}\n'.encode() * 3 + '{"名称": "广州市天河区"}\n'.encode("gbk")
    error = refused(write(tmp_path, "p.jsonl", data), "encoding_error")
    assert "第 4 行" in error.message


def test_json_progress_reaches_the_size(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "ROWS_PER_CHUNK", 1000)
    for name, text in (("p.json", json.dumps([{"i": i} for i in range(5000)])),
                       ("p.jsonl", "".join(json.dumps({"i": i}) + "\n" for i in range(5000)))):
        seen: list[int] = []
        list(open_reader(write(tmp_path, name, text)).chunks(seen.append))
        assert seen == sorted(seen) and seen[-1] == (tmp_path / name).stat().st_size and len(seen) >= 5


def test_json_array_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "ROWS_PER_CHUNK", 100)
    path = write(tmp_path, "p.json", json.dumps([{"i": i} for i in range(1050)]))
    chunks = list(open_reader(path).chunks())
    assert [len(c.frame) for c in chunks] == [100] * 10 + [50]
    assert [c.first_row for c in chunks][:3] == [1, 101, 201]
    assert combine(chunks)[0]["i"].to_list() == [str(i) for i in range(1050)]


@pytest.mark.parametrize(("name", "text", "where"), [
    ("p.jsonl", '{"a": 1}\n{"a": 2}\n{"a": 3,}\n', "第 3 行"),
    ("p.jsonl", '{"a": 1}\n[1, 2]\n', "第 2 行"),
    ("p.json", '[{"a": 1}, {"a": 2}, {"a": 3 "b"}]', "第 3 条记录"),
    ("p.json", '[{"a": 1}, 5]', "第 2 条记录"),
    ("p.json", '{"data": [{"a": 1}]}', "顶层"),
    ("p.json", '[{"a": 1}, {"a": 2}', "第 3 条记录"),
])
def test_invalid_json_names_the_record(tmp_path, name, text, where):
    with pytest.raises(ReadError) as info:
        list(open_reader(write(tmp_path, name, text)).chunks())
    assert info.value.code == "invalid_json"
    assert where in info.value.message


@pytest.mark.parametrize(("name", "text"), [("p.json", "[]"), ("p.json", ""), ("p.jsonl", "\n\n"), ("p.json", "[{}]")])
def test_empty_json(tmp_path, name, text):
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, name, text))
    assert info.value.code == "empty_file"


def test_json_header_is_checked(tmp_path):
    with pytest.raises(ReadError) as info:
        open_reader(write(tmp_path, "p.json", '[{"a": 1, " a ": 2}]'))
    assert info.value.code == "duplicate_header"
