"""The catalog's pages, through the TestClient with a logged-in session (see tests/web/test_pages.py)."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import quote

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from govdata import i18n
from govdata.catalog import lists
from govdata.catalog import service as catalog
from tests.factories import PASSWORD, liuzhou, principal_of, publish, resource_spec, with_standards

HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)">'


def _text(html: str) -> str:
    """The page's text without tags (search terms are wrapped in <mark>)."""
    return re.sub(r"<[^>]+>", "", html)


def _csrf(client: TestClient, path: str = "/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def login(client: TestClient, username: str) -> None:
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/",
                                    "csrf_token": _csrf(client)}, follow_redirects=False)
    assert r.status_code == 303, r.text


def _setup(db) -> None:
    liuzhou(db)
    with_standards(db)


def _form(csrf: str, **overrides) -> dict[str, str]:
    """The registration form as a browser posts it: two item rows and a blank third one."""
    data = {
        "csrf_token": csrf, "name": "新生儿户口登记信息", "provider": "WJ", "classification": "基础/人口",
        "summary": "新生儿出生后办理户口登记的信息", "format": "database", "update_cycle": "daily",
        "publish_date": "", "share_type": "conditional", "share_method": "api",
        "share_condition": "仅用于出生一件事", "share_basis": "", "open_condition": "", "grade": "general",
        "sensitivity": "L3", "responsible_person": "李四", "contact": "0772-1234567", "related_codes": "",
        "items-0-key": "baby_id_number", "items-0-name": "新生儿身份证号", "items-0-data_type": "C",
        "items-0-length": "18", "items-0-required": "on", "items-0-primary_key": "on",
        "items-0-data_element": "DE0002", "items-0-sensitivity": "",
        "items-1-key": "registered_on", "items-1-name": "登记日期", "items-1-data_type": "D", "items-1-length": "",
        "items-1-data_element": "", "items-1-sensitivity": "L2",
        "items-2-key": "", "items-2-name": "", "items-2-data_type": "C", "items-2-length": "",
        "items-2-data_element": "", "items-2-sensitivity": "",
    }
    data.update(overrides)
    return data


