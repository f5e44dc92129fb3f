"""The public portal's pages through the TestClient, no login: home figures, Chinese search with facets and
sorting, a dataset's page, its preview and downloads, not-found for anything not open, the English locale."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from urllib.parse import quote

from fastapi.testclient import TestClient
from markupsafe import escape
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import service as catalog
from govdata.catalog.schemas import ResourceIn, ReviewIn
from govdata.opendata import service, usage
from govdata.opendata.models import OpenDataset
from govdata.principal import CLI
from tests.opendata.conftest import Portal

HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)">'
FORMULA = '=HYPERLINK("http://evil.example")'


def _text(page: str) -> str:
    """The page's text without tags (search terms are wrapped in <mark>), entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _figure(page: str, name: str) -> int:
    match = re.search(rf'data-figure="{name}"><h3>([\d,]+)</h3>', page)
    assert match, f"figure {name} missing"
    return int(match.group(1).replace(",", ""))


def _results(page: str) -> list[str]:
    """The result names in order."""
    return [_text(m) for m in re.findall(r'<article class="result"[^>]*>\s*<h2><a [^>]+>(.*?)</a></h2>', page, re.S)]


def _total(page: str) -> int:
    return int(re.search(r'id="od-total">(\d+)<', page).group(1))


def _facet(page: str, key: str) -> dict[str, int]:
    """A facet group's options: value → count."""
    group = re.search(rf'data-facet="{key}">(.*?)</details>', page, re.S)
    if group is None:
        return {}
    option = r'data-value="([^"]*)"><span class="facet-label">[^<]*</span> <span class="count">(\d+)</span>'
    return {html.unescape(v): int(n) for v, n in re.findall(option, group.group(1))}


def _dataset(db: Session, code: str) -> OpenDataset:
    return service.get_open(db, code)


def files_only(db: Session, portal: Portal, code: str) -> OpenDataset:
    """Republish an open dataset's catalog entry with 共享方式 文件下载: the portal then opens it as files only."""
    doc = catalog.read_for(db, CLI, code)
    data = {k: doc[k] for k in ResourceIn.model_fields if k in doc}
    data.update(share_method="file", items=doc["items"])
    provider = {portal.hospitals: portal.wj, portal.companies: portal.scj, portal.people: portal.ga}[code]
    catalog.update(db, provider, code, ResourceIn.model_validate(data))
    catalog.submit(db, provider, code)
    catalog.review(db, CLI, code, ReviewIn(decision="approve"))
    dataset = _dataset(db, code)
    assert not dataset.has_api
    return dataset


# ---- home -----------------------------------------------------------------------------------------------------

def test_home_counts_only_the_open_datasets(client: TestClient, portal: Portal, db: Session):
    r = client.get("/open/")
    assert r.status_code == 200
    page = r.text
    opened = [_dataset(db, c) for c in (portal.hospitals, portal.companies, portal.people)]
    assert _figure(page, "datasets") == 3
    assert _figure(page, "providers") == 3  # WJ, SCJ, GA
    assert _figure(page, "rows") == sum(d.row_count for d in opened) > 0
    for d in opened:
        assert f'href="/open/datasets/{d.slug}"' in page
    text = _text(page)
    for name in ("住院病人名单", "旧企业名录", "疫苗接种点"):  # private, withdrawn, no version
        assert name not in text
    # by department and by theme: counts link into the filtered search, and a chart
    assert 'href="/open/datasets?provider=WJ"' in page
    assert 'data-chart="hbar"' in page and 'data-chart="pie"' in page
    assert 'href="/open/demands/new"' in page and 'href="/open/showcases"' in page
    assert client.get("/open", follow_redirects=False).headers["location"] == "/open/"


# ---- search ---------------------------------------------------------------------------------------------------

def test_chinese_substring_search_finds_the_dataset(client: TestClient, portal: Portal):
    for q in ("医疗机构", "机构名录", "名录", "床位"):
        page = client.get("/open/datasets", params={"q": q}).text
        assert _results(page) == ["医疗机构名录"], q
        assert _total(page) == 1
    page = client.get("/open/datasets", params={"q": "机构名录"}).text
    assert "医疗<mark>机构</mark><mark>名录</mark></a></h2>" in page  # both terms marked, the rest as is
    assert _total(client.get("/open/datasets", params={"q": "住院病人"}).text) == 0  # private stays hidden
    assert _total(client.get("/open/datasets", params={"q": "旧企业"}).text) == 0  # withdrawn too


