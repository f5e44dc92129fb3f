"""The register through the API: who may register and change which matters, the validation errors and their
stable codes, the action log, the list's filters and paging, and the rates and trend endpoints."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from govdata.actionlog.models import ActionLogEntry
from govdata.errors import AppError
from govdata.matters import service as matters
from govdata.matters.schemas import MatterUpdate
from govdata.principal import CLI
from tests.factories import principal_of, token_for
from tests.matters.conftest import add

BODY = {"code": "11450200MB1563208X01000100000", "name": "户口迁移", "org_code": "GA", "category": "permit",
        "online_since": "2020-05-01", "fully_online_since": "2021-05-01", "trips_required": 2, "promised_days": 5}


def post(client, username: str, **changes):
    return client.post("/api/v1/matters", json={**BODY, **changes}, headers=token_for(client, username))


def error_code(response) -> str:
    return response.json()["error"]["code"]


def test_department_admin_registers_and_changes_own_matters(client, tree):
    created = post(client, "ga_admin")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["level"] == "city" and body["region_code"] == "450200"  # taken from the organisation
    assert body["org_name"] == "柳州市公安局" and body["status"] == "full"
    changed = client.patch(f"/api/v1/matters/{BODY['code']}", json={"fully_online_since": None, "trips_required": 1},
                           headers=token_for(client, "ga_admin"))
    assert changed.status_code == 200, changed.text
    assert changed.json()["fully_online_since"] is None and changed.json()["status"] == "online"
    assert changed.json()["online_since"] == "2020-05-01"  # left out, kept
    entries = tree.scalars(select(ActionLogEntry).where(ActionLogEntry.action.like("matter.%"))
                           .order_by(ActionLogEntry.id)).all()
    assert [(e.action, e.actor_name, e.target_id) for e in entries] == [
        ("matter.create", "ga_admin", BODY["code"]), ("matter.update", "ga_admin", BODY["code"])]
    assert entries[1].before == {"fully_online_since": "2021-05-01", "trips_required": 2}
    assert entries[1].after == {"fully_online_since": None, "trips_required": 1}


def test_department_admin_cannot_touch_another_departments_matters(client, tree):
    add(tree, "WJ0001", "WJ", name="医师执业注册")
    refused = client.patch("/api/v1/matters/WJ0001", json={"name": "改名"}, headers=token_for(client, "ga_admin"))
    assert refused.status_code == 403 and error_code(refused) == "other_department"
    assert error_code(post(client, "ga_admin", org_code="WJ")) == "other_department"
    add(tree, "GA0001", "GA")
    handed = client.patch("/api/v1/matters/GA0001", json={"org_code": "WJ"}, headers=token_for(client, "ga_admin"))
    assert handed.status_code == 403 and error_code(handed) == "other_department"
    assert matters.get(tree, "GA0001").org_code == "GA"
    staff = post(client, "wj_staff", org_code="WJ")
    assert staff.status_code == 403 and error_code(staff) == "forbidden"
    auditor = post(client, "auditor", org_code="WJ")
    assert auditor.status_code == 403


def test_bureau_admin_changes_any_matter_and_moves_it(client, tree):
    add(tree, "WJ0001", "WJ", name="医师执业注册")
    moved = client.patch("/api/v1/matters/WJ0001", json={"org_code": "CZQ-T01"}, headers=token_for(client, "admin"))
    assert moved.status_code == 200, moved.text
    assert (moved.json()["level"], moved.json()["region_code"]) == ("township", "450202")  # follow the new org


def test_anonymous_is_refused(client, tree):
    for response in (client.get("/api/v1/matters"), client.get("/api/v1/matters/rates"),
                     client.post("/api/v1/matters", json=BODY), client.patch("/api/v1/matters/X000", json={})):
        assert response.status_code == 401 and error_code(response) == "not_authenticated"


@pytest.mark.parametrize(("changes", "code"), [
    ({"online_since": "2021-05-01", "fully_online_since": "2021-04-30"}, "fully_online_before_online"),
    ({"online_since": None}, "fully_online_without_online"),
    ({"org_code": "NOPE"}, "unknown_org"),
    ({"level": "province"}, "invalid_level"),
    ({"level": "county"}, "level_mismatch"),
    ({"org_code": "CZQ-JY", "region_code": "450203"}, "region_outside_org"),  # 城中区教育局 in 鱼峰区
    ({"region_code": "999999"}, "invalid_region_code"),
    ({"category": "licence"}, "invalid_category"),
    ({"code": "x"}, "validation_error"),
    ({"trips_required": -1}, "validation_error"),
])
def test_validation_errors_have_stable_codes(client, tree, changes, code):
    response = post(client, "admin", **changes)
    assert response.status_code == 422, response.text
    assert error_code(response) == code


def test_codes_are_unique_and_unknown_codes_404(client, tree):
    assert post(client, "admin").status_code == 201
    again = post(client, "admin")
    assert again.status_code == 409 and error_code(again) == "matter_code_exists"
    missing = client.patch("/api/v1/matters/NOPE0001", json={"name": "x"}, headers=token_for(client, "admin"))
    assert missing.status_code == 404 and error_code(missing) == "matter_not_found"
    with pytest.raises(AppError) as exc:
        matters.update(tree, CLI, BODY["code"], MatterUpdate(online_since=date(2021, 6, 1)))
    assert exc.value.code == "fully_online_before_online"  # checked against the stored full-online date


def test_list_filters_and_paging(client, tree):
    add(tree, "GA0001", "GA", name="居民身份证申领", online=date(2020, 1, 1), exempt=True)
    add(tree, "GA0002", "GA", name="户口迁移", online=date(2020, 1, 1), full=date(2021, 1, 1))
    add(tree, "JY0001", "CZQ-JY", name="幼儿园办学许可", category="permit")
    add(tree, "T0001", "CZQ-T01", name="临时救助申请受理", online=date(2099, 1, 1))  # planned: not online yet
    headers = token_for(client, "wj_staff")  # any signed-in person reads the register

    def codes(**params) -> list[str]:
        response = client.get("/api/v1/matters", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [m["code"] for m in response.json()["items"]]

    assert codes() == ["GA0001", "GA0002", "JY0001", "T0001"]
    assert codes(level="township") == ["T0001"]
    assert codes(region="450202") == ["JY0001", "T0001"]
    assert codes(org="GA") == ["GA0001", "GA0002"]
    assert codes(q="户口") == ["GA0002"]
    assert codes(status="full") == ["GA0002"]
    assert codes(status="online") == ["GA0001"]
    assert codes(status="offline") == ["JY0001", "T0001"]
    assert codes(category="permit") == ["JY0001"]
    page = client.get("/api/v1/matters", params={"page": 2, "page_size": 3}, headers=headers).json()
    assert page["total"] == 4 and [m["code"] for m in page["items"]] == ["T0001"]
    bad = client.get("/api/v1/matters", params={"status": "soon"}, headers=headers)
    assert bad.status_code == 422 and error_code(bad) == "invalid_status"
    one = client.get("/api/v1/matters/GA0001", headers=headers).json()
    assert one["exempt"] is True and one["status"] == "online"


def test_rates_and_trend_endpoints(client, tree):
    add(tree, "T0001", "CZQ-T01", online=date(2020, 6, 1))
    add(tree, "T0002", "CZQ-T01")
    add(tree, "T0003", "CZQ-T01")
    headers = token_for(client, "wj_staff")
    rates = client.get("/api/v1/matters/rates", params={"at": "2020-12-31", "level": "township"}, headers=headers)
    assert rates.status_code == 200, rates.text
    [township] = rates.json()["levels"]
    assert township["online_rate"] == 33.3 and township["online_target"]["met"] is True
    assert client.get("/api/v1/matters/rates", params={"at": "2021-12-31"},
                      headers=headers).json()["levels"][2]["online_target"]["met"] is False
    bad = client.get("/api/v1/matters/rates", params={"at": "2020-13-01"}, headers=headers)
    assert bad.status_code == 422
    trend = client.get("/api/v1/matters/trend", headers=headers).json()
    assert trend["years"][0] == 2019 and len(trend["points"]) == len(trend["years"])


def test_system_credentials_read_but_do_not_administer(client, tree):
    from govdata.accounts import service as accounts
    from govdata.accounts.schemas import CredentialCreate

    _, token = accounts.create_credential(tree, principal_of(tree, "admin"),
                                          CredentialCreate(org="WJ", name="出生一件事业务系统"))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/matters", headers=headers).status_code == 200
    refused = client.post("/api/v1/matters", json={**BODY, "org_code": "WJ"}, headers=headers)
    assert refused.status_code == 403 and error_code(refused) == "person_required"
