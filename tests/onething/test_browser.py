"""个人出生一件事 in a real browser: the mother, on her phone, signs in on 掌心办, starts the newborn package, reads
the evidence plan, consents, sees the birth certificate fetched from the health commission and submits once; the
health commission's officer accepts its two matters from the queue, the public security bureau's officer then finds
出生登记 open with the newborn's ID number proposed and accepts it; the mother reloads and sees where each matter
stands. On the phone nothing scrolls sideways. Fixtures are in tests/conftest.py: pages opened through ``new_page``
fail the test on console errors, CSP violations or unexpected 4xx/5xx."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

from govdata.platform import service as platform
from tests.onething.conftest import MOTHER
from tests.web.test_browser import PHONE, assert_no_horizontal_scroll, log_in

SHOTS = os.environ.get("GOVDATA_SHOTS")  # a folder: save screenshots there (for looking at the pages)
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.usefixtures("chromium_path")]


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/onething-{name}.png", full_page=True)


def accept_from_queue(page: Page, matter: str) -> None:
    page.goto("/onething/queue")
    page.locator("table.ot-queue").get_by_role("link", name=matter).click()
    expect(page.get_by_role("heading", name=matter, level=1)).to_be_visible()
    page.locator("#decide-accept").get_by_role("button", name="通过").click()
    expect(page.get_by_role("status")).to_have_text("已通过该事项")


def test_newborn_on_a_phone_then_the_departments(db, world, new_page, live_server):
    platform.set_setting(db, "demo_loaded", "450200")
    db.commit()

    # The mother signs in on her phone.
    phone = new_page(**PHONE)
    phone.goto("/m/")
    expect(phone.get_by_role("heading", name="身份核验")).to_be_visible()
    assert_no_horizontal_scroll(phone)
    shot(phone, "m-signin")
    phone.get_by_label("公民身份号码").fill(MOTHER["id_number"])
    phone.get_by_label("姓名").fill(MOTHER["name"])
    phone.get_by_role("button", name="核验身份并进入").click()
    expect(phone.get_by_role("heading", name="您好,覃秀梅")).to_be_visible()
    newborn = phone.locator("article.event-card[data-package=newborn]")
    expect(newborn).to_contain_text("免交材料 5 份")
    assert_no_horizontal_scroll(phone)
    shot(phone, "m-home")

    # She starts 个人出生一件事 and types what no department holds.
    newborn.get_by_role("button", name="办理个人出生一件事").click()
    expect(phone.get_by_role("heading", name="个人出生一件事", level=1)).to_be_visible()
    phone.get_by_label("联系电话").fill("13907721234")
    phone.get_by_label("落户方式").select_option("随父落户")
    phone.get_by_label("社会保障卡金融账户开户银行").select_option("柳州银行")
    assert_no_horizontal_scroll(phone)
    phone.get_by_role("button", name="下一步").click()

    # The plan: which proof, from which department, for which matter; nothing fetched yet.
    expect(phone).to_have_url(re.compile(r"/m/cases/\d+$"))
    case_url = phone.url
    plan = phone.locator("#plan")
    expect(plan.locator("[data-evidence=birth_cert]")).to_contain_text("柳州市卫生健康委员会")
    expect(plan.locator("[data-evidence=birth_cert]")).to_contain_text("出生医学证明信息")
    expect(plan.locator("[data-evidence=marriage]")).to_contain_text("结婚证")
    expect(phone.locator("#proofs")).to_have_count(0)
    assert_no_horizontal_scroll(phone)
    shot(phone, "m-plan")

    # Explicit consent, then the fetched proofs.
    phone.locator("#consent input[name=consent]").check()
    phone.get_by_role("button", name="同意并调取").click()
    expect(phone.get_by_role("status")).to_contain_text("已按清单调取证明")
    birth = phone.locator("#proofs article", has_text="出生医学证明")
    expect(birth.first).to_contain_text("韦子涵")
    expect(birth.first).to_contain_text("已调取")
    expect(phone.locator("#paper")).to_have_count(0)
    assert_no_horizontal_scroll(phone)
    shot(phone, "m-proofs")
    phone.get_by_role("button", name="提交申请").click()
    expect(phone.get_by_role("status")).to_contain_text("已提交")
    expect(phone.locator("[data-matter=birth_certificate]")).to_contain_text("办理中")
    expect(phone.locator("[data-matter=birth_registration]")).to_contain_text("待前置事项")
    assert_no_horizontal_scroll(phone)

    # The health commission accepts its two matters from its queue.
    wj = new_page()
    log_in(wj, "wj_staff")
    accept_from_queue(wj, "《出生医学证明》签发")
    wj.locator("table.ot-queue").get_by_role("link", name="预防接种证办理").click()
    expect(wj.get_by_label("预防接种证编号")).to_have_value("JZQ450201234")
    expect(wj.locator("#form")).to_contain_text("来自证明")
    shot(wj, "task")
    wj.locator("#decide-accept").get_by_role("button", name="通过").click()
    expect(wj.get_by_role("status")).to_have_text("已通过该事项")
    expect(wj.locator("table.ot-queue tbody")).to_contain_text("没有事项")

    # 出生登记 is now open at the public security bureau, the newborn's ID number proposed.
    ga = new_page()
    log_in(ga, "ga_staff")
    ga.goto("/onething/queue")
    ga.locator("table.ot-queue").get_by_role("link", name="出生登记(户口登记)").click()
    expect(ga.get_by_label("新生儿公民身份号码")).to_have_value(re.compile(r"^450202\d{11}[\dX]$"))
    expect(ga.locator("#decide")).to_be_visible()
    ga.locator("#decide-accept").get_by_role("button", name="通过").click()
    expect(ga.get_by_role("status")).to_have_text("已通过该事项")

    # The mother reloads: three matters done, 医保 and 社保卡 under way.
    phone.goto(case_url)
    for matter in ("birth_certificate", "vaccination_card", "birth_registration"):
        expect(phone.locator(f"[data-matter={matter}] .badge").first).to_have_text("已通过")
    for matter in ("medical_insurance", "social_security_card"):
        expect(phone.locator(f"[data-matter={matter}] .badge").first).to_have_text("办理中")
    expect(phone.locator("[data-matter=birth_registration]")).to_contain_text("新生儿公民身份号码")
    expect(phone.locator("#metrics")).to_contain_text("少跑")
    assert_no_horizontal_scroll(phone)
    shot(phone, "m-progress")
    phone.goto("/m/")
    expect(phone.locator("#my-cases")).to_contain_text("个人出生一件事")
    assert_no_horizontal_scroll(phone)

    # The overview draws its charts.
    admin = new_page()
    log_in(admin, "admin")
    admin.goto("/onething")
    expect(admin.locator("#materials-chart canvas")).to_have_count(1)
    expect(admin.locator("#dept-open-chart canvas")).to_have_count(1)
    shot(admin, "overview")
    admin.goto("/onething/packages/newborn")
    expect(admin.locator("#matters")).to_contain_text("出生登记(户口登记)")
    shot(admin, "package")


def test_window_staff_act_for_the_mother_at_the_counter(db, world, new_page, live_server):
    platform.set_setting(db, "demo_loaded", "450200")
    db.commit()

    # The service centre's window: the link in the one-thing navigation, then the package and the applicant.
    counter = new_page()
    log_in(counter, "sp_staff")
    counter.goto("/onething")
    counter.locator("nav.subnav").get_by_role("link", name="窗口代办").click()
    expect(counter.get_by_role("heading", name="窗口代办", level=1)).to_be_visible()
    counter.get_by_label("一件事套餐").select_option("newborn")
    counter.get_by_role("button", name="下一步").click()
    expect(counter.get_by_role("heading", name="个人出生一件事", level=2)).to_be_visible()
    counter.get_by_label("公民身份号码").fill(MOTHER["id_number"])
    counter.get_by_label("姓名", exact=True).fill(MOTHER["name"])
    counter.get_by_label("联系电话").fill("13907721234")
    counter.get_by_label("落户方式").select_option("随父落户")
    counter.get_by_label("社会保障卡金融账户开户银行").select_option("柳州银行")
    shot(counter, "window-start")
    counter.get_by_role("button", name="下一步").click()

    # The plan, shown to the mother; her consent recorded at the counter (the box must be ticked).
    expect(counter).to_have_url(re.compile(r"/onething/window/cases/\d+$"))
    case_id = counter.url.rsplit("/", 1)[1]
    expect(counter.locator("#plan [data-evidence=birth_cert]")).to_contain_text("柳州市卫生健康委员会")
    expect(counter.locator("#case-facts")).to_contain_text("sp_staff")
    shot(counter, "window-plan")
    counter.get_by_role("button", name="记录同意并调取").click()
    expect(counter).to_have_url(re.compile(r"/onething/window/cases/\d+$"))  # the browser asks for the box first
    counter.get_by_label("申请人已在窗口阅读并同意上述调取清单").check()
    counter.get_by_role("button", name="记录同意并调取").click()
    expect(counter.get_by_role("status")).to_contain_text("已按清单调取证明")
    expect(counter.locator("#proofs article", has_text="出生医学证明").first).to_contain_text("韦子涵")
    counter.get_by_role("button", name="提交申请").click()
    expect(counter.get_by_role("status")).to_contain_text("已提交")
    expect(counter.locator("[data-matter=birth_certificate]")).to_contain_text("办理中")
    shot(counter, "window-progress")
    counter.goto("/onething/window")
    expect(counter.locator(f"#my-cases tr[data-case='{case_id}']")).to_contain_text("办理中")

    # The mother finds it on her phone.
    phone = new_page(**PHONE)
    phone.goto("/m/")
    phone.get_by_label("公民身份号码").fill(MOTHER["id_number"])
    phone.get_by_label("姓名").fill(MOTHER["name"])
    phone.get_by_role("button", name="核验身份并进入").click()
    expect(phone.locator("#my-cases")).to_contain_text("个人出生一件事")
    phone.locator(f"#my-cases a[href='/m/cases/{case_id}']").click()
    expect(phone.locator("[data-matter=birth_certificate]")).to_contain_text("办理中")
    assert_no_horizontal_scroll(phone)