def test_filters_narrow_and_each_facet_ignores_its_own_filter(client: TestClient, portal: Portal, db: Session):
    page = client.get("/open/datasets").text
    assert _total(page) == 3
    assert _facet(page, "provider") == {"WJ": 1, "SCJ": 1, "GA": 1}
    assert sum(_facet(page, "theme").values()) == 3
    assert _facet(page, "has_api") == {"true": 3}

    page = client.get("/open/datasets", params={"provider": "WJ"}).text
    assert _results(page) == ["医疗机构名录"]
    assert _facet(page, "provider") == {"WJ": 1, "SCJ": 1, "GA": 1}  # its own filter ignored
    theme = _dataset(db, portal.hospitals).theme_code
    assert _facet(page, "theme") == {theme: 1}  # the others narrowed by the provider filter
    assert 'aria-checked="true" data-value="WJ"' in page
    assert '<input type="hidden" form="od-search" name="provider" value="WJ">' in page  # kept while typing

    page = client.get("/open/datasets", params={"provider": "WJ", "theme": "000"}).text
    assert _total(page) == 0
    assert 'data-value="000"' in page  # a chosen value stays visible, to clear it
    page = client.get("/open/datasets", params={"has_api": "false"}).text
    assert _total(page) == 0
    assert _total(client.get("/open/datasets", params={"q": "企业", "provider": "SCJ"}).text) == 1


def test_sort_by_name_follows_pinyin(client: TestClient, portal: Portal):
    page = client.get("/open/datasets", params={"sort": "name"}).text
    # hù jí, qǐ yè, yī liáo — code-point order would be 企 医 户
    assert _results(page) == ["户籍人口统计", "企业登记信息", "医疗机构名录"]


def test_a_bad_sort_is_a_clear_message_not_a_crash(client: TestClient, portal: Portal):
    r = client.get("/open/datasets", params={"sort": "name; DROP TABLE open_datasets"})
    assert r.status_code == 422
    assert 'data-code="invalid_sort"' in r.text
    assert "排序方式无效" in r.text
    assert 'id="od-search"' in r.text  # the search form is still there to fix it
    assert _total(client.get("/open/datasets").text) == 3


def test_injection_in_query_and_filters_is_harmless(client: TestClient, portal: Portal):
    # LIKE wildcards match literally (no format "%", no cycle "_", no "100%" anywhere); has_api that is not a flag
    # and a query of punctuation only (no search term) filter nothing
    for params, expected in (({"q": HOSTILE}, 0), ({"q": "' OR 1=1 --"}, 0), ({"provider": "' OR '1'='1"}, 0),
                             ({"theme": HOSTILE}, 0), ({"format": "%"}, 0), ({"update_cycle": "_"}, 0),
                             ({"has_api": HOSTILE[:10]}, 3), ({"q": "100%"}, 0), ({"q": "%_"}, 3)):
        r = client.get("/open/datasets", params=params)
        assert r.status_code == 200, params
        assert HOSTILE not in r.text and "<script>alert" not in r.text
        assert _total(r.text) == expected, params
    page = client.get("/open/datasets", params={"theme": HOSTILE}).text
    assert str(escape(HOSTILE)) in page  # the chosen value is shown (to clear it), escaped
    assert _total(client.get("/open/datasets", params={"provider": "' OR '1'='1"}).text) == 0
    r = client.get("/open/datasets", params={"q": "x" * 500})
    assert r.status_code == 422 and 'data-code="validation_error"' in r.text


