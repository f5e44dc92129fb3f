from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import PASSWORD, liuzhou, token_for


def test_every_admin_action_is_searchable_with_who_when_where_and_what(client, db):
    liuzhou(db)
    client.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong"})
    admin = token_for(client, "admin")
    client.post("/api/v1/orgs", headers={**admin, "User-Agent": "pytest-agent"}, json={
        "code": "NEW1", "name": "新机构", "level": "city", "region_code": "450200"})
    client.patch("/api/v1/orgs/NEW1", headers=admin, json={"name": "新机构(改)"})
    client.post("/api/v1/users", headers=admin, json={
        "username": "newbie", "full_name": "新人", "password": PASSWORD, "org": "NEW1", "role": "dept_staff"})
    cred = client.post("/api/v1/credentials", headers=admin, json={"org": "NEW1", "name": "系统甲"}).json()
    client.post(f"/api/v1/credentials/{cred['id']}/revoke", headers=admin)
    client.delete("/api/v1/users/newbie", headers=admin)

    auditor = token_for(client, "auditor")
    log = client.get("/api/v1/action-log?page_size=200", headers=auditor).json()
    actions = [e["action"] for e in log["items"]]
    for expected in ("auth.login_failed", "auth.login", "org.create", "org.update", "user.create",
                     "credential.create", "credential.revoke", "user.delete"):
        assert expected in actions
    create = next(e for e in log["items"] if e["action"] == "org.create")
    assert create["actor"] == "admin" and create["actor_org"] == "DSJ"
    assert create["ip"] == "testclient" and create["user_agent"] == "pytest-agent" and create["request_id"]
    assert create["after"]["name"] == "新机构" and create["before"] is None
    change = next(e for e in log["items"] if e["action"] == "org.update")
    assert change["before"]["name"] == "新机构" and change["after"]["name"] == "新机构(改)"
    failed = next(e for e in log["items"] if e["action"] == "auth.login_failed")
    assert failed["outcome"] == "failure" and failed["target_id"] == "admin"
    # nothing secret ever lands in the log
    assert PASSWORD not in str(log) and cred["token"] not in str(log)


def test_filters(client, db):
    liuzhou(db)
    admin = token_for(client, "admin")
    client.post("/api/v1/orgs", headers=admin, json={"code": "NEW1", "name": "新机构", "level": "city",
                                                     "region_code": "450200"})
    auditor = token_for(client, "auditor")

    def search(query: str) -> list[dict]:
        return client.get(f"/api/v1/action-log?{query}", headers=auditor).json()["items"]

    assert {e["action"] for e in search("action=org.")} == {"org.create"}
    assert all(e["actor"] == "admin" for e in search("actor=admin"))
    assert [e["target_id"] for e in search("target_id=NEW1")] == ["NEW1"]
    assert search("q=新机构")[0]["action"] == "org.create"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert search(f"since={future}") == []
    r = client.get("/api/v1/action-log?since=notatime", headers=auditor)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")


def test_only_auditors_and_bureau_admins_read_the_log(client, db):
    liuzhou(db)
    for who, status in (("admin", 200), ("auditor", 200), ("ga_admin", 403), ("wj_staff", 403)):
        assert client.get("/api/v1/action-log", headers=token_for(client, who)).status_code == status, who


def test_auditors_are_read_only(client, db):
    liuzhou(db)
    auditor = token_for(client, "auditor")
    r = client.post("/api/v1/users", headers=auditor, json={
        "username": "sneaky", "full_name": "x", "password": PASSWORD, "org": "DSJ", "role": "auditor"})
    assert r.status_code == 403
    assert client.patch("/api/v1/users/wj_staff", headers=auditor, json={"full_name": "x"}).status_code == 403


def test_refused_access_by_a_known_person_is_logged(client, db):
    liuzhou(db)
    ga = token_for(client, "ga_admin")
    assert client.patch("/api/v1/users/wj_staff", headers=ga, json={"full_name": "x"}).status_code == 403
    denied = client.get("/api/v1/action-log?action=access.denied", headers=token_for(client, "auditor")).json()
    assert denied["total"] == 1
    entry = denied["items"][0]
    assert (entry["actor"], entry["outcome"]) == ("ga_admin", "failure")
    assert entry["target_id"] == "PATCH /api/v1/users/wj_staff" and "other_department" in entry["summary"]
