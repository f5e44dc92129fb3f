"""Developers on the portal: registration rules, sign-in with lock-out, the session cookie, API keys shown once and
kept as a hash, revocation, the rate limits of ``developers.take``, and what registering and signing in reveal
(nothing about whether an account exists) and how often one address may try."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from govdata import security
from govdata.config import get_settings
from govdata.errors import Unauthenticated
from govdata.opendata import developers
from govdata.opendata.models import ApiKey, Developer, DeveloperSession
from govdata.opendata.schemas import DeveloperIn, KeyLimits
from govdata.principal import CLI, anonymous
from tests.factories import liuzhou, token_for
from tests.opendata.conftest import csrf as _csrf

PASSWORD = "Open-Data-2024!"

pytestmark = pytest.mark.usefixtures("fresh_limits")


def _register(client, **fields):
    data = {"email": "dev@example.com", "phone": "", "display_name": "数据爱好者", "organisation": "",
            "password": PASSWORD, **fields}
    return client.post("/open/developer/register", data={"csrf_token": _csrf(client), **data},
                       follow_redirects=False)


def _login(client, login: str, password: str = PASSWORD):
    return client.post("/open/developer/login", data={"csrf_token": _csrf(client), "login": login,
                                                      "password": password}, follow_redirects=False)


def _developer(db, **fields) -> Developer:
    data = {"email": "api@example.com", "display_name": "接口用户", "password": PASSWORD, **fields}
    return developers.register(db, DeveloperIn(**data), anonymous())


def test_registration_rules_and_messages(client, db):
    r = _register(client, email="", phone="")
    assert r.status_code == 422 and "至少填写一项" in r.text
    r = _register(client, email="", phone="1234567")
    assert r.status_code == 422 and "手机号码格式无效" in r.text
    r = _register(client, email="not-an-email")
    assert r.status_code == 422 and "电子邮箱格式无效" in r.text
    r = _register(client, password="password")
    assert r.status_code == 422 and "密码至少 8 位" in r.text
    assert 'value="数据爱好者"' in r.text and PASSWORD not in r.text  # the form comes back, without the password

    r = _register(client, email="Dev@Example.com", phone="138 0013 8000")
    assert r.status_code == 303 and "registered" in r.headers["location"]
    row = db.scalar(select(Developer))
    assert (row.email, row.phone) == ("dev@example.com", "13800138000")  # normalised
    assert row.password_hash.startswith("$argon2") and PASSWORD not in row.password_hash

    client.cookies.clear()
    taken_email = _register(client, email="dev@example.com")
    taken_phone = _register(client, email="other@example.com", phone="13800138000")
    for r in (taken_email, taken_phone):  # one answer, which does not repeat what was taken
        assert r.status_code == 409 and "该电子邮箱或手机号码已注册" in r.text and "account_exists" in r.text
        assert "dev@example.com" not in r.text.replace('value="dev@example.com"', "")
        assert "13800138000" not in r.text.replace('value="13800138000"', "")


def test_registration_signs_in_with_a_session_cookie_whose_hash_only_is_stored(client, db):
    r = _register(client)
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("gd_dev=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Path=/open" in cookie
    token = client.cookies.get("gd_dev")
    session = db.scalar(select(DeveloperSession))
    assert session.token_hash == security.token_hash(token) and session.token_hash != token
    page = client.get("/open/developer").text
    assert "数据爱好者" in page and "创建密钥" in page and "退出登录" in page

    r = client.post("/open/developer/logout", data={"csrf_token": _csrf(client)}, follow_redirects=False)
    assert r.status_code == 303
    db.expire_all()
    assert db.scalar(select(DeveloperSession)) is None
    client.cookies.set("gd_dev", token, path="/open")  # a stolen old cookie is worth nothing
    assert "创建密钥" not in client.get("/open/developer").text


def test_sign_in_by_email_or_phone_and_lockout(client, db):
    _developer(db, email="lock@example.com", phone="13900139000")
    r = _login(client, "13900139000")
    assert r.status_code == 303 and client.cookies.get("gd_dev")
    client.cookies.clear()

    max_failures = get_settings().login_max_failures
    for _ in range(max_failures):
        r = _login(client, "LOCK@example.com", "Wrong-Passw0rd")
        assert r.status_code == 401 and "账号或密码错误" in r.text
    wrong = _login(client, "lock@example.com", "Wrong-Passw0rd")
    locked = _login(client, "lock@example.com")  # the right password, but locked now
    unknown = _login(client, "nobody@example.com", "Wrong-Passw0rd")
    assert client.cookies.get("gd_dev") is None
    # locked, wrong password and no such account look the same to the caller
    assert wrong.status_code == locked.status_code == unknown.status_code == 401
    assert _error_of(wrong) == _error_of(locked) == _error_of(unknown) == ("invalid_credentials",
                                                                           developers.BAD_LOGIN)
    db.expire_all()
    assert db.scalar(select(Developer).where(Developer.email == "lock@example.com")).locked_until is not None


def _error_of(response) -> tuple[str, str]:
    """The code and message of the error box on a developer page."""
    match = re.search(r'data-code="([a-z_]+)"[^>]*>\s*([^<]*?)\s*<', response.text)
    assert match, response.text
    return match.group(1), match.group(2)


def test_key_is_shown_once_and_only_its_hash_is_kept(client, db):
    _register(client)
    r = client.post("/open/developer/keys", data={"csrf_token": _csrf(client), "name": "我的应用"})
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    full = re.search(r'<code id="new-key">(gdo_[A-Za-z0-9_-]+)</code>', r.text).group(1)
    key = db.scalar(select(ApiKey))
    assert key.key_hash == developers.key_hash(full) and full not in (key.key_hash, key.prefix)
    assert full.startswith(key.prefix) and len(key.prefix) < 12
    settings = get_settings()
    assert (key.per_minute, key.per_day) == (settings.open_key_per_minute, settings.open_key_per_day)
    page = client.get("/open/developer").text
    assert full not in page and key.prefix in page and "我的应用" in page

    developers.take(db, full, "10.0.0.1")  # the key works
    r = client.post(f"/open/developer/keys/{key.id}/revoke", data={"csrf_token": _csrf(client)},
                    follow_redirects=False)
    assert r.status_code == 303
    with pytest.raises(Unauthenticated) as refused:
        developers.take(db, full, "10.0.0.1")
    assert refused.value.code == "invalid_api_key" and refused.value.status == 401
    assert "已吊销" in client.get("/open/developer").text


def test_another_developers_key_cannot_be_revoked(client, db):
    owner = _developer(db)
    key, full = developers.create_key(db, owner, "k", anonymous())
    _register(client, email="thief@example.com")
    r = client.post(f"/open/developer/keys/{key.id}/revoke", data={"csrf_token": _csrf(client)})
    assert r.status_code == 404
    developers.take(db, full, "10.0.0.1")  # still valid


def test_key_pages_need_a_signed_in_developer(client, db):
    r = client.post("/open/developer/keys", data={"csrf_token": _csrf(client), "name": "x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/open/developer/login"
    assert db.scalar(select(ApiKey)) is None


def test_per_minute_limit_set_by_the_bureau(client, db):
    liuzhou(db)
    developer = _developer(db)
    key, full = developers.create_key(db, developer, "k", anonymous())
    r = client.put(f"/api/v1/opendata/keys/{key.id}/limits", headers=token_for(client, "wj_admin"),
                   json={"per_minute": 3, "per_day": 1000})
    assert r.status_code == 403
    r = client.put(f"/api/v1/opendata/keys/{key.id}/limits", headers=token_for(client, "admin"),
                   json={"per_minute": 3, "per_day": 1000})
    assert r.status_code == 200 and r.json()["per_minute"] == 3 and "key_hash" not in r.json()
    listed = client.get("/api/v1/opendata/keys", headers=token_for(client, "admin")).json()
    assert listed["items"][0]["prefix"] == key.prefix and full not in str(listed)

    for _ in range(3):
        developers.take(db, full, "10.0.0.1")
    with pytest.raises(developers.RateLimited) as limited:
        developers.take(db, full, "10.0.0.2")  # per key, whatever the address
    assert limited.value.status == 429 and limited.value.code == "rate_limited"
    assert 1 <= limited.value.retry_after <= 60
    assert limited.value.headers == {"Retry-After": str(limited.value.retry_after)}
    assert "每分钟最多调用 3 次" in limited.value.message


def test_per_day_limit(db):
    developer = _developer(db)
    key, full = developers.create_key(db, developer, "k", anonymous())
    developers.set_limits(db, CLI, key.id, KeyLimits(per_minute=100, per_day=2))
    developers.take(db, full, "c")
    developers.take(db, full, "c")
    with pytest.raises(developers.RateLimited) as limited:
        developers.take(db, full, "c")
    assert "每天最多调用 2 次" in limited.value.message and limited.value.retry_after > 0


def test_anonymous_limit_per_client_address(db, monkeypatch):
    monkeypatch.setattr(get_settings(), "open_anonymous_per_minute", 2)
    developers.take(db, None, "10.0.0.1")
    developers.take(db, None, "10.0.0.1")
    with pytest.raises(developers.RateLimited) as limited:
        developers.take(db, None, "10.0.0.1")
    assert "匿名访问每分钟最多 2 次" in limited.value.message
    developers.take(db, None, "10.0.0.2")  # another address has its own minute
    monkeypatch.setattr(get_settings(), "open_anonymous_per_minute", 0)
    for _ in range(50):
        developers.take(db, None, "10.0.0.1")  # 0 = unlimited


def test_unknown_key_is_refused(db):
    with pytest.raises(Unauthenticated) as refused:
        developers.take(db, "gdo_made-up", "c")
    assert refused.value.code == "invalid_api_key"


def test_calls_are_written_in_batches(db):
    developer = _developer(db)
    key, full = developers.create_key(db, developer, "k", anonymous())
    for _ in range(4):
        developers.take(db, full, "c")
    db.expire_all()
    assert db.get(ApiKey, key.id).calls == 0  # not a write per call
    assert developers.flush(db) == 1
    db.expire_all()
    row = db.get(ApiKey, key.id)
    assert row.calls == 4 and row.last_used_at is not None


def test_key_from_headers():
    assert developers.key_from_headers({"authorization": "gdo_abc"}) == "gdo_abc"
    assert developers.key_from_headers({"authorization": "Bearer gdo_abc"}) == "gdo_abc"
    assert developers.key_from_headers({"x-ckan-api-key": "gdo_xyz"}) == "gdo_xyz"
    assert developers.key_from_headers({}) is None


def test_register_through_the_api(client, db):
    r = client.post("/api/v1/opendata/developers", json={"phone": "13700137000", "display_name": "某公司",
                                                          "password": PASSWORD})
    assert r.status_code == 201 and r.json()["phone"] == "13700137000" and "password_hash" not in r.json()
    r = client.post("/api/v1/opendata/developers", json={"phone": "13700137000", "display_name": "x",
                                                          "password": PASSWORD})
    assert r.status_code == 409 and r.json()["error"]["code"] == "account_exists"
    assert "13700137000" not in r.json()["error"]["message"]
    r = client.post("/api/v1/opendata/developers", json={"email": "a@b", "display_name": "x", "password": PASSWORD})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_email"
    r = client.post("/api/v1/opendata/developers", json={"email": "weak@example.com", "display_name": "x",
                                                          "password": "short"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "weak_password"


def test_failed_registrations_count_towards_the_address_throttle(client, db):
    _developer(db, email="taken@example.com")
    limit = developers.THROTTLES["register"][0]
    for n in range(limit):  # probing which addresses are registered: every refusal counts
        r = client.post("/api/v1/opendata/developers", json={"email": "taken@example.com", "display_name": f"x{n}",
                                                              "password": PASSWORD})
        assert r.status_code == 409 and r.json()["error"]["code"] == "account_exists"
    r = client.post("/api/v1/opendata/developers", json={"email": "new@example.com", "display_name": "新用户",
                                                          "password": PASSWORD})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and int(r.headers["retry-after"]) > 0
    r = _register(client, email="new@example.com")  # the page shares the address's count
    assert r.status_code == 429 and "提交过于频繁" in r.text
    assert db.scalar(select(Developer).where(Developer.email == "new@example.com")) is None


def test_sign_in_failures_are_throttled_per_address(client, db):
    _developer(db, email="spray@example.com")
    limit = developers.THROTTLES["login"][0]
    for n in range(limit):  # one wrong password each on many accounts stays under every account's lock-out
        assert _login(client, f"user{n}@example.com", "Wrong-Passw0rd").status_code == 401
    r = _login(client, "spray@example.com")  # even the right password, from this address, for now
    assert r.status_code == 429 and "提交过于频繁" in r.text
    assert client.cookies.get("gd_dev") is None
    developers.reset()  # the window has passed
    assert _login(client, "spray@example.com").status_code == 303


def test_successful_sign_ins_do_not_count_towards_the_throttle(client, db):
    _developer(db, email="busy@example.com")
    for _ in range(developers.THROTTLES["login"][0] + 2):
        client.cookies.clear()
        assert _login(client, "busy@example.com").status_code == 303


def test_throttled_counts_as_its_bucket_says(monkeypatch):
    monkeypatch.setitem(developers.THROTTLES, "t_success", (1, 60, "success"))
    monkeypatch.setitem(developers.THROTTLES, "t_failure", (1, 60, "failure"))
    monkeypatch.setitem(developers.THROTTLES, "t_always", (1, 60, "always"))

    def attempt(bucket: str, fail: bool) -> None:
        with developers.throttled(bucket, "10.1.1.1"):
            if fail:
                raise Unauthenticated("x")

    with pytest.raises(Unauthenticated):
        attempt("t_success", fail=True)
    attempt("t_success", fail=False)  # the failure did not count
    with pytest.raises(developers.RateLimited):
        attempt("t_success", fail=False)
    attempt("t_failure", fail=False)
    with pytest.raises(Unauthenticated):
        attempt("t_failure", fail=True)
    with pytest.raises(developers.RateLimited):
        attempt("t_failure", fail=False)
    with pytest.raises(Unauthenticated):
        attempt("t_always", fail=True)
    with pytest.raises(developers.RateLimited):
        attempt("t_always", fail=False)
    with developers.throttled("t_always", "10.1.1.2"):  # another address has its own count
        pass
