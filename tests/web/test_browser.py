"""What a person sees in a real browser: headless Chromium (Debian's /usr/bin/chromium) via Playwright,
against the app served by uvicorn on the test database. Fixtures are in tests/conftest.py; every page
opened through ``new_page`` fails its test on console errors, CSP violations, failed requests or
unexpected 4xx/5xx responses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Page, expect

from govdata import i18n
from tests.conftest import PageProblems
from tests.factories import PASSWORD, liuzhou, make_user

# chromium_path first, so a machine without Chromium skips (or, in CI, fails) before any database work.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.usefixtures("chromium_path")]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    if "/login" not in page.url:
        page.goto("/login")
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()


def nav(page: Page):
    return page.locator("header nav")


def assert_no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate("({scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth})")
    assert widths["scroll"] <= widths["inner"] + 1, f"{page.url} scrolls sideways: {widths}"


def test_bureau_admin_creates_org_and_person_and_finds_them_in_the_action_log(db, new_page, live_server):
    liuzhou(db)
    page = new_page()

    # A visitor is sent to the Chinese login page, and back to where they were going afterwards.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="登录", level=1)).to_be_visible()
    log_in(page, "admin")
    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", name="工作台", level=1)).to_be_visible()
    expect(page.locator(".stats article").filter(has_text="组织机构").locator("h3")).to_have_text("6")
    expect(page.locator(".stats article").filter(has_text="人员").locator("h3")).to_have_text("5")
    expect(page.locator(".chart canvas")).to_have_count(3)  # all three ECharts charts drew
    expect(nav(page).get_by_role("link", name="操作日志")).to_be_visible()

    # New organisation through the form, under the city government.
    nav(page).get_by_role("link", name="组织机构").click()
    expect(page).to_have_url(f"{live_server}/orgs")
    page.get_by_role("button", name="新建机构").click()  # an <a role="button">
    expect(page).to_have_url(f"{live_server}/orgs/new")
    page.get_by_label("机构编码").fill("450200-SL")
    page.get_by_label("机构名称").fill("柳州市水利局")
    page.get_by_label("简称").fill("水利局")
    page.get_by_label("层级").select_option(label="市级")
    page.get_by_label("类型").select_option(label="部门")
    page.get_by_label("行政区划代码").fill("450200")
    page.get_by_label("上级机构").select_option(value="LZ")
    page.get_by_role("button", name="创建").click()
    expect(page).to_have_url(f"{live_server}/orgs/450200-SL?notice=org_created")
    expect(page.get_by_role("heading", name="柳州市水利局", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("机构已创建")
    expect(page.locator(".facts a[href='/orgs/LZ']")).to_be_visible()

    # It sits under the city government in the tree.
    page.goto("/orgs")
    city = page.locator(".tree > li").filter(has=page.locator("a[href='/orgs/LZ']"))
    expect(city.get_by_role("link", name="柳州市水利局")).to_be_visible()

    # A person in the new organisation.
    nav(page).get_by_role("link", name="人员").click()
    page.get_by_role("button", name="新建人员").click()
    expect(page).to_have_url(f"{live_server}/users/new")
    page.get_by_label("用户名").fill("sl_admin")
    page.get_by_label("初始密码").fill("Water-Passw0rd!")
    page.get_by_label("姓名").fill("韦水利")
    page.get_by_label("所属机构").select_option(value="450200-SL")
    page.get_by_label("角色").select_option(value="dept_admin")
    page.get_by_role("button", name="创建").click()
    expect(page).to_have_url(f"{live_server}/users/sl_admin?notice=user_created")
    expect(page.get_by_role("heading", name="韦水利", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("人员已创建")
    page.goto("/orgs/450200-SL")
    expect(page.get_by_role("link", name="韦水利")).to_be_visible()

    # The action log lists the login and both changes, newest first.
    nav(page).get_by_role("link", name="操作日志").click()
    expect(page).to_have_url(f"{live_server}/action-log")
    rows = page.locator("#log-rows tbody tr")
    expect(rows.first).to_contain_text("user.create")
    expect(rows.first).to_contain_text("sl_admin")
    expect(rows.first).to_contain_text("admin")
    expect(rows.filter(has_text="org.create").filter(has_text="450200-SL")).to_have_count(1)
    login_rows = rows.filter(has=page.locator("code", has_text=re.compile(r"^auth\.login$")))
    expect(login_rows).to_have_count(1)
    expect(login_rows).to_contain_text("网页登录")

    # Filtering swaps only the rows (htmx) and keeps the filter in the address bar.
    page.evaluate("window.__samePage = true")
    page.get_by_label("操作", exact=True).select_option(value="org.create")
    with page.expect_response(lambda r: "/action-log?" in r.url and r.request.headers.get("hx-request") == "true"):
        page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"/action-log\?.*action=org\.create"))
    expect(page.locator("#log-rows")).to_contain_text("共 7")  # six seeded organisations and the new one
    expect(rows.locator("code")).to_have_text(["org.create"] * 7)
    assert page.evaluate("window.__samePage") is True, "the filter reloaded the whole page"
    expect(page.get_by_role("heading", name="操作日志", level=1)).to_have_count(1)

    page.get_by_label("操作", exact=True).select_option(value="user.create")
    page.get_by_label("操作人").fill("admin")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"actor=admin&action=user\.create"))
    expect(rows.locator("code")).to_have_text(["user.create"])
    expect(rows).to_contain_text("sl_admin")

    # Back and Forward show whole pages whose filter fields match the rows they list.
    page.go_back()
    expect(page).to_have_url(re.compile(r"actor=&action=org\.create"))
    expect(rows.locator("code")).to_have_text(["org.create"] * 7)
    expect(page.get_by_label("操作", exact=True)).to_have_value("org.create")
    expect(page.get_by_label("操作人")).to_have_value("")
    nav(page).get_by_role("link", name="人员").click()
    expect(page).to_have_url(f"{live_server}/users")
    page.go_back()  # a full page load of the pushed address, not the cached htmx fragment
    expect(page).to_have_url(re.compile(r"action=org\.create"))
    expect(page.get_by_role("heading", name="操作日志", level=1)).to_be_visible()
    expect(nav(page).get_by_role("link", name="操作日志")).to_be_visible()
    expect(rows.locator("code")).to_have_text(["org.create"] * 7)
    expect(page.get_by_label("操作", exact=True)).to_have_value("org.create")


def test_wrong_password_shows_chinese_error_and_sets_no_session(db, new_page, problems: PageProblems, live_server):
    liuzhou(db)
    problems.allow(r"^http 401: POST .*/login$")
    problems.allow(r"^console\.error: Failed to load resource: the server responded with a status of 401")
    page = new_page()
    page.goto("/login")
    log_in(page, "admin", "not-the-password")
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    expect(page.get_by_label("用户名", exact=True)).to_have_value("admin")
    expect(page.get_by_label("密码", exact=True)).to_have_value("")
    assert "gd_session" not in {c["name"] for c in page.context.cookies()}
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


def test_department_admin_has_no_action_log_and_sees_only_own_people(db, new_page, problems: PageProblems):
    liuzhou(db)
    make_user(db, "ga_staff", "GA", "dept_staff")
    problems.allow(r"^http 403: GET .*/action-log$")
    problems.allow(r"^console\.error: Failed to load resource: the server responded with a status of 403")
    page = new_page()
    log_in(page, "ga_admin")
    expect(page.get_by_role("heading", name="工作台", level=1)).to_be_visible()
    expect(nav(page).get_by_role("link", name="组织机构")).to_be_visible()
    expect(nav(page).get_by_role("link", name="操作日志")).to_have_count(0)
    expect(page.get_by_role("link", name="查看全部")).to_have_count(0)  # no recent-actions panel either

    response = page.goto("/action-log")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="无法完成请求", level=1)).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text("当前账号无权执行此操作")
    expect(page.get_by_role("link", name="返回首页")).to_be_visible()

    page.goto("/users")
    expect(page.locator("tbody tr td:nth-child(2)")).to_have_text(["ga_admin", "ga_staff"])
    expect(page.get_by_role("link", name="用户wj_admin")).to_have_count(0)
    expect(page.get_by_label("所属机构")).to_have_count(0)  # no filter over other organisations


def _english_for(message: str) -> str | None:
    """The English catalog's translation of ``message``, or None while the catalog lacks it."""
    po = Path(i18n.__file__).parent / "locale" / "en" / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return None
    with po.open("rb") as fh:
        entry = read_po(fh, locale="en").get(message)
    return entry.string if entry is not None and entry.string and not entry.fuzzy else None


