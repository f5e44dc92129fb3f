"""The sharing workflow as departments and the bureau use it (service level)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from govdata.audit.models import AuditRecord
from govdata.config import local_tz
from govdata.errors import AppError
from govdata.sharing import grants
from govdata.sharing import service as sharing
from govdata.sharing.models import Grant
from govdata.sharing.schemas import Decision, RequestAmend
from govdata.sharing.workdays import add_working_days
from tests.factories import principal_of
from tests.sharing.fixtures import ask, grant


def code_of(call) -> str:
    with pytest.raises(AppError) as exc:
        call()
    return exc.value.code


def test_unconditional_resource_is_granted_at_once_and_recorded(db, wj, open_resource):
    req = ask(db, wj, open_resource)
    assert req.status == "granted"
    row = db.get(Grant, req.grant_id)
    assert (row.items, row.status) == (["id_number", "name", "sex"], "active")
    assert [e["action"] for e in sharing.request_dict(db, req, history=True)["history"]] == ["submit", "grant"]
    trail = db.scalars(select(AuditRecord).where(AuditRecord.kind == "sharing.decision")).all()
    assert [(r.outcome, r.consumer_org, r.provider_org, r.resource) for r in trail] == \
        [("submit", "WJ", "GA", open_resource)]


def test_negative_list_resource_cannot_be_applied_for_and_cites_the_basis(db, wj, closed_resource):
    with pytest.raises(AppError) as exc:
        ask(db, wj, closed_resource)
    assert exc.value.code == "not_shareable" and exc.value.status == 403
    assert "人民警察法" in exc.value.message


def test_conditional_request_goes_provider_then_bureau(db, wj, people):
    ga, admin = principal_of(db, "ga_admin"), principal_of(db, "admin")
    req = ask(db, wj, people, items=["id_number", "name", "phone"])
    assert req.status == "pending_provider" and req.deadline_at > req.created_at
    assert code_of(lambda: sharing.decide(db, wj, req.id, Decision(decision="approve"))) == "not_decider"
    assert code_of(lambda: sharing.decide(db, admin, req.id, Decision(decision="approve"))) == "not_decider"
    sharing.decide(db, ga, req.id, Decision(decision="approve", items=["id_number", "name"], comment="电话不共享"))
    assert req.status == "pending_bureau"
    assert code_of(lambda: sharing.decide(db, ga, req.id, Decision(decision="approve"))) == "not_decider"
    sharing.decide(db, admin, req.id, Decision(decision="approve"))
    assert req.status == "granted"
    assert db.get(Grant, req.grant_id).items == ["id_number", "name"]
    history = sharing.request_dict(db, req, history=True)["history"]
    assert [(h["actor"], h["action"]) for h in history] == [
        ("wj_admin", "submit"), ("ga_admin", "approve"), ("admin", "approve"), ("admin", "grant")]
    assert history[1]["changes"] == {"items": ["id_number", "name"]}
    outcomes = db.scalars(select(AuditRecord.outcome).where(AuditRecord.kind == "sharing.decision")
                          .order_by(AuditRecord.id)).all()
    assert outcomes == ["submit", "approve", "approve"]


def test_provider_can_narrow_but_never_widen(db, wj, people):
    ga = principal_of(db, "ga_admin")
    req = ask(db, wj, people, items=["id_number", "name"], days=30, daily_quota=100)
    for change in ({"items": ["id_number", "phone"]}, {"days": 60}, {"daily_quota": 1000}):
        assert code_of(lambda c=change: sharing.decide(db, ga, req.id, Decision(decision="approve", **c))) \
            == "cannot_widen"
    db.rollback()
    assert db.get(type(req), req.id).status == "pending_provider"


def test_reject_needs_reasons_and_closes_the_request(db, wj, people):
    ga = principal_of(db, "ga_admin")
    req = ask(db, wj, people)
    assert code_of(lambda: sharing.decide(db, ga, req.id, Decision(decision="reject"))) == "comment_required"
    sharing.decide(db, ga, req.id, Decision(decision="reject", comment="用途与所需信息项不符"))
    assert req.status == "rejected" and req.grant_id is None
    assert code_of(lambda: sharing.decide(db, ga, req.id, Decision(decision="approve"))) == "not_pending"


def test_changes_requested_then_amended_goes_back_to_the_provider(db, wj, jy, people):
    ga = principal_of(db, "ga_admin")
    req = ask(db, wj, people)
    sharing.decide(db, ga, req.id, Decision(decision="request_changes", comment="请补充法律依据"))
    assert req.status == "changes_requested"
    assert code_of(lambda: sharing.amend(db, jy, req.id, RequestAmend(basis="x" * 5))) == "request_not_found"
    sharing.amend(db, wj, req.id, RequestAmend(basis="《出生医学证明管理办法》", items=["id_number"]))
    assert (req.status, req.items, req.basis) == ("pending_provider", ["id_number"], "《出生医学证明管理办法》")


def test_applicant_can_withdraw_an_open_request(db, wj, people):
    req = ask(db, wj, people)
    sharing.withdraw(db, wj, req.id, "不再需要")
    assert req.status == "withdrawn"
    assert code_of(lambda: sharing.withdraw(db, wj, req.id)) == "not_pending"


def test_bad_applications(db, wj, people):
    ga = principal_of(db, "ga_admin")
    assert code_of(lambda: ask(db, ga, people)) == "own_resource"
    assert code_of(lambda: ask(db, wj, people, items=["id_number", "salary"])) == "unknown_item"
    assert code_of(lambda: ask(db, wj, people, row_scope={"region": []})) == "invalid_row_scope"
    assert code_of(lambda: ask(db, wj, people, days=2000)) == "term_too_long"
    assert code_of(lambda: ask(db, wj, "NO/SUCH")) == "resource_not_found"
    ask(db, wj, people)
    assert code_of(lambda: ask(db, wj, people)) == "request_pending"


def test_requests_are_seen_only_by_the_two_departments_and_auditors(db, wj, jy, people):
    req = ask(db, wj, people)
    for who in ("ga_admin", "admin", "auditor"):
        assert sharing.get_request(db, principal_of(db, who), req.id).id == req.id
    assert code_of(lambda: sharing.get_request(db, jy, req.id)) == "request_not_found"
    assert sharing.list_requests(db, jy)[1] == 0
    assert [r.id for r in sharing.list_requests(db, principal_of(db, "ga_admin"), side="todo")[0]] == [req.id]


def test_revocation_by_provider_or_bureau_only(db, wj, people):
    req = grant(db, wj, people)
    assert code_of(lambda: grants.revoke(db, wj, req.grant_id)) == "forbidden"
    revoked = grants.revoke(db, principal_of(db, "ga_admin"), req.grant_id, "项目结束")
    assert (revoked.status, revoked.revoked_by) == ("revoked", "ga_admin")
    assert code_of(lambda: grants.check_call(db, wj.org_id, people)) == "grant_revoked"


def test_renewal_of_an_unconditional_grant_supersedes_the_old_one(db, wj, open_resource):
    first = ask(db, wj, open_resource)
    renewed = sharing.renew(db, wj, first.grant_id, days=90)
    assert renewed.status == "granted" and renewed.renews_grant_id == first.grant_id
    assert db.get(Grant, first.grant_id).status == "superseded"
    assert grants.check_call(db, wj.org_id, open_resource).id == renewed.grant_id


def test_expiring_grants_are_flagged(db, wj, open_resource):
    req = ask(db, wj, open_resource, days=3)
    [row] = grants.grant_dicts(db, grants.list_grants(db, wj, side="consumer"))
    assert row["expiring_soon"] is True and row["status"] == "active"
    assert [g.id for g in grants.list_grants(db, wj, expiring_within=7)] == [req.grant_id]
    assert grants.list_grants(db, wj, expiring_within=1) == []


def test_expired_grant_is_refused(db, wj, open_resource):
    req = ask(db, wj, open_resource)
    db.get(Grant, req.grant_id).expires_at = datetime.now(local_tz()) - timedelta(seconds=1)
    db.commit()
    assert code_of(lambda: grants.check_call(db, wj.org_id, open_resource)) == "grant_expired"


def test_no_grant_is_refused(db, jy, people):
    assert code_of(lambda: grants.check_call(db, jy.org_id, people)) == "not_granted"


def test_deadlines_count_working_days_with_chinese_holidays():
    # 2026-09-30 (Wed) + 3 working days: 1–7 October is the National Day holiday, Sat 10 October is a make-up day
    start = datetime(2026, 9, 30, 9, 0, tzinfo=local_tz())
    assert add_working_days(start, 1).date().isoformat() == "2026-10-08"
    assert add_working_days(start, 3).date().isoformat() == "2026-10-10"
    # a year chinesecalendar has no data for yet: weekends only
    assert add_working_days(datetime(2030, 1, 4, tzinfo=local_tz()), 1).date().isoformat() == "2030-01-07"
