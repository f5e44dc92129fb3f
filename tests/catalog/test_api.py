from __future__ import annotations

import io
from urllib.parse import quote

from openpyxl import load_workbook

from tests.factories import liuzhou, publish, resource_spec, token_for, with_standards


def _setup(client, db):
    liuzhou(db)
    with_standards(db)
    return token_for(client, "wj_admin"), token_for(client, "admin")


def _body(**overrides):
    return resource_spec(**overrides).model_dump(mode="json")


def test_register_submit_review_through_the_api_with_slashes_in_codes(client, db):
    wj, admin = _setup(client, db)
    r = client.post("/api/v1/resources", headers=wj, json=_body())
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert code == "105/000001" and r.json()["status"] == "draft"
    for path in (code, quote(code, safe="")):  # as is, and percent-encoded
        assert client.get(f"/api/v1/resources/{path}", headers=wj).json()["code"] == code
    assert client.post(f"/api/v1/resources/{code}/submit", headers=wj).json()["status"] == "submitted"
    r = client.post(f"/api/v1/resources/{quote(code, safe='')}/review", headers=admin,
                    json={"decision": "approve", "comment": "同意发布"})
    assert r.json()["status"] == "published"
    listed = client.get("/api/v1/resources", headers=token_for(client, "ga_admin")).json()
    assert listed["total"] == 1 and listed["items"][0]["code"] == code


