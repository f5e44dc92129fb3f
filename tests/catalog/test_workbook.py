"""The catalog workbook: bulk import (all or nothing, every row error reported) and export."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import delete, func, select, update

from govdata.actionlog.models import ActionLogEntry
from govdata.catalog import projection, search, service
from govdata.catalog.models import CatalogEntry, Classification, Resource, ResourceItem, ResourceRevision
from govdata.catalog.workbook import (
    ITEM_COLUMNS,
    RESOURCE_COLUMNS,
    ImportFailed,
    Limits,
    export_workbook,
    import_workbook,
)
from govdata.errors import AppError
from govdata.principal import CLI
from tests.factories import liuzhou, principal_of, publish, resource_spec, token_for, with_standards

RESOURCE_HEADERS = [h for _, h in RESOURCE_COLUMNS]
ITEM_HEADERS = [h for _, h in ITEM_COLUMNS]


@pytest.fixture
def catalog_db(db):
    liuzhou(db)
    with_standards(db)
    return db


# ---- building workbooks as a department would fill them in ---------------------------------------

def birth_row(**overrides: Any) -> dict[str, Any]:
    row = {"信息资源代码": None, "信息资源名称": "出生医学证明信息", "信息资源提供方代码": "WJ",
           "信息资源提供方": "柳州市卫生健康委员会", "信息资源分类": "基础/电子证照",
           "信息资源摘要": "新生儿出生医学证明签发记录", "信息资源格式": "数据库", "共享类型": "有条件共享",
           "共享条件": "仅用于办理出生一件事", "共享方式": "接口", "不予共享依据": None, "是否向社会开放": "否",
           "开放条件": None, "更新周期": "每日", "发布日期": None, "关联资源代码": None, "数据分级": "一般",
           "敏感级别": "较敏感", "责任人": "张三", "联系方式": "0772-2800000"}
    row.update(overrides)
    return row


def people_row(**overrides: Any) -> dict[str, Any]:
    return birth_row(**{"信息资源名称": "户籍人口信息", "信息资源提供方代码": "GA", "信息资源提供方": "柳州市公安局",
                        "信息资源分类": "基础/人口", "信息资源摘要": "常住户籍人口登记", "共享类型": "无条件共享",
                        "共享条件": None, "是否向社会开放": "是", "开放条件": "脱敏后开放统计数据", "更新周期": "每月",
                        **overrides})


def item(resource: str, provider: str, key: str, name: str, data_type: str = "C", length: Any = None,
         element: str | None = None, **overrides: Any) -> dict[str, Any]:
    row = {"信息资源名称": resource, "信息资源提供方代码": provider, "信息项标识": key, "信息项名称": name,
           "数据类型": data_type, "长度": length, "必填": "否", "主键": "否", "数据元": element, "敏感级别": None}
    row.update(overrides)
    return row


def birth_items() -> list[dict[str, Any]]:
    return [item("出生医学证明信息", "WJ", "certificate_no", "证明编号", "C", 20, "DE0019", 必填="是", 主键="是"),
            item("出生医学证明信息", "WJ", "baby_name", "新生儿姓名", "C", 50, "DE0001"),
            item("出生医学证明信息", "WJ", "mother_id_number", "母亲身份证号", "C", 18, "DE0002"),
            item("出生医学证明信息", "WJ", "birth_date", "出生日期", "D", None, "DE0004")]


def people_items() -> list[dict[str, Any]]:
    return [item("户籍人口信息", "GA", "id_number", "公民身份号码", "C", 18, "DE0002", 主键="是"),
            item("户籍人口信息", "GA", "full_name", "姓名", "C", 50, "DE0001")]


def workbook_bytes(resources: list[dict[str, Any]], items: list[dict[str, Any]], *,
                   resource_headers: list[str] | None = None, item_headers: list[str] | None = None,
                   sheets: tuple[str, str] = ("信息资源", "信息项")) -> bytes:
    """Typed in as text: a cell starting with "=" is text here (as Excel stores '=…), not a formula."""
    book = Workbook()
    book.active.title = sheets[0]
    book.create_sheet(sheets[1])
    for sheet, headers, rows in ((book[sheets[0]], resource_headers or RESOURCE_HEADERS, resources),
                                 (book[sheets[1]], item_headers or ITEM_HEADERS, items)):
        sheet.append(headers)
        for row in rows:
            sheet.append([row.get(h) for h in headers])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def good_workbook() -> bytes:
    """Rows 2–3 of 信息资源 (WJ's birth certificates, GA's population), rows 2–7 of 信息项."""
    return workbook_bytes([birth_row(), people_row()], birth_items() + people_items())


# ---- what was written ----------------------------------------------------------------------------

def counts(db) -> dict[str, int]:
    db.expire_all()
    return {model.__name__: db.scalar(select(func.count()).select_from(model)) or 0
            for model in (Resource, ResourceItem, ResourceRevision, CatalogEntry, Classification, ActionLogEntry)}


def refused(db, data: bytes, code: str, principal=CLI, **kwargs: Any) -> AppError:
    """The import fails with ``code``, and the only trace is one catalog.import_failed entry."""
    before = counts(db)
    with pytest.raises(AppError) as info:
        import_workbook(db, principal, data, publish=kwargs.pop("publish", True), source="目录.xlsx", **kwargs)
    assert info.value.code == code, info.value.message
    after = counts(db)
    assert after == {**before, "ActionLogEntry": before["ActionLogEntry"] + 1}
    last = db.scalars(select(ActionLogEntry).order_by(ActionLogEntry.id.desc())).first()
    assert (last.action, last.outcome, last.target_id) == ("catalog.import_failed", "failure", "目录.xlsx")
    return info.value


def row_errors(error: AppError) -> set[tuple[str, int, str | None, str]]:
    return {(e["sheet"], e["row"], e["column"], e["code"]) for e in error.details}


# ---- importing -----------------------------------------------------------------------------------

def test_import_publishes_the_whole_catalog_in_one_go(catalog_db):
    db = catalog_db
    before = counts(db)
    report = import_workbook(db, CLI, good_workbook(), publish=True, source="目录.xlsx")
    assert (report.resources, report.items, report.published) == (2, 6, True)
    assert report.codes == ["105/000001", "101/000001"]
    assert report.providers == {"WJ": 1, "GA": 1}
    after = counts(db)
    assert after["Resource"] - before["Resource"] == 2 and after["ResourceItem"] - before["ResourceItem"] == 6
    assert after["CatalogEntry"] == 2 and after["ActionLogEntry"] - before["ActionLogEntry"] == 1
    birth = projection.published(db, "105/000001")
    assert birth["status"] == "published" and birth["share_type"] == "conditional" and birth["publish_date"]
    assert [i["key"] for i in birth["items"]] == ["certificate_no", "baby_name", "mother_id_number", "birth_date"]
    mother = birth["items"][2]
    assert mother["identifies"] and mother["sensitivity"] == "L3"  # from the bound data element, as a form does
    assert birth["items"][0]["required"] and birth["items"][0]["primary_key"] and birth["items"][0]["length"] == 20
    people = projection.published(db, "101/000001")
    assert people["open"] and people["open_condition"] == "脱敏后开放统计数据" and people["provider"] == "GA"
    # every resource has its revision 1; one summary entry in the action log
    assert [(r.version, r.event) for r in service.revisions(db, "105/000001")] == [(1, "create")]
    entry = db.scalars(select(ActionLogEntry).where(ActionLogEntry.action == "catalog.import")).one()
    assert entry.after["resources"] == 2 and entry.after["items"] == 6 and entry.after["published"] is True
    # searchable at once
    assert [e.code for e in search.search(db, q="出生医学").entries] == ["105/000001"]
    # and the next registration continues the numbering
    again = service.create(db, CLI, resource_spec(name="死亡医学证明信息"))
    assert again.code == "105/000002"


def test_import_as_drafts_leaves_the_published_catalog_alone(catalog_db):
    db = catalog_db
    report = import_workbook(db, CLI, good_workbook(), publish=False)
    assert report.published is False
    resource = service.get_resource(db, report.codes[0])
    assert (resource.status, resource.version, resource.published_version) == ("draft", 1, None)
    assert projection.find_published(db, report.codes[0]) is None
    assert db.scalar(select(func.count()).select_from(CatalogEntry)) == 0


def test_chinese_labels_and_keys_are_both_accepted(catalog_db):
    db = catalog_db
    keys = birth_row(**{"信息资源格式": "database", "共享类型": "conditional", "共享方式": "api", "更新周期": "daily",
                        "数据分级": "important", "敏感级别": "L3", "是否向社会开放": "false"})
    labels = people_row(**{"信息资源格式": "电子表格", "共享类型": "无条件共享", "共享方式": "文件下载",
                           "更新周期": "每季度", "数据分级": "重要", "敏感级别": "较敏感", "是否向社会开放": True})
    items = [*birth_items(),
             item("户籍人口信息", "GA", "id_number", "公民身份号码", "字符型", 18, "DE0002", 必填=True,
                  敏感级别="敏感"),
             item("户籍人口信息", "GA", "full_name", "姓名", "c", "50", None, 必填="是")]
    report = import_workbook(db, CLI, workbook_bytes([keys, labels], items), publish=True)
    birth, people = (projection.published(db, c) for c in report.codes)
    assert (birth["format"], birth["share_type"], birth["share_method"], birth["update_cycle"], birth["grade"],
            birth["sensitivity"], birth["open"]) == ("database", "conditional", "api", "daily", "important", "L3",
                                                     False)
    assert (people["format"], people["share_type"], people["share_method"], people["update_cycle"],
            people["grade"], people["sensitivity"], people["open"]) == ("spreadsheet", "unconditional", "file",
                                                                        "quarterly", "important", "L3", True)
    id_number, full_name = people["items"]
    assert (id_number["data_type"], id_number["sensitivity"], id_number["required"]) == ("C", "L4", True)
    assert (full_name["data_type"], full_name["length"], full_name["required"]) == ("C", 50, True)


def test_html_and_formulas_are_stored_verbatim_and_exported_as_text(catalog_db, client):
    db = catalog_db
    script = "<script>alert('x')</script><b>加粗</b>"
    formula = '=HYPERLINK("http://evil.example","点我")'
    row = birth_row(**{"信息资源名称": "<img src=x onerror=alert(1)>出生信息", "信息资源摘要": script,
                       "联系方式": formula})
    items = [{**i, "信息资源名称": row["信息资源名称"]} for i in birth_items()]
    items[1]["信息项名称"] = "<i>新生儿姓名</i>"
    code = import_workbook(db, CLI, workbook_bytes([row], items), publish=True).codes[0]
    stored = service.get_resource(db, code)
    assert (stored.name, stored.summary, stored.contact) == (row["信息资源名称"], script, formula)
    body = client.get(f"/api/v1/resources/{code}", headers=token_for(client, "admin")).json()
    assert body["summary"] == script and body["items"][1]["name"] == "<i>新生儿姓名</i>"
    _login(client, "admin")
    page = client.get(f"/catalog/r/{code}")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(" in page.text and "<script>alert(" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text and "<img src=x" not in page.text
    sheet = load_workbook(io.BytesIO(export_workbook(db)))["信息资源"]  # formulas kept, not evaluated
    contact = sheet.cell(row=2, column=RESOURCE_HEADERS.index("联系方式") + 1)
    assert (contact.value, contact.data_type) == (formula, "s")  # text, never a formula Excel would run
    assert sheet.cell(row=2, column=RESOURCE_HEADERS.index("信息资源摘要") + 1).value == script


def _login(client, username: str) -> None:
    from tests.web.test_pages import login

    assert login(client, username).status_code == 303  # the session cookie stays on the client


def test_kept_codes_survive_and_new_ones_follow_them(catalog_db):
    db = catalog_db
    rows = [birth_row(**{"信息资源代码": "105/000007"}), birth_row(**{"信息资源名称": "死亡医学证明信息"}),
            people_row(**{"信息资源分类": "部门", "信息资源代码": "305/000003", "关联资源代码": "105/000007"})]
    items = birth_items() + [{**i, "信息资源名称": "死亡医学证明信息"} for i in birth_items()] + people_items()
    report = import_workbook(db, CLI, workbook_bytes(rows, items), publish=True)
    assert report.codes == ["105/000007", "105/000008", "305/000003"]
    assert projection.published(db, "305/000003")["classification"] == "部门/GA"
    assert projection.published(db, "305/000003")["related_codes"] == ["105/000007"]
    assert service.create(db, CLI, resource_spec(name="第三个")).code == "105/000009"
    ga = service.create(db, principal_of(db, "ga_admin"),
                        resource_spec(provider="GA", name="警情", classification="部门"))
    assert ga.code == "305/000004"


# ---- refusals: every row is checked, nothing is half-imported -------------------------------------

def _mutate(resources=None, items=None, extra_resource_headers=()) -> bytes:
    resources = resources if resources is not None else [birth_row(), people_row()]
    items = items if items is not None else birth_items() + people_items()
    return workbook_bytes(resources, items, resource_headers=RESOURCE_HEADERS + list(extra_resource_headers))


def _without(row: dict[str, Any], header: str) -> dict[str, Any]:
    return {**row, header: None}


ROW_CASES = {
    "unknown provider": (lambda: _mutate(resources=[birth_row(), people_row(**{"信息资源提供方代码": "NOPE"})]),
                         ("信息资源", 3, "信息资源提供方代码", "unknown_provider")),
    "bad enumeration": (lambda: _mutate(resources=[birth_row(**{"共享类型": "偶尔共享"}), people_row()]),
                        ("信息资源", 2, "共享类型", "invalid_share_type")),
    "bad update cycle key": (lambda: _mutate(resources=[birth_row(), people_row(**{"更新周期": "hourly"})]),
                             ("信息资源", 3, "更新周期", "invalid_update_cycle")),
    "invalid classification": (lambda: _mutate(resources=[birth_row(), people_row(**{"信息资源分类": "基础/不存在"})]),
                               ("信息资源", 3, "信息资源分类", "invalid_classification")),
    "duplicate name in the file": (
        lambda: _mutate(resources=[birth_row(), people_row(), birth_row(**{"信息资源摘要": "又一份"})]),
        ("信息资源", 4, "信息资源名称", "duplicate_name")),
    "item of a resource not in sheet 1": (
        lambda: _mutate(items=[*birth_items(), *people_items(), item("户籍人口信息", "WJ", "x", "某项")]),
        ("信息项", 8, "信息资源名称", "unknown_resource")),
    "missing data element": (
        lambda: _mutate(items=[birth_items()[0], {**birth_items()[1], "数据元": "DE9999"}, *birth_items()[2:],
                               *people_items()]),
        ("信息项", 3, "数据元", "unknown_data_element")),
    "type differs from the data element": (
        lambda: _mutate(items=[*birth_items()[:2], {**birth_items()[2], "数据类型": "N"}, *birth_items()[3:],
                               *people_items()]),
        ("信息项", 4, "数据类型", "item_type_mismatch")),
    "duplicate item key": (
        lambda: _mutate(items=[*birth_items()[:3], {**birth_items()[3], "信息项标识": "certificate_no"},
                               *people_items()]),
        ("信息项", 5, "信息项标识", "duplicate_item_key")),
    "invalid item key": (
        lambda: _mutate(items=[*birth_items(), {**people_items()[0], "信息项标识": "Bad Key"}, people_items()[1]]),
        ("信息项", 6, "信息项标识", "invalid_item_key")),
    "resource with no items": (lambda: _mutate(items=birth_items()), ("信息资源", 3, None, "items_required")),
    "不予共享 without basis": (
        lambda: _mutate(resources=[birth_row(), people_row(**{"共享类型": "不予共享", "是否向社会开放": "否"})]),
        ("信息资源", 3, "不予共享依据", "share_basis_required")),
    "不予共享 but open": (
        lambda: _mutate(resources=[birth_row(), people_row(**{"共享类型": "不予共享", "不予共享依据": "《统计法》"})]),
        ("信息资源", 3, "是否向社会开放", "open_not_allowed")),
    "有条件共享 without condition": (lambda: _mutate(resources=[_without(birth_row(), "共享条件"), people_row()]),
                                ("信息资源", 2, "共享条件", "share_condition_required")),
    "涉密": (lambda: _mutate(resources=[{**birth_row(), "是否涉密": "是"}, people_row()],
                           extra_resource_headers=["是否涉密"]),
           ("信息资源", 2, "是否涉密", "secret_resource")),
    "blank required cell": (lambda: _mutate(resources=[birth_row(), _without(people_row(), "更新周期")]),
                            ("信息资源", 3, "更新周期", "value_required")),
    "name too long": (lambda: _mutate(resources=[birth_row(), people_row(**{"信息资源名称": "长" * 201})],
                                      items=[*birth_items(), *({**i, "信息资源名称": "长" * 201}
                                                               for i in people_items())]),
                      ("信息资源", 3, "信息资源名称", "value_too_long")),
    "not yes or no": (lambda: _mutate(resources=[birth_row(), people_row(**{"是否向社会开放": "也许"})]),
                      ("信息资源", 3, "是否向社会开放", "invalid_boolean")),
    "not a date": (lambda: _mutate(resources=[birth_row(**{"发布日期": "下个月"}), people_row()]),
                   ("信息资源", 2, "发布日期", "invalid_date")),
    "length not a number": (lambda: _mutate(items=[{**birth_items()[0], "长度": "二十"}, *birth_items()[1:],
                                                   *people_items()]),
                            ("信息项", 2, "长度", "invalid_length")),
    "unknown related resource": (lambda: _mutate(resources=[birth_row(**{"关联资源代码": "101/000001;999/000001"}),
                                                            people_row()]),
                                 ("信息资源", 2, "关联资源代码", "unknown_related_resource")),
    "malformed resource code": (lambda: _mutate(resources=[birth_row(**{"信息资源代码": "ABC"}), people_row()]),
                                ("信息资源", 2, "信息资源代码", "invalid_resource_code")),
    "code of another classification": (
        lambda: _mutate(resources=[birth_row(**{"信息资源代码": "101/000009"}), people_row()]),
        ("信息资源", 2, "信息资源代码", "invalid_resource_code")),
}


@pytest.mark.parametrize("case", list(ROW_CASES), ids=list(ROW_CASES))
def test_a_bad_row_refuses_the_whole_workbook(catalog_db, case):
    build, expected = ROW_CASES[case]
    error = refused(catalog_db, build(), "import_failed")
    assert isinstance(error, ImportFailed) and error.status == 422
    assert expected in row_errors(error), error.details
    found = next(e for e in error.details if (e["sheet"], e["row"], e["column"], e["code"]) == expected)
    assert found["message"]  # a sentence a person can act on


def test_duplicates_of_the_existing_catalog_are_refused(catalog_db):
    db = catalog_db
    code = publish(db, resource_spec())  # WJ's 出生医学证明信息 exists already
    error = refused(db, good_workbook(), "import_failed")
    assert row_errors(error) == {("信息资源", 2, "信息资源名称", "duplicate_name")}
    error = refused(db, _mutate(resources=[birth_row(**{"信息资源名称": "新名字", "信息资源代码": code}), people_row()],
                                items=[{**i, "信息资源名称": "新名字"} for i in birth_items()] + people_items()),
                    "import_failed")
    assert row_errors(error) == {("信息资源", 2, "信息资源代码", "resource_exists")}


def test_every_error_of_every_row_is_reported_at_once(catalog_db):
    resources = [birth_row(**{"共享类型": "偶尔共享", "更新周期": "每小时"}),
                 people_row(**{"信息资源提供方代码": "NOPE"}),
                 birth_row(**{"信息资源名称": "死亡医学证明信息", "是否向社会开放": "也许"})]
    items = [{**birth_items()[0], "数据元": "DE9999"}, *birth_items()[1:],
             item("死亡医学证明信息", "WJ", "Bad", "某项")]
    error = refused(catalog_db, workbook_bytes(resources, items), "import_failed")
    assert {("信息资源", 2, "共享类型", "invalid_share_type"), ("信息资源", 2, "更新周期", "invalid_update_cycle"),
            ("信息资源", 3, "信息资源提供方代码", "unknown_provider"),
            ("信息资源", 4, "是否向社会开放", "invalid_boolean"),
            ("信息项", 2, "数据元", "unknown_data_element"),
            ("信息项", 6, "信息项标识", "invalid_item_key")} <= row_errors(error)
    assert f"{len(error.details)} 处错误" in error.message


def test_the_error_list_is_capped_but_the_count_is_exact(catalog_db):
    resources = [birth_row(**{"信息资源名称": f"资源{n}", "共享类型": "偶尔共享"}) for n in range(5)]
    items = [{**birth_items()[0], "信息资源名称": f"资源{n}"} for n in range(5)]
    error = refused(catalog_db, workbook_bytes(resources, items), "import_failed", limits=Limits(max_errors=3))
    assert len(error.details) == 3 and "5 处错误" in error.message


def test_departments_import_drafts_of_their_own_resources_only(catalog_db):
    db = catalog_db
    wj = principal_of(db, "wj_admin")
    error = refused(db, good_workbook(), "import_failed", principal=wj, publish=False)
    assert ("信息资源", 3, "信息资源提供方代码", "other_department") in row_errors(error)
    with pytest.raises(AppError) as info:  # departments may not publish without review
        import_workbook(db, wj, workbook_bytes([birth_row()], birth_items()), publish=True)
    assert (info.value.code, info.value.status) == ("forbidden", 403)
    with pytest.raises(AppError) as info:
        import_workbook(db, principal_of(db, "auditor"), good_workbook(), publish=False)
    assert info.value.code == "forbidden"
    report = import_workbook(db, wj, workbook_bytes([birth_row()], birth_items()), publish=False)
    resource = service.get_resource(db, report.codes[0])
    assert (resource.status, resource.created_by) == ("draft", wj.name)


# ---- refusals of the file itself ---------------------------------------------------------------------

def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buf.getvalue()


def _with_bomb(data: bytes, megabytes: int) -> bytes:
    """A real workbook plus one member that inflates ~1000-fold."""
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as archive, archive.open("xl/media/image1.bin", "w") as fh:
        chunk = bytes(1024 * 1024)
        for _ in range(megabytes):
            fh.write(chunk)
    return buf.getvalue()


@pytest.mark.parametrize(("data", "code"), [
    (b"\xef\xbb\xbf\xe4\xbf\xa1\xe6\x81\xaf\xe8\xb5\x84\xe6\xba\x90\xe5\x90\x8d\xe7\xa7\xb0,x\r\n", "invalid_workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "invalid_workbook"),  # legacy .xls
    (_zip({"readme.txt": b"hello"}), "invalid_workbook"),  # a zip, not a workbook
    (_zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<not a workbook"}), "invalid_workbook"),
    (good_workbook()[:2000], "invalid_workbook"),  # truncated upload
    (b"", "invalid_workbook"),
], ids=["csv", "xls", "plain zip", "broken workbook", "truncated", "empty"])
def test_files_that_are_not_workbooks_are_refused(catalog_db, data, code):
    refused(catalog_db, data, code)


def test_a_zip_bomb_is_refused_before_it_is_inflated(catalog_db):
    bomb = _with_bomb(good_workbook(), 80)
    assert len(bomb) < 200_000  # 80 MB inside
    error = refused(catalog_db, bomb, "file_too_large", limits=Limits(max_uncompressed=64 * 1024 * 1024))
    assert error.status == 413


def test_a_sheet_declaring_a_dtd_is_refused(catalog_db):
    data = good_workbook()
    source, target = io.BytesIO(data), io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            content = old.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"<worksheet", b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><worksheet', 1)
            new.writestr(info, content)
    refused(catalog_db, target.getvalue(), "invalid_workbook")


def test_limits_come_from_the_environment(catalog_db, monkeypatch):
    monkeypatch.setenv("GOVDATA_CATALOG_IMPORT_MAX_ROWS", "1")
    assert Limits().max_rows == 1
    refused(catalog_db, good_workbook(), "too_many_rows")


def test_oversized_and_overlong_files_are_refused(catalog_db):
    assert refused(catalog_db, good_workbook(), "file_too_large", limits=Limits(max_bytes=2000)).status == 413
    error = refused(catalog_db, good_workbook(), "too_many_rows", limits=Limits(max_rows=1))
    assert error.details == {"sheet": "信息资源", "limit": 1}


def test_missing_sheets_and_wrong_headers_are_named(catalog_db):
    db = catalog_db
    error = refused(db, workbook_bytes([birth_row()], birth_items(), sheets=("信息资源", "Sheet2")), "missing_sheet")
    assert error.details == {"missing": ["信息项"]} and "信息项" in error.message
    headers = [("共享类形" if h == "共享类型" else h) for h in RESOURCE_HEADERS if h != "更新周期"]
    error = refused(db, workbook_bytes([birth_row()], birth_items(), resource_headers=headers), "invalid_headers")
    assert error.details == [{"sheet": "信息资源", "missing": ["共享类型", "更新周期"], "unexpected": ["共享类形"],
                              "duplicated": [], "message": error.details[0]["message"]}]
    assert "共享类形" in error.message and "更新周期" in error.message
    refused(db, workbook_bytes([], []), "empty_workbook")


# ---- export and the round trip ---------------------------------------------------------------------

def _content(doc: dict[str, Any]) -> dict[str, Any]:
    keep = ("code", "name", "provider", "summary", "classification", "classification_code", "format", "share_type",
            "share_condition", "share_method", "share_basis", "open", "open_condition", "update_cycle",
            "publish_date", "related_codes", "grade", "sensitivity", "responsible_person", "contact", "items", "status")
    return {k: doc[k] for k in keep}


def _empty_catalog(db) -> None:
    """What a fresh installation has: the fixed classification tree and nothing else."""
    for model in (CatalogEntry, ResourceRevision, ResourceItem, Resource):
        db.execute(delete(model))
    db.execute(delete(Classification).where(Classification.parent_code == "3"))
    db.execute(update(Classification).values(next_sequence=1))
    search.rebuild(db)
    db.commit()


def test_round_trip_export_then_import_into_an_empty_catalog(catalog_db, client):
    from datetime import date

    db = catalog_db
    birth = publish(db, resource_spec(publish_date=date(2024, 3, 1)), "wj_admin")
    publish(db, resource_spec(provider="GA", name="户籍人口信息", classification="基础/人口",
                              share_type="unconditional", share_condition="", open=True,
                              open_condition="统计数据开放", update_cycle="monthly", related_codes=[birth],
                              summary="<b>户籍</b>登记"))
    publish(db, resource_spec(provider="GA", name="警情信息", classification="部门", share_type="none",
                              share_condition="", share_basis="《中华人民共和国保守国家秘密法》", grade="important",
                              items=[{"key": "case_no", "name": "警情编号", "data_type": "C", "length": 30,
                                      "required": True, "primary_key": True, "sensitivity": "L4"}]))
    service.create(db, CLI, resource_spec(name="草稿中的资源"))  # not published: not exported
    before = sorted((_content(e.document) for e in projection.published_entries(db)), key=lambda d: d["code"])

    response = client.get("/api/v1/catalog/export?format=xlsx", headers=token_for(client, "auditor"))
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["信息资源", "信息项"]
    assert [c.value for c in book["信息资源"][1]] == RESOURCE_HEADERS
    assert [c.value for c in book["信息项"][1]] == ITEM_HEADERS
    first = {h: c.value for h, c in zip(RESOURCE_HEADERS, book["信息资源"][2], strict=True)}
    assert first["共享类型"] in ("有条件共享", "无条件共享", "不予共享") and first["信息资源代码"]
    assert book["信息资源"].max_row == 4 and book["信息项"].max_row == 1 + 4 + 4 + 1

    _empty_catalog(db)
    report = import_workbook(db, principal_of(db, "admin"), response.content, publish=True)
    assert report.resources == 3 and report.items == 9
    after = sorted((_content(e.document) for e in projection.published_entries(db)), key=lambda d: d["code"])
    assert after == before
    assert client.get("/api/v1/resources?q=警情", headers=token_for(client, "admin")).json()["total"] == 1


def test_working_copies_export_shows_what_the_caller_may_see(catalog_db, client):
    db = catalog_db
    service.create(db, principal_of(db, "wj_admin"), resource_spec())
    service.create(db, principal_of(db, "ga_admin"), resource_spec(provider="GA", name="户籍人口信息"))
    wj = token_for(client, "wj_admin")
    published = load_workbook(io.BytesIO(client.get("/api/v1/catalog/export", headers=wj).content))
    assert published["信息资源"].max_row == 1  # nothing published yet
    working = client.get("/api/v1/catalog/export?scope=working", headers=wj)
    sheet = load_workbook(io.BytesIO(working.content))["信息资源"]
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["出生医学证明信息"]
    everyone = export_workbook(db, principal_of(db, "auditor"), working=True)
    assert load_workbook(io.BytesIO(everyone))["信息资源"].max_row == 3
    assert client.get("/api/v1/catalog/export?format=csv", headers=wj).status_code == 422


# ---- over HTTP ---------------------------------------------------------------------------------------

def test_import_over_the_api(catalog_db, client):
    db = catalog_db
    admin, wj = token_for(client, "admin"), token_for(client, "wj_admin")
    files = {"file": ("目录.xlsx", good_workbook(), "application/octet-stream")}
    r = client.post("/api/v1/catalog/import", headers=wj, files=files, data={"publish": "false"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "import_failed"
    first = {k: v for k, v in error["details"][0].items() if k != "message"}
    assert first == {"sheet": "信息资源", "row": 3, "column": "信息资源提供方代码", "code": "other_department"}
    r = client.post("/api/v1/catalog/import", headers=wj, files=files, data={"publish": "true"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    r = client.post("/api/v1/catalog/import", headers=admin, files=files, data={"publish": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["resources"] == 2 and r.json()["published"] is True
    assert client.get("/api/v1/resources?q=户籍", headers=wj).json()["total"] == 1
    r = client.post("/api/v1/catalog/import", headers=admin, files={"file": ("x.xlsx", b"hello", "text/plain")})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_workbook")
    assert db.scalar(select(func.count()).where(ActionLogEntry.action == "catalog.import_failed")) == 2


# ---- the command line ------------------------------------------------------------------------------

def govdata(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "govdata.cli", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)


def test_cli_import_export_and_reindex(catalog_db, tmp_path):
    db = catalog_db
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(_mutate(resources=[birth_row(**{"共享类型": "偶尔共享"}),
                                       people_row(**{"信息资源提供方代码": "NOPE"})]))
    result = govdata("catalog", "import", str(bad))
    assert result.returncode == 2
    assert "「信息资源」第 2 行:共享类型 取值无效:偶尔共享" in result.stderr and "[invalid_share_type]" in result.stderr
    assert "「信息资源」第 3 行 信息资源提供方代码:提供方机构不存在:NOPE" in result.stderr
    assert "import_failed" in result.stderr
    assert counts(db)["Resource"] == 0

    good = tmp_path / "目录.xlsx"
    good.write_bytes(good_workbook())
    result = govdata("catalog", "import", str(good))
    assert result.returncode == 0, result.stderr
    assert "2 个信息资源" in result.stdout and "已发布" in result.stdout
    db.expire_all()
    assert projection.published(db, "101/000001")["name"] == "户籍人口信息"

    drafts = tmp_path / "drafts.xlsx"
    drafts.write_bytes(workbook_bytes([birth_row(**{"信息资源名称": "死亡医学证明信息"})],
                                      [{**i, "信息资源名称": "死亡医学证明信息"} for i in birth_items()]))
    assert govdata("catalog", "import", "--draft", str(drafts)).returncode == 0
    db.expire_all()
    assert service.get_resource(db, "105/000002").status == "draft"

    out = tmp_path / "export.xlsx"
    result = govdata("catalog", "export", str(out))
    assert result.returncode == 0, result.stderr
    names = [r[1] for r in load_workbook(out)["信息资源"].iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == ["出生医学证明信息", "户籍人口信息"]
    result = govdata("catalog", "reindex")
    assert result.returncode == 0 and "2 个信息资源" in result.stdout

    missing = govdata("catalog", "import", str(tmp_path / "nope.xlsx"))
    assert missing.returncode == 2
    notxlsx = tmp_path / "notes.xlsx"
    notxlsx.write_text("not a workbook")
    result = govdata("catalog", "import", str(notxlsx))
    assert result.returncode == 2 and "invalid_workbook" in result.stderr
