from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

from fastapi.testclient import TestClient

from tests.factories import PASSWORD, liuzhou, make_org


def _csrf(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def login(client: TestClient, username: str, password: str = PASSWORD, next_: str = "/"):
    token = _csrf(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": next_}, follow_redirects=False)


def test_pages_need_a_login_and_come_back_after_it(client, db):
    liuzhou(db)
    r = client.get("/orgs?q=公安", follow_redirects=False)
    location = urlsplit(r.headers["location"])
    assert r.status_code == 303 and location.path == "/login"
    assert unquote(parse_qs(location.query)["next"][0]) == "/orgs?q=公安"
    r = login(client, "admin", next_="/orgs")
    assert r.status_code == 303 and r.headers["location"] == "/orgs"
    cookie = r.headers["set-cookie"]
    assert "gd_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = client.get("/")
    assert home.status_code == 200 and "工作台" in home.text


def test_login_form_without_csrf_token_is_refused(client, db):
    liuzhou(db)
    client.get("/login")
    r = client.post("/login", data={"username": "admin", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and "表单已失效" in r.text
    assert "gd_session" not in r.headers.get("set-cookie", "")


def test_logged_in_form_posts_need_the_csrf_token(client, db):
    liuzhou(db)
    login(client, "admin")
    form = {"code": "NEW1", "name": "新机构", "level": "city", "type": "department", "region_code": "450200"}
    assert client.post("/orgs", data=form, follow_redirects=False).status_code == 403
    r = client.post("/orgs", data={**form, "csrf_token": _csrf(client, "/orgs/new")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/orgs/NEW1?notice=org_created"
    assert "机构已创建" in client.get(r.headers["location"]).text


def test_form_errors_are_shown_in_chinese_and_keep_the_input(client, db):
    liuzhou(db)
    login(client, "admin")
    form = {"code": "NEW1", "name": "新机构", "level": "city", "type": "department", "region_code": "999999",
            "csrf_token": _csrf(client, "/orgs/new")}
    r = client.post("/orgs", data=form)
    assert r.status_code == 422
    assert "行政区划代码无效" in r.text and 'value="新机构"' in r.text


def test_wrong_password_page(client, db):
    liuzhou(db)
    r = login(client, "admin", password="wrong")
    assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_open_redirects_are_not_followed(client, db):
    liuzhou(db)
    r = login(client, "admin", next_="https://evil.example/steal")
    assert r.headers["location"] == "/"
    r = login(client, "admin", next_="//evil.example")
    assert r.headers["location"] == "/"


def test_security_headers_on_pages_and_api(client, db):
    for path in ("/login", "/healthz", "/api/v1/orgs"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])


def test_hostile_text_is_shown_escaped(client, db):
    liuzhou(db)
    make_org(db, "EVIL", parent="LZ", name='<img src=x onerror="alert(1)">局')
    login(client, "admin")
    page = client.get("/orgs/EVIL").text
    assert '<img src=x onerror="alert(1)">' not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;局" in page
    assert '<img src=x onerror="alert(1)">' not in client.get("/orgs").text


def test_dept_admin_pages_are_scoped(client, db):
    liuzhou(db)
    login(client, "ga_admin")
    assert client.get("/action-log").status_code == 403
    people = client.get("/users").text
    assert "ga_admin" in people and "wj_staff" not in people
    assert client.get("/users/wj_staff").status_code == 403


def test_unknown_page_is_a_chinese_404(client, db):
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "请求的地址不存在" in r.text
    r = client.get("/api/v1/no-such-thing")
    assert r.json() == {"error": {"code": "not_found", "message": "请求的地址不存在"}}


def test_health_and_openapi(client, db):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["database"] in ("sqlite", "postgresql")
    spec = client.get("/openapi.json").json()
    for path in ("/healthz", "/api/v1/auth/token", "/api/v1/orgs", "/api/v1/users", "/api/v1/action-log"):
        assert path in spec["paths"]


def test_credential_page_shows_the_token_once(client, db):
    liuzhou(db)
    login(client, "ga_admin")
    r = client.post("/credentials", data={"org": "GA", "name": "户籍系统", "csrf_token": _csrf(client, "/credentials")})
    token = re.search(r"(gds_[A-Za-z0-9_-]+)", r.text).group(1)
    listing = client.get("/credentials").text
    assert "户籍系统" in listing and token not in listing and token[:12] in listing
