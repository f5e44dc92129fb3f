"""The register and its dashboard in a real browser: the dashboard draws every chart (no CSP violation, no console
error), the register's filters swap the rows through htmx, and on a phone neither page scrolls sideways."""

from __future__ import annotations

import os
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.matters.conftest import add
from tests.web.test_browser import PHONE, assert_no_horizontal_scroll, log_in

SHOTS = os.environ.get("GOVDATA_SHOTS")  # a folder: save screenshots there (for looking at the pages)
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.usefixtures("chromium_path")]
CHARTS = ("level-online-chart", "level-full-chart", "trend-online-chart", "trend-full-chart", "region-online-chart",
          "region-full-chart")


def seed(db):
    add(db, "GA0001", "GA", name="户口迁移", online=date(2020, 3, 1), full=date(2021, 6, 1))
    add(db, "GA0002", "GA", name="居民身份证申领", online=date(2020, 3, 1), exempt=True)
    add(db, "JY0001", "CZQ-JY", name="幼儿园办学许可", online=date(2019, 1, 1), full=date(2022, 1, 1))
    add(db, "T0001", "CZQ-T01", name="临时救助申请受理", online=date(2020, 6, 1))
    add(db, "T0002", "CZQ-T01", name="高龄津贴申请受理")


def test_dashboard_draws_its_charts_and_the_register_filters(tree, new_page):
    seed(tree)
    page = new_page()
    log_in(page, "wj_staff")
    page.goto("/matters/dashboard?at=2021-12-31")
    expect(page.get_by_role("heading", name="政务服务事项网办情况")).to_be_visible()
    for chart in CHARTS:
        expect(page.locator(f"#{chart} canvas")).to_have_count(1)
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/matters-dashboard.png", full_page=True)

    page.goto("/matters")
    expect(page.locator("#matter-rows")).to_contain_text("共 5 项")
    page.get_by_label("层级").select_option("township")  # a change submits the form through htmx
    expect(page.locator("#matter-rows")).to_contain_text("共 2 项")
    assert "level=township" in page.url
    expect(page.locator("#matter-rows")).not_to_contain_text("户口迁移")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/matters.png", full_page=True)


def test_pages_fit_a_phone(tree, new_page):
    seed(tree)
    page = new_page(**PHONE)
    log_in(page, "wj_staff")
    for path in ("/matters", "/matters/dashboard", "/matters/GA0001"):
        page.goto(path)
        assert_no_horizontal_scroll(page)
