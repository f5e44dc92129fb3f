"""The public portal in a real browser: a member of the public searches, narrows by department, opens a dataset,
sees the preview load and downloads the CSV; files a demand to open data, and the department answers it in the
catalog's open-demand list. On a phone nothing scrolls sideways. Fixtures are in tests/conftest.py: pages opened
through ``new_page`` fail the test on console errors, CSP violations or unexpected 4xx/5xx."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

from govdata.opendata import service
from tests.web.test_browser import PHONE, assert_no_horizontal_scroll, log_in

SHOTS = os.environ.get("GOVDATA_SHOTS")  # a folder: save screenshots there (for looking at the pages)
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.usefixtures("chromium_path")]


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/opendata-{name}.png", full_page=True)


def results(page: Page):
    return page.locator("#od-results article.result h2")


def test_search_open_preview_and_download(db, portal, new_page, tmp_path):
    page = new_page()
    page.goto("/open/")
    expect(page.locator("[data-figure=datasets] h3")).to_have_text("3")
    page.get_by_label("搜索开放数据").fill("机构名录")
    page.get_by_role("button", name="搜索").click()
    expect(page).to_have_url(re.compile(r"/open/datasets\?q="))
    expect(results(page)).to_have_text(["医疗机构名录"])
    shot(page, "search")

    # Typing searches as you go (htmx), and the address keeps the query.
    box = page.get_by_label("搜索开放数据")
    box.fill("企业")
    expect(results(page)).to_have_text(["企业登记信息"])
    expect(page).to_have_url(re.compile(r"q=%E4%BC%81%E4%B8%9A"))

    # Clearing the query and ticking a department narrows the list; the facet keeps its other departments.
    box.fill("")
    expect(results(page)).to_have_count(3)
    page.locator("[data-facet=provider] a.facet[data-value=WJ]").click()
    expect(results(page)).to_have_text(["医疗机构名录"])
    expect(page.locator("[data-facet=provider] a.facet[data-value=WJ]")).to_have_attribute("aria-checked", "true")
    expect(page.locator("[data-facet=provider] a.facet")).to_have_count(3)
    expect(page).to_have_url(re.compile(r"provider=WJ"))

    # The dataset page: metadata, items, and the preview loaded after the page.
    results(page).get_by_role("link", name="医疗机构名录").click()
    expect(page.get_by_role("heading", name="医疗机构名录", level=1)).to_be_visible()
    preview = page.locator("#preview table")
    expect(preview.locator("tbody tr")).to_have_count(20)
    expect(preview.locator("thead th").first).to_have_text("医疗机构名称")
    expect(preview.get_by_role("cell", name='=HYPERLINK("http://evil.example")')).to_be_visible()  # text, not a link
    expect(page.locator("#items")).to_contain_text("医疗机构执业许可证上登记的名称")
    shot(page, "dataset")

    # Download the CSV: UTF-8 with a BOM, the Chinese header, every row.
    with page.expect_download() as info:
        page.locator("#downloads").get_by_role("button", name="CSV").click()
    download = info.value
    assert download.suggested_filename == "医疗机构名录.csv"
    target = tmp_path / "download.csv"
    download.save_as(target)
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "医疗机构名称,医院等级,所在区县,床位数"
    assert len(lines) - 1 == service.get_open(db, portal.hospitals).row_count


def test_a_demand_filed_by_the_public_is_answered_by_the_department(db, portal, new_page):
    page = new_page()
    page.goto("/open/")
    page.locator("#demands").get_by_role("link", name="提出开放需求").click()
    expect(page).to_have_url(re.compile(r"/open/demands/new"))
    page.get_by_label("需求名称").fill("开放全市公共停车场泊位数据")
    page.get_by_label("需求描述").fill("希望按停车场开放泊位总数与实时空余泊位,便于开发停车导航应用。")
    page.get_by_label("责任部门").select_option("WJ")
    page.get_by_label("提出人").fill("陈先生")
    page.get_by_label("联系方式").fill("chen@example.com")
    page.get_by_role("button", name="提交需求").click()
    expect(page).to_have_url(re.compile(r"/open/demands/\d+"))
    expect(page.get_by_role("status")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("开放全市公共停车场泊位数据")
    expect(page.locator("main")).not_to_contain_text("chen@example.com")  # the contact is never public
    demand_url = page.url
    shot(page, "demand-filed")

    # The health commission's data administrator answers it in the catalog's open-demand list.
    staff = new_page()
    log_in(staff, "wj_admin")
    staff.goto("/catalog/lists/open-demand")
    row = staff.locator("tr", has_text="开放全市公共停车场泊位数据")
    row.get_by_text("答复", exact=True).click()
    row.get_by_label("办理状态").select_option("accepted")
    row.get_by_label("答复意见").fill("已纳入今年开放计划,预计三个月内开放。")
    row.get_by_role("button", name="保存答复").click()
    expect(staff.get_by_role("status")).to_be_visible()

    # The reply is public, on the demand and on the portal's home page.
    page.goto(demand_url)
    expect(page.locator("main")).to_contain_text("已纳入今年开放计划")
    page.goto("/open/")
    expect(page.locator("#demands")).to_contain_text("开放全市公共停车场泊位数据")


def test_portal_on_a_phone_has_no_sideways_scrolling(db, portal, new_page):
    phone = new_page(**PHONE)
    slug = service.get_open(db, portal.hospitals).slug
    for path in ("/open/", "/open/datasets", "/open/datasets?q=医疗", f"/open/datasets/{slug}", "/open/rankings",
                 "/open/api"):
        phone.goto(path)
        expect(phone.locator("h1")).to_have_count(1)
        if path.startswith(f"/open/datasets/{slug}"):
            expect(phone.locator("#preview tbody tr")).to_have_count(20)
        assert_no_horizontal_scroll(phone)
        shot(phone, "phone-" + re.sub(r"\W+", "-", path).strip("-"))
