"""The opening workflow and the feedback inbox through /api/v1/opendata: who may see and do what, stable codes."""

from __future__ import annotations

import pytest

from govdata.opendata import service
from govdata.web.middleware import BodyLimitMiddleware
from tests.factories import token_for

pytestmark = pytest.mark.usefixtures("fresh_limits")


def test_a_token_is_needed(client, db, portal):
    for method, path in (("get", "/api/v1/opendata/candidates"), ("get", "/api/v1/opendata/feedback"),
                         ("post", f"/api/v1/opendata/datasets/{portal.hospitals}/withdraw"),
                         ("put", "/api/v1/opendata/keys/1/limits")):
        r = getattr(client, method)(path) if method == "get" else getattr(client, method)(path, json={})
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


def test_candidates_per_department(client, db, portal):
    wj = client.get("/api/v1/opendata/candidates", headers=token_for(client, "wj_admin")).json()
    states = {i["code"]: i["state"] for i in wj["items"]}
    assert states == {portal.hospitals: "open", portal.no_version: "no_version"}  # private is not open in the catalog
    opened = next(i for i in wj["items"] if i["code"] == portal.hospitals)
    assert opened["check"]["passed"] is True and opened["dataset"]["slug"]
    everyone = client.get("/api/v1/opendata/candidates", headers=token_for(client, "admin")).json()
    assert {portal.people, portal.companies, portal.withdrawn} <= {i["code"] for i in everyone["items"]}


