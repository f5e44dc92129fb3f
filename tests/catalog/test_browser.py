"""The catalog in a real browser: a department registers a resource through the form (the items table is
edited with app.js), submits it, the bureau approves it and the catalog search finds it. The browser fixtures
are in tests/conftest.py; pages opened through ``new_page`` fail the test on console errors, CSP violations,
failed requests or unexpected 4xx/5xx responses."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import liuzhou, with_standards
from tests.web.test_browser import PHONE, assert_no_horizontal_scroll, log_in, nav

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.usefixtures("chromium_path")]


def test_department_registers_bureau_approves_and_search_finds_it(db, new_page, live_server):
    liuzhou(db)
    with_standards(db)
    page = new_page()
    log_in(page, "wj_staff")
    expect(page.get_by_role("heading", name="工作台", level=1)).to_be_visible()

    # The registration form, reached from the navigation.
    nav(page).get_by_role("link", name="资源目录").click()
    expect(page).to_have_url(f"{live_server}/catalog")
    page.get_by_role("button", name="登记信息资源").click()  # an <a role="button">
    expect(page).to_have_url(f"{live_server}/catalog/new")
    page.get_by_label("资源名称").fill("新生儿预防接种信息")
    expect(page.get_by_label("提供方")).to_have_value("WJ")
    page.get_by_label("资源分类").select_option("主题/医疗健康")
    page.get_by_label("摘要").fill("新生儿乙肝疫苗、卡介苗等首针接种记录")
    page.get_by_label("资源格式").select_option(label="数据库")
    page.get_by_label("更新周期").select_option(label="每日")
    page.get_by_label("共享类型").select_option(label="有条件共享")
    page.get_by_label("共享方式").select_option(label="接口")
    page.get_by_label("共享条件").fill("仅用于出生一件事联办")
    page.get_by_label("数据分级").select_option(label="一般")
    page.get_by_role("group", name="安全与责任").get_by_label("敏感级别").select_option("L3")
    page.get_by_label("责任人").fill("覃医生")
    page.get_by_label("联系方式").fill("0772-2825326")

    # Items: one row to start with; choosing a data element fills in its type, length and name.
    rows = page.locator("tbody[data-items] tr")
    expect(rows).to_have_count(1)
    first = rows.nth(0)
    first.get_by_label("数据元").select_option("DE0002")
    expect(first.get_by_label("长度")).to_have_value("18")
    expect(first.get_by_label("名称")).to_have_value("公民身份号码")
    expect(first.get_by_label("数据类型")).to_have_value("C")
    first.get_by_label("英文标识").fill("child_id_number")
    first.get_by_label("名称").fill("儿童身份证号")
    first.get_by_label("必填").check()
    first.get_by_label("主键").check()

    # Two more rows with the add-row button; the blank middle one is removed again, and the rows renumber.
    page.get_by_role("button", name="添加信息项").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1).get_by_label("英文标识")).to_have_attribute("name", "items-1-key")
    expect(rows.nth(1).get_by_label("英文标识")).to_be_focused()
    page.get_by_role("button", name="添加信息项").click()
    expect(rows).to_have_count(3)
    third = rows.nth(2)
    expect(third.get_by_label("英文标识")).to_have_attribute("name", "items-2-key")
    third.get_by_label("英文标识").fill("vaccine_name")
    third.get_by_label("名称").fill("疫苗名称")
    third.get_by_label("长度").fill("100")
    third.get_by_label("敏感级别").select_option("L1")
    rows.nth(1).get_by_role("button", name="删除此行").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1).get_by_label("英文标识")).to_have_value("vaccine_name")
    expect(rows.nth(1).get_by_label("英文标识")).to_have_attribute("name", "items-1-key")
    expect(rows.nth(1).get_by_label("长度")).to_have_attribute("name", "items-1-length")
    expect(rows.nth(1).locator(".row-no")).to_have_text("2")

    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/catalog/r/201/000001\?notice=resource_created$"))
    expect(page.get_by_role("heading", name="新生儿预防接种信息", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("信息资源已登记为草稿")
    items = page.locator("table.items tbody tr")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("child_id_number")
    expect(items.nth(0)).to_contain_text("公民身份号码")
    expect(items.nth(1)).to_contain_text("疫苗名称")
    expect(page.locator(".badges .status-draft")).to_have_text("草稿")

    page.get_by_role("button", name="提交审核").click()
    expect(page.get_by_role("status")).to_have_text("已提交审核")
    expect(page.locator(".badges .status-submitted")).to_have_text("待审核")
    page.get_by_role("button", name="退出").click()

    # The bureau admin approves it from the review queue.
    log_in(page, "admin")
    expect(page.locator(".stats article").filter(has_text="待审核信息资源").locator("h3")).to_have_text("1")
    page.goto("/catalog/review")
    page.get_by_role("link", name="新生儿预防接种信息").click()
    expect(page).to_have_url(f"{live_server}/catalog/r/201/000001")
    page.get_by_label("审核意见(可选)").fill("同意发布")
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_role("status")).to_have_text("已审核通过并发布")
    expect(page.locator(".badges .status-published")).to_have_text("已发布")

    # The catalog search finds it; a facet narrows the results without reloading the page.
    nav(page).get_by_role("link", name="资源目录").click()
    page.evaluate("window.__samePage = true")
    page.get_by_label("搜索信息资源").fill("预防接种")
    page.get_by_role("button", name="搜索").click()
    expect(page).to_have_url(re.compile(r"/catalog\?q=%E9%A2%84%E9%98%B2%E6%8E%A5%E7%A7%8D"))
    results = page.locator("#catalog-results article.result")
    expect(results).to_have_count(1)
    expect(results.first.get_by_role("link")).to_have_text("新生儿预防接种信息")
    page.get_by_role("checkbox", name=re.compile("柳州市卫生健康委员会")).click()
    expect(page).to_have_url(re.compile(r"provider=WJ"))
    expect(page.get_by_role("checkbox", name=re.compile("柳州市卫生健康委员会"))).to_have_attribute(
        "aria-checked", "true")
    expect(results).to_have_count(1)
    page.get_by_label("排序").select_option(label="名称")
    expect(page).to_have_url(re.compile(r"sort=name"))
    expect(page).to_have_url(re.compile(r"provider=WJ"))  # the facet is kept by the search form
    assert page.evaluate("window.__samePage") is True, "the search reloaded the whole page"

    # On a phone the catalog pages do not scroll sideways.
    phone = new_page(**PHONE)
    log_in(phone, "wj_staff")
    expect(phone.get_by_role("heading", name="工作台", level=1)).to_be_visible()
    for path in ("/catalog", "/catalog/new", "/catalog/r/201/000001", "/catalog/mine", "/catalog/lists/share"):
        phone.goto(path)
        expect(phone.locator("main h1")).to_be_visible()
        assert_no_horizontal_scroll(phone)
