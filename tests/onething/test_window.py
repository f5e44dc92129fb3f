"""窗口代办 through the TestClient: the service centre's window staff start a case for the mother at the counter,
record that she consented there, see the fetched proofs and submit; the case records who acted, the departments'
queues get the matters, and the mother finds the case on 掌心办. Others are told the pages are not theirs; a form
post without the CSRF token is refused."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.onething.models import Case, CaseEvent
from tests.ingest.test_pages import _csrf, _text, login
from tests.onething.conftest import MOTHER
from tests.onething.test_api import fetches
from tests.onething.test_pages import NEWBORN_INPUTS, post, sign_in, task_id

WINDOW_INPUTS = {f"in_{k}": v for k, v in NEWBORN_INPUTS.items()}


def start_for(client: TestClient, person: dict, package: str = "newborn", **inputs: str):
    data = {"package": package, "id_number": person["id_number"], "name": person["name"], **inputs}
    return post(client, "/onething/window", f"/onething/window?package={package}", data)


def test_window_staff_start_consent_and_submit_for_the_mother(client, db, demo, staff):
    login(staff, "sp_staff")
    overview = staff.get("/onething").text
    assert 'href="/onething/window"' in overview and "窗口代办" in _text(overview)
    page = staff.get("/onething/window")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert '<option value="newborn">个人出生一件事</option>' in page.text and "还没有代办的办件" in _text(page.text)

    form = staff.get("/onething/window?package=newborn").text
    assert 'name="id_number"' in form and 'name="in_phone" type="tel"' in form and 'name="in_household_choice"' in form
    assert 'name="package" value="newborn"' in form

    # a wrong ID number and a bad phone: shown beside their fields, what was typed kept
    r = start_for(staff, {**MOTHER, "id_number": "450202199403081234"}, **WINDOW_INPUTS)
    assert r.status_code == 422 and "公民身份号码不正确" in _text(r.text)
    assert re.search(r'<small id="w-id-error" class="field-error">公民身份号码不正确</small>', r.text)
    assert 'value="13907721234"' in r.text and 'value="覃秀梅"' in r.text
    r = start_for(staff, MOTHER, **{**WINDOW_INPUTS, "in_phone": "12345"})
    assert r.status_code == 422 and 'id="in-phone-error"' in r.text and 'value="12345"' in r.text

    r = start_for(staff, MOTHER, **WINDOW_INPUTS)
    assert r.status_code == 303, _text(r.text)
    match = re.fullmatch(r"/onething/window/cases/(\d+)", r.headers["location"])
    assert match, r.headers["location"]
    case_id = int(match.group(1))
    db.expire_all()
    case = db.get(Case, case_id)
    assert case.acting_for == "sp_staff" and case.applicant_id_number == MOTHER["id_number"]
    assert case.status == "draft" and fetches(db, case.number) == []

    # the plan, in the staff layout, with the applicant's partial and the counter's consent
    page = staff.get(r.headers["location"])
    text = _text(page.text)
    assert page.status_code == 200 and 'class="subnav"' in page.text and 'class="m-body"' not in page.text
    assert "证明调取清单" in text and "柳州市卫生健康委员会" in text and "窗口代办人 sp_staff" in text
    assert "申请人已在窗口阅读并同意上述调取清单" in text and "未经申请人同意" in text
    assert f'action="/onething/window/cases/{case_id}/consent"' in page.text and "/m/cases/" not in page.text
    assert re.search(r'<input type="checkbox" name="consent" value="1" required>', page.text)

    # the checkbox is required: nothing is fetched without it
    path = f"/onething/window/cases/{case_id}"
    r = post(staff, f"{path}/consent", path, {"answer": "agree"})
    assert r.status_code == 422 and "请先勾选申请人已阅读并同意调取清单的确认" in _text(r.text)
    assert fetches(db, case.number) == []
    r = post(staff, f"{path}/consent", path, {"answer": "agree", "consent": "1"})
    assert r.status_code == 303 and r.headers["location"] == f"{path}?notice=consented"
    page = staff.get(r.headers["location"]).text
    text = _text(page)
    assert "已按清单调取证明" in text and "已调取的证明" in text and "韦子涵" in text and "提交申请" in text
    assert len(fetches(db, case.number)) > 0
    consent = db.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == "consent"))
    assert consent.actor == "sp_staff" and consent.detail["acting"] is True

    r = post(staff, f"{path}/submit", path)
    assert r.status_code == 303 and r.headers["location"] == f"{path}?notice=submitted"
    text = _text(staff.get(r.headers["location"]).text)
    assert "已提交,各事项已分送办理部门" in text and "办理进度" in text and "一件事为申请人节省" in text
    db.expire_all()
    assert db.get(Case, case_id).status == "in_progress"

    # the list of cases this staff member started
    text = _text(staff.get("/onething/window").text)
    assert case.number in text and "覃秀梅" in text and "办理中" in text

    # the health commission's queue has the matters
    number = case.number
    login(staff, "wj_staff")
    queue = _text(staff.get("/onething/queue").text)
    assert number in queue and "《出生医学证明》签发" in queue and "预防接种证办理" in queue
    assert task_id(db, case_id, "birth_certificate") is not None

    # the mother sees it on 掌心办 (citizens see the cases of their ID number)
    assert sign_in(client, MOTHER).status_code == 303
    home = client.get("/m/").text
    assert f'href="/m/cases/{case_id}"' in home and number in home
    assert "birth_certificate" in client.get(f"/m/cases/{case_id}").text


def test_window_staff_answer_a_request_for_more_and_refusing_withdraws(client, db, demo, staff):
    login(staff, "sp_staff")
    case_id = int(start_for(staff, MOTHER, **WINDOW_INPUTS).headers["location"].rsplit("/", 1)[1])
    path = f"/onething/window/cases/{case_id}"
    post(staff, f"{path}/consent", path, {"answer": "agree", "consent": "1"})
    assert post(staff, f"{path}/submit", path).status_code == 303

    officer = TestClient(client.app)
    login(officer, "wj_staff")
    cert = task_id(db, case_id, "birth_certificate")
    r = post(officer, f"/onething/tasks/{cert}/decide", f"/onething/tasks/{cert}",
             {"decision": "request_info", "comment": "请补充新生儿照片"})
    assert r.status_code == 303

    page = staff.get(path).text
    assert "需要申请人补正" in _text(page) and "请补充新生儿照片" in page
    assert f'action="{path}/supplement"' in page
    r = post(staff, f"{path}/supplement", path, {"task_id": str(cert), "note": ""})
    assert r.status_code == 422 and "请填写补充说明" in _text(r.text)
    r = post(staff, f"{path}/supplement", path, {"task_id": str(cert), "note": "申请人已在窗口提交照片"})
    assert r.status_code == 303 and "补正内容已提交" in _text(staff.get(r.headers["location"]).text)

    # the applicant says no at the counter: nothing fetched, the case withdrawn
    other = int(start_for(staff, MOTHER, **WINDOW_INPUTS).headers["location"].rsplit("/", 1)[1])
    other_path = f"/onething/window/cases/{other}"
    r = post(staff, f"{other_path}/consent", other_path, {"answer": "refuse"})
    assert r.status_code == 303 and r.headers["location"].endswith("notice=refused")
    text = _text(staff.get(r.headers["location"]).text)
    assert "申请人未同意调取证明,办件已撤回,未调取任何证明" in text and "已撤回" in text
    db.expire_all()
    assert fetches(db, db.get(Case, other).number) == []


def test_others_are_told_the_window_is_not_theirs(client, db, demo, staff):
    login(staff, "sp_staff")
    case_id = int(start_for(staff, MOTHER, **WINDOW_INPUTS).headers["location"].rsplit("/", 1)[1])

    login(client, "ga_staff")  # an officer, but not of the packages' operator department
    overview = client.get("/onething").text
    assert 'href="/onething/window"' not in overview
    assert 'href="/onething/window"' not in client.get("/matters").text  # the nav is shared with the matters
    for path in ("/onething/window", "/onething/window?package=newborn", f"/onething/window/cases/{case_id}"):
        r = client.get(path)
        assert r.status_code == 403, path
        assert "窗口代办只对一件事牵头部门的窗口工作人员和大数据局管理员开放" in _text(r.text)
        assert 'data-code="window_staff_required"' in r.text and "覃秀梅" not in r.text
    r = post(client, "/onething/window", "/onething", {"package": "newborn", **MOTHER, **WINDOW_INPUTS})
    assert r.status_code == 403 and "窗口代办只对" in _text(r.text)
    r = post(client, f"/onething/window/cases/{case_id}/consent", "/onething", {"answer": "agree", "consent": "1"})
    assert r.status_code == 403
    db.expire_all()
    assert db.get(Case, case_id).status == "draft"

    # a bureau admin may act, and sees the link
    login(client, "admin")
    assert 'href="/onething/window"' in client.get("/matters").text
    page = client.get(f"/onething/window/cases/{case_id}")
    assert page.status_code == 200 and "窗口代办人 sp_staff" in _text(page.text)
    assert client.get("/onething/window").status_code == 200


def test_a_form_post_without_the_csrf_token_is_refused(client, db, demo, staff):
    login(staff, "sp_staff")
    staff.get("/onething/window")  # the CSRF cookie is set
    r = staff.post("/onething/window", data={"package": "newborn", **MOTHER, **WINDOW_INPUTS},
                   follow_redirects=False)
    assert r.status_code == 403 and "表单已失效" in _text(r.text)
    r = staff.post("/onething/window", data={"package": "newborn", **MOTHER, **WINDOW_INPUTS,
                                             "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    db.expire_all()
    assert db.scalar(select(Case.id).limit(1)) is None

    case_id = int(start_for(staff, MOTHER, **WINDOW_INPUTS).headers["location"].rsplit("/", 1)[1])
    r = staff.post(f"/onething/window/cases/{case_id}/consent", data={"answer": "agree", "consent": "1"},
                   follow_redirects=False)
    assert r.status_code == 403
    db.expire_all()
    assert db.get(Case, case_id).status == "draft"
    assert _csrf(staff, "/onething/window")  # the page itself still offers a token
