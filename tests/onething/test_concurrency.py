"""Five departments closing their matters of one company start-up at the same moment: every decision lands,
none is lost, and the case completes once — the case is taken for writing before it is read."""

from __future__ import annotations

import threading

from sqlalchemy import select

from govdata import db as dbmod
from govdata.onething import tasks
from govdata.onething.models import Case, CaseTask
from tests.factories import principal_of
from tests.onething.conftest import FATHER, PREMISES
from tests.onething.test_api import accept, start, task_of

OUTPUTS = {"seal": {"filing_no": "GZ1"}, "tax": {"ukey_no": "UK1"}, "employee_insurance": {},
           "housing_fund": {"account_no": "DW1"}, "bank_account": {"appointment": "2026-12-01 09:30"}}
OFFICERS = {"seal": "ga_staff", "tax": "sw_staff", "employee_insurance": "rs_staff", "housing_fund": "gjj_staff",
            "bank_account": "sp_staff"}


def test_parallel_matters_decided_at_once_all_land(client, db, world, citizen_token):
    me = citizen_token(FATHER)
    case = start(client, me, "company_startup", FATHER, company_name="柳州市并发测试科技有限公司",
                 registered_capital="10", business_scope="软件开发", premises_unit_no=PREMISES, employees="2",
                 bank="柳州银行", phone="13907725678")
    client.post(f"/api/v1/onething/cases/{case['id']}/consent", headers=me)
    client.post(f"/api/v1/onething/cases/{case['id']}/submit", headers=me, json={})
    accept(client, "sj_staff", task_of(client, "sj_staff", case["id"], "establishment")["id"])
    ids = {t.matter: t.id for t in db.scalars(select(CaseTask).where(CaseTask.case_id == case["id"]))}
    officers = {matter: principal_of(db, username) for matter, username in OFFICERS.items()}
    db.commit()
    barrier = threading.Barrier(len(OUTPUTS))
    errors: list[BaseException] = []

    def decide(matter: str) -> None:
        session = dbmod.new_session()
        try:
            barrier.wait()
            tasks.decide(session, officers[matter], ids[matter], "accept", "准予", OUTPUTS[matter])
        except BaseException as exc:
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=decide, args=(m,)) for m in OUTPUTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    db.expire_all()
    statuses = {t.matter: t.status for t in db.scalars(select(CaseTask).where(CaseTask.case_id == case["id"]))}
    assert set(statuses.values()) == {"accepted"}
    stored = db.get(Case, case["id"])
    assert stored.status == "completed" and stored.closed_at is not None
    events = client.get(f"/api/v1/onething/cases/{case['id']}", headers=me).json()["events"]
    assert [e["kind"] for e in events].count("completed") == 1