def test_language_switch_to_english_and_back(db, new_page, live_server):
    liuzhou(db)
    page = new_page()
    log_in(page, "admin")
    page.goto("/orgs")
    chinese = page.locator("body").inner_text()
    page.get_by_role("link", name="English").click()

    # Back on the same page, now declared English, with a way back to Chinese.
    expect(page).to_have_url(f"{live_server}/orgs")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="简体中文")).to_be_visible()
    assert page.locator("body").inner_text() != chinese
    # The English catalog (src/govdata/locale/en) is written separately. Once it translates the nav
    # labels, they must show; until then only the switch itself (lang attribute, toggle link) is checked.
    for chinese_label, english_hint in (("组织机构", "Organi"), ("操作日志", "log")):
        english = _english_for(chinese_label)
        if english is not None:
            assert english_hint.lower() in english.lower(), f"unexpected translation of {chinese_label}: {english}"
            expect(nav(page).get_by_role("link", name=english, exact=True)).to_be_visible()
            expect(nav(page).get_by_role("link", name=chinese_label)).to_have_count(0)

    # The choice sticks across pages and switches back.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="简体中文").click()
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(nav(page).get_by_role("link", name="组织机构")).to_be_visible()


def test_phone_viewport_has_no_horizontal_scrolling(db, new_page):
    liuzhou(db)
    page = new_page(**PHONE)
    page.goto("/login")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    assert_no_horizontal_scroll(page)
    log_in(page, "admin")
    expect(page.get_by_role("heading", name="工作台", level=1)).to_be_visible()
    expect(page.locator(".chart canvas")).to_have_count(3)
    assert_no_horizontal_scroll(page)
    for path in ("/orgs", "/users", "/action-log"):
        page.goto(path)
        assert_no_horizontal_scroll(page)


def test_pages_raise_no_console_errors_or_csp_violations(db, new_page, problems: PageProblems):
    liuzhou(db)
    page = new_page()
    response = page.goto("/login")
    assert response is not None
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp  # so inline scripts would be reported
    log_in(page, "admin")
    expect(page.locator(".chart canvas")).to_have_count(3)
    for chart in page.locator(".chart").all():  # what hovering a slice or bar does: show its tooltip
        chart.evaluate("el => echarts.getInstanceByDom(el).dispatchAction({type: 'showTip', seriesIndex: 0, "
                       "dataIndex: 0})")
    page.wait_for_timeout(300)  # tooltips render asynchronously; CSP errors would arrive by now
    for path in ("/orgs", "/orgs/LZ", "/orgs/new", "/users", "/users/new", "/users/ga_admin", "/credentials",
                 "/action-log"):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        expect(page.locator("main")).not_to_be_empty()
    page.get_by_label("结果").select_option(value="success")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"outcome=success"))
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("heading", name="登录", level=1)).to_be_visible()
    assert problems.unexpected() == []
