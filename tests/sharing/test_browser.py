"""Sharing in a real browser: the health commission's data admin applies for the public security bureau's
person resource from its catalog page, the bureau's data admin approves it with fewer items and a shorter term,
the big data bureau verifies it, and the health commission finds the grant among its tabs (switched by htmx).
The evaluation draws its charts; on a phone the pages do not scroll sideways. Fixtures are in tests/conftest.py:
pages opened through ``new_page`` fail the test on console errors, CSP violations or unexpected 4xx/5xx."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from govdata.sharing.models import Grant
from tests.web.test_browser import PHONE, assert_no_horizontal_scroll, log_in

SHOTS = os.environ.get("GOVDATA_SHOTS")  # a folder: save screenshots there (for looking at the pages)
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.usefixtures("chromium_path")]


def test_apply_approve_with_narrowing_verify_and_use(db, new_page, live_server, people):
    # WJ applies from the catalog page of GA's resource, leaving out the phone number.
    wj = new_page()
    log_in(wj, "wj_admin")
    wj.goto(f"/catalog/r/{people}")
    wj.get_by_role("button", name="申请共享").click()  # an <a role="button">
    expect(wj).to_have_url(f"{live_server}/sharing/apply?resource={people}")
    expect(wj.get_by_text("L3、L4 的信息项默认脱敏")).to_be_visible()
    wj.get_by_label("手机号码", exact=True).uncheck()
    wj.locator("table.items-choice tr", has=wj.locator("code", has_text="name")).get_by_label("申请不脱敏").check()
    wj.get_by_label("用途").fill("办理出生一件事:核验新生儿父母身份")
    wj.get_by_label("办理事项").fill("出生登记")
    wj.get_by_label("申请期限(天)").fill("90")
    wj.get_by_label("预计日调用量").fill("1000")
    wj.get_by_label("法律法规或政策依据").fill("《柳州市政务数据共享管理办法》第十条")
    wj.get_by_role("button", name="提交申请").click()
    expect(wj.get_by_role("status").filter(has_text="共享申请已提交")).to_be_visible()
    expect(wj.locator(".badges")).to_contain_text("待提供部门审核")
    request_url = wj.url.split("?")[0]

    # GA finds it waiting for it, and approves the identity items only, for 30 days.
    ga = new_page()
    log_in(ga, "ga_admin")
    ga.goto("/sharing")
    expect(ga.locator("nav.tabs [aria-current=page]")).to_contain_text("待我审批")
    ga.locator("table.requests").get_by_role("link", name="人口基本信息").click()
    expect(ga).to_have_url(request_url)
    decide = ga.locator("#decide")
    expect(decide.get_by_role("heading", name="提供部门审核")).to_be_visible()
    decide.locator("input[name=items][value=sex]").uncheck()
    decide.locator("input[name=items][value=birth_date]").uncheck()
    decide.get_by_label("期限(天)").fill("30")
    decide.get_by_label("意见(可选)").fill("性别、出生日期不在办理所需范围内")
    decide.get_by_role("button", name="同意", exact=True).click()
    expect(ga.get_by_role("status").filter(has_text="已同意该申请")).to_be_visible()
    expect(ga.locator(".badges")).to_contain_text("待大数据局校核")
    expect(ga.locator("#decide")).to_have_count(0)

    # The bureau verifies.
    admin = new_page()
    log_in(admin, "admin")
    admin.goto(request_url)
    admin.get_by_role("button", name="校核通过并授权").click()
    expect(admin.locator(".badges")).to_contain_text("已授权")
    expect(admin.locator("ol.timeline")).to_contain_text("性别、出生日期不在办理所需范围内")

    # WJ sees the grant in its tab (htmx swaps the tab without reloading the page).
    wj.goto("/sharing")
    wj.evaluate("window.__samePage = true")
    wj.get_by_role("link", name="本部门获得的授权").click()
    expect(wj).to_have_url(f"{live_server}/sharing?tab=grants")
    row = wj.locator("table.grants tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("人口基本信息")
    expect(row).to_contain_text("有效")
    assert wj.evaluate("window.__samePage") is True, "the tab reloaded the page"
    row.get_by_role("link", name="人口基本信息").click()
    expect(wj.locator(".stats")).to_contain_text("0 / 1000")
    items = wj.locator("table.grant-items")
    expect(items).to_contain_text("公民身份号码")
    expect(items).not_to_contain_text("性别")
    expect(items.locator("tr", has_text="姓名")).to_contain_text("不脱敏")
    expect(wj.locator("#renew")).to_be_visible()
    expect(wj.locator("#revoke")).to_have_count(0)

    grant = db.scalar(select(Grant))
    assert (grant.items, grant.unmasked_items) == (["id_number", "name", "region"], ["name"])
    assert (grant.expires_at - grant.starts_at).days == 30

    # The evaluation draws its charts from data-* attributes.
    wj.goto("/sharing/evaluation")
    expect(wj.locator("#score-chart canvas")).to_have_count(1)
    expect(wj.locator("#hours-chart canvas")).to_have_count(1)
    expect(wj.locator("table.providers")).to_contain_text("柳州市公安局")

    # On a phone: nothing scrolls sideways.
    phone = new_page(**PHONE)
    log_in(phone, "wj_admin")
    for path in (request_url.replace(live_server, ""), "/sharing", "/sharing/evaluation",
                 f"/sharing/apply?resource={people}"):
        phone.goto(path)
        assert_no_horizontal_scroll(phone)
    if SHOTS:
        for name, path in (("request", request_url), ("evaluation", "/sharing/evaluation"),
                           ("apply", f"/sharing/apply?resource={people}"), ("grants", "/sharing?tab=grants")):
            wj.goto(path)
            wj.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)
