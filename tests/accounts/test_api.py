from __future__ import annotations

from tests.factories import PASSWORD, liuzhou, token_for


def test_token_login_and_me(client, db):
    liuzhou(db)
    r = client.post("/api/v1/auth/token", json={"username": "wj_admin", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["access_token"].startswith("gdp_")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me == {"name": "wj_admin", "kind": "user", "role": "dept_admin", "org": "WJ"}


def test_wrong_password_is_a_json_error_in_chinese(client, db):
    liuzhou(db)
    r = client.post("/api/v1/auth/token", json={"username": "wj_admin", "password": "nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_credentials"
    assert "密码" in r.json()["error"]["message"]
    assert r.headers["cache-control"] == "no-store"


def test_lockout_through_the_api(client, db):
    liuzhou(db)
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"username": "wj_admin", "password": "nope"})
    r = client.post("/api/v1/auth/token", json={"username": "wj_admin", "password": PASSWORD})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "account_locked")


def test_calls_without_or_with_a_bad_token_are_refused(client, db):
    liuzhou(db)
    r = client.get("/api/v1/orgs")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "not_authenticated")
    assert r.headers["www-authenticate"] == "Bearer"
    r = client.get("/api/v1/orgs", headers={"Authorization": "Bearer gdp_forged"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_token")


def test_logout_revokes_the_token(client, db):
    liuzhou(db)
    headers = token_for(client, "wj_admin")
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_users_api_create_list_update_delete(client, db):
    liuzhou(db)
    wj = token_for(client, "wj_admin")
    r = client.post("/api/v1/users", headers=wj, json={
        "username": "wj_nurse", "full_name": "护士甲", "password": PASSWORD, "org": "WJ", "role": "dept_staff"})
    assert r.status_code == 201 and r.json()["org"] == "WJ"
    assert "password" not in r.json() and "password_hash" not in r.json()
    listed = client.get("/api/v1/users", headers=wj).json()
    assert {u["username"] for u in listed["items"]} == {"wj_admin", "wj_staff", "wj_nurse"}
    r = client.patch("/api/v1/users/wj_nurse", headers=wj, json={"full_name": "护士乙"})
    assert r.json()["full_name"] == "护士乙"
    assert client.delete("/api/v1/users/wj_nurse", headers=wj).status_code == 204
    assert client.get("/api/v1/users/wj_nurse", headers=wj).json()["error"]["code"] == "user_not_found"


def test_dept_admin_reaching_another_department_is_forbidden(client, db):
    liuzhou(db)
    ga = token_for(client, "ga_admin")
    r = client.post("/api/v1/users", headers=ga, json={
        "username": "spy", "full_name": "间谍", "password": PASSWORD, "org": "WJ", "role": "dept_staff"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "other_department")
    assert client.patch("/api/v1/users/wj_staff", headers=ga, json={"full_name": "x"}).status_code == 403
    assert client.get("/api/v1/users/wj_staff", headers=ga).status_code == 403
    assert client.get("/api/v1/users?org=WJ", headers=ga).json()["items"] == []
    admin = token_for(client, "admin")
    assert client.get("/api/v1/users/spy", headers=admin).status_code == 404


def test_validation_errors_are_precise(client, db):
    liuzhou(db)
    admin = token_for(client, "admin")
    r = client.post("/api/v1/users", headers=admin, json={"username": "!bad", "org": "GA"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    assert {d["field"] for d in err["details"]} >= {"username", "full_name", "password", "role"}
    r = client.post("/api/v1/users", headers=admin, content=b"{not json", )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


def test_system_credential_lifecycle_over_the_api(client, db):
    liuzhou(db)
    ga = token_for(client, "ga_admin")
    r = client.post("/api/v1/credentials", headers=ga, json={"org": "GA", "name": "人口库同步"})
    assert r.status_code == 201
    issued = r.json()
    system = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/api/v1/me", headers=system).json()["kind"] == "system"
    # shown once: the list never carries the token
    listed = client.get("/api/v1/credentials", headers=ga).json()["items"]
    assert [c["id"] for c in listed] == [issued["id"]] and "token" not in listed[0]
    # a system credential cannot administer people
    assert client.get("/api/v1/users", headers=system).json()["error"]["code"] == "person_required"
    assert client.post(f"/api/v1/credentials/{issued['id']}/revoke", headers=ga).json()["status"] == "revoked"
    assert client.get("/api/v1/me", headers=system).status_code == 401


def test_changing_your_own_password_needs_the_current_one(client, db):
    liuzhou(db)
    me = token_for(client, "wj_staff")
    r = client.post("/api/v1/users/wj_staff/password", headers=me, json={"password": "Brand-New-Pass1"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "wrong_current_password")
    r = client.post("/api/v1/users/wj_staff/password", headers=me,
                    json={"password": "Brand-New-Pass1", "current_password": PASSWORD})
    assert r.status_code == 204
    assert client.get("/api/v1/me", headers=me).status_code == 401  # every session ends with the old password
    token_for(client, "wj_staff", "Brand-New-Pass1")
    # an administrator resetting someone else's password does not need theirs
    admin = token_for(client, "admin")
    r = client.post("/api/v1/users/wj_staff/password", headers=admin, json={"password": "Admin-Set-Pass1"})
    assert r.status_code == 204
