from __future__ import annotations

import re

from fastapi.testclient import TestClient

from govdata.standards import service
from tests.factories import PASSWORD, liuzhou


def login(client: TestClient, db, username: str = "admin") -> None:
    liuzhou(db)
    service.load_shipped(db)
    token = _csrf(client, "/login")
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token,
                                           "next": "/"}, follow_redirects=False)
    assert response.status_code == 303


def _csrf(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_elements_page_lists_and_searches(client, db):
    login(client, db, "wj_staff")
    page = client.get("/standards")
    assert page.status_code == 200
    assert '<a href="/standards" aria-current="page">数据标准</a>' in page.text
    for text in ("编码", "默认敏感级别", "DE0002", "公民身份号码", "id_number", "gb2261_1_sex", "L3 较敏感"):
        assert text in page.text
    found = client.get("/standards", params={"q": "邮政"}).text
    assert "DE0018" in found and "DE0002" not in found


def test_codeset_pages_page_and_download(client, db):
    login(client, db, "wj_staff")
    listing = client.get("/standards/codesets").text
    assert "gb2260_region" in listing and "GB/T 2261.1-2003" in listing and "导入代码集" not in listing
    first = client.get("/standards/codesets/gb2260_region").text
    assert first.count("<tr><td>") == 200 and "110000" in first and 'page=2' in first
    second = client.get("/standards/codesets/gb2260_region", params={"page": 2}).text
    assert "110000" not in second and second.count("<tr><td>") == 200
    download = client.get("/standards/codesets/gb2261_1_sex/download", params={"format": "csv"})
    assert download.status_code == 200 and download.content.decode("utf-8-sig").splitlines()[2] == "1,男性,"
    assert client.get("/standards/codesets/nope").status_code == 404


def test_admin_imports_a_code_set_from_the_page(client, db):
    login(client, db)
    token = _csrf(client, "/standards/codesets")
    form = {"name": "local_grid", "title": "网格", "csrf_token": token}
    response = client.post("/standards/codesets/import", data=form,
                           files={"file": ("网格.csv", "代码,名称\nG01,一号网格\n".encode("gb18030"), "text/csv")},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/standards/codesets/local_grid?imported=1"
    page = client.get(response.headers["location"]).text
    assert "代码集已导入" in page and "一号网格" in page
    bad = client.post("/standards/codesets/import", data={"name": "local_grid", "csrf_token": token},
                      files={"file": ("x.csv", "代码,名称\nG01,\n".encode(), "text/csv")})
    assert bad.status_code == 422 and "名称为空" in bad.text and 'value="local_grid"' in bad.text


def test_pages_in_english(client, db):
    login(client, db)
    client.cookies.set("gd_lang", "en")
    page = client.get("/standards").text
    assert "Data standards" in page and "Default sensitivity" in page and "Moderately sensitive" in page
    assert "Sensitivity level" in client.get("/standards/codesets").text  # catalog set titles translate