def test_htmx_search_swaps_only_the_results(client: TestClient, portal: Portal):
    r = client.get("/open/datasets", params={"q": "企业"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert "<html" not in r.text and _results(r.text) == ["企业登记信息"]
    assert "HX-Request" in r.headers["vary"]
    full = client.get("/open/datasets", params={"q": "企业"}).text
    assert full.count("<h1>") == 1 and 'value="企业"' in full  # the URL keeps the state without JS
    assert client.get("/open/datasets/", follow_redirects=False).headers["location"] == "/open/datasets"
    page2 = client.get("/open/datasets", params={"page": 2}).text
    assert _results(page2) == [] and _total(page2) == 3


# ---- a dataset ------------------------------------------------------------------------------------------------

def test_dataset_page_shows_metadata_items_standards_history_api_and_feedback(
        client: TestClient, portal: Portal, db: Session):
    d = _dataset(db, portal.hospitals)
    for ident in (d.slug, d.code, d.package_id):
        assert client.get(f"/open/datasets/{ident}").status_code == 200, ident
    page = client.get(f"/open/datasets/{d.slug}").text
    text = _text(page)
    assert page.count("<h1>") == 1 and "医疗机构名录" in text
    for label in ("柳州市卫生健康委员会", "每月", "CC-BY-4.0", "第 1 版", "数据条数"):
        assert label in text
    # items with their standard definitions
    for name in ("医疗机构名称", "医院等级", "所在区县", "床位数"):
        assert f"<td>{name}</td>" in page
    assert "DE0030" in page and "医疗机构执业许可证上登记的名称" in text
    # history, quality bar, preview loaded by htmx
    assert 'class="od-history"' in page and "当前开放版本" in text
    assert f'<progress value="{d.quality_score}" max="100"' in page
    assert f'hx-get="/open/datasets/{d.slug}/preview"' in page
    # absolute API addresses and DCAT
    rid = service.resource_id(d, "01")
    assert f"http://127.0.0.1:8000/api/3/action/package_show?id={d.slug}" in page
    assert f"http://127.0.0.1:8000/api/3/action/datastore_search?resource_id={rid}" in page
    assert "curl " in page
    assert f'href="/open/datasets/{d.slug}.ttl"' in page and f'href="/open/datasets/{d.slug}.jsonld"' in page
    for fmt in ("csv", "xlsx", "json"):
        assert f'href="/open/datasets/{d.slug}/download.{fmt}"' in page
    # the feedback partial: rating and error reports, posted to the community pages
    assert 'id="od-feedback"' in page
    assert f'action="/open/datasets/{d.slug}/rate"' in page and f'action="/open/datasets/{d.slug}/feedback"' in page


def test_a_files_only_dataset_shows_downloads_and_no_api_addresses(client: TestClient, portal: Portal, db: Session):
    d = files_only(db, portal, portal.companies)
    page = client.get(f"/open/datasets/{d.slug}").text
    text = _text(page)
    assert 'id="od-files-only"' in page and "该数据集以文件方式开放,不提供数据接口" in text
    rid = service.resource_id(d, "01")
    assert "datastore_search" not in page and rid not in page and "curl " not in page
    assert 'data-usage="api_calls"' not in page
    for fmt in ("csv", "xlsx", "json"):
        assert f'href="/open/datasets/{d.slug}/download.{fmt}"' in page
    assert f'href="/open/datasets/{d.slug}.ttl"' in page
    # a dataset with the API still shows its addresses
    hospitals = _dataset(db, portal.hospitals)
    page = client.get(f"/open/datasets/{hospitals.slug}").text
    assert 'id="od-files-only"' not in page
    assert f"datastore_search?resource_id={service.resource_id(hospitals, '01')}" in page


def test_api_docs_example_is_a_dataset_the_api_serves(client: TestClient, portal: Portal, db: Session):
    companies = files_only(db, portal, portal.companies)
    companies.views = 1000  # the most viewed dataset is file-only
    people = _dataset(db, portal.people)
    people.views = 10  # the most viewed one with the API
    db.commit()
    api = client.get("/open/api").text
    assert f"package_show?id={people.slug}" in api
    assert f"datastore_search?resource_id={service.resource_id(people, '01')}&amp;limit=5" in api
    assert companies.slug not in api and service.resource_id(companies, "01") not in api


def test_the_page_shows_a_public_contact_and_never_a_mobile_number(client: TestClient, portal: Portal, db: Session):
    d = _dataset(db, portal.hospitals)
    page = client.get(f"/open/datasets/{d.slug}").text
    assert "<dt>联系方式</dt><dd>0772-2800000</dd>" in page  # the department's landline
    for contact in ("138 1234 5678", "+86-13812345678", "请联系王科长 13812345678"):  # a person's number, free text
        d.contact = contact
        db.commit()
        page = client.get(f"/open/datasets/{d.slug}").text
        assert "<dt>联系方式</dt><dd>—</dd>" in page, contact
        assert "1234 5678" not in page and "13812345678" not in page and "王科长" not in page, contact
    d.contact = "open@wj.example.gov.cn"
    db.commit()
    page = client.get(f"/open/datasets/{d.slug}").text
    assert "<dt>联系方式</dt><dd>open@wj.example.gov.cn</dd>" in page


def test_generalised_items_show_their_treatment_and_removed_ones_are_gone(
        client: TestClient, portal: Portal, db: Session):
    d = _dataset(db, portal.people)
    page = client.get(f"/open/datasets/{d.slug}").text
    assert 'data-key="birth_date"' in page and "仅保留年份" in page
    for removed in ("id_number", "name", "phone"):
        assert f'data-key="{removed}"' not in page
    preview = client.get(f"/open/datasets/{d.slug}/preview").text
    assert "出生日期" in preview and "公民身份号码" not in preview and "手机号码" not in preview


def test_anything_not_open_is_the_same_not_found_page(client: TestClient, portal: Portal, db: Session):
    withdrawn = db.get(OpenDataset, portal.withdrawn)
    assert withdrawn is not None and withdrawn.status == "withdrawn"
    idents = [portal.private, portal.withdrawn, withdrawn.slug, withdrawn.package_id, portal.no_version,
              "450200-xx-0000", "nope"]
    bodies = set()
    for ident in idents:
        r = client.get(f"/open/datasets/{ident}")
        assert r.status_code == 404, ident
        assert 'data-code="dataset_not_found"' in r.text
        body = r.text.replace(ident, "ID")
        bodies.add(re.sub(r"<code>[0-9a-f]{32}</code>", "<code>REQ</code>", body))
        for suffix in ("/preview", "/download.csv", "/download.xlsx", "/download.json"):
            assert client.get(f"/open/datasets/{ident}{suffix}").status_code == 404, (ident, suffix)
    assert len(bodies) == 1  # nothing tells a private or withdrawn dataset from an unknown id
    page = bodies.pop()
    assert 'class="od-bar"' in page and "/logout" not in page  # the portal's layout, not the staff one
    assert client.get(f"/open/datasets/{_dataset(db, portal.hospitals).slug}/download.exe").status_code == 404


def test_preview_shows_the_first_rows_escaped(client: TestClient, portal: Portal, db: Session):
    d = _dataset(db, portal.hospitals)
    r = client.get(f"/open/datasets/{d.slug}/preview", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text
    body = r.text.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 20  # of 30
    assert re.findall(r"<th [^>]*>([^<]+)</th>", r.text) == ["医疗机构名称", "医院等级", "所在区县", "床位数"]
    assert "=HYPERLINK(&#34;http://evil.example&#34;)" in r.text  # shown as text
    assert FORMULA not in r.text
    without_js = client.get(f"/open/datasets/{d.slug}", params={"preview": 1}).text
    assert "柳州市第1医院" in without_js


# ---- downloads ------------------------------------------------------------------------------------------------

def test_csv_download_is_excel_ready_and_formula_safe(client: TestClient, portal: Portal, db: Session):
    d = _dataset(db, portal.hospitals)
    r = client.get(f"/open/datasets/{d.slug}/download.csv")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="{d.slug}.csv"' in disposition
    assert f"filename*=UTF-8''{quote('医疗机构名录.csv')}" in disposition
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["医疗机构名称", "医院等级", "所在区县", "床位数"]
    assert len(rows) - 1 == d.row_count == 30
    assert rows[2][0] == "'" + FORMULA  # neutralised
    assert rows[1] == ["柳州市第1医院", "三级甲等", "城中区", "100"]


def test_xlsx_download_opens_and_keeps_formulas_as_text(client: TestClient, portal: Portal, db: Session):
    d = _dataset(db, portal.hospitals)
    r = client.get(f"/open/datasets/{d.code}/download.xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f'filename="{d.slug}.xlsx"' in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("医疗机构名称", "医院等级", "所在区县", "床位数")
    assert len(rows) - 1 == 30
    assert rows[2][0] == FORMULA  # a string cell, not a formula
    cell = load_workbook(io.BytesIO(r.content)).active["A3"]
    assert cell.data_type == "s"


def test_json_download_parses(client: TestClient, portal: Portal, db: Session):
    d = _dataset(db, portal.companies)
    r = client.get(f"/open/datasets/{d.package_id}/download.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = json.loads(r.content)
    assert [f["name"] for f in data["fields"]] == ["统一社会信用代码", "企业名称", "成立日期", "所属行业"]
    assert len(data["records"]) == d.row_count == 40


def test_views_and_downloads_are_counted(client: TestClient, portal: Portal, db: Session):
    d = _dataset(db, portal.hospitals)
    usage.reset()
    client.get(f"/open/datasets/{d.slug}")
    client.get(f"/open/datasets/{d.code}")
    client.get(f"/open/datasets/{d.slug}/preview")  # part of the same view
    client.get(f"/open/datasets/{d.slug}/download.csv")
    client.get(f"/open/datasets/{d.slug}/download.json")
    client.get(f"/open/datasets/{portal.private}")  # not counted anywhere
    usage.flush(db)
    db.expire_all()
    row = db.scalar(select(OpenDataset).where(OpenDataset.code == d.code))
    assert (row.views, row.downloads, row.api_calls) == (2, 2, 0)
    assert db.get(OpenDataset, portal.private) is None
    page = client.get(f"/open/datasets/{d.slug}").text
    assert re.search(r'data-usage="downloads"><h3>2</h3>', page)
    home = client.get("/open/").text
    assert _figure(home, "downloads") == 2
    rankings = client.get("/open/rankings", params={"by": "downloads"}).text
    assert re.search(rf'data-code="{re.escape(d.code)}"><td>1</td>', rankings)
    assert client.get("/open/rankings", params={"by": "downloads", "period": "30d"}).status_code == 200
    assert client.get("/open/rankings", params={"by": "bogus"}).status_code == 422


# ---- rankings, API page, English -----------------------------------------------------------------------------

def test_rankings_and_api_docs(client: TestClient, portal: Portal, db: Session):
    for by in ("views", "downloads", "api_calls", "rating"):
        r = client.get("/open/rankings", params={"by": by})
        assert r.status_code == 200 and r.text.count("<h1>") == 1
    page = client.get("/open/rankings").text
    assert 'class="od-departments"' in page and "柳州市卫生健康委员会" in page
    api = client.get("/open/api").text
    for action in ("status_show", "package_list", "package_search", "package_show", "organization_list",
                   "organization_show", "group_list", "tag_list", "resource_show", "datastore_search"):
        assert f'id="{action}"' in api
    assert "http://127.0.0.1:8000/api/3/action/package_show?id=" in api
    assert '"success": false' in api and 'href="/open/developer"' in api
    assert 'href="/open/catalog.ttl"' in api and 'href="/open/metadata.csv"' in api


def test_english_locale(client: TestClient, portal: Portal, db: Session):
    client.cookies.set("gd_lang", "en")
    page = client.get("/open/datasets").text
    assert '<html lang="en">' in page
    assert ">Search</button>" in page and "Relevance" in page and "Update cycle" in page
    slug = service.get_open(db, portal.hospitals).slug
    for path in (f"/open/datasets/{slug}", "/open/rankings", "/open/api", "/open/"):
        r = client.get(path)
        assert r.status_code == 200 and '<html lang="en">' in r.text, path
    preview = client.get(f"/open/datasets/{slug}/preview")  # a fragment, in English too
    assert preview.status_code == 200 and "<html" not in preview.text and "显示前" not in preview.text
    client.cookies.clear()
    r = client.get("/lang/en", headers={"referer": "/open/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/open/"
    assert '<html lang="en">' in client.get("/open/").text
    assert ">Home</a>" in client.get("/open/").text
