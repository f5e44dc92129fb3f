"""The audit REST API and pages: the same visibility everywhere, proofs that check offline, the public key for
anyone signed in, verify for auditors only."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from govdata.audit import keys, service
from tests.audit.conftest import fields
from tests.factories import PASSWORD, liuzhou, token_for

DAY = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def trail(db):
    liuzhou(db)
    for i, (rid, consumer, provider, outcome) in enumerate(
            [("r1", "GA", "WJ", "ok"), ("r2", "WJ", "GA", "not_granted"), ("r3", "CZQ-JY", "GA", "ok")], start=1):
        service.append(db, **fields(i, request_id=rid, consumer_org=consumer, provider_org=provider,
                                    outcome=outcome, at=DAY + timedelta(days=i)))
        db.commit()


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["request_id"] for item in response.json()["items"]]


def test_records_follow_visibility(client, trail):
    auditor, wj = token_for(client, "auditor"), token_for(client, "wj_staff")
    assert ids(client.get("/api/v1/audit/records", headers=auditor)) == ["r3", "r2", "r1"]
    assert ids(client.get("/api/v1/audit/records", headers=token_for(client, "admin"))) == ["r3", "r2", "r1"]
    assert ids(client.get("/api/v1/audit/records", headers=wj)) == ["r2", "r1"]
    assert ids(client.get("/api/v1/audit/records?outcome=refused", headers=wj)) == ["r2"]
    assert ids(client.get("/api/v1/audit/records?provider_org=GA&page_size=1", headers=auditor)) == ["r3"]
    since = (DAY + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    assert ids(client.get(f"/api/v1/audit/records?since={since}", headers=auditor)) == ["r3", "r2"]
    body = client.get("/api/v1/audit/records?provider_org=GA&page_size=1", headers=auditor).json()
    assert body["total"] == 2 and body["items"][0]["provider_org"] == "GA"
    assert client.get("/api/v1/audit/records").status_code == 401


def test_a_department_system_sees_its_own_records(client, trail):
    admin = token_for(client, "admin")
    credential = client.post("/api/v1/credentials", headers=admin, json={"org": "CZQ-JY", "name": "教育系统"}).json()
    system = {"Authorization": f"Bearer {credential['token']}"}
    assert ids(client.get("/api/v1/audit/records", headers=system)) == ["r3"]


def test_one_record_and_its_proof(client, trail):
    wj = token_for(client, "wj_staff")
    r = client.get("/api/v1/audit/records/r1", headers=wj)
    assert r.status_code == 200 and r.json()["consumer_org"] == "GA" and len(r.json()["hash"]) == 64
    for path in ("/api/v1/audit/records/r3", "/api/v1/audit/proof/r3", "/api/v1/audit/records/nope"):
        r = client.get(path, headers=wj)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "audit_record_not_found"), path
    proof = client.get("/api/v1/audit/proof/r1", headers=wj)
    assert proof.status_code == 200
    pem = client.get("/api/v1/audit/public-key", headers=wj)
    assert pem.status_code == 200 and pem.headers["content-type"].startswith("text/plain")
    assert pem.text == keys.public_key_pem()
    service.check_proof(proof.json(), pem.text)


def test_verify_is_for_auditors(client, trail, db):
    assert client.post("/api/v1/audit/verify", headers=token_for(client, "ga_admin")).status_code == 403
    report = client.post("/api/v1/audit/verify", headers=token_for(client, "auditor")).json()
    assert report["ok"] is True and report["records"] == 3
    db.execute(text("UPDATE audit_records SET purpose = '私自查询' WHERE id = 2"))
    db.commit()
    report = client.post("/api/v1/audit/verify", headers=token_for(client, "admin")).json()
    assert report["ok"] is False and report["problems"][0]["kind"] == "changed"
    assert report["problems"][0]["record_id"] == 2


# ---- pages -------------------------------------------------------------------------------------------------------

def login(client: TestClient, username: str) -> None:
    client.cookies.clear()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


def test_pages_list_filter_and_prove(client, trail):
    assert client.get("/audit", follow_redirects=False).status_code == 303
    login(client, "wj_staff")
    page = client.get("/audit")
    assert page.status_code == 200 and "审计追溯" in page.text
    assert "r1" in page.text and "r2" in page.text and "r3" not in page.text
    partial = client.get("/audit?outcome=refused", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "r2" in partial.text and ">r1<" not in partial.text
    day = (DAY + timedelta(days=1)).date().isoformat()
    assert ">r2<" not in client.get(f"/audit?since={day}&until={day}").text
    assert client.get("/audit?since=notaday").status_code == 422
    detail = client.get("/audit/r2")
    assert detail.status_code == 200 and "not_granted" in detail.text
    assert client.get("/audit/r3").status_code == 404
    proof = client.get("/audit/r2/proof")
    assert proof.status_code == 200 and "attachment" in proof.headers["content-disposition"]
    service.check_proof(json.loads(proof.text), keys.public_key_pem())


def test_pages_show_auditors_everything(client, trail):
    login(client, "auditor")
    page = client.get("/audit?org=GA")
    assert all(rid in page.text for rid in ("r1", "r2", "r3"))
