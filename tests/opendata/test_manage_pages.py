"""The departments' and the bureau's opening pages: states, settings, the check's report, opening, withdrawing."""

from __future__ import annotations

import re

from govdata.opendata import service
from tests.factories import PASSWORD


def log_in(client, username: str) -> str:
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return token


def csrf(client, url: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).text).group(1)


def test_department_sees_its_resources_with_their_states(client, portal):
    log_in(client, "wj_admin")
    page = client.get("/opendata")
    assert page.status_code == 200
    assert "医疗机构名录" in page.text and "疫苗接种点" in page.text
    assert "企业登记信息" not in page.text  # another department's
    assert "已开放" in page.text and "无已发布数据" in page.text
    assert "住院病人名单" not in page.text  # not open in the catalog: not a candidate


def test_bureau_sees_every_department_and_filters_by_state(client, portal):
    log_in(client, "admin")
    page = client.get("/opendata", params={"state": "withdrawn"})
    assert "旧企业名录" in page.text and "医疗机构名录" not in page.text


def test_report_and_settings_on_the_detail_page(client, portal):
    log_in(client, "ga_admin")
    page = client.get(f"/opendata/datasets/{portal.people}")
    assert page.status_code == 200
    assert "开放前检查报告" in page.text and "公民身份号码" in page.text
    assert 'name="treatment_id_number"' in page.text and "k 匿名" in page.text


def test_refused_check_through_the_form_shows_the_problems(client, db, portal):
    log_in(client, "ga_admin")
    url = f"/opendata/datasets/{portal.people}"
    token = csrf(client, url)
    response = client.post(f"{url}/check", data={"csrf_token": token, "action": "open", "k": "5"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "开放前检查未通过" in response.text and "direct_identifier" in response.text
    db.expire_all()
    assert service.get_open(db, portal.people).version_number == 1  # still served as opened before


def test_another_department_cannot_see_or_open(client, portal):
    log_in(client, "wj_admin")
    assert client.get(f"/opendata/datasets/{portal.people}").status_code == 404
    token = csrf(client, "/opendata")
    response = client.post(f"/opendata/datasets/{portal.people}/check", data={"csrf_token": token, "action": "open"})
    assert response.status_code == 404


def test_withdraw_through_the_form(client, db, portal):
    log_in(client, "wj_admin")
    url = f"/opendata/datasets/{portal.hospitals}"
    token = csrf(client, url)
    response = client.post(f"{url}/withdraw", data={"csrf_token": token, "reason": "数据需要更正"},
                           follow_redirects=True)
    assert response.status_code == 200 and "已从开放平台撤回" in response.text
    db.expire_all()
    assert client.get(f"/open/datasets/{portal.hospitals}").status_code == 404


def test_opening_without_login_redirects_to_login(client, portal):
    response = client.get("/opendata", follow_redirects=False)
    assert response.status_code in (302, 303) and "/login" in response.headers["location"]
