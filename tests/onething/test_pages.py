"""The one-thing pages through the TestClient: the applicant's phone pages (掌心办) behind the citizen cookie — sign
in, choose the event, type the inputs, see the evidence plan, consent (or not), see the fetched proofs, submit,
supplement, withdraw — and the staff pages: the overview with its charts, the officer's queue and a task with the
decide forms (the service's Chinese errors beside the form, the input kept), and a package with its versions and the
form that loads a new one."""

from __future__ import annotations

import json
import re
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.onething import packages
from govdata.onething.models import Case, CaseTask
from govdata.platform import service as platform
from tests.ingest.test_pages import _csrf, _text, login
from tests.onething.conftest import EXISTING_COMPANY, FATHER, MOTHER, PREMISES
from tests.onething.test_api import fetches

NEWBORN_INPUTS = {"phone": "13907721234", "household_choice": "随父落户", "card_bank": "柳州银行"}
HOSTILE = "<script>alert(1)</script>' OR 1=1 --"


def sign_in(client: TestClient, person: dict, *, next_path: str = "", follow: bool = False):
    data = {**person, "next": next_path, "csrf_token": _csrf(client, "/m/")}
    return client.post("/m/", data=data, follow_redirects=follow)


def post(client: TestClient, path: str, page: str, data: dict | None = None):
    return client.post(path, data={**(data or {}), "csrf_token": _csrf(client, page)}, follow_redirects=False)


def start(client: TestClient, package: str, **inputs: str) -> int:
    r = post(client, f"/m/start/{package}", f"/m/start/{package}", inputs)
    assert r.status_code == 303, _text(r.text)
    match = re.fullmatch(r"/m/cases/(\d+)", r.headers["location"])
    assert match, r.headers["location"]
    return int(match.group(1))


def consent(client: TestClient, case_id: int, agree: bool = True):
    data = {"answer": "agree", "consent": "1"} if agree else {"answer": "refuse"}
    return post(client, f"/m/cases/{case_id}/consent", f"/m/cases/{case_id}", data)


def submitted_newborn(client: TestClient) -> int:
    assert sign_in(client, MOTHER).status_code == 303
    case_id = start(client, "newborn", **NEWBORN_INPUTS)
    assert consent(client, case_id).status_code == 303
    r = post(client, f"/m/cases/{case_id}/submit", f"/m/cases/{case_id}")
    assert r.status_code == 303, _text(r.text)
    return case_id


def task_id(db, case_id: int, matter: str) -> int:
    db.expire_all()
    return db.scalar(select(CaseTask.id).where(CaseTask.case_id == case_id, CaseTask.matter == matter))


def chart(html: str, chart_id: str) -> list[dict]:
    match = re.search(rf'id="{chart_id}"[^>]*data-series="([^"]*)"', html)
    return json.loads(unescape(match.group(1)))


# ---- applicants ------------------------------------------------------------------------------------------------

