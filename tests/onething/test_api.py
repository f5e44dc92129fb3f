"""The three seed packages end to end through the API, as an applicant and the departments' officers use them:
sign in, start, see the evidence plan, consent, see the fetched proofs, submit once, each matter in its
department's queue in the BPMN order, outputs flowing to later matters, the case completing with its metrics.
Every fetch is a gateway call audited with the case number as its purpose."""

from __future__ import annotations

from sqlalchemy import select
from stdnum.cn import ric, uscc

from govdata.audit.models import AuditRecord
from tests.onething.conftest import (
    CHILD,
    EXISTING_COMPANY,
    FATHER,
    HOUSEHOLD,
    MOTHER,
    NEWBORN_BIRTH,
    PREMISES,
    headers_for,
)


def fetches(db, number: str) -> list[AuditRecord]:
    db.expire_all()
    return list(db.scalars(select(AuditRecord).where(AuditRecord.kind == "exchange.call",
                                                     AuditRecord.purpose == number).order_by(AuditRecord.id)))


def start(client, headers, package: str, person: dict, **inputs) -> dict:
    r = client.post("/api/v1/onething/cases", headers=headers,
                    json={"package": package, "applicant": {**person, "inputs": inputs}})
    assert r.status_code == 201, r.text
    return r.json()


def queue(client, username: str) -> list[dict]:
    r = client.get("/api/v1/onething/queue", headers=headers_for(client, username))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def accept(client, username: str, task_id: int, **outputs) -> dict:
    r = client.post(f"/api/v1/onething/tasks/{task_id}/decide", headers=headers_for(client, username),
                    json={"decision": "accept", "comment": "材料齐全", "outputs": outputs})
    assert r.status_code == 200, r.text
    return r.json()


def task_of(client, username: str, case_id: int, matter: str) -> dict:
    item = next(t for t in queue(client, username) if t["case_id"] == case_id and t["matter"] == matter)
    r = client.get(f"/api/v1/onething/tasks/{item['id']}", headers=headers_for(client, username))
    assert r.status_code == 200, r.text
    return r.json()


