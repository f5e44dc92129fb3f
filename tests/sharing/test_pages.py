"""The sharing pages through the TestClient with a logged-in session: the tabs per role, applying (and the
service's Chinese errors beside the form, the input kept), deciding with narrowing, amending, withdrawing,
revoking and renewing, the evaluation; actions a person may not take are neither offered nor accepted."""

from __future__ import annotations

import json
import re
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.sharing import service as sharing
from govdata.sharing import views
from govdata.sharing.models import Grant, SharingRequest
from govdata.sharing.schemas import Decision
from tests.factories import principal_of
from tests.ingest.test_pages import _csrf, _text, login
from tests.sharing.fixtures import ask, grant

FORM = {"purpose": "办理出生一件事", "matter": "出生登记", "basis": "《柳州市政务数据共享管理办法》第十条",
        "days": "30", "daily_quota": "", "scope_item": "", "scope_values": ""}


def apply(client: TestClient, code: str, items=("id_number", "name"), unmasked=(), **fields: str):
    data = {**FORM, **fields, "resource": code, "csrf_token": _csrf(client, f"/sharing/apply?resource={code}"),
            "items": list(items), "unmasked_items": list(unmasked)}
    return client.post("/sharing/apply", data=data, follow_redirects=False)


def post(client: TestClient, path: str, page: str, fields: list[tuple[str, str]] | dict[str, str]):
    pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
    data: dict[str, list[str]] = {"csrf_token": [_csrf(client, page)]}
    for key, value in pairs:
        data.setdefault(key, []).append(value)
    return client.post(path, data=data, follow_redirects=False)


def chart(html: str, chart_id: str) -> list[dict]:
    match = re.search(rf'id="{chart_id}"[^>]*data-series="([^"]*)"', html)
    return json.loads(unescape(match.group(1)))


def tabs(html: str) -> list[str]:
    nav = re.search(r'<nav class="tabs".*?</nav>', html, re.S).group(0)
    return [_text(t) for t in re.findall(r"<a [^>]*>(.*?)</a>", nav, re.S)]