def test_register_through_the_form_with_two_items(client, db):
    _setup(db)
    login(client, "wj_staff")
    page = client.get("/catalog/new")
    assert page.status_code == 200
    assert '<option value="DE0002"' in page.text and "DE0002 公民身份号码" in page.text
    assert 'value="GA"' not in page.text  # a department registers only for itself
    r = client.post("/catalog/new", data=_form(_csrf(client, "/catalog/new")), follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/catalog/r/101/000001?notice=resource_created"
    detail = client.get(r.headers["location"]).text
    assert "新生儿户口登记信息" in detail and "信息资源已登记为草稿" in detail and "草稿" in detail
    assert "baby_id_number" in detail and "新生儿身份证号" in detail and "公民身份号码" in detail
    assert "registered_on" in detail and "登记日期" in detail
    doc = catalog.resource_dict(db, catalog.get_resource(db, "101/000001"))
    assert [i["key"] for i in doc["items"]] == ["baby_id_number", "registered_on"]
    assert doc["items"][0]["required"] and doc["items"][0]["primary_key"]
    assert doc["items"][0]["sensitivity"] == "L3"  # DE0002's default, as the blank select asks
    assert doc["items"][1]["sensitivity"] == "L2" and doc["items"][1]["length"] is None
    assert doc["share_condition"] == "仅用于出生一件事" and doc["open"] is False
    assert "新生儿户口登记信息" in client.get("/catalog/mine?status=draft").text


def test_form_errors_are_shown_and_keep_the_input(client, db):
    _setup(db)
    login(client, "wj_admin")
    csrf = _csrf(client, "/catalog/new")
    r = client.post("/catalog/new", data=_form(csrf, share_condition=""))
    assert r.status_code == 422
    assert "有条件共享的资源必须写明共享条件" in r.text and "share_condition_required" in r.text
    assert 'value="新生儿户口登记信息"' in r.text and 'value="baby_id_number"' in r.text
    assert 'name="items-1-key" value="registered_on"' in r.text
    assert '<option value="DE0002" data-type="C" data-length="18" data-name="公民身份号码" selected>' in r.text
    r = client.post("/catalog/new", data=_form(csrf, **{"items-1-length": "abc"}))
    assert r.status_code == 422 and "第 2 个信息项的长度:应为整数" in r.text
    r = client.post("/catalog/new", data=_form(csrf, **{"items-0-data_type": "N"}))
    assert r.status_code == 422 and "item_type_mismatch" in r.text
    r = client.post("/catalog/new", data=_form(csrf, provider="GA"))
    assert r.status_code == 403 and "只能登记和修改本部门的信息资源" in r.text
    assert catalog.list_working(db, principal_of(db, "wj_admin"))[0] == 0


def test_a_department_cannot_edit_another_departments_resource(client, db):
    _setup(db)
    code = publish(db, resource_spec(), "wj_admin")
    draft = catalog.create(db, principal_of(db, "wj_admin"), resource_spec(name="死亡医学证明信息")).code
    login(client, "ga_admin")
    detail = client.get(f"/catalog/r/{code}")
    assert detail.status_code == 200 and "出生医学证明信息" in detail.text
    assert f'href="/catalog/r/{code}/edit"' not in detail.text and "提交审核" not in detail.text
    assert "版本记录" not in detail.text  # only the published entry
    r = client.get(f"/catalog/r/{code}/edit")
    assert r.status_code == 403 and "只能登记和修改本部门的信息资源" in r.text and "无法完成请求" in r.text
    r = client.post(f"/catalog/r/{code}/edit", data=_form(_csrf(client, "/catalog"), provider="WJ"))
    assert r.status_code == 403
    r = client.post(f"/catalog/r/{code}/submit", data={"csrf_token": _csrf(client, "/catalog")})
    assert r.status_code == 403
    assert client.get(f"/catalog/r/{draft}").status_code == 404  # another department's draft does not exist
    assert client.get(f"/catalog/r/{draft}/edit").status_code == 404
    assert client.get("/catalog/r/105/999999").status_code == 404
    assert "请求的地址不存在" in client.get("/catalog/r/105/999999").text or "信息资源不存在" in client.get(
        "/catalog/r/105/999999").text


def test_edit_keeps_the_published_version_until_approved_and_shows_the_diff(client, db):
    _setup(db)
    code = publish(db, resource_spec(), "wj_admin")
    login(client, "wj_admin")
    edit = client.get(f"/catalog/r/{code}/edit")
    assert edit.status_code == 200 and 'value="certificate_no"' in edit.text and "登记后不能更改" in edit.text
    form = _form(_csrf(client, f"/catalog/r/{code}/edit"), name="出生医学证明信息", summary="新摘要",
                 classification="基础/人口", provider="GA")  # fixed fields are taken from the resource
    r = client.post(f"/catalog/r/{code}/edit", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/catalog/r/{code}?notice=resource_updated"
    detail = client.get(r.headers["location"]).text
    assert "已发布的第 1 版" in detail and "第 1 版 → 第 2 版" in detail and "新摘要" in detail
    assert "baby_id_number" in detail  # an added item in the diff
    assert catalog.get_resource(db, code).classification_code == "105"
    assert client.get("/catalog?q=新摘要").text.count("出生医学证明信息") == 0  # the catalog is unchanged
    fragment = client.get(f"/catalog/r/{code}/diff?from=1", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "新增信息项" in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    assert client.get(f"/catalog/r/{code}?from=99").status_code == 200  # no such revision: the default diff
    r = client.get(f"/catalog/r/{code}/diff?from=1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/catalog/r/{code}?from=1#diff"
    r = client.post(f"/catalog/r/{code}/edit", data=form, follow_redirects=False)
    assert r.headers["location"] == f"/catalog/r/{code}?notice=resource_unchanged"


def test_bureau_reviews_from_the_page(client, db):
    _setup(db)
    wj = principal_of(db, "wj_admin")
    code = catalog.create(db, wj, resource_spec()).code
    catalog.submit(db, wj, code)
    login(client, "admin")
    queue = client.get("/catalog/review").text
    assert f'href="/catalog/r/{code}"' in queue and "新登记" in queue
    detail = client.get(f"/catalog/r/{code}").text
    assert "审核通过" in detail and "退回理由(必填)" in detail
    csrf = _csrf(client, "/catalog/review")
    r = client.post(f"/catalog/r/{code}/review", data={"csrf_token": csrf, "decision": "reject", "comment": " "})
    assert r.status_code == 422 and "退回时必须写明理由" in r.text
    r = client.post(f"/catalog/r/{code}/review", data={"csrf_token": csrf, "decision": "reject",
                                                       "comment": "请补充共享依据"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/catalog/r/{code}?notice=resource_rejected"
    assert catalog.get_resource(db, code).status == "rejected"

    login(client, "wj_admin")
    detail = client.get(f"/catalog/r/{code}").text
    assert "请补充共享依据" in detail and "提交审核" in detail
    r = client.post(f"/catalog/r/{code}/submit", data={"csrf_token": _csrf(client, "/catalog")},
                    follow_redirects=False)
    assert r.headers["location"] == f"/catalog/r/{code}?notice=resource_submitted"
    assert client.get("/catalog/review").status_code == 403  # the queue is the bureau's

    login(client, "admin")
    r = client.post(f"/catalog/r/{code}/review", data={"csrf_token": _csrf(client, "/catalog/review"),
                                                       "decision": "approve", "comment": "同意"},
                    follow_redirects=False)
    assert r.headers["location"] == f"/catalog/r/{code}?notice=resource_approved"
    assert "已审核通过并发布" in client.get(r.headers["location"]).text
    assert "没有待审核的信息资源" in client.get("/catalog/review").text
    assert "出生医学证明信息" in _text(client.get("/catalog?q=出生").text)


def test_search_page_with_facets_and_htmx_partial(client, db):
    _setup(db)
    publish(db, resource_spec())
    publish(db, resource_spec(provider="GA", name="户籍人口登记信息", classification="基础/人口",
                              share_type="unconditional", share_condition="", summary="常住人口的户籍登记",
                              items=[{"key": "household_no", "name": "户号", "data_type": "C", "length": 20}]))
    login(client, "ga_admin")
    page = client.get("/catalog?q=出生")
    text = _text(page.text)
    assert page.status_code == 200 and "出生医学证明信息" in text and "户籍人口登记信息" not in text
    assert "<mark>出生</mark>" in page.text  # the search term is marked in name and summary
    assert "柳州市卫生健康委员会" in text  # the provider facet is labelled with the org's name
    facet = re.search(r'<a class="facet" href="([^"]+)"[^>]*aria-checked="false"><span class="facet-label">'
                      r'柳州市卫生健康委员会', page.text)
    assert facet is not None
    filtered = client.get(facet.group(1).replace("&amp;", "&"))
    assert "q=%E5%87%BA%E7%94%9F" in facet.group(1) and "provider=WJ" in facet.group(1)
    assert "出生医学证明信息" in _text(filtered.text) and 'aria-checked="true"' in filtered.text
    assert "共找到 1 个信息资源" in _text(filtered.text)
    assert "提供部门:柳州市卫生健康委员会 ×" in _text(filtered.text)  # the chosen filter, as a chip
    none = client.get("/catalog?q=出生&provider=GA")
    assert "没有找到符合条件的信息资源" in none.text
    assert 'name="provider" value="GA"' in none.text  # sent again with the next search
    unconditional = _text(client.get("/catalog?share_type=unconditional").text)
    assert "户籍人口登记信息" in unconditional and "出生医学证明信息" not in unconditional
    assert "户籍人口登记信息" in client.get("/catalog?classification=101").text
    assert "户籍人口登记信息" in client.get("/catalog?open=false&sort=name").text
    partial = client.get("/catalog?q=出生", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "医学证明信息" in partial.text
    assert partial.headers["vary"] == "HX-Request"
    restore = client.get("/catalog?q=出生", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_lists_pages_and_downloads(client, db):
    _setup(db)
    publish(db, resource_spec())
    publish(db, resource_spec(provider="GA", name="侦查线索信息", share_type="none", share_condition="",
                              share_basis="《中华人民共和国刑事诉讼法》第一百五十二条"))
    login(client, "auditor")
    index = client.get("/catalog/lists").text
    for kind in ("share", "open", "open-demand", "responsibility", "negative"):
        assert f'href="/catalog/lists/{kind}"' in index
        assert client.get(f"/catalog/lists/{kind}").status_code == 200
    share = client.get("/catalog/lists/share").text
    assert "出生医学证明信息" in share and "侦查线索信息" not in share and "导出 Excel" in share
    assert "刑事诉讼法" in client.get("/catalog/lists/negative").text
    assert "出生医学证明信息" not in client.get("/catalog/lists/responsibility?org=GA").text
    assert client.get("/catalog/lists/nope").status_code == 404

    r = client.get("/catalog/lists/share/export?format=xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="share-list.xlsx"' in r.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("资源代码", "资源名称") and rows[1][1] == "出生医学证明信息" and len(rows) == 2
    r = client.get("/catalog/lists/negative/export?format=csv&org=GA")
    assert r.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[1][1] == "侦查线索信息"
    client.cookies.clear()
    assert client.get("/catalog/lists/share/export?format=xlsx", follow_redirects=False).status_code == 303


def test_open_demands_are_recorded_and_answered_from_the_page(client, db):
    _setup(db)
    login(client, "admin")
    csrf = _csrf(client, "/catalog/lists/open-demand")
    r = client.post("/catalog/lists/open-demand/demands", data={"csrf_token": csrf, "title": "",
                                                                "description": "x", "requester": "市民"})
    assert r.status_code == 422 and "需求" in r.text
    r = client.post("/catalog/lists/open-demand/demands", data={
        "csrf_token": csrf, "title": "公交实时到站数据", "description": "希望开放公交到站信息", "requester": "市民李四",
        "contact": "", "target_org": "GA"}, follow_redirects=False)
    assert r.status_code == 303 and "demand_created" in r.headers["location"]
    page = client.get(r.headers["location"]).text
    assert "开放需求已登记" in page and "公交实时到站数据" in page and "待答复" in page

    login(client, "wj_admin")
    page = client.get("/catalog/lists/open-demand").text
    assert "登记开放需求" not in page and "保存答复" not in page  # neither the bureau nor the department in charge
    login(client, "ga_admin")
    page = client.get("/catalog/lists/open-demand").text
    demand_id = re.search(r'/catalog/lists/open-demand/demands/(\d+)/reply', page).group(1)
    url = f"/catalog/lists/open-demand/demands/{demand_id}/reply"
    csrf = _csrf(client, "/catalog/lists/open-demand")
    r = client.post(url, data={"csrf_token": csrf, "status": "opened", "reply": "已开放", "resource_code": ""})
    assert r.status_code == 422 and "标记为已开放时须填写已发布且向社会开放的资源代码" in r.text
    r = client.post(url, data={"csrf_token": csrf, "status": "accepted", "reply": "正在整理数据"},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/catalog/lists/open-demand").text
    assert "已受理" in page and "正在整理数据" in page


def test_hostile_text_is_escaped_everywhere(client, db):
    _setup(db)
    code = publish(db, resource_spec(name=HOSTILE, summary=HOSTILE, share_condition=HOSTILE,
                                     responsible_person="<b>x</b>"), "wj_admin")
    login(client, "wj_admin")
    for path in (f"/catalog/r/{code}", f"/catalog/r/{code}/edit", "/catalog", "/catalog?q=alert", "/catalog/mine",
                 "/catalog/lists/share", "/catalog/lists/responsibility", "/"):
        text = client.get(path).text
        assert "<script>alert" not in text and "<img src=x" not in text and "<b>x</b>" not in text, path
    assert "&lt;script&gt;alert" in client.get(f"/catalog/r/{code}").text


def test_codes_with_a_slash_work_in_every_page_route(client, db):
    _setup(db)
    code = publish(db, resource_spec(), "wj_admin")
    assert "/" in code
    login(client, "wj_admin")
    for path in (code, quote(code, safe="")):  # as is, and percent-encoded
        assert client.get(f"/catalog/r/{path}").status_code == 200
        assert client.get(f"/catalog/r/{path}/edit").status_code == 200
        assert client.get(f"/catalog/r/{path}/diff", headers={"HX-Request": "true"}).status_code == 200
        schema = client.get(f"/catalog/r/{path}/table-schema.json")
        assert schema.status_code == 200 and schema.headers["content-type"].startswith("application/json")
        assert [f["name"] for f in schema.json()["fields"]][:2] == ["certificate_no", "baby_name"]
        assert 'filename="105-000001.table-schema.json"' in schema.headers["content-disposition"]
    csrf = _csrf(client, "/catalog")
    r = client.post(f"/catalog/r/{quote(code, safe='')}/edit", data=_form(csrf, name="出生医学证明信息(新)"),
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/catalog/r/{code}?")
    assert client.post(f"/catalog/r/{code}/submit", data={"csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    login(client, "admin")
    csrf = _csrf(client, "/catalog")
    r = client.post(f"/catalog/r/{code}/review", data={"csrf_token": csrf, "decision": "approve"},
                    follow_redirects=False)
    assert r.status_code == 303
    draft = catalog.create(db, principal_of(db, "wj_admin"), resource_spec(name="草稿资源")).code
    r = client.post(f"/catalog/r/{draft}/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/catalog/mine?notice=resource_deleted"
    r = client.post(f"/catalog/r/{code}/delete", data={"csrf_token": csrf})
    assert r.status_code == 409 and "已发布的信息资源不能删除" in r.text


def test_table_schema_download_follows_what_the_person_may_see(client, db):
    _setup(db)
    draft = catalog.create(db, principal_of(db, "wj_admin"), resource_spec()).code
    login(client, "ga_admin")
    assert client.get(f"/catalog/r/{draft}/table-schema.json").status_code == 404
    login(client, "wj_staff")
    assert client.get(f"/catalog/r/{draft}/table-schema.json").status_code == 200


def test_home_dashboard_shows_catalog_figures(client, db):
    _setup(db)
    publish(db, resource_spec())
    wj = principal_of(db, "wj_admin")
    code = catalog.create(db, wj, resource_spec(name="待审资源")).code
    catalog.submit(db, wj, code)
    login(client, "admin")
    home = client.get("/").text
    assert "已发布信息资源" in home and 'href="/catalog/review">1</a>' in home and "待审核信息资源" in home
    assert "已发布信息资源的共享类型" in home and "有条件共享" in home  # the chart's series
    assert 'href="/catalog"' in home and "资源目录" in home
    login(client, "wj_staff")
    home = client.get("/").text
    assert "待审核信息资源" not in home and "本部门草稿与退回" in home


def test_list_titles_and_headers_have_english_translations():
    en = i18n.translations("en")
    for spec in lists.LISTS.values():
        for text in (spec.title, *(title for _, title in spec.columns)):
            assert en.gettext(text) != text, text
    for label in lists.DEMAND_STATUS.values():
        assert en.gettext(label) != label, label
