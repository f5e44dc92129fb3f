"""The exchange gateway as a consumer department's system calls it."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select

from govdata.accounts import service as accounts
from govdata.accounts.schemas import CredentialCreate
from govdata.audit import service as audit
from govdata.audit.models import AuditRecord
from govdata.db import utcnow
from govdata.principal import CLI
from govdata.sharing import grants, limits
from govdata.sharing.models import Grant
from tests.factories import principal_of
from tests.ingest.conftest import person
from tests.sharing.fixtures import grant

PURPOSE = {"X-Purpose": quote("办理出生登记 案件 2026-001")}


def system_token(db, org: str = "WJ", name: str = "出生一件事系统") -> dict[str, str]:
    _, token = accounts.create_credential(db, CLI, CredentialCreate(org=org, name=name))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def wj_system(db, collected) -> dict[str, str]:
    return system_token(db)


def get(client, code: str, headers: dict[str, str], **params):
    return client.get(f"/api/v1/exchange/{code}", params=params, headers=headers)


def records_of(db, **where) -> list[AuditRecord]:
    stmt = select(AuditRecord).where(AuditRecord.kind == "exchange.call").order_by(AuditRecord.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditRecord, key) == value)
    return list(db.scalars(stmt))


def test_granted_lookup_returns_only_granted_items_masked_and_audited(client, db, wj, collected, wj_system):
    grant(db, wj, collected, items=["id_number", "name", "sex", "region"])
    wanted = person(3, region="450202")
    response = get(client, collected, {**wj_system, **PURPOSE}, id_number=wanted["id_number"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["records"] == [{"id_number": wanted["id_number"][:6] + "********" + wanted["id_number"][-4:],
                                "name": "张*", "sex": "1", "region": "450202"}]
    [rec] = records_of(db, request_id=body["request_id"])
    assert (rec.outcome, rec.consumer_org, rec.provider_org, rec.resource, rec.rows) == \
        ("ok", "WJ", "GA", collected, 1)
    assert rec.consumer_system == "出生一件事系统" and rec.purpose == "办理出生登记 案件 2026-001"
    assert rec.items == ["id_number", "name", "sex", "region"]
    assert rec.query == {"filters": {"id_number": wanted["id_number"]}, "limit": 10}
    # the response hash in the audit record is the hash of the records exactly as sent
    raw = response.content
    records_bytes = raw[raw.index(b'"records":') + len(b'"records":'):-1]
    assert hashlib.sha256(records_bytes).hexdigest() == rec.response_hash


def test_a_grant_can_lift_masking_per_item(client, db, wj, collected, wj_system):
    grant(db, wj, collected, items=["id_number", "name"], unmasked_items=["name"])
    wanted = person(12, region="450203")
    [row] = get(client, collected, {**wj_system, **PURPOSE}, id_number=wanted["id_number"]).json()["records"]
    assert row["name"] == "张12" and row["id_number"].count("*") == 8


def test_refusals_have_codes_and_are_audited(client, db, wj, jy, collected, wj_system):
    wanted = person(1)["id_number"]
    cases = []
    response = get(client, collected, wj_system, id_number=wanted)
    cases.append((response.status_code, response.json()["error"]["code"]))
    response = get(client, collected, {**wj_system, **PURPOSE}, id_number=wanted)
    cases.append((response.status_code, response.json()["error"]["code"]))
    response = get(client, "NO/SUCH/1", {**wj_system, **PURPOSE}, id_number=wanted)
    cases.append((response.status_code, response.json()["error"]["code"]))
    assert cases == [(403, "purpose_required"), (403, "not_granted"), (404, "resource_not_found")]
    assert [r.outcome for r in records_of(db)] == ["purpose_required", "not_granted", "resource_not_found"]
    assert response.headers["X-Audit-Request-Id"] == records_of(db)[-1].request_id  # a refusal can be traced too
    assert all(r.rows == 0 and r.items == [] and r.consumer_org == "WJ" for r in records_of(db))
    assert [r.provider_org for r in records_of(db)] == ["GA", "GA", None]  # the provider sees refusals too


def test_revocation_applies_to_the_next_call(client, db, wj, collected, wj_system):
    req = grant(db, wj, collected)
    wanted = person(2)["id_number"]
    assert get(client, collected, {**wj_system, **PURPOSE}, id_number=wanted).status_code == 200
    grants.revoke(db, principal_of(db, "ga_admin"), req.grant_id, "停止共享")
    response = get(client, collected, {**wj_system, **PURPOSE}, id_number=wanted)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "grant_revoked")


def test_expired_grant_is_refused(client, db, wj, collected, wj_system):
    req = grant(db, wj, collected)
    db.get(Grant, req.grant_id).expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    response = get(client, collected, {**wj_system, **PURPOSE}, id_number=person(2)["id_number"])
    assert (response.status_code, response.json()["error"]["code"]) == (403, "grant_expired")


def test_daily_quota_counts_answered_calls(client, db, wj, collected, wj_system):
    grant(db, wj, collected, daily_quota=3)
    codes = [get(client, collected, {**wj_system, **PURPOSE}, id_number=person(n)["id_number"]).status_code
             for n in range(5)]
    assert codes == [200, 200, 200, 403, 403]
    assert [r.outcome for r in records_of(db)][-2:] == ["quota_exceeded", "quota_exceeded"]


def test_rate_limit_per_credential(client, db, wj, collected, wj_system):
    grant(db, wj, collected)
    cred_id = accounts.list_credentials(db, CLI, org="WJ")[0].id
    limits.set_limit(db, principal_of(db, "admin"), cred_id, 2)
    codes = [get(client, collected, {**wj_system, **PURPOSE}, id_number=person(n)["id_number"]).status_code
             for n in range(3)]
    assert codes == [200, 200, 429]
    other = system_token(db, name="另一个系统")  # another credential of the same department is not limited
    assert get(client, collected, {**other, **PURPOSE}, id_number=person(1)["id_number"]).status_code == 200


def test_row_scope_restricts_rows(client, db, wj, collected, wj_system):
    grant(db, wj, collected, items=["id_number", "region"], row_scope={"region": ["450202"]})
    inside, outside = person(4, region="450202"), person(15, region="450203")
    assert len(get(client, collected, {**wj_system, **PURPOSE}, id_number=inside["id_number"]).json()["records"]) == 1
    assert get(client, collected, {**wj_system, **PURPOSE}, id_number=outside["id_number"]).json()["records"] == []
    everyone = get(client, collected, {**wj_system, **PURPOSE}, limit=100).json()["records"]
    assert len(everyone) == 10 and {r["region"] for r in everyone} == {"450202"}


def test_query_checks(client, db, wj, collected, wj_system):
    grant(db, wj, collected, items=["id_number", "name"])
    headers = {**wj_system, **PURPOSE}
    cases = {
        "unknown item": ({"salary": "1"}, 422, "unknown_item"),
        "item not granted": ({"phone": "13800130001"}, 403, "item_not_granted"),
        "limit too large": ({"limit": "100000"}, 422, "invalid_limit"),
        "limit not a number": ({"limit": "ten"}, 422, "invalid_limit"),
    }
    for name, (params, status, code) in cases.items():
        response = get(client, collected, headers, **params)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), name


def test_hostile_values_are_only_values(client, db, wj, collected, wj_system):
    grant(db, wj, collected, items=["id_number", "name"])
    for value in ("' OR '1'='1", "1; DROP TABLE rows; --", "<script>alert(1)</script>", "=cmd|' /C calc'!A0"):
        response = get(client, collected, {**wj_system, **PURPOSE}, id_number=value)
        assert response.status_code == 200 and response.json()["records"] == []
    assert len(get(client, collected, {**wj_system, **PURPOSE}, limit=1000).json()["records"]) == 30


def test_purpose_in_raw_utf8_header(client, db, wj, collected, wj_system):
    grant(db, wj, collected)
    headers = {**wj_system, "X-Purpose": "办理出生登记".encode()}
    body = get(client, collected, headers, id_number=person(1)["id_number"]).json()
    assert records_of(db, request_id=body["request_id"])[0].purpose == "办理出生登记"


def test_person_tokens_call_as_themselves(client, db, wj, collected):
    from tests.factories import token_for

    grant(db, wj, collected)
    body = get(client, collected, {**token_for(client, "wj_staff"), **PURPOSE}, id_number=person(1)["id_number"]).json()
    [rec] = records_of(db, request_id=body["request_id"])
    assert (rec.consumer_person, rec.consumer_system, rec.consumer_org) == ("wj_staff", None, "WJ")


def test_new_published_version_is_served(client, db, wj, collected, wj_system, ga, tmp_path):
    from govdata.exchange import cache
    from govdata.ingest import service as ingest
    from tests.ingest.conftest import write_csv

    grant(db, wj, collected)
    newcomer = person(300, region="450202")
    assert get(client, collected, {**wj_system, **PURPOSE}, id_number=newcomer["id_number"]).json()["records"] == []
    ingest.ingest_file(db, ga, collected, write_csv(tmp_path / "新.csv", [newcomer]))
    cache.forget()
    assert len(get(client, collected, {**wj_system, **PURPOSE},
                   id_number=newcomer["id_number"]).json()["records"]) == 1


def test_unauthenticated_calls_never_reach_data(client, collected):
    response = client.get(f"/api/v1/exchange/{collected}", params={"limit": 5}, headers=PURPOSE)
    assert response.status_code == 401


def test_audit_chain_verifies_after_calls(client, db, wj, collected, wj_system):
    grant(db, wj, collected)
    for n in range(5):
        get(client, collected, {**wj_system, **PURPOSE}, id_number=person(n)["id_number"])
    get(client, collected, wj_system, id_number="x")
    audit.stop_writer()
    report = audit.verify(db)
    assert report.ok, report.to_dict()
    assert json.dumps(report.to_dict())
