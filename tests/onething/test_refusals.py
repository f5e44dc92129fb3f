"""What must not happen, and what happens instead: no consent → nothing fetched; a proof without a grant → the
matter asks for the paper material and says why; people see only their own cases and their department's tasks;
a department asks for more and the applicant answers; a rejected matter cancels the ones that needed it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from govdata.platform import service as platform
from govdata.principal import CLI
from govdata.sharing import grants
from govdata.sharing.models import Grant
from tests.onething.conftest import CHILD, FATHER, MOTHER, RETIREE, headers_for
from tests.onething.test_api import accept, fetches, start, task_of

NEWBORN = {"phone": "13907721234", "household_choice": "随母落户", "card_bank": "柳州银行"}


def consented(client, headers, person=MOTHER, package="newborn", **inputs) -> dict:
    case = start(client, headers, package, person, **(inputs or NEWBORN))
    r = client.post(f"/api/v1/onething/cases/{case['id']}/consent", headers=headers, json={"agree": True})
    assert r.status_code == 200, r.text
    return r.json()


def submitted(client, headers, **kwargs) -> dict:
    case = consented(client, headers, **kwargs)
    r = client.post(f"/api/v1/onething/cases/{case['id']}/submit", headers=headers, json={})
    assert r.status_code == 200, r.text
    return r.json()


def test_without_consent_nothing_is_fetched_and_nothing_can_be_submitted(client, db, world, citizen_token):
    me = citizen_token(MOTHER)
    case = start(client, me, "newborn", MOTHER, **NEWBORN)
    r = client.post(f"/api/v1/onething/cases/{case['id']}/submit", headers=me, json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "consent_required"
    r = client.post(f"/api/v1/onething/cases/{case['id']}/consent", headers=me, json={"agree": False})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn" and r.json()["evidence"] == []
    assert fetches(db, case["number"]) == []
    assert r.json()["events"][-1]["kind"] == "consent_refused"
    r = client.post(f"/api/v1/onething/cases/{case['id']}/consent", headers=me, json={"agree": True})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_consented"
    assert fetches(db, case["number"]) == []


def test_consent_is_recorded_with_what_was_agreed_to(client, db, world, citizen_token):
    me = citizen_token(MOTHER)
    case = consented(client, me)
    event = next(e for e in case["events"] if e["kind"] == "consent")
    assert event["detail"]["agree"] is True and len(event["detail"]["plan_sha256"]) == 64
    assert event["detail"]["text"] == case["consent_text"] and event["actor"] == f"申请人 {MOTHER['name']}"


def test_a_source_without_a_grant_falls_back_to_paper_and_says_so(client, db, world, citizen_token):
    marriage = world.codes[("450200-MZ", "婚姻登记信息")]
    grant = db.scalar(select(Grant).where(Grant.resource_code == marriage, Grant.status == "active"))
    grants.revoke(db, CLI, grant.id, "演示撤销")
    me = citizen_token(MOTHER)
    case = start(client, me, "newborn", MOTHER, **NEWBORN)
    plan = {p["key"]: p for p in case["plan"]}
    assert plan["marriage"]["status"] == "no_grant" and "撤销" in plan["marriage"]["reason"]
    case = client.post(f"/api/v1/onething/cases/{case['id']}/consent", headers=me).json()
    proof = next(e for e in case["evidence"] if e["key"] == "marriage")
    assert proof["status"] == "no_grant" and proof["records"] == []
    assert proof["message"] == "未获共享授权,请提交纸质材料:结婚证"
    assert case["paper"] == [{"evidence": "marriage", "paper": "结婚证", "reason": proof["message"]}]
    refused = [c for c in fetches(db, case["number"]) if c.outcome != "ok"]
    assert [c.outcome for c in refused] == ["grant_revoked"]  # the refusal is audited too
    r = client.post(f"/api/v1/onething/cases/{case['id']}/submit", headers=me, json={})
    assert r.json()["error"]["code"] == "missing_fields"  # the applicant types what the paper says
    assert [f["field"] for f in r.json()["error"]["details"]["fields"]] == ["birth_registration.marriage_cert_no"]
    case = client.post(f"/api/v1/onething/cases/{case['id']}/submit", headers=me,
                       json={"fields": {"birth_registration.marriage_cert_no": "J450202-2019-000318"}}).json()
    assert case["status"] == "in_progress"  # a missing grant never turns into a refusal for the applicant
    accept(client, "wj_staff", task_of(client, "wj_staff", case["id"], "birth_certificate")["id"])
    registration = task_of(client, "ga_staff", case["id"], "birth_registration")
    assert registration["paper"] == [{"evidence": "marriage", "paper": "结婚证", "reason": proof["message"]}]
    assert registration["checks"][0]["ok"] is None  # 待人工核验: judged from the paper
    assert case["metrics"]["materials_on_paper"] == 1 and case["metrics"]["trips_with"] == 1


def test_people_see_only_their_own_cases_and_their_departments_tasks(client, db, world, citizen_token):
    me, other = citizen_token(MOTHER), citizen_token(RETIREE)
    r = client.post("/api/v1/onething/cases", headers=me,
                    json={"package": "newborn", "applicant": {**FATHER, "inputs": NEWBORN}})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_own_case"
    case = submitted(client, me)
    for path in ("", "/consent", "/submit"):
        r = (client.get if not path else client.post)(f"/api/v1/onething/cases/{case['id']}{path}", headers=other)
        assert r.status_code == 404 and r.json()["error"]["code"] == "case_not_found"
    assert client.get("/api/v1/onething/queue", headers=me).status_code == 401  # a citizen has no queue
    task = task_of(client, "wj_staff", case["id"], "birth_certificate")
    for username in ("ga_staff", "sp_staff"):
        r = client.post(f"/api/v1/onething/tasks/{task['id']}/decide", headers=headers_for(client, username),
                        json={"decision": "accept"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "task_not_found"
    r = client.get("/api/v1/onething/queue", headers=headers_for(client, "admin"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "officer_required"
    assert client.get("/api/v1/onething/cases", headers=other).json()["items"] == []
    assert [c["id"] for c in client.get("/api/v1/onething/cases", headers=me).json()["items"]] == [case["id"]]


def test_window_staff_act_for_an_applicant_and_it_is_recorded(client, db, world):
    staff = headers_for(client, "sp_staff")
    case = start(client, staff, "school_enrolment", MOTHER, child_id_number=CHILD["id_number"], phone="13907721234")
    assert case["acting_for"] == "sp_staff"
    r = client.post(f"/api/v1/onething/cases/{case['id']}/consent", headers=staff)
    assert r.status_code == 200 and r.json()["events"][1]["detail"]["acting"] is True
    other_staff = headers_for(client, "ga_staff")  # not the service centre's window
    r = client.post("/api/v1/onething/cases", headers=other_staff,
                    json={"package": "newborn", "applicant": {**MOTHER, "inputs": NEWBORN}})
    assert r.status_code == 403


def test_asking_for_more_then_the_applicant_answers_and_the_deadline_pauses(client, db, world, citizen_token):
    me = citizen_token(MOTHER)
    case = submitted(client, me)
    task = task_of(client, "wj_staff", case["id"], "vaccination_card")
    officer = headers_for(client, "wj_staff")
    r = client.post(f"/api/v1/onething/tasks/{task['id']}/decide", headers=officer,
                    json={"decision": "request_info"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required"
    r = client.post(f"/api/v1/onething/tasks/{task['id']}/decide", headers=officer,
                    json={"decision": "request_info", "comment": "请补充预约接种的社区卫生服务中心"})
    assert r.json()["status"] == "needs_info"
    mine = client.get(f"/api/v1/onething/cases/{case['id']}", headers=me).json()
    asked = next(m for m in mine["matters"] if m["id"] == task["id"])
    assert asked["info_request"] == "请补充预约接种的社区卫生服务中心"
    r = client.post(f"/api/v1/onething/tasks/{task['id']}/decide", headers=officer, json={"decision": "accept"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "task_not_open"
    r = client.post(f"/api/v1/onething/cases/{case['id']}/supplement", headers=me,
                    json={"task_id": task["id"], "note": "柳州市城中区城中街道社区卫生服务中心"})
    assert r.status_code == 200
    again = task_of(client, "wj_staff", case["id"], "vaccination_card")
    assert again["status"] == "open" and "城中街道" in again["comment"]
    assert datetime.fromisoformat(again["due_at"]) >= datetime.fromisoformat(task["due_at"])
    accept(client, "wj_staff", again["id"])


def test_a_rejected_matter_cancels_the_matters_that_needed_it(client, db, world, citizen_token):
    me = citizen_token(MOTHER)
    case = submitted(client, me)
    accept(client, "wj_staff", task_of(client, "wj_staff", case["id"], "birth_certificate")["id"])
    accept(client, "wj_staff", task_of(client, "wj_staff", case["id"], "vaccination_card")["id"])
    registration = task_of(client, "ga_staff", case["id"], "birth_registration")
    r = client.post(f"/api/v1/onething/tasks/{registration['id']}/decide", headers=headers_for(client, "ga_staff"),
                    json={"decision": "reject", "comment": "申报姓名含生僻字,请到派出所现场办理"})
    assert r.status_code == 200
    case = client.get(f"/api/v1/onething/cases/{case['id']}", headers=me).json()
    status = {m["matter"]: m["status"] for m in case["matters"]}
    assert status == {"birth_certificate": "accepted", "vaccination_card": "accepted",
                      "birth_registration": "rejected", "medical_insurance": "cancelled",
                      "social_security_card": "cancelled"}
    assert case["status"] == "closed" and case["closed_at"]
    cancelled = next(m for m in case["matters"] if m["matter"] == "medical_insurance")
    assert "出生登记" in cancelled["comment"]
    assert client.get("/api/v1/onething/queue", headers=headers_for(client, "yb_staff")).json()["items"] == []


def test_bad_input_gets_a_precise_error_and_changes_nothing(client, db, world, citizen_token):
    me = citizen_token(MOTHER)
    cases = [("newborn", {**MOTHER, "id_number": "450202199403081183"}, "invalid_id_number"),
             ("no_such_package", MOTHER, "package_not_found"),
             ("newborn", {**MOTHER, "inputs": {"phone": "12345"}}, "invalid_input"),
             ("newborn", {**MOTHER, "inputs": {"household_choice": "随便"}}, "invalid_input"),
             ("newborn", {**MOTHER, "inputs": {"salary": "1"}}, "unknown_input")]
    for package, applicant, code in cases:
        r = client.post("/api/v1/onething/cases", headers=me, json={"package": package, "applicant": applicant})
        assert r.json()["error"]["code"] == code, (package, applicant, r.text)
    assert client.get("/api/v1/onething/cases", headers=me).json()["items"] == []
    case = consented(client, me, household_choice=None, phone="13907721234", card_bank="柳州银行")
    r = client.post(f"/api/v1/onething/cases/{case['id']}/submit", headers=me, json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"  # 落户方式 is still missing
    r = client.post(f"/api/v1/onething/cases/{case['id']}/submit", headers=me,
                    json={"inputs": {"household_choice": "随母落户"},
                          "fields": {"birth_registration.newborn_name": "x" * 501}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_field"
    assert client.get(f"/api/v1/onething/cases/{case['id']}", headers=me).json()["status"] == "consented"


def test_citizen_sign_in_is_only_a_demo_stand_in(client, db, world):
    body = {"id_number": MOTHER["id_number"], "name": MOTHER["name"]}
    r = client.post("/api/v1/auth/citizen", json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "citizen_auth_unavailable"
    platform.set_setting(db, "demo_loaded", "450200")
    db.commit()
    r = client.post("/api/v1/auth/citizen", json={**body, "name": "覃秀"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "identity_not_verified"
    r = client.post("/api/v1/auth/citizen", json={**body, "id_number": "450202199403081180"})
    assert r.status_code == 422
    r = client.post("/api/v1/auth/citizen", json=body)
    assert r.status_code == 200 and r.json()["access_token"].startswith("gdc_")
    bad = {"Authorization": "Bearer gdc_not-a-token"}
    assert client.get("/api/v1/onething/cases", headers=bad).json()["error"]["code"] == "invalid_token"