def test_the_applicant_signs_in_consents_sees_the_proofs_and_submits_once(client, db, demo):
    page = client.get("/m/")
    assert page.status_code == 200 and 'name="id_number"' in page.text and "模拟实名核验" in page.text
    assert "gd_session" not in page.text and "/orgs" not in page.text  # no staff navigation
    assert 'name="viewport"' in page.text and "/static/onething.css" in page.text

    r = sign_in(client, MOTHER)
    assert r.status_code == 303 and r.headers["location"] == "/m/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("gd_citizen=gdc_") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/m" in cookie and "Secure" not in cookie

    home = client.get("/m/")
    assert home.headers["cache-control"] == "no-store"
    text = _text(home.text)
    assert "您好,覃秀梅" in text and "个人出生一件事" in text and "企业开办一件事" in text
    assert "免交材料 5 份" in text and "少跑 7 次" in text and "柳州市卫生健康委员会" in text
    assert 'href="/m/start/newborn"' in home.text

    form = client.get("/m/start/newborn?phone=13907721234&household_choice=随父落户").text
    assert re.search(r'name="phone" type="tel" value="13907721234"', form)
    assert '<option value="随父落户" selected>' in form and 'name="card_bank"' in form

    # a bad phone number: shown beside its field, the rest kept
    r = post(client, "/m/start/newborn", "/m/start/newborn", {**NEWBORN_INPUTS, "phone": "12345"})
    assert r.status_code == 422 and "联系电话格式不正确" in _text(r.text)
    assert '<option value="柳州银行" selected>' in r.text and 'aria-invalid="true"' in r.text

    case_id = start(client, "newborn", **NEWBORN_INPUTS)
    case = db.get(Case, case_id)
    draft = client.get(f"/m/cases/{case_id}")
    text = _text(draft.text)
    assert "待授权" in text and "证明调取清单" in text and "出生医学证明信息" in text
    assert "柳州市卫生健康委员会" in text and "柳州市民政局" in text and "结婚证" in text
    assert "新生儿姓名" in text  # the items fetched, by their catalog names
    assert "《出生医学证明》签发" in text  # which matter each proof is for
    assert "仅用于本件事项的办理" in text and "同意并调取" in text and "不同意" in text
    assert 'name="consent" value="1" required' in draft.text
    assert fetches(db, case.number) == []  # nothing before consent

    r = post(client, f"/m/cases/{case_id}/consent", f"/m/cases/{case_id}", {"answer": "agree"})  # box unticked
    assert r.status_code == 422 and "请先勾选同意调取证明的声明" in _text(r.text)
    assert fetches(db, case.number) == []

    r = consent(client, case_id)
    assert r.status_code == 303 and r.headers["location"] == f"/m/cases/{case_id}?notice=consented"
    assert len(fetches(db, case.number)) == 5
    page = client.get(r.headers["location"])
    text = _text(page.text)
    assert "已按清单调取证明" in text and "已调取的证明" in text and "韦子涵" in text
    assert "柳州市妇幼保健院" in text and "J450202-2019-000318" in text and "A45020001" in text
    assert "新生儿姓名 韦子涵" in text and "新生儿性别 女" in text  # item names from the catalog, codes decoded
    assert "确认并提交" in text and "无需再填写" in text and "撤回办件" in text

    r = post(client, f"/m/cases/{case_id}/submit", f"/m/cases/{case_id}")
    assert r.status_code == 303
    text = _text(client.get(r.headers["location"]).text)
    assert "已提交,各事项已分送办理部门" in text and "办理中" in text and "待前置事项" in text
    assert "出生登记(户口登记) 柳州市公安局 待前置事项" in text
    assert "少交材料(份)" in text and "少跑(次)" in text and "预填(项)" in text
    assert "撤回办件" not in text
    timeline = re.search(r'<section id="timeline">.*?</section>', client.get(f"/m/cases/{case_id}").text, re.S)
    assert [_text(x) for x in re.findall(r"<strong>(.*?)</strong>", timeline.group(0))] == [
        "发起申请", "同意调取证明", "调取证明", "提交申请"]

    # 我的办件 on the home page
    home = _text(client.get("/m/").text)
    assert "我的办件" in home and case.number in home

    # signing out ends the session
    r = post(client, "/m/logout", "/m/")
    assert r.status_code == 303 and 'gd_citizen=""' in r.headers["set-cookie"]
    client.cookies.clear()
    r = client.get(f"/m/cases/{case_id}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/m/?next=%2Fm%2Fcases%2F{case_id}"


def test_sign_in_errors_are_shown_beside_the_form_with_the_input_kept(client, db, world):
    r = sign_in(client, MOTHER)  # not a demo instance
    assert r.status_code == 403 and "未启用演示身份核验" in _text(r.text)
    platform.set_setting(db, "demo_loaded", "450200")
    db.commit()
    r = sign_in(client, {**MOTHER, "name": "覃秀兰"})
    assert r.status_code == 401 and "公民身份号码与姓名不匹配" in _text(r.text)
    assert f'value="{MOTHER["id_number"]}"' in r.text and 'value="覃秀兰"' in r.text
    r = sign_in(client, {"id_number": "123", "name": "张三"})
    assert r.status_code == 422 and "请填写正确的公民身份号码和姓名" in _text(r.text)
    assert "gd_citizen" not in r.headers.get("set-cookie", "")
    # the sample link fills the form and, once signed in, leads to the package's form
    page = client.get("/m/", params={**MOTHER, "next": "/m/start/newborn?phone=13907721234"}).text
    assert f'value="{MOTHER["id_number"]}"' in page and 'value="/m/start/newborn?phone=13907721234"' in page
    r = sign_in(client, MOTHER, next_path="/m/start/newborn?phone=13907721234")
    assert r.headers["location"] == "/m/start/newborn?phone=13907721234"
    r = sign_in(client, MOTHER, next_path="https://evil.example/")
    assert r.headers["location"] == "/m/"
    r = sign_in(client, MOTHER, next_path="/orgs")
    assert r.headers["location"] == "/m/"


def test_sample_applicants_are_listed_on_a_demo_instance(client, db, demo, monkeypatch):
    from govdata.demo import families

    monkeypatch.setattr(families, "applicants", lambda db, key, limit=5: [
        {"id_number": MOTHER["id_number"], "name": MOTHER["name"], "note": "新生儿 韦子涵",
         "inputs": {"phone": "13907721234"}}] if key == "newborn" else [])
    page = client.get("/m/").text
    assert "演示申请人" in _text(page) and "新生儿 韦子涵" in _text(page)
    link = unescape(re.search(r'<a href="([^"]+)" class="m-sample"', page).group(1))
    assert link.startswith("/m/?id_number=") and "next=%2Fm%2Fstart%2Fnewborn%3Fphone%3D13907721234" in link
    filled = client.get(link).text
    assert f'value="{MOTHER["id_number"]}"' in filled and 'value="覃秀梅"' in filled

    monkeypatch.setattr(families, "applicants", lambda db, key, limit=5: 1 / 0)
    assert client.get("/m/").status_code == 200  # a broken demo finder does not take the sign-in page down


def test_not_consenting_withdraws_the_case_and_fetches_nothing(client, db, demo):
    sign_in(client, MOTHER)
    case_id = start(client, "newborn", **NEWBORN_INPUTS)
    r = consent(client, case_id, agree=False)
    assert r.status_code == 303 and r.headers["location"].endswith("notice=refused")
    text = _text(client.get(r.headers["location"]).text)
    assert "已撤回" in text and "未调取任何证明" in text and "不同意调取证明,办件已撤回" in text
    assert "同意并调取" not in text and "撤回办件" not in text
    case = db.get(Case, case_id)
    db.refresh(case)
    assert case.status == "withdrawn" and fetches(db, case.number) == []
    r = consent(client, case_id)  # too late: the error at the top of the case, nothing fetched
    assert r.status_code == 409 and "该办件已确认过授权" in _text(r.text) and fetches(db, case.number) == []

    # withdrawing a draft
    other = start(client, "newborn", **NEWBORN_INPUTS)
    r = post(client, f"/m/cases/{other}/withdraw", f"/m/cases/{other}")
    assert r.status_code == 303 and "办件已撤回" in _text(client.get(r.headers["location"]).text)


def test_hostile_input_is_shown_escaped(client, db, demo, staff):
    sign_in(client, FATHER)
    case_id = start(client, "company_startup", company_name=HOSTILE, registered_capital="50",
                    business_scope="螺蛳粉生产销售", premises_unit_no=PREMISES, employees="6", bank="柳州银行",
                    phone="13907725678")
    page = client.get(f"/m/cases/{case_id}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#39; OR 1=1 --" in page
    consent(client, case_id)
    r = post(client, f"/m/cases/{case_id}/submit", f"/m/cases/{case_id}")
    assert r.status_code == 303, _text(r.text)
    login(staff, "sj_staff")
    page = staff.get(f"/onething/tasks/{task_id(db, case_id, 'establishment')}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_taken_company_name_stops_the_submission_with_the_reason(client, db, demo):
    sign_in(client, FATHER)
    case_id = start(client, "company_startup", company_name=EXISTING_COMPANY, registered_capital="50",
                    business_scope="商贸", premises_unit_no=PREMISES, employees="3", bank="柳州银行",
                    phone="13907725678")
    consent(client, case_id)
    text = _text(client.get(f"/m/cases/{case_id}").text)
    assert "暂不符合办理条件" in text and "拟设立企业名称已被登记" in text
    assert "未查到" in text  # 法定代表人社保参保记录: not found, the officer verifies it
    r = post(client, f"/m/cases/{case_id}/submit", f"/m/cases/{case_id}")
    assert r.status_code == 422 and "拟设立企业名称已被登记" in _text(r.text)


def test_a_citizen_cannot_open_anothers_case(client, db, demo):
    sign_in(client, MOTHER)
    case_id = start(client, "newborn", **NEWBORN_INPUTS)
    client.cookies.clear()
    sign_in(client, FATHER)
    r = client.get(f"/m/cases/{case_id}")
    assert r.status_code == 404 and "不存在" in _text(r.text) and "覃秀梅" not in r.text
    r = post(client, f"/m/cases/{case_id}/withdraw", "/m/")
    assert r.status_code == 404
    assert client.get("/m/cases/999999").status_code == 404
    assert client.get("/m/start/nothing").status_code == 404


def test_without_a_grant_the_proof_comes_on_paper_and_its_fields_are_asked_once(client, db, demo):
    from govdata.principal import CLI
    from govdata.sharing import grants
    from govdata.sharing.models import Grant

    birth = demo.codes[("450200-WJ", "出生医学证明信息")]
    for grant in db.scalars(select(Grant).where(Grant.resource_code == birth, Grant.status == "active")).all():
        grants.revoke(db, CLI, grant.id, "测试:撤销授权")
    sign_in(client, MOTHER)
    case_id = start(client, "newborn", **NEWBORN_INPUTS)
    plan = client.get(f"/m/cases/{case_id}").text
    item = re.search(r'<li class="m-card plan-no_grant" data-evidence="birth_cert">.*?</li>', plan, re.S)
    assert item and "该证明无法调取,请提交纸质材料:《出生医学证明》" in _text(item.group(0))
    assert "原因" in _text(item.group(0))

    consent(client, case_id)
    page = client.get(f"/m/cases/{case_id}").text
    text = _text(page)
    assert "未获授权" in text and "未获共享授权,请提交纸质材料:《出生医学证明》" in text
    assert "仍需提交的纸质材料" in text and "以下内容未能从证明中获取" in text
    # the newborn's name feeds four matters' forms, asked once
    assert text.count("新生儿姓名 (用于") == 1 and "受种者姓名" not in text
    names = re.findall(r'<input id="m-\d+" name="([^"]+)"', page)
    assert "birth_certificate.newborn_name" in names and "vaccination_card.newborn_name" not in names

    r = post(client, f"/m/cases/{case_id}/submit", f"/m/cases/{case_id}")
    assert r.status_code == 422 and "还有未填写的内容" in _text(r.text)
    r = post(client, f"/m/cases/{case_id}/submit", f"/m/cases/{case_id}",
             {name: "x" for name in names} | {"birth_certificate.newborn_birth_date": "昨天"})
    assert r.status_code == 422 and "出生日期格式不正确" in _text(r.text)
    assert 'value="x"' in r.text  # what was typed is kept
    values = {name: "韦子涵" for name in names}
    for name in names:
        if name.endswith("birth_date"):
            values[name] = "2026-01-02"
        if name.endswith("newborn_sex"):
            values[name] = "2"
    r = post(client, f"/m/cases/{case_id}/submit", f"/m/cases/{case_id}", values)
    assert r.status_code == 303, _text(r.text)
    db.expire_all()
    assert db.get(Case, case_id).fields["vaccination_card.newborn_name"] == "韦子涵"


# ---- officers ----------------------------------------------------------------------------------------------------

def test_an_officer_works_the_queue_and_the_applicant_follows(client, db, demo, staff):
    case_id = submitted_newborn(client)
    number = db.get(Case, case_id).number
    login(staff, "wj_staff")
    queue = staff.get("/onething/queue")
    text = _text(queue.text)
    assert "《出生医学证明》签发" in text and "预防接种证办理" in text and number in text and "覃秀梅" in text
    assert "出生登记" not in text  # not yet open, and another department's
    cert = task_id(db, case_id, "birth_certificate")
    page = staff.get(f"/onething/tasks/{cert}")
    text = _text(page.text)
    assert "出生医学证明编号 Q450201234 来自证明" in text and "韦子涵" in text and "规则核验" in text
    assert "新生儿性别 女性 2 来自证明" in text  # a coded value read from a proof, with its label
    assert "柳州市卫生健康委员会" in text and "通过" in text and "要求补正" in text and "不予办理" in text

    # 要求补正 without saying what: the error beside that form
    r = post(staff, f"/onething/tasks/{cert}/decide", f"/onething/tasks/{cert}", {"decision": "request_info"})
    assert r.status_code == 422 and "请说明理由或需要补充的内容" in _text(r.text)
    r = post(staff, f"/onething/tasks/{cert}/decide", f"/onething/tasks/{cert}",
             {"decision": "request_info", "comment": "请上传新生儿照片"})
    assert r.status_code == 303 and r.headers["location"] == "/onething/queue?notice=request_info"
    assert "待补正" in _text(staff.get("/onething/queue?status=needs_info").text)

    # the applicant answers
    page = client.get(f"/m/cases/{case_id}").text
    assert "需要您补正" in _text(page) and "请上传新生儿照片" in page
    r = post(client, f"/m/cases/{case_id}/supplement", f"/m/cases/{case_id}", {"task_id": str(cert), "note": ""})
    assert r.status_code == 422 and "请填写补充说明" in _text(r.text)
    r = post(client, f"/m/cases/{case_id}/supplement", f"/m/cases/{case_id}",
             {"task_id": str(cert), "note": "已在窗口提交照片"})
    assert r.status_code == 303 and "补正内容已提交" in _text(client.get(r.headers["location"]).text)

    # accepting; the vaccination card's number is proposed and required
    r = post(staff, f"/onething/tasks/{cert}/decide", f"/onething/tasks/{cert}", {"decision": "accept"})
    assert r.status_code == 303 and r.headers["location"] == "/onething/queue?notice=accept"
    assert "已通过该事项" in _text(staff.get(r.headers["location"]).text)
    card = task_id(db, case_id, "vaccination_card")
    page = staff.get(f"/onething/tasks/{card}").text
    assert re.search(r'name="out_card_no" type="text" value="JZQ450201234"', page)
    r = post(staff, f"/onething/tasks/{card}/decide", f"/onething/tasks/{card}",
             {"decision": "accept", "out_card_no": "", "comment": "已核对"})
    assert r.status_code == 422 and "预防接种证编号不能为空" in _text(r.text) and ">已核对</textarea>" in r.text
    r = post(staff, f"/onething/tasks/{card}/decide", f"/onething/tasks/{card}",
             {"decision": "accept", "out_card_no": "JZQ450201234"})
    assert r.status_code == 303
    r = post(staff, f"/onething/tasks/{card}/decide", f"/onething/tasks/{card}", {"decision": "accept"})
    assert r.status_code == 409 and "不能办理" in _text(r.text)  # task_not_open, shown on the page
    assert "已通过" in _text(staff.get("/onething/queue?status=accepted").text)

    # 公安 now has 出生登记, the newborn's ID number proposed; another department's task is not found
    login(staff, "ga_staff")
    registration = task_id(db, case_id, "birth_registration")
    assert number in staff.get("/onething/queue").text
    page = staff.get(f"/onething/tasks/{registration}").text
    assert re.search(r'name="out_newborn_id_number" type="text" value="450202\d{11}[\dX]"', page)
    assert "前置事项 《出生医学证明》签发" in _text(page)
    assert staff.get(f"/onething/tasks/{card}").status_code == 404
    r = post(staff, f"/onething/tasks/{registration}/decide", f"/onething/tasks/{registration}",
             {"decision": "reject", "comment": ""})
    assert r.status_code == 422 and "请说明理由" in _text(r.text)
    r = post(staff, f"/onething/tasks/{registration}/decide", f"/onething/tasks/{registration}",
             {"decision": "accept", "out_newborn_id_number": re.search(
                 r'name="out_newborn_id_number" type="text" value="([^"]+)"', page).group(1)})
    assert r.status_code == 303

    text = _text(client.get(f"/m/cases/{case_id}").text)
    assert "《出生医学证明》签发 柳州市卫生健康委员会 已通过" in text
    assert "出生登记(户口登记) 柳州市公安局 已通过" in text and "新生儿公民身份号码 450202" in text
    assert "城乡居民医保参保登记 柳州市医疗保障局 办理中" in text
    assert "要求补正:《出生医学证明》签发" in text and "请上传新生儿照片" in text  # the timeline

    # the overview counts it
    login(staff, "admin")
    page = staff.get("/onething").text
    assert "个人出生一件事" in _text(page) and 'href="/onething/packages/newborn"' in page
    assert chart(page, "materials-chart") == [{"name": "个人出生一件事", "value": 5}]
    assert chart(page, "prefill-chart")[0]["value"] == 100
    assert {d["name"] for d in chart(page, "dept-open-chart")} == {"柳州市医疗保障局", "柳州市人力资源和社会保障局"}
    assert 'href="/onething/queue" role="button"' not in page  # the bureau has no queue


def test_a_non_officer_is_told_the_queue_is_for_departments(client, db, world):
    login(client, "admin")
    r = client.get("/onething/queue")
    assert r.status_code == 403 and "部门待办只对部门工作人员和部门数据管理员开放" in _text(r.text)
    assert 'data-code="officer_required"' in r.text
    assert client.get("/onething").status_code == 200


# ---- packages ----------------------------------------------------------------------------------------------------

def test_package_detail_and_loading_a_new_version(client, db, world):
    login(client, "wj_staff")
    page = client.get("/onething/packages/newborn")
    text = _text(page.text)
    assert "个人出生一件事" in text and "出生登记(户口登记) 柳州市公安局 3 《出生医学证明》签发" in text
    assert "出生医学证明信息" in text and "《出生医学证明》" in text and "第 1 版" in text
    assert 'id="load"' not in page.text  # only the bureau loads packages

    login(client, "admin")
    page = client.get("/onething/packages/newborn").text
    assert 'id="load"' in page and "key: newborn" in unescape(page) and "bpmn:definitions" in unescape(page)
    row, _ = packages.current(db, "newborn")

    broken = row.content.replace("deadline_days: 3\n", "deadline_days: -3\n", 1).replace(
        "evidence: [birth_cert]", "evidence: [birth_cert, nonexistent]", 1)
    r = post(client, "/onething/packages/newborn", "/onething/packages/newborn",
             {"content": broken, "bpmn": row.bpmn})
    assert r.status_code == 422 and "套餐文件有误,未载入" in _text(r.text)
    assert "nonexistent" in _text(r.text) and "deadline_days: -3" in unescape(r.text)  # input kept

    r = post(client, "/onething/packages/newborn", "/onething/packages/newborn",
             {"content": "key: newborn\nname: [", "bpmn": ""})
    assert r.status_code == 422 and "不是有效的 YAML" in _text(r.text)

    other = client.get("/onething/packages/retirement").text
    content = unescape(re.search(r'<textarea id="p-content"[^>]*>(.*?)</textarea>', other, re.S).group(1))
    r = post(client, "/onething/packages/newborn", "/onething/packages/newborn", {"content": content, "bpmn": ""})
    assert r.status_code == 422 and "与本套餐 newborn 不一致" in _text(r.text)

    r = post(client, "/onething/packages/newborn", "/onething/packages/newborn",
             {"content": row.content, "bpmn": row.bpmn})
    assert r.headers["location"] == "/onething/packages/newborn?notice=package_unchanged"
    r = post(client, "/onething/packages/newborn", "/onething/packages/newborn",
             {"content": row.content.replace("deadline_days: 5\n", "deadline_days: 4\n", 1), "bpmn": row.bpmn})
    assert r.headers["location"] == "/onething/packages/newborn?notice=package_loaded"
    text = _text(client.get(r.headers["location"]).text)
    assert "已载入套餐新版本" in text and "第 2 版" in text and "4 个工作日" in text