def test_error_codes_over_the_api(client, db):
    wj, admin = _setup(client, db)
    r = client.post("/api/v1/resources", headers=wj, json=_body(share_type="none"))
    assert (r.status_code, r.json()["error"]["code"]) == (422, "share_basis_required")
    assert client.get("/api/v1/resources/105/999999", headers=wj).json()["error"]["code"] == "resource_not_found"
    code = client.post("/api/v1/resources", headers=wj, json=_body()).json()["code"]
    r = client.post(f"/api/v1/resources/{code}/review", headers=admin, json={"decision": "approve"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "invalid_status")
    r = client.post(f"/api/v1/resources/{code}/submit", headers=token_for(client, "ga_admin"))
    assert (r.status_code, r.json()["error"]["code"]) == (403, "other_department")
    r = client.post("/api/v1/resources", headers=wj, json=_body())
    assert (r.status_code, r.json()["error"]["code"]) == (409, "duplicate_name")


def test_drafts_stay_inside_their_department(client, db):
    wj, _ = _setup(client, db)
    code = client.post("/api/v1/resources", headers=wj, json=_body()).json()["code"]
    ga = token_for(client, "ga_admin")
    assert client.get(f"/api/v1/resources/{code}", headers=ga).status_code == 404
    assert client.get("/api/v1/resources?status=all", headers=ga).json()["total"] == 0
    assert client.get("/api/v1/resources?status=draft", headers=wj).json()["total"] == 1
    assert client.get(f"/api/v1/resources/{code}", headers=token_for(client, "auditor")).status_code == 200


def test_search_filters_and_facets(client, db):
    _, admin = _setup(client, db)
    publish(db, resource_spec())
    publish(db, resource_spec(provider="GA", name="户籍人口登记信息", classification="基础/人口",
                              share_type="unconditional", share_condition="", summary="常住人口户籍登记",
                              items=[{"key": "id_number", "name": "公民身份号码", "data_type": "C", "length": 18,
                                      "primary_key": True, "data_element": "DE0002"}]))
    body = client.get("/api/v1/resources?q=出生", headers=admin).json()
    assert [i["name"] for i in body["items"]] == ["出生医学证明信息"]
    assert client.get("/api/v1/resources?org=GA", headers=admin).json()["items"][0]["provider"] == "GA"
    unconditional = client.get("/api/v1/resources?share_type=unconditional", headers=admin).json()
    assert [i["name"] for i in unconditional["items"]] == ["户籍人口登记信息"]
    facets = client.get("/api/v1/resources", headers=admin).json()["facets"]
    assert {f["value"]: f["count"] for f in facets["provider"]} == {"WJ": 1, "GA": 1}


def test_revisions_and_diff(client, db):
    wj, _ = _setup(client, db)
    code = publish(db, resource_spec(), "wj_admin")
    body = _body(summary="新摘要")
    body["items"] = [*body["items"][:3], {"key": "hospital", "name": "医疗机构", "data_type": "C", "length": 100}]
    assert client.put(f"/api/v1/resources/{code}", headers=wj, json=body).json()["version"] == 2
    revisions = client.get(f"/api/v1/resources/{code}/revisions", headers=wj).json()["items"]
    assert [r["version"] for r in revisions] == [1, 2]
    d = client.get(f"/api/v1/resources/{code}/diff", headers=wj).json()
    assert (d["from"], d["to"]) == (1, 2)
    assert d["fields"]["summary"] == {"from": "新生儿出生医学证明签发记录", "to": "新摘要"}
    assert [i["key"] for i in d["items_added"]] == ["hospital"]
    assert [i["key"] for i in d["items_removed"]] == ["birth_date"]


def test_table_schema_export(client, db):
    wj, _ = _setup(client, db)
    code = publish(db, resource_spec())
    schema = client.get(f"/api/v1/resources/{code}/table-schema", headers=wj).json()
    assert [f["name"] for f in schema["fields"]] == ["certificate_no", "baby_name", "mother_id_number", "birth_date"]
    assert schema["primaryKey"] in (["certificate_no"], "certificate_no")


def test_four_lists_json_and_excel(client, db):
    _, admin = _setup(client, db)
    publish(db, resource_spec())
    publish(db, resource_spec(provider="GA", name="侦查线索信息", share_type="none", share_condition="",
                              share_basis="《中华人民共和国刑事诉讼法》第一百五十二条"))
    publish(db, resource_spec(provider="GA", name="=HYPERLINK(\"http://x\")", share_type="unconditional",
                              share_condition="", open=True))
    share = client.get("/api/v1/lists/share", headers=admin).json()
    assert share["total"] == 2 and {i["share_type"] for i in share["items"]} == {"有条件共享", "无条件共享"}
    negative = client.get("/api/v1/lists/negative", headers=admin).json()
    assert [i["share_basis"] for i in negative["items"]] == ["《中华人民共和国刑事诉讼法》第一百五十二条"]
    responsibility = client.get("/api/v1/lists/responsibility?org=WJ", headers=admin).json()
    assert responsibility["total"] == 1 and responsibility["items"][0]["responsible_person"] == "张三"
    assert client.get("/api/v1/lists/open", headers=admin).json()["total"] == 1
    r = client.get("/api/v1/lists/share?format=xlsx", headers=admin)
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("资源代码", "资源名称") and len(rows) == 3
    hostile = next(c for c in sheet["B"] if c.value and "HYPERLINK" in str(c.value))
    assert hostile.data_type == "s"  # stored as text, never run as a formula
    assert client.get("/api/v1/lists/nope", headers=admin).json()["error"]["code"] == "list_not_found"


def test_open_demands_list(client, db):
    _, admin = _setup(client, db)
    r = client.post("/api/v1/open-demands", headers=admin, json={
        "title": "公交实时到站数据", "description": "希望开放公交到站信息", "requester": "市民李四",
        "target_org": "GA"})
    assert r.status_code == 201
    demand_id = r.json()["id"]
    wj = token_for(client, "wj_admin")
    r = client.post(f"/api/v1/open-demands/{demand_id}/reply", headers=wj,
                    json={"status": "accepted", "reply": "x"})
    assert r.json()["error"]["code"] == "other_department"
    ga = token_for(client, "ga_admin")
    r = client.post(f"/api/v1/open-demands/{demand_id}/reply", headers=ga,
                    json={"status": "accepted", "reply": "正在整理数据"})
    assert r.json()["status"] == "accepted"
    listing = client.get("/api/v1/lists/open-demand", headers=admin).json()
    assert listing["items"][0]["status"] == "已受理" and listing["items"][0]["reply"] == "正在整理数据"


def test_hostile_text_is_stored_verbatim(client, db):
    wj, _ = _setup(client, db)
    name = "<script>alert('x')</script>数据"
    code = client.post("/api/v1/resources", headers=wj, json=_body(name=name)).json()["code"]
    assert client.get(f"/api/v1/resources/{code}", headers=wj).json()["name"] == name