def test_newborn_end_to_end(client, db, world, citizen_token):
    me = citizen_token(MOTHER)
    listed = client.get("/api/v1/onething/packages", headers=me).json()["items"]
    assert {p["key"] for p in listed} >= {"newborn", "school_enrolment", "company_startup", "retirement"}

    case = start(client, me, "newborn", MOTHER, phone="13907721234", household_choice="随父落户",
                 card_bank="柳州银行")
    plan = {p["key"]: p for p in case["plan"]}
    assert case["status"] == "draft" and set(plan) == {"birth_cert", "mother_household", "father_household",
                                                       "marriage", "mother_card"}
    assert plan["birth_cert"]["provider_name"] == "柳州市卫生健康委员会"
    assert plan["birth_cert"]["status"] == "will_fetch"
    assert plan["marriage"]["paper"] == "结婚证"
    assert fetches(db, case["number"]) == []  # nothing before consent

    r = client.post(f"/api/v1/onething/cases/{case['id']}/consent", headers=me, json={"agree": True})
    assert r.status_code == 200, r.text
    case = r.json()
    proofs = {e["key"]: e for e in case["evidence"]}
    assert {k: e["status"] for k, e in proofs.items()} == dict.fromkeys(plan, "fetched")
    assert proofs["birth_cert"]["records"][0]["newborn_name"] == "韦子涵"
    calls = fetches(db, case["number"])
    assert len(calls) == 5 and {c.outcome for c in calls} == {"ok"} and {c.consumer_org for c in calls} == {
        "450200-SP"}
    assert {c.request_id for c in calls} == {e["request_id"] for e in case["evidence"]}
    assert case["missing"] == [] and case["eligibility"] == [] and case["paper"] == []
    assert case["forms"]["birth_registration"]["household_number"]["value"] == HOUSEHOLD
    assert case["forms"]["medical_insurance"]["id_number"]["later"] is True  # from 出生登记's result

    r = client.post(f"/api/v1/onething/cases/{case['id']}/submit", headers=me, json={})
    assert r.status_code == 200, r.text
    case = r.json()
    status = {m["matter"]: m["status"] for m in case["matters"]}
    assert status == {"birth_certificate": "open", "vaccination_card": "open", "birth_registration": "waiting",
                      "medical_insurance": "waiting", "social_security_card": "waiting"}

    # 卫健委: both of its matters, side by side; then 出生登记 opens at 公安.
    cert = task_of(client, "wj_staff", case["id"], "birth_certificate")
    assert cert["form"]["newborn_name"] == {**cert["form"]["newborn_name"], "value": "韦子涵", "source": "evidence"}
    assert [e["key"] for e in cert["evidence"]] == ["birth_cert"]  # an officer sees only what the matter uses
    accept(client, "wj_staff", cert["id"])
    card = task_of(client, "wj_staff", case["id"], "vaccination_card")
    accept(client, "wj_staff", card["id"])
    registration = task_of(client, "ga_staff", case["id"], "birth_registration")
    assert registration["needs"] == ["birth_certificate"] and all(c["ok"] for c in registration["checks"])
    newborn_id = registration["proposals"]["newborn_id_number"]
    assert ric.is_valid(newborn_id) and ric.get_birth_date(newborn_id) == NEWBORN_BIRTH
    assert newborn_id.startswith("450202")
    accept(client, "ga_staff", registration["id"])

    # 医保 and 人社 open together, their forms now carrying the newborn's number.
    insurance = task_of(client, "yb_staff", case["id"], "medical_insurance")
    assert insurance["form"]["id_number"]["value"] == newborn_id
    accept(client, "yb_staff", insurance["id"])
    ss_card = task_of(client, "rs_staff", case["id"], "social_security_card")
    assert ss_card["form"]["guardian_card_no"]["value"] == "A45020001"
    r = client.post(f"/api/v1/onething/tasks/{ss_card['id']}/decide", headers=headers_for(client, "rs_staff"),
                    json={"decision": "accept", "outputs": {}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_output"  # the card number is required
    accept(client, "rs_staff", ss_card["id"], card_no="A45020099")

    case = client.get(f"/api/v1/onething/cases/{case['id']}", headers=me).json()
    assert case["status"] == "completed" and case["closed_at"]
    m = case["metrics"]
    assert m["materials_not_submitted"] == 5 and m["materials_on_paper"] == 0
    assert m["trips_saved"] == m["trips_without"] == 7  # 1+1+2+1+2 trips, none left
    assert m["fields_prefilled"] == m["fields_total"] > 20
    assert set(m["departments"]) == {"450200-WJ", "450200-GA", "450200-YB", "450200-RS"}
    assert [e["kind"] for e in case["events"]][:4] == ["created", "consent", "evidence", "submitted"]


def test_school_enrolment_end_to_end_with_the_district_allocating_the_place(client, db, world, citizen_token):
    me = citizen_token(MOTHER)
    case = start(client, me, "school_enrolment", MOTHER, child_id_number=CHILD["id_number"], phone="13907721234")
    case = client.post(f"/api/v1/onething/cases/{case['id']}/consent", headers=me).json()
    status = {e["key"]: e["status"] for e in case["evidence"]}
    # she owns her home and is registered here: no residence permit, no lease looked up; a 6-year-old has no 学籍
    assert status == {"child_household": "fetched", "guardian_household": "fetched", "residence_permit": "not_needed",
                      "property": "fetched", "lease": "not_needed", "social_insurance": "fetched",
                      "vaccination": "fetched", "student_record": "not_needed"}
    assert len(fetches(db, case["number"])) == 5
    case = client.post(f"/api/v1/onething/cases/{case['id']}/submit", headers=me, json={}).json()
    departments = {m["matter"]: m["department"] for m in case["matters"]}
    assert departments["qualification"] == "450202-JY"  # the child's district decides, not the city
    qualification = task_of(client, "cz_jy_staff", case["id"], "qualification")
    assert qualification["proposals"]["category"] == "第一类"
    assert qualification["form"]["housing"]["value"] == "自有住房"
    accept(client, "cz_jy_staff", qualification["id"])
    check = task_of(client, "wj_staff", case["id"], "vaccination_check")
    assert check["form"]["doses"]["value"] == 5 and check["proposals"]["result"] == "合格"
    accept(client, "wj_staff", check["id"])
    place = task_of(client, "cz_jy_staff", case["id"], "school_place")
    assert place["proposals"]["school"] == "柳州市公园小学" and place["form"]["category"]["value"] == "第一类"
    accept(client, "cz_jy_staff", place["id"])
    registration = task_of(client, "cz_jy_staff", case["id"], "student_registration")
    assert registration["form"]["school"]["value"] == "柳州市公园小学"
    accept(client, "cz_jy_staff", registration["id"])
    case = client.get(f"/api/v1/onething/cases/{case['id']}", headers=me).json()
    assert case["status"] == "completed"
    assert case["metrics"]["materials_not_submitted"] == 5


def test_company_startup_end_to_end_then_six_matters_in_parallel(client, db, world, citizen_token):
    me = citizen_token(FATHER)
    name = "柳州市韦氏螺蛳粉食品有限公司"
    case = start(client, me, "company_startup", FATHER, company_name=name, registered_capital="50",
                 business_scope="螺蛳粉生产销售", premises_unit_no=PREMISES, employees="6",
                 bank="柳州银行", phone="13907725678")
    case = client.post(f"/api/v1/onething/cases/{case['id']}/consent", headers=me).json()
    assert {e["key"]: e["status"] for e in case["evidence"]} == {
        "founder_household": "fetched", "premises": "fetched", "name_check": "not_found",
        "founder_insurance": "not_found"}
    case = client.post(f"/api/v1/onething/cases/{case['id']}/submit", headers=me, json={}).json()
    establishment = task_of(client, "sj_staff", case["id"], "establishment")
    assert establishment["form"]["address"]["value"].startswith("柳州市城中区五星街")
    code = establishment["proposals"]["uscc"]
    assert uscc.is_valid(code) and code[2:8] == "450202"
    accept(client, "sj_staff", establishment["id"])
    case = client.get(f"/api/v1/onething/cases/{case['id']}", headers=me).json()
    assert sorted(m["matter"] for m in case["matters"] if m["status"] == "open") == [
        "bank_account", "employee_insurance", "housing_fund", "seal", "tax"]
    for username, matter, outputs in (("ga_staff", "seal", {"filing_no": "GZ2026001"}),
                                      ("sw_staff", "tax", {"ukey_no": "UK450200001"}),
                                      ("rs_staff", "employee_insurance", {}),
                                      ("gjj_staff", "housing_fund", {"account_no": "DW45020001"}),
                                      ("sp_staff", "bank_account", {"appointment": "2026-12-01 09:30"})):
        task = task_of(client, username, case["id"], matter)
        assert task["form"].get("uscc", task["form"].get("employer_uscc", task["form"].get("taxpayer_id")))[
            "value"] == code
        accept(client, username, task["id"], **outputs)
    case = client.get(f"/api/v1/onething/cases/{case['id']}", headers=me).json()
    assert case["status"] == "completed" and case["metrics"]["trips_saved"] == 8


def test_a_taken_company_name_stops_the_submission_with_the_reason(client, db, world, citizen_token):
    me = citizen_token(FATHER)
    case = start(client, me, "company_startup", FATHER, company_name=EXISTING_COMPANY, registered_capital="50",
                 business_scope="商贸", premises_unit_no=PREMISES, employees="3", bank="柳州银行",
                 phone="13907725678")
    client.post(f"/api/v1/onething/cases/{case['id']}/consent", headers=me)
    r = client.post(f"/api/v1/onething/cases/{case['id']}/submit", headers=me, json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_eligible"
    assert "企业名称已被登记" in r.json()["error"]["message"]
    assert client.get(f"/api/v1/onething/cases/{case['id']}", headers=me).json()["status"] == "consented"
