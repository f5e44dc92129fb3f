from __future__ import annotations

import codecs
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from govdata.actionlog.models import ActionLogEntry
from govdata.errors import ValidationFailed
from govdata.principal import CLI
from govdata.standards import service

STREETS = "代码,名称,上级代码\n450202001,中南街道,\n450202002,城中街道,\n450202100,城中社区,450202002\n"


def labels(db, name: str) -> dict[str, str]:
    return {v["code"]: v["label"] for v in service.codeset_detail(db, name)["values"]}


def test_import_rows_creates_a_logged_code_set(db):
    codeset = service.import_codeset(db, CLI, "local_grid", "网格", rows=[
        {"code": "G01", "label": "一号网格"}, {"code": "G0101", "label": "一号网格甲", "parent_code": "G01"}])
    assert codeset.title == "网格" and not codeset.shipped
    assert service.codeset_detail(db, "local_grid")["values"] == [
        {"code": "G01", "label": "一号网格", "parent_code": None},
        {"code": "G0101", "label": "一号网格甲", "parent_code": "G01"}]
    entry = db.scalar(select(ActionLogEntry).where(ActionLogEntry.action == "codeset.import"))
    assert entry.target_id == "local_grid" and entry.after["value_count"] == 2


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_in_the_encodings_offices_use(db, encoding):
    service.import_codeset(db, CLI, "local_street", "街道", content=STREETS.encode(encoding), filename="街道.csv")
    assert labels(db, "local_street") == {"450202001": "中南街道", "450202002": "城中街道", "450202100": "城中社区"}


def test_an_unreadable_encoding_is_reported(db):
    content = "code,label\n1,Ñandú\n".encode("cp1252")  # a Western European spreadsheet's CSV
    with pytest.raises(ValidationFailed) as info:
        service.import_codeset(db, CLI, "local_x", "x", content=content, filename="x.csv")
    assert info.value.code == "unsupported_encoding" and "UTF-8" in info.value.message


def test_one_bad_row_imports_nothing(db):
    service.import_codeset(db, CLI, "local_street", "街道", content=STREETS.encode(), filename="a.csv")
    bad = STREETS + "450202001,重复的街道,\n450202003,,\n450202004,某社区,999\n"
    with pytest.raises(ValidationFailed) as info:
        service.import_codeset(db, CLI, "local_street", "街道", content=bad.encode(), filename="a.csv")
    assert info.value.code == "invalid_codeset_rows"
    problems = {(p["row"], p["problem"]) for p in info.value.details}
    assert problems == {(5, "代码 450202001 与第 2 行重复"), (6, "名称为空"), (7, "上级代码 999 不在本代码集中")}
    assert "第 5 行" in info.value.message
    db.rollback()
    assert len(labels(db, "local_street")) == 3  # the earlier import is untouched
    with pytest.raises(ValidationFailed):
        service.import_codeset(db, CLI, "local_new", "新", content=bad.encode(), filename="a.csv")
    db.rollback()
    assert service.find_codeset(db, "local_new") is None


def test_reimport_replaces_all_values(db):
    service.import_codeset(db, CLI, "local_street", "街道", content=STREETS.encode(), filename="a.csv")
    service.import_codeset(db, CLI, "local_street", content="代码,名称\nA,甲\n".encode(), filename="a.csv")
    assert labels(db, "local_street") == {"A": "甲"}
    assert service.get_codeset(db, "local_street").title == "街道"


@pytest.mark.parametrize(("content", "code"), [
    ("编号,说明\n1,一\n", "invalid_codeset_header"),
    ("代码,名称\n", "empty_codeset"),
    ("", "empty_codeset"),
])
def test_malformed_files(db, content, code):
    with pytest.raises(ValidationFailed) as info:
        service.import_codeset(db, CLI, "local_x", "x", content=content.encode(), filename="x.csv")
    assert info.value.code == code


def test_name_and_title_rules(db):
    with pytest.raises(ValidationFailed) as info:
        service.import_codeset(db, CLI, "Local-X", "x", rows=[{"code": "1", "label": "一"}])
    assert info.value.code == "invalid_codeset_name"
    with pytest.raises(ValidationFailed) as info:
        service.import_codeset(db, CLI, "local_x", rows=[{"code": "1", "label": "一"}])
    assert info.value.code == "codeset_title_required"


def test_xlsx_import(db):
    book = Workbook()
    sheet = book.active
    sheet.append(["代码", "名称", "上级代码"])
    sheet.append(["01", "本人", None])
    sheet.append([2, "户主", None])  # a code Excel stored as a number
    buf = io.BytesIO()
    book.save(buf)
    service.import_codeset(db, CLI, "local_relation", "关系", content=buf.getvalue(), filename="关系.xlsx")
    assert labels(db, "local_relation") == {"01": "本人", "2": "户主"}


def test_csv_export_opens_in_excel_and_is_not_a_formula(db):
    service.import_codeset(db, CLI, "local_x", "x", rows=[
        {"code": "01", "label": "=cmd()"}, {"code": "02", "label": "+1"}, {"code": "03", "label": "@SUM(A1)"},
        {"code": "04", "label": "普通"}])
    content = service.export_codeset(db, "local_x", "csv")
    assert content.startswith(codecs.BOM_UTF8)
    lines = content.decode("utf-8-sig").splitlines()
    assert lines == ["代码,名称,上级代码", "01,'=cmd(),", "02,'+1,", "03,'@SUM(A1),", "04,普通,"]
    service.import_codeset(db, CLI, "local_y", "y", content=content, filename="x.csv")  # the export reads back
    assert labels(db, "local_y") == labels(db, "local_x")


def test_xlsx_export_keeps_codes_as_text(db):
    service.import_codeset(db, CLI, "local_x", "测试", rows=[
        {"code": "01", "label": "=cmd()"}, {"code": "0101", "label": "子项", "parent_code": "01"}])
    book = load_workbook(io.BytesIO(service.export_codeset(db, "local_x", "xlsx")))
    rows = [[c.value for c in row] for row in book.active.iter_rows()]
    assert rows == [["代码", "名称", "上级代码"], ["01", "=cmd()", None], ["0101", "子项", "01"]]
    assert book.active["B2"].data_type == "s"  # text, not a formula


def test_shipped_sets_export_and_unknown_formats_are_refused(db):
    service.load_shipped(db)
    content = service.export_codeset(db, "gb3304_ethnic", "csv").decode("utf-8-sig")
    assert "08,壮族," in content.splitlines()
    with pytest.raises(ValidationFailed) as info:
        service.export_codeset(db, "gb3304_ethnic", "pdf")
    assert info.value.code == "invalid_format"