def test_tabs_per_role(client, db, wj, people, open_resource):
    req = ask(db, wj, people)
    ask(db, wj, open_resource, days=3)  # granted at once, expiring within the notice period
    login(client, "wj_admin")
    html = client.get("/sharing").text
    assert tabs(html) == ["待我审批", "本部门的申请", "本部门获得的授权", "对外授权"]
    consumer = client.get("/sharing?tab=consumer").text
    assert f'href="/sharing/requests/{req.id}"' in consumer and "人口基本信息" in consumer
    assert "待提供部门审核" in consumer and "柳州市公安局" in consumer
    held = client.get("/sharing?tab=grants").text
    assert "户籍迁移信息" in held and "即将到期" in held and "1 项授权即将到期" in _text(held)
    partial = client.get("/sharing?tab=consumer", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and 'id="sharing-tabs"' in partial.text
    assert partial.headers["Vary"] == "HX-Request"

    login(client, "wj_staff")  # staff apply but do not decide
    assert tabs(client.get("/sharing").text) == ["本部门的申请", "本部门获得的授权", "对外授权"]

    login(client, "ga_admin")
    todo = client.get("/sharing").text
    assert tabs(todo)[0] == "待我审批 1" and f'href="/sharing/requests/{req.id}"' in todo
    assert "柳州市卫生健康委员会" in todo
    assert "户籍迁移信息" in client.get("/sharing?tab=provider").text  # 对外授权

    login(client, "auditor")
    html = client.get("/sharing").text
    assert tabs(html) == ["全部申请"] and f'href="/sharing/requests/{req.id}"' in html


def test_overdue_requests_are_flagged(client, db, wj, people):
    req = ask(db, wj, people)
    req.deadline_at = req.created_at
    db.commit()
    login(client, "ga_admin")
    row = re.search(r'<tr class="overdue">.*?</tr>', client.get("/sharing").text, re.S).group(0)
    assert "已超期" in row
    assert "已超期" in client.get(f"/sharing/requests/{req.id}").text


def test_apply_form_shows_items_and_posts(client, db, people):
    login(client, "wj_staff")
    html = client.get(f"/sharing/apply?resource={people}").text
    assert "有条件共享" in html and "柳州市公安局" in html
    for name, key in (("公民身份号码", "id_number"), ("手机号码", "phone"), ("户籍地行政区划代码", "region")):
        assert name in html and f'name="items" value="{key}"' in html
    assert "L3、L4 的信息项默认脱敏" in html
    assert 'name="unmasked_items" value="phone"' in html  # L3
    assert 'name="unmasked_items" value="region"' not in html  # L1: never masked
    r = apply(client, people, items=("id_number", "name", "region"), unmasked=("name",), daily_quota="500",
              scope_item="region", scope_values="450202,450203")
    assert r.status_code == 303
    req = db.scalar(select(SharingRequest))
    assert r.headers["location"] == f"/sharing/requests/{req.id}?notice=request_created"
    assert (req.items, req.unmasked_items, req.daily_quota) == (["id_number", "name", "region"], ["name"], 500)
    assert req.row_scope == {"region": ["450202", "450203"]}
    page = client.get(r.headers["location"]).text
    assert "共享申请已提交" in page and "待提供部门审核" in page and "450202、450203" in page
    assert "撤回申请" in page and 'action="/sharing/requests/' + str(req.id) + '/decide"' not in page


def test_unconditional_application_is_granted_at_once(client, db, open_resource):
    login(client, "wj_admin")
    r = apply(client, open_resource)
    assert r.status_code == 303 and r.headers["location"].endswith("?notice=request_granted")
    page = client.get(r.headers["location"]).text
    assert "已自动授权" in page and "查看授权" in page


def test_service_errors_are_shown_beside_the_form_with_the_input_kept(client, db, people):
    login(client, "wj_admin")
    r = apply(client, people, days="2000", purpose="核验新生儿父母身份")
    assert r.status_code == 422
    assert "申请期限不能超过 1095 天" in r.text and 'data-code="term_too_long"' in r.text
    assert "核验新生儿父母身份" in r.text and 'value="2000"' in r.text
    assert 'name="items" value="id_number" id="a-item-1" checked' in r.text
    assert 'name="items" value="phone" id="a-item-6" >' in r.text  # not chosen, still not chosen
    r = apply(client, people, items=())
    assert r.status_code == 422 and "请至少选择一个信息项" in r.text
    r = apply(client, people, days="9999", daily_quota="-1")
    assert r.status_code == 422 and "申请期限应为 1 到 3650 之间的整数(天)" in r.text
    r = apply(client, people, scope_item="region", scope_values=" ， ")
    assert r.status_code == 422 and "行范围 region 需要 1 到 1000 个取值" in r.text
    assert apply(client, people).status_code == 303
    r = apply(client, people)
    assert r.status_code == 409 and "已有办理中的申请" in r.text


def test_who_cannot_apply_is_told_why(client, db, people, closed_resource):
    login(client, "ga_admin")
    html = client.get(f"/sharing/apply?resource={people}").text
    assert "本部门的信息资源无需申请共享" in html and 'action="/sharing/apply"' not in html
    login(client, "wj_admin")
    html = client.get(f"/sharing/apply?resource={closed_resource}").text
    assert "不予共享" in html and "人民警察法" in html and 'method="post"' not in html.split("</header>")[1]
    assert client.get("/sharing/apply?resource=NO/SUCH").status_code == 404
    chooser = client.get("/sharing/apply").text
    assert f'<option value="{people}">' in chooser and closed_resource not in chooser
    login(client, "auditor")
    assert "只有部门数据管理员或工作人员" in client.get(f"/sharing/apply?resource={people}").text
    assert apply(client, people).status_code == 403


def test_catalog_page_offers_to_apply(client, db, people, closed_resource):
    login(client, "wj_staff")
    assert f'href="/sharing/apply?resource={people}"' in client.get(f"/catalog/r/{people}").text
    assert "/sharing/apply" not in client.get(f"/catalog/r/{closed_resource}").text
    login(client, "ga_admin")  # its own resource
    assert "/sharing/apply" not in client.get(f"/catalog/r/{people}").text


def test_decide_with_narrowing_then_verify(client, db, wj, people):
    req = ask(db, wj, people, items=["id_number", "name", "phone"], unmasked_items=["phone"], daily_quota=1000)
    page = f"/sharing/requests/{req.id}"
    login(client, "ga_admin")
    html = client.get(page).text
    assert "提供部门审核" in html and 'name="narrow"' in html and 'name="unmasked_items" value="phone"' in html
    r = post(client, f"{page}/decide", page, {"decision": "reject", "comment": ""})
    assert r.status_code == 422 and "驳回或退回修改时必须说明理由" in r.text
    r = post(client, f"{page}/decide", page, [("decision", "approve"), ("narrow", "1"), ("items", "id_number"),
                                              ("items", "name"), ("days", "60"), ("daily_quota", "")])
    assert r.status_code == 422 and "审核只能缩短申请期限" in r.text  # 60 > 30, the form is shown again
    assert 'id="d-days" name="days" type="number" min="1" max="30" value="60"' in r.text
    r = post(client, f"{page}/decide", page, [("decision", "approve"), ("narrow", "1"), ("items", "id_number"),
                                              ("items", "name"), ("days", "10"), ("daily_quota", "100"),
                                              ("comment", "电话号码不共享")])
    assert r.status_code == 303 and r.headers["location"] == f"{page}?notice=approve"
    db.expire_all()
    req = db.get(SharingRequest, req.id)
    assert (req.status, req.items, req.unmasked_items, req.days, req.daily_quota) == \
        ("pending_bureau", ["id_number", "name"], [], 10, 100)
    html = client.get(r.headers["location"]).text
    assert "已同意该申请" in html and "电话号码不共享" in html
    assert f'action="{page}/decide"' not in html  # not GA's to verify

    login(client, "admin")
    html = client.get(page).text
    assert "大数据局校核" in html and 'name="narrow"' not in html
    assert post(client, f"{page}/decide", page, {"decision": "approve"}).status_code == 303
    db.expire_all()
    granted = db.get(SharingRequest, req.id)
    assert granted.status == "granted"
    assert (db.get(Grant, granted.grant_id).items, db.get(Grant, granted.grant_id).daily_quota) == \
        (["id_number", "name"], 100)
    history = _text(re.search(r'<ol class="timeline">.*?</ol>', client.get(page).text, re.S).group(0))
    for step in ("提交申请", "同意", "授权", "wj_admin", "ga_admin", "admin", "审核缩减: 信息项 公民身份号码、姓名;",
                 "期限 10 天"):
        assert step in history


def test_changes_requested_then_amended_on_the_page(client, db, wj, people):
    req = ask(db, wj, people)
    page = f"/sharing/requests/{req.id}"
    login(client, "ga_admin")
    r = post(client, f"{page}/decide", page, {"decision": "request_changes", "comment": "请补充法律依据"})
    assert r.status_code == 303 and r.headers["location"].endswith("?notice=request_changes")
    login(client, "wj_staff")
    html = client.get(page).text
    assert "退回修改" in html and "请补充法律依据" in html and 'action="' + page + '/amend"' in html
    fields = {**FORM, "basis": "x"}
    r = post(client, f"{page}/amend", page, [*fields.items(), ("items", "id_number")])
    assert r.status_code == 422 and "basis" in r.text and 'id="m-purpose"' in r.text
    fields = {**FORM, "basis": "《出生医学证明管理办法》", "comment": "已补充"}
    r = post(client, f"{page}/amend", page, [*fields.items(), ("items", "id_number")])
    assert r.status_code == 303 and r.headers["location"].endswith("?notice=amended")
    db.expire_all()
    req = db.get(SharingRequest, req.id)
    assert (req.status, req.items, req.basis) == ("pending_provider", ["id_number"], "《出生医学证明管理办法》")


def test_withdraw_on_the_page(client, db, wj, people):
    req = ask(db, wj, people)
    page = f"/sharing/requests/{req.id}"
    login(client, "wj_admin")
    r = post(client, f"{page}/withdraw", page, {"comment": "不再需要"})
    assert r.status_code == 303 and r.headers["location"].endswith("?notice=withdrawn")
    html = client.get(r.headers["location"]).text
    assert "申请已撤回" in html and "已撤回" in html and f'action="{page}/withdraw"' not in html


def test_revoke_and_renew_on_the_grant_page(client, db, wj, people):
    req = grant(db, wj, people, daily_quota=50)
    page = f"/sharing/grants/{req.grant_id}"
    login(client, "wj_admin")
    html = client.get(page).text
    assert "0 / 50" in html and "人口基本信息" in html and "申请续期" in html
    assert f'action="{page}/revoke"' not in html
    assert post(client, f"{page}/revoke", page, {"reason": "x"}).status_code == 403
    login(client, "ga_admin")
    html = client.get(page).text
    assert f'action="{page}/revoke"' in html and f'action="{page}/renew"' not in html
    r = post(client, f"{page}/revoke", page, {"reason": ""})
    assert r.status_code == 422 and "撤销授权时请说明理由" in r.text
    r = post(client, f"{page}/revoke", page, {"reason": "项目结束"})
    assert r.status_code == 303 and r.headers["location"] == f"{page}?notice=revoked"
    html = client.get(r.headers["location"]).text
    assert "已撤销" in html and "项目结束" in html and f'action="{page}/revoke"' not in html
    assert db.get(Grant, req.grant_id).status == "revoked"


def test_renewal_from_the_grant_page(client, db, wj, open_resource):
    req = ask(db, wj, open_resource)
    page = f"/sharing/grants/{req.grant_id}"
    login(client, "wj_staff")
    r = post(client, f"{page}/renew", page, {"days": "0"})
    assert r.status_code == 422 and "续期天数应为 1 到 3650 之间的整数" in r.text
    r = post(client, f"{page}/renew", page, {"days": "90", "comment": "继续办理"})
    assert r.status_code == 303 and r.headers["location"].endswith("?notice=renewal_granted")
    assert db.get(Grant, req.grant_id).status == "superseded"


def test_forbidden_actions_are_not_offered_and_refused(client, db, wj, jy, people):
    req = ask(db, wj, people)
    page = f"/sharing/requests/{req.id}"
    login(client, "wj_admin")  # the applicant cannot decide its own request
    assert f'action="{page}/decide"' not in client.get(page).text
    assert post(client, f"{page}/decide", page, {"decision": "approve"}).status_code == 403
    login(client, "admin")  # the bureau verifies only after the provider
    assert f'action="{page}/decide"' not in client.get(page).text
    assert post(client, f"{page}/decide", "/sharing", {"decision": "approve"}).status_code == 403
    assert f'action="{page}/withdraw"' not in client.get(page).text
    assert post(client, f"{page}/withdraw", "/sharing", {}).status_code == 403
    login(client, "jy_admin")  # another department does not even see it
    assert client.get(page).status_code == 404
    assert post(client, f"{page}/decide", "/sharing", {"decision": "approve"}).status_code == 404
    sharing.decide(db, principal_of(db, "ga_admin"), req.id, Decision(decision="approve"))
    sharing.decide(db, principal_of(db, "admin"), req.id, Decision(decision="approve"))
    db.expire_all()
    grant_id = db.get(SharingRequest, req.id).grant_id
    assert client.get(f"/sharing/grants/{grant_id}").status_code == 404
    login(client, "wj_admin")
    r = client.post(f"/sharing/grants/{grant_id}/revoke", data={"reason": "x"})  # no CSRF token
    assert r.status_code == 403 and "表单已失效" in r.text


def test_evaluation_page(client, db, wj, people):
    req = grant(db, wj, people)
    login(client, "wj_staff")
    html = client.get("/sharing/evaluation").text
    assert "提供部门排名" in html and "使用部门" in html
    [score] = chart(html, "score-chart")
    assert score["name"] == "柳州市公安局" and score["value"] == 100.0  # decided in time, approved
    assert chart(html, "hours-chart")[0]["name"] == "柳州市公安局"
    assert 'id="availability-chart"' not in html  # no calls yet
    providers = _text(re.search(r'<table class="striped ranking providers">.*?</table>', html, re.S).group(0))
    assert "1 柳州市公安局 1 1" in providers
    consumers = _text(re.search(r'<table class="striped consumers">.*?</table>', html, re.S).group(0))
    assert "柳州市卫生健康委员会 1 0 0.0%" in consumers
    assert req.grant_id
    partial = client.get("/sharing/evaluation?month=2020-01", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "该月没有共享申请或调用" in partial.text
    assert client.get("/sharing/evaluation?month=2020-13").status_code == 422


def test_back_end_labels_are_marked():
    """The pages translate the service's Chinese labels: each must be in a table marked for translation."""
    assert set(sharing.STATUS_LABELS.values()) <= set(views.STATUS_LABELS.values())
    assert set(views.STATUS_LABELS) == set(sharing.STATUS_LABELS)