def test_settings_and_check(client, db, portal):
    wj = token_for(client, "wj_admin")
    r = client.get(f"/api/v1/opendata/datasets/{portal.people}/settings", headers=wj)
    assert r.status_code == 403 and r.json()["error"]["code"] == "other_department"
    r = client.put(f"/api/v1/opendata/datasets/{portal.people}/settings", headers=wj, json={"k": 5})
    assert r.status_code == 403
    ga = token_for(client, "ga_admin")
    r = client.get(f"/api/v1/opendata/datasets/{portal.people}/settings", headers=ga)
    assert r.status_code == 200 and r.json()["settings"]["quasi_identifiers"] == ["sex", "birth_date", "region"]
    r = client.put(f"/api/v1/opendata/datasets/{portal.people}/settings", headers=ga,
                   json={"treatments": {"id_number": "remove"}, "quasi_identifiers": ["sex"], "k": 2})
    assert r.status_code == 422 and r.json()["error"]["code"] == "k_below_platform_minimum"
    r = client.put(f"/api/v1/opendata/datasets/{portal.people}/settings", headers=ga, json={
        "treatments": {"id_number": "remove", "name": "remove", "phone": "remove", "birth_date": "year"},
        "quasi_identifiers": ["sex", "birth_date"], "k": 6})
    assert r.status_code == 200 and r.json()["settings"]["k"] == 6
    r = client.get(f"/api/v1/opendata/datasets/{portal.people}/settings", headers=ga)
    assert r.json()["settings"]["k"] == 6  # saved

    r = client.post(f"/api/v1/opendata/datasets/{portal.hospitals}/check", headers=wj, json={"open": False})
    assert r.status_code == 200 and r.json()["passed"] is True and r.json()["outcome"] == "checked"
    check_id = r.json()["id"]
    assert client.get(f"/api/v1/opendata/checks/{check_id}", headers=wj).json()["code"] == portal.hospitals
    r = client.get(f"/api/v1/opendata/checks/{check_id}", headers=token_for(client, "scj_admin"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "check_not_found"
    r = client.post(f"/api/v1/opendata/datasets/{portal.private}/check", headers=wj, json={"open": True})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_open_in_catalog"
    r = client.post(f"/api/v1/opendata/datasets/{portal.hospitals}/check", headers=token_for(client, "wj_staff"),
                    json={"open": True})
    assert r.status_code == 403  # staff may look, not open


def test_withdraw(client, db, portal):
    r = client.post(f"/api/v1/opendata/datasets/{portal.companies}/withdraw", headers=token_for(client, "ga_admin"),
                    json={"reason": "x"})
    assert r.status_code == 403
    scj = token_for(client, "scj_admin")
    r = client.post(f"/api/v1/opendata/datasets/{portal.companies}/withdraw", headers=scj, json={"reason": ""})
    assert r.status_code == 422
    r = client.post(f"/api/v1/opendata/datasets/{portal.companies}/withdraw", headers=scj,
                    json={"reason": "数据口径调整"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    r = client.post(f"/api/v1/opendata/datasets/{portal.companies}/feedback", json={"kind": "rating", "rating": 5})
    assert r.status_code == 404 and r.json()["error"]["code"] == "dataset_not_found"
    r = client.post(f"/api/v1/opendata/datasets/{portal.companies}/withdraw", headers=scj, json={"reason": "again"})
    assert r.status_code == 404


def test_feedback_inbox_and_answer(client, db, portal):
    r = client.post(f"/api/v1/opendata/datasets/{portal.hospitals}/feedback",
                    json={"kind": "error", "content": "电话已变更", "contact": "x@example.com"})
    assert r.status_code == 201 and r.json()["provider"] == "WJ" and r.json()["due_date"]
    fid = r.json()["id"]
    staff = token_for(client, "wj_staff")
    inbox = client.get("/api/v1/opendata/feedback?status=pending", headers=staff).json()
    assert [i["id"] for i in inbox["items"]] == [fid] and inbox["items"][0]["contact"] == "x@example.com"
    assert client.get("/api/v1/opendata/feedback", headers=token_for(client, "ga_admin")).json()["total"] == 0
    r = client.post(f"/api/v1/opendata/feedback/{fid}/answer", headers=token_for(client, "scj_admin"),
                    json={"reply": "x"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "other_department"
    r = client.post(f"/api/v1/opendata/feedback/{fid}/answer", headers=staff, json={"reply": "已更新"})
    assert r.status_code == 200 and r.json()["status"] == "answered"
    assert client.get("/api/v1/opendata/feedback?status=pending", headers=staff).json()["total"] == 0
    r = client.post("/api/v1/opendata/feedback/99999/answer", headers=staff, json={"reply": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "feedback_not_found"
    r = client.get("/api/v1/opendata/feedback?status=bogus", headers=staff)
    assert r.status_code == 422


def test_rating_through_the_api(client, db, portal):
    url = f"/api/v1/opendata/datasets/{portal.people}/feedback"
    assert client.post(url, json={"kind": "rating", "rating": 1}).json()["rating_count"] == 1
    r = client.post(url, json={"kind": "rating", "rating": 5})  # same address and agent: replaces
    assert r.json()["rating_count"] == 1 and r.json()["rating"] == 5
    assert client.post(url, json={"kind": "rating", "rating": 0}).status_code == 422
    assert service.rating(service.get_open(db, portal.people)) == 5


def test_public_bodies_have_a_smaller_cap_than_uploads():
    limits = BodyLimitMiddleware(None, max_bytes=2 << 30)
    for path in ("/api/3/action/package_search", "/api/action/package_show", "/open/demands/new",
                 "/open/datasets/x/rate", "/api/v1/opendata/developers", "/api/v1/opendata/datasets/x/feedback"):
        assert limits.limit_for(path) == 1 << 20, path
    for path in ("/api/v1/ingest/uploads", "/opendata/feedback/1/answer", "/openness", "/api/v1/catalog/resources"):
        assert limits.limit_for(path) == 2 << 30, path
    assert BodyLimitMiddleware(None, max_bytes=1000).limit_for("/open/x") == 1000  # never above the upload limit


def test_an_oversized_rating_or_report_is_413(client, db, portal):
    url = f"/api/v1/opendata/datasets/{portal.hospitals}/feedback"
    r = client.post(url, json={"kind": "error", "content": "x" * (2 << 20)})
    assert r.status_code == 413 and r.json()["error"]["code"] == "upload_too_large"
    r = client.post(url, json={"kind": "error", "content": "x" * 100})
    assert r.status_code == 201
