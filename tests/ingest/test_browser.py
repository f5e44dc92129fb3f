"""Data collection in a real browser: a department uploads a GB18030 CSV through the file input, watches the
progress fragment (htmx polling the job every second) reach its end while a worker thread runs the job, opens
the version's report with its ECharts charts, downloads the quarantine as Excel and publishes the held version;
on a phone the pages do not scroll sideways. Fixtures are in tests/conftest.py: pages opened through
``new_page`` fail the test on console errors, CSP violations, failed requests or unexpected 4xx/5xx."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from govdata.jobs import worker
from tests.factories import liuzhou, publish, resource_spec, with_standards
from tests.ingest.test_pages import id_number
from tests.web.test_browser import PHONE, assert_no_horizontal_scroll, log_in, nav

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.usefixtures("chromium_path")]

# Names GBK lacks but GB18030 has (𪚥 takes four bytes), so only a GB18030 reading gets them right.
ROWS = [
    f"CZ0101,韦𪚥,{id_number('45020320240301002')},2024-03-01",
    f"CZ0102,覃小花,{id_number('45020320240302002')},2024-03-02",
    f"CZ0103,黄小明,{id_number('45020320240303002')},2024-03-03",
    "CZ0104,蓝小红,450203202403040021,2024-03-04",  # wrong check digit
    f"CZ0105,莫小兰,{id_number('45020320240305002')},2024-03-05",
    f"CZ0105,莫小兰重复,{id_number('45020320240306002')},2024-03-06",  # the key again
]
CSV = ("证明编号,新生儿姓名,母亲身份证号,出生日期\n" + "\n".join(ROWS) + "\n").encode("gb18030")


@pytest.fixture
def running_worker() -> Iterator[worker.Worker]:
    """The browser's server runs without its lifespan (so without workers): this test starts one."""
    thread = worker.Worker(0)
    thread._last_schedule = time.monotonic()  # no schedules in this test
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


def test_department_uploads_follows_progress_reads_report_and_downloads_quarantine(db, new_page, live_server,
                                                                                    running_worker, tmp_path):
    liuzhou(db)
    with_standards(db)
    code = publish(db, resource_spec())
    page = new_page()
    log_in(page, "wj_staff")
    expect(page.get_by_role("heading", name="工作台", level=1)).to_be_visible()

    # From the navigation to the resource's data.
    nav(page).get_by_role("link", name="数据归集").click()
    expect(page).to_have_url(f"{live_server}/data")
    page.get_by_role("link", name="出生医学证明信息").click()
    expect(page).to_have_url(f"{live_server}/data/{code}")
    expect(page.get_by_text("还没有数据版本")).to_be_visible()

    # Upload through the file input; the answer is the job's progress fragment, which polls until the end.
    page.evaluate("window.__samePage = true")
    page.get_by_label("数据文件").set_input_files({"name": "出生医学证明.csv", "mimeType": "text/csv", "buffer": CSV})
    expect(page.get_by_label("文件编码")).to_have_value("")  # 自动识别
    with page.expect_response(lambda r: r.url.endswith(f"/data/{code}/upload")) as answer:
        page.get_by_role("button", name="上传并校验").click()
    assert answer.value.status == 202
    first = answer.value.text()
    assert "排队中" in first and 'hx-trigger="every 1s"' in first and "<progress" in first
    job = page.locator("#upload-status .job")
    expect(job).to_have_count(1)
    expect(job).to_contain_text("已完成", timeout=20_000)  # only the polling can bring this
    expect(job.locator("progress")).to_have_attribute("value", "100")
    expect(job).to_contain_text("已生成第 1 版(暂存待确认):共 6 行,接收 4 行,拒绝 2 行")

    # The versions table reloaded itself when the job ended, without reloading the page.
    rows = page.locator("table.versions tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("暂存待确认")
    expect(rows.first).to_contain_text("出生医学证明.csv")
    expect(rows.first).to_contain_text("gb18030")
    assert page.evaluate("window.__samePage") is True, "the upload reloaded the page"

    # The report: counts, the charts drawn, the errors with their reasons, the GB18030-only name intact.
    job.get_by_role("button", name="查看质量报告").click()  # an <a role="button">
    expect(page).to_have_url(f"{live_server}/data/{code}/versions/1")
    expect(page.get_by_role("heading", name="第 1 版质量报告", level=1)).to_be_visible()
    expect(page.locator("#scores-chart canvas")).to_have_count(1)
    expect(page.locator("#rules-chart canvas")).to_have_count(1)
    stats = page.locator(".stats article")
    expect(stats.filter(has_text="总行数").locator("h3")).to_have_text("6")
    expect(stats.filter(has_text="拒绝").locator("h3")).to_have_text("2")
    errors = page.locator("table.errors tbody")
    expect(errors).to_contain_text("公民身份号码校验位错误")
    expect(errors).to_contain_text("与第 6 行重复")  # the second CZ0105 (line 7)
    expect(page.locator("table.fill-rates")).to_contain_text("母亲身份证号")

    # The quarantine, downloaded from the page with the session.
    with page.expect_download() as download:
        page.get_by_role("button", name="下载拒绝的行(Excel)").click()  # an <a role="button">
    path = tmp_path / "rejected.xlsx"
    download.value.save_as(path)
    assert download.value.suggested_filename.endswith("-v1.xlsx")
    sheet = load_workbook(path, read_only=True).worksheets[0]
    rejected = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rejected[0][:4] == ["证明编号", "新生儿姓名", "母亲身份证号", "出生日期"]
    assert [(r[0], r[1]) for r in rejected[1:]] == [("CZ0104", "蓝小红"), ("CZ0105", "莫小兰重复")]
    assert all(r[-1] for r in rejected[1:])  # each with its reason

    # Publishing the held version (after the confirmation) makes it the current one.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page).to_have_url(f"{live_server}/data/{code}/versions/1?notice=version_published")
    expect(page.get_by_role("status").filter(has_text="该版本已发布")).to_be_visible()
    expect(page.locator(".badges")).to_contain_text("当前")

    # The resource page now draws the quality trend; the data list shows the current version.
    page.goto(f"/data/{code}")
    expect(page.locator(".chart[data-chart='line'] canvas")).to_have_count(1)
    page.goto("/data")
    expect(page.locator("table.data-resources tbody tr").first).to_contain_text("第 1 版")
    nav(page).get_by_role("link", name="数据质量").click()
    expect(page.locator("#ranking-chart canvas")).to_have_count(1)
    expect(page.locator("table.ranking tbody tr").first).to_contain_text("柳州市卫生健康委员会")

    # On a phone none of these pages scrolls sideways.
    phone = new_page(**PHONE)
    log_in(phone, "wj_staff")
    expect(phone.get_by_role("heading", name="工作台", level=1)).to_be_visible()
    for path in (f"/data/{code}/versions/1", f"/data/{code}", "/data", "/quality", "/sources"):
        phone.goto(path)
        expect(phone.locator("main h1")).to_be_visible()
        if path.endswith("/versions/1"):
            expect(phone.locator("#scores-chart canvas")).to_have_count(1)
        assert_no_horizontal_scroll(phone)
