from __future__ import annotations

import io

from openpyxl import load_workbook

from govdata.standards import service
from tests.factories import liuzhou, token_for

REQUIRED = {"姓名": "DE0001", "公民身份号码": "DE0002", "性别": "DE0003", "出生日期": "DE0004",
            "行政区划代码": "DE0005", "统一社会信用代码": "DE0006", "手机号码": "DE0007", "地址": "DE0008"}


def setup(db, client, username="admin"):
    liuzhou(db)
    service.load_shipped(db)
    return token_for(client, username)


def test_elements_list_has_the_agreed_elements(client, db):
    headers = setup(db, client, "wj_staff")  # any person may read the standards
    body = client.get("/api/v1/standards/elements", headers=headers).json()
    by_name = {e["name"]: e for e in body["items"]}
    assert {name: by_name[name]["code"] for name in REQUIRED} == REQUIRED
    assert body["total"] == len(body["items"]) >= 30
    id_number = by_name["公民身份号码"]
    assert {k: id_number[k] for k in ("data_type", "codeset", "rule", "length", "default_sensitivity")} == {
        "data_type": "C", "codeset": None, "rule": "id_number", "length": 18, "default_sensitivity": "L3"}
    assert by_name["性别"]["codeset"] == "gb2261_1_sex"
    found = client.get("/api/v1/standards/elements", params={"q": "信用"}, headers=headers).json()["items"]
    assert [e["code"] for e in found] == ["DE0006"]


def test_element_and_codeset_lookups(client, db):
    headers = setup(db, client)
    assert client.get("/api/v1/standards/elements/DE0005", headers=headers).json()["rule"] == "region_code"
    missing = client.get("/api/v1/standards/elements/DE9999", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "data_element_not_found"
    sex = client.get("/api/v1/standards/codesets/gb2261_1_sex", headers=headers).json()
    assert sex["standard"] == "GB/T 2261.1-2003" and sex["value_count"] == 4
    assert {v["code"]: v["label"] for v in sex["values"]}["1"] == "男性"
    liuzhou_districts = client.get("/api/v1/standards/codesets/gb2260_region", params={"parent": "450200"},
                                   headers=headers).json()["values"]
    assert {"450202", "450226"} <= {v["code"] for v in liuzhou_districts}
    missing = client.get("/api/v1/standards/codesets/nope", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "codeset_not_found"
    names = {c["name"] for c in client.get("/api/v1/standards/codesets", headers=headers).json()["items"]}
    assert {"gb2260_region", "gb2261_1_sex", "gb3304_ethnic", "gb2659_country", "catalog_sensitivity"} <= names


def test_reading_needs_a_token(client, db):
    assert client.get("/api/v1/standards/elements").status_code == 401


def test_codeset_downloads(client, db):
    headers = setup(db, client)
    csv = client.get("/api/v1/standards/codesets/gb3304_ethnic", params={"format": "csv"}, headers=headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"] and "gb3304_ethnic.csv" in csv.headers[
        "content-disposition"]
    assert csv.content.startswith(b"\xef\xbb\xbf") and "01,汉族," in csv.content.decode("utf-8-sig")
    xlsx = client.get("/api/v1/standards/codesets/gb3304_ethnic", params={"format": "xlsx"}, headers=headers)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet["A2"].value == "01" and sheet["B2"].value == "汉族"


def test_bureau_admin_creates_and_updates_elements(client, db):
    headers = setup(db, client)
    new = {"code": "DE0200", "name": "不动产单元号", "data_type": "C", "length": 28,
           "rule": "regex:\\d{12}[A-Z]{2}\\d{5}[A-Z]\\d{8}", "default_sensitivity": "L2"}
    created = client.post("/api/v1/standards/elements", json=new, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["shipped"] is False
    updated = client.put("/api/v1/standards/elements/DE0008", json={"length": 300}, headers=headers)
    assert updated.status_code == 200 and updated.json()["length"] == 300 and updated.json()["name"] == "地址"
    bad = client.post("/api/v1/standards/elements", json={**new, "code": "DE0201", "rule": "regex:(("},
                      headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_regex"
    duplicate = client.post("/api/v1/standards/elements", json=new, headers=headers)
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "data_element_exists"


def test_departments_cannot_change_standards(client, db):
    headers = setup(db, client, "ga_admin")
    refused = client.post("/api/v1/standards/elements", json={"code": "DE0300", "name": "x", "data_type": "C"},
                          headers=headers)
    assert refused.status_code == 403
    refused = client.post("/api/v1/standards/codesets/local_x/import", headers=headers, data={"title": "x"},
                          files={"file": ("x.csv", "代码,名称\n1,一\n".encode(), "text/csv")})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert service.find_codeset(db, "local_x") is None


def test_import_by_upload(client, db):
    headers = setup(db, client)
    upload = {"file": ("街道.csv", "代码,名称\n450202001,中南街道\n".encode("gb18030"), "text/csv")}
    done = client.post("/api/v1/standards/codesets/local_street/import", headers=headers,
                       data={"title": "城中区街道", "standard": "本市"}, files=upload)
    assert done.status_code == 200, done.text
    assert done.json()["value_count"] == 1 and done.json()["title"] == "城中区街道"
    values = client.get("/api/v1/standards/codesets/local_street", headers=headers).json()["values"]
    assert values == [{"code": "450202001", "label": "中南街道", "parent_code": None}]
    upload = {"file": ("x.csv", "代码,名称\n1,一\n1,二\n".encode(), "text/csv")}
    bad = client.post("/api/v1/standards/codesets/local_street/import", headers=headers, files=upload)
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "invalid_codeset_rows" and error["details"][0]["row"] == 3
    assert len(client.get("/api/v1/standards/codesets/local_street", headers=headers).json()["values"]) == 1
