"""Showcases (利用成果): submitted by anyone, public only once the bureau approves, only http(s) addresses, only
open datasets."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from govdata.opendata import showcases
from govdata.opendata.models import OpenDataset, Showcase
from tests.factories import PASSWORD, token_for
from tests.opendata.conftest import csrf

HOSTILE = '<img src=x onerror=alert(1)>" OR 1=1 --'

pytestmark = pytest.mark.usefixtures("fresh_limits")


def _csrf(client, path: str = "/open/showcases/new") -> str:
    return csrf(client, path)


def _submit(client, **fields):
    data = {"title": "柳州就医地图", "kind": "app", "description": "按区县查找医院和床位", "url": "https://map.example.cn/",
            "datasets": "", "submitter": "柳州开发者社区", "contact": "dev@example.com", **fields}
    return client.post("/open/showcases/new", data={"csrf_token": _csrf(client), **data}, follow_redirects=False)


def _login(client, username: str) -> None:
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/",
                                    "csrf_token": csrf(client, "/login")}, follow_redirects=False)
    assert r.status_code == 303


def test_a_showcase_is_public_only_after_approval(client, db, portal):
    hospitals = db.get(OpenDataset, portal.hospitals)
    r = _submit(client, datasets=f"{hospitals.slug}, {portal.companies}")
    assert r.status_code == 303 and "showcase_submitted" in r.headers["location"]
    item = db.scalar(select(Showcase))
    assert item.status == "pending" and item.datasets == [portal.hospitals, portal.companies]
    assert "柳州就医地图" not in client.get("/open/showcases").text
    assert client.get(f"/open/showcases/{item.id}").status_code == 404
    assert showcases.for_dataset(db, portal.hospitals) == []

    _login(client, "wj_admin")
    assert client.get("/opendata/showcases").status_code == 403  # the bureau reviews
    _login(client, "admin")
    page = client.get("/opendata/showcases")
    assert page.status_code == 200 and "柳州就医地图" in page.text and "dev@example.com" in page.text
    csrf = _csrf(client, "/opendata/showcases")
    r = client.post(f"/opendata/showcases/{item.id}/review", data={"csrf_token": csrf, "decision": "approve",
                                                                  "comment": ""}, follow_redirects=False)
    assert r.status_code == 303

    client.cookies.clear()
    listing = client.get("/open/showcases").text
    assert "柳州就医地图" in listing and "dev@example.com" not in listing
    detail = client.get(f"/open/showcases/{item.id}")
    assert detail.status_code == 200 and 'href="https://map.example.cn/"' in detail.text
    assert hospitals.name in detail.text and "dev@example.com" not in detail.text
    assert [s["id"] for s in showcases.for_dataset(db, portal.hospitals)] == [item.id]
    assert "柳州就医地图" in client.get(f"/open/showcases?dataset={hospitals.slug}").text
    assert "柳州就医地图" not in client.get(f"/open/showcases?dataset={portal.people}").text


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(document.cookie)", "data:text/html,x",
                                 "http://", "ftp://example.cn/x", "https://exa mple.cn/", "//evil.example/",
                                 "https://user:pw@example.cn/"])
def test_only_http_addresses_are_accepted(client, db, portal, url):
    r = _submit(client, datasets=portal.hospitals, url=url)
    assert r.status_code == 422 and "成果地址须为" in r.text
    assert db.scalar(select(Showcase)) is None


def test_datasets_must_be_open_and_anonymous_submitters_leave_a_contact(client, db, portal):
    r = _submit(client, datasets="")
    assert r.status_code == 422 and "至少填写一个" in r.text
    r = _submit(client, datasets=f"{portal.hospitals} {portal.private}")
    assert r.status_code == 422 and "不存在或未开放" in r.text and portal.private in r.text
    r = _submit(client, datasets=portal.withdrawn)
    assert r.status_code == 422
    r = _submit(client, datasets=portal.hospitals, contact="")
    assert r.status_code == 422 and "联系方式" in r.text
    assert db.scalar(select(Showcase)) is None


def test_review_through_the_api(client, db, portal):
    r = client.post("/api/v1/opendata/showcases", json={
        "title": HOSTILE, "kind": "analysis", "description": HOSTILE, "datasets": [portal.people],
        "submitter": "研究者", "contact": "r@example.com"})
    assert r.status_code == 201 and r.json()["status"] == "pending"
    sid = r.json()["id"]
    r = client.post(f"/api/v1/opendata/showcases/{sid}/review", headers=token_for(client, "wj_admin"),
                    json={"decision": "approve"})
    assert r.status_code == 403
    admin = token_for(client, "admin")
    r = client.post(f"/api/v1/opendata/showcases/{sid}/review", headers=admin, json={"decision": "reject"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "comment_required"
    r = client.post(f"/api/v1/opendata/showcases/{sid}/review", headers=admin,
                    json={"decision": "reject", "comment": "缺少说明"})
    assert r.json()["status"] == "rejected"
    assert client.get(f"/open/showcases/{sid}").status_code == 404
    pending = client.get("/api/v1/opendata/showcases?status=rejected", headers=admin).json()
    assert pending["items"][0]["title"] == HOSTILE and pending["items"][0]["contact"] == "r@example.com"

    client.post(f"/api/v1/opendata/showcases/{sid}/review", headers=admin, json={"decision": "approve"})
    page = client.get(f"/open/showcases/{sid}").text
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    r = client.post("/api/v1/opendata/showcases", json={
        "title": "t", "kind": "app", "description": "d", "url": "javascript:alert(1)", "datasets": [portal.people],
        "submitter": "s", "contact": "c"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_url"
