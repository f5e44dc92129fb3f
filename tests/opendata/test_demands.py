"""Demands to open data filed on the portal: public list (开放需求清单), routing to the department (or the bureau to
assign), the department's answer on its staff page, overdue flags, spam throttling and hostile text."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from govdata.catalog import demands
from govdata.catalog.models import OpenDemand
from govdata.opendata.models import OpenDataset
from tests.factories import PASSWORD, token_for
from tests.opendata.conftest import csrf, post_counting

HOSTILE_TITLE = "<script>alert('x')</script>"
FORMULA = "=cmd|' /C calc'!A0"
SQL = "'); DROP TABLE open_demands; --"


pytestmark = pytest.mark.usefixtures("fresh_limits")


def _csrf(client, path: str = "/open/demands/new") -> str:
    return csrf(client, path)


def _file(client, **fields):
    data = {"title": "开放全市公共停车场泊位数据", "description": "希望按停车场提供实时空余泊位", "target_org": "WJ",
            "related": "", "requester": "王女士", "contact": "wang@example.com", **fields}
    return client.post("/open/demands/new", data={"csrf_token": _csrf(client), **data}, follow_redirects=False)


def _login(client, username: str) -> None:
    client.cookies.clear()
    csrf = _csrf(client, "/login")
    r = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303


def test_a_public_demand_is_listed_routed_and_answered(client, db, portal):
    r = _file(client, related="医疗机构名录")
    assert r.status_code == 303
    demand_id = int(re.search(r"/open/demands/(\d+)\?notice=demand_filed", r.headers["location"]).group(1))
    demand = db.get(OpenDemand, demand_id)
    assert demand.target_org == "WJ" and demand.status == "pending"
    assert demand.description.endswith("医疗机构名录")

    listing = client.get("/open/demands").text
    assert "开放全市公共停车场泊位数据" in listing and "柳州市卫生健康委员会" in listing
    assert str(demand.due_date) in listing and "wang@example.com" not in listing
    detail = client.get(f"/open/demands/{demand_id}").text
    assert "王女士" in detail and "wang@example.com" not in detail and "尚未答复" in detail

    # the department's staff list shows it; another department cannot answer it
    _login(client, "ga_admin")
    csrf = _csrf(client, "/catalog/lists/open-demand")
    r = client.post(f"/catalog/lists/open-demand/demands/{demand_id}/reply",
                    data={"csrf_token": csrf, "status": "accepted", "reply": "不归我们"})
    assert r.status_code == 403
    _login(client, "wj_admin")
    page = client.get("/catalog/lists/open-demand?org=WJ").text
    assert "开放全市公共停车场泊位数据" in page and f"/catalog/lists/open-demand/demands/{demand_id}/reply" in page
    csrf = _csrf(client, "/catalog/lists/open-demand")
    r = client.post(f"/catalog/lists/open-demand/demands/{demand_id}/reply", follow_redirects=False, data={
        "csrf_token": csrf, "status": "opened", "reply": "已开放医疗机构名录", "resource_code": portal.hospitals})
    assert r.status_code == 303

    client.cookies.clear()
    listing = client.get("/open/demands").text
    slug = db.get(OpenDataset, portal.hospitals).slug
    assert "已开放" in listing and f'href="/open/datasets/{slug}"' in listing
    assert "已开放医疗机构名录" in client.get(f"/open/demands/{demand_id}").text
    assert client.get("/open/demands?status=pending").text.count("开放全市公共停车场泊位数据") == 0


def test_due_date_and_overdue_flag(client, db, portal):
    _file(client)
    demand = db.scalar(select(OpenDemand))
    assert demand.due_date == demand.created_at.astimezone(demands.local_tz()).date() + timedelta(
        days=demands.REPLY_DAYS)
    assert "data-overdue" not in client.get("/open/demands").text
    demand.due_date = demand.due_date - timedelta(days=demands.REPLY_DAYS + 1)
    db.commit()
    assert "data-overdue" in client.get("/open/demands").text and "已超期" in client.get(
        f"/open/demands/{demand.id}").text
    assert demands.public_list(db)[0]["overdue"] is True


def test_unassigned_demand_goes_to_the_bureau_to_assign(client, db, portal):
    r = _file(client, target_org="")
    assert r.status_code == 303
    demand = db.scalar(select(OpenDemand))
    assert demand.target_org is None
    assert "待大数据局分派" in client.get("/open/demands").text

    r = client.post(f"/api/v1/opendata/demands/{demand.id}/assign", headers=token_for(client, "wj_admin"),
                    json={"target_org": "WJ"})
    assert r.status_code == 403
    _login(client, "admin")
    page = client.get("/opendata/demands").text
    assert "开放全市公共停车场泊位数据" in page
    r = client.post(f"/opendata/demands/{demand.id}/assign", follow_redirects=False,
                    data={"csrf_token": _csrf(client, "/opendata/demands"), "target_org": "GA"})
    assert r.status_code == 303
    db.expire_all()
    assert db.get(OpenDemand, demand.id).target_org == "GA"
    assert "开放全市公共停车场泊位数据" not in client.get("/opendata/demands").text
    r = client.post(f"/api/v1/open-demands/{demand.id}/reply", headers=token_for(client, "ga_admin"),
                    json={"status": "accepted", "reply": "已受理,将于下季度开放"})
    assert r.status_code == 200
    r = client.post(f"/api/v1/opendata/demands/{demand.id}/assign", headers=token_for(client, "admin"),
                    json={"target_org": "WJ"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "demand_already_answered"


def test_validation_messages(client, db, portal):
    r = _file(client, title="")
    assert r.status_code == 422 and "表单填写有误" in r.text
    r = _file(client, target_org="NOPE")
    assert r.status_code == 422 and "责任部门不存在" in r.text
    assert db.scalar(select(OpenDemand)) is None


def test_hostile_text_is_stored_verbatim_and_escaped(client, db, portal):
    r = _file(client, title=HOSTILE_TITLE, description=f"{FORMULA}\n{SQL}", requester="<b>bold</b>")
    assert r.status_code == 303
    demand = db.scalar(select(OpenDemand))
    assert (demand.title, demand.description, demand.requester) == (HOSTILE_TITLE, f"{FORMULA}\n{SQL}", "<b>bold</b>")
    for page in (client.get("/open/demands").text, client.get(f"/open/demands/{demand.id}").text):
        assert HOSTILE_TITLE not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    detail = client.get(f"/open/demands/{demand.id}").text
    assert "<b>bold</b>" not in detail and "&lt;b&gt;bold&lt;/b&gt;" in detail
    _login(client, "wj_admin")
    assert HOSTILE_TITLE not in client.get("/catalog/lists/open-demand").text
    export = client.get("/catalog/lists/open-demand/export?format=csv").content.decode("utf-8-sig")
    assert "'" + FORMULA in export  # the Excel export neutralises the formula


def test_filing_is_throttled_per_address(client, db, portal):
    for n in range(5):
        assert _file(client, title=f"需求{n}").status_code == 303
    r = _file(client, title="第六个")
    assert r.status_code == 429 and "提交过于频繁" in r.text
    r = client.post("/api/v1/opendata/demands", json={"title": "t", "description": "d", "requester": "r"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and int(r.headers["retry-after"]) > 0
    assert len(db.scalars(select(OpenDemand)).all()) == 5


def test_demands_through_the_api(client, db, portal):
    r = client.post("/api/v1/opendata/demands", json={"title": "开放企业信用数据", "description": "用于供应商核验",
                                                       "target_org": "SCJ", "requester": "某公司",
                                                       "contact": "13800000000"})
    assert r.status_code == 201 and r.json()["target_org"] == "SCJ" and r.json()["due_date"]
    listed = client.get("/api/v1/opendata/demands").json()
    assert listed["total"] == 1 and "contact" not in listed["items"][0]
    assert "13800000000" not in str(listed)
    r = client.post("/api/v1/opendata/demands", json={"title": "x", "description": "y", "requester": "z",
                                                       "target_org": "NOPE"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "org_not_found"
    assert client.get("/api/v1/opendata/demands/999").status_code == 404


def test_an_oversized_filing_is_refused_before_it_is_read(client, db, portal):
    """Public bodies are capped at 1 MiB (the app-wide upload limit is far larger): 413, nothing stored."""
    big = "x" * (2 << 20)
    r = client.post("/open/demands/new", follow_redirects=False, data={
        "csrf_token": _csrf(client), "title": "t", "description": big, "requester": "r"})
    assert r.status_code == 413 and "上传内容超过允许的上限(1 MB)" in r.text  # the portal's error page
    r = client.post("/api/v1/opendata/demands", json={"title": "t", "description": big, "requester": "r"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "upload_too_large"
    assert r.json()["error"]["details"] == {"limit_bytes": 1 << 20}
    streamed = post_counting(client.app, "/api/v1/opendata/demands", big.encode())
    assert streamed.status == 413 and streamed.pulled < len(big) and b"upload_too_large" in streamed.body
    form = post_counting(client.app, "/open/demands/new", b"description=" + big.encode(),
                         content_type="application/x-www-form-urlencoded")
    assert form.status == 413 and form.pulled < len(big)
    assert db.scalar(select(OpenDemand)) is None
    r = client.post("/api/v1/opendata/demands", json={"title": "t", "description": "d" * 2000, "requester": "r"})
    assert r.status_code == 201  # an ordinary filing is untouched
