"""The register's pages through the TestClient with a logged-in session: the list with its filters (and the htmx
partial), a matter with its edit form only for those who may edit it, the form to register one with the
service's Chinese errors beside it, and the dashboard's figures and chart data."""

from __future__ import annotations

import json
import re
from datetime import date
from html import unescape

from govdata.matters import service as matters
from tests.ingest.test_pages import _csrf, _text, login
from tests.matters.conftest import add


def chart(html: str, chart_id: str, attribute: str = "data-series"):
    match = re.search(rf'id="{chart_id}"[^>]*{attribute}="([^"]*)"', html)
    assert match, f"no {attribute} on #{chart_id}"
    return json.loads(unescape(match.group(1)))


def seed(db):
    add(db, "GA0001", "GA", name="户口迁移", online=date(2020, 3, 1), full=date(2021, 6, 1), package_key="newborn")
    add(db, "GA0002", "GA", name="居民身份证申领", online=date(2020, 3, 1), exempt=True)
    add(db, "WJ0001", "WJ", name="医师执业注册", category="permit")
    add(db, "JY0001", "CZQ-JY", name="幼儿园办学许可", online=date(2019, 1, 1), full=date(2022, 1, 1))
    add(db, "T0001", "CZQ-T01", name="临时救助申请受理", online=date(2020, 6, 1))
    add(db, "T0002", "CZQ-T01", name="高龄津贴申请受理")
    add(db, "T0003", "CZQ-T01", name="老年人优待证办理")


def test_register_lists_and_filters(client, tree):
    seed(tree)
    login(client, "wj_staff")
    html = client.get("/matters").text
    text = _text(html)
    assert "政务服务事项清单" in text and "共 7 项" in text
    assert "户口迁移" in text and "柳州市公安局" in text and "全程网办" in text and "国家另有规定" in text
    assert "出生一件事" in text and 'href="/matters/GA0001"' in html
    assert "登记事项" not in text  # staff do not register matters
    filtered = client.get("/matters?level=township&status=offline", headers={"HX-Request": "true"})
    assert "<html" not in filtered.text and "共 2 项" in _text(filtered.text)
    assert "高龄津贴申请受理" in filtered.text and "临时救助申请受理" not in filtered.text
    assert filtered.headers["Vary"] == "HX-Request"
    assert "城中区" in _text(client.get("/matters?region=450202").text)


def test_register_needs_a_login(client, tree):
    response = client.get("/matters", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_dashboard_shows_rates_targets_and_chart_data(client, tree):
    seed(tree)
    login(client, "wj_staff")
    html = client.get("/matters/dashboard?at=2020-12-31").text
    text = _text(html)
    assert "政务服务事项网办情况" in text and "截至 2020-12-31" in text
    assert "网上可办率" in text and "全程网办率" in text and "已达标" in text and "未达标" in text
    row = _text(re.search(r'<tr data-level="township">.*?</tr>', html, re.S).group(0))
    assert row.startswith("乡级 3 1 33.3%") and "≥ 30%" in row and "已达标" in row
    assert chart(html, "level-online-chart") == [{"name": "市级", "value": 66.7}, {"name": "县级", "value": 100.0},
                                                 {"name": "乡级", "value": 33.3}]
    assert chart(html, "level-full-chart")[0] == {"name": "市级", "value": 0.0}
    years = chart(html, "trend-online-chart", "data-x")
    assert years[:4] == ["2019", "2020", "2021", "2022"]
    online = {s["name"]: s["data"] for s in chart(html, "trend-online-chart")}
    assert online["乡级"][:3] == [0.0, 33.3, 33.3]
    assert online["乡级目标"][:3] == [None, 30, 50] and online["市级、县级目标"][:2] == [None, 90]
    full = {s["name"]: s["data"] for s in chart(html, "trend-full-chart")}
    assert full["市级、县级、乡级目标"][:4] == [None, None, None, 100]
    assert chart(html, "region-online-chart") == [{"name": "城中区", "value": 50.0}]  # JY0001, T0001 of 4
    assert "GB/T 37277-2018" in text and "2022年底前" in text  # the basis is shown


def test_dashboard_defaults_to_today_and_refuses_bad_dates(client, tree):
    seed(tree)
    login(client, "wj_staff")
    html = client.get("/matters/dashboard").text
    assert f"截至 {matters.today().isoformat()}" in _text(html)
    bad = client.get("/matters/dashboard?at=yesterday")
    assert bad.status_code == 422 and "invalid_date" in bad.text


def test_detail_offers_the_edit_form_only_to_those_who_may_edit(client, tree):
    seed(tree)
    login(client, "ga_admin")
    html = client.get("/matters/GA0001").text
    assert "编辑事项" in html and "柳州市公安局" in html
    assert "编辑事项" not in client.get("/matters/WJ0001").text
    refused = client.post("/matters/WJ0001", data={"csrf_token": _csrf(client, "/matters/WJ0001"),
                                                   "name": "改名", "org_code": "WJ", "category": "permit"})
    assert refused.status_code == 403
    assert matters.get(tree, "WJ0001").name == "医师执业注册"
    assert client.get("/matters/NOPE").status_code == 404


def test_edit_form_saves_and_shows_errors(client, tree):
    seed(tree)
    login(client, "ga_admin")
    form = {"csrf_token": _csrf(client, "/matters/GA0001"), "name": "户口迁移(市内)", "org_code": "GA",
            "category": "permit", "online_since": "2020-03-01", "fully_online_since": "", "trips_required": "1",
            "promised_days": "3", "package_key": "newborn"}
    saved = client.post("/matters/GA0001", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/matters/GA0001?notice=updated"
    matter = matters.get(tree, "GA0001")
    assert (matter.name, matter.fully_online_since, matter.promised_days) == ("户口迁移(市内)", None, 3)
    assert "事项已保存" in client.get(saved.headers["location"]).text
    bad = client.post("/matters/GA0001", data={**form, "fully_online_since": "2019-01-01"})
    assert bad.status_code == 422
    assert "不能早于网上可办日期" in bad.text and 'data-code="fully_online_before_online"' in bad.text
    assert 'value="2019-01-01"' in bad.text  # what was typed is kept


def test_register_form(client, tree):
    login(client, "ga_admin")
    page = client.get("/matters/new").text
    assert "登记政务服务事项" in page and 'value="GA"' in page and 'value="WJ"' not in page  # own org only
    form = {"csrf_token": _csrf(client, "/matters/new"), "code": "GA0100", "name": "无犯罪记录证明开具",
            "org_code": "GA", "category": "public_service", "online_since": "2021-01-01",
            "fully_online_since": "2021-01-01", "trips_required": "1", "promised_days": "0", "package_key": ""}
    created = client.post("/matters/new", data=form, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/matters/GA0100?notice=created"
    assert matters.get(tree, "GA0100").fully_online_since == date(2021, 1, 1)
    again = client.post("/matters/new", data=form)
    assert again.status_code == 409 and "事项编码已存在" in again.text and "无犯罪记录证明开具" in again.text
    login(client, "wj_staff")
    assert client.get("/matters/new").status_code == 403
