from __future__ import annotations

from tests.factories import VALID_USCC, liuzhou, token_for


def test_create_and_read_an_org(client, db):
    liuzhou(db)
    admin = token_for(client, "admin")
    r = client.post("/api/v1/orgs", headers=admin, json={
        "code": "CZQ-T01", "name": "城中街道办事处", "level": "township", "type": "government",
        "region_code": "450202", "parent": "CZQ", "uscc": VALID_USCC})
    assert r.status_code == 201, r.text
    assert r.json()["parent"] == "CZQ" and r.json()["region_name"] == "城中区"
    assert client.get("/api/v1/orgs/CZQ-T01", headers=admin).json()["name"] == "城中街道办事处"
    page = client.get("/api/v1/orgs?q=街道", headers=admin).json()
    assert [o["code"] for o in page["items"]] == ["CZQ-T01"] and page["total"] == 1


def test_org_errors_have_stable_codes(client, db):
    liuzhou(db)
    admin = token_for(client, "admin")
    base = {"code": "NEW1", "name": "新机构", "level": "city", "region_code": "450200"}
    cases = [
        ({**base, "code": "GA"}, 409, "org_code_exists"),
        ({**base, "parent": "NOPE"}, 422, "unknown_parent"),
        ({**base, "region_code": "123456"}, 422, "invalid_region_code"),
        ({**base, "uscc": "11450200MB15632080"}, 422, "invalid_uscc"),
        ({**base, "level": "province"}, 422, "invalid_level"),
        ({**base, "code": "a b/c"}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        r = client.post("/api/v1/orgs", headers=admin, json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), body
        assert r.json()["error"]["message"]
    assert client.get("/api/v1/orgs/NEW1", headers=admin).json()["error"]["code"] == "org_not_found"
    r = client.patch("/api/v1/orgs/CZQ", headers=admin, json={"parent": "CZQ-JY"})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "org_cycle")


def test_only_bureau_admins_change_organisations(client, db):
    liuzhou(db)
    for who in ("ga_admin", "wj_staff", "auditor"):
        headers = token_for(client, who)
        r = client.post("/api/v1/orgs", headers=headers, json={
            "code": "X9", "name": "x", "level": "city", "region_code": "450200"})
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden"), who
        assert client.delete("/api/v1/orgs/WJ", headers=headers).status_code == 403
        # everyone may read the directory
        assert client.get("/api/v1/orgs/WJ", headers=headers).status_code == 200


def test_tree_endpoint_and_delete(client, db):
    liuzhou(db)
    admin = token_for(client, "admin")
    tree = client.get("/api/v1/orgs/tree", headers=admin).json()
    assert tree[0]["code"] == "LZ"
    r = client.delete("/api/v1/orgs/CZQ", headers=admin)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "org_has_children")
    assert client.delete("/api/v1/orgs/CZQ-JY", headers=admin).status_code == 204
