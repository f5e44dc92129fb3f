"""Screenshots for the README, taken with Debian's Chromium through Playwright.

    .venv/bin/python scripts/screenshots.py [output directory, default docs/screenshots]

Starts the app on a throw-away SQLite database in a temporary directory, loads the Liuzhou demo with
``govdata db upgrade`` and ``govdata demo load`` (run in-process), logs in as the demo bureau admin and
writes login.png, home.png, orgs.png, action-log.png, catalog.png (the catalog search with its facets),
resource.png (a resource's detail page), quality.png (the department quality ranking), version-report.png (a
dataset version's quality report), sharing-request.png, sharing-evaluation.png, audit.png, onething.png (the
one-thing dashboard), onething-task.png (a matter in an officer's queue), matters-dashboard.png (网上可办率 and
全程网办率 against the targets) (1280x800), home-phone.png, and onething-plan-phone.png and
onething-evidence-phone.png (an applicant's newborn case before and after consent) (390x844). Nothing
outside the temporary directory and the output directory is touched. Needs /usr/bin/chromium and the
front-end assets (`make assets`); Chinese text needs a CJK font (Debian: fonts-noto-cjk).
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
MAX_BYTES = 300 * 1024


def _configure(tmp: Path) -> None:
    """Point govdata at the temporary directory; must run before anything from govdata is imported."""
    os.environ["GOVDATA_VAR_DIR"] = str(tmp)
    os.environ["GOVDATA_DATA_DIR"] = str(tmp / "data")
    os.environ["GOVDATA_DATABASE_URL"] = f"sqlite:///{(tmp / 'govdata.db').as_posix()}"
    os.environ["GOVDATA_SECRET_KEY"] = secrets.token_urlsafe(32)


def _load_demo() -> str:
    """Run ``govdata db upgrade`` and ``govdata demo load``; return the demo admin's password."""
    from govdata.cli import app
    from govdata.demo import service as demo

    with contextlib.redirect_stdout(io.StringIO()):  # the demo's account table: throw-away passwords
        for args in (["db", "upgrade"], ["demo", "load"]):
            app(args, standalone_mode=False)
    return next(password for username, _, password in demo.saved_accounts() if username == "admin")


class _Server:
    def __init__(self) -> None:
        import uvicorn

        from govdata.app import create_app

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def _log_in(page, password: str, username: str = "admin") -> None:
    page.goto("/login")
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")
    _charts_drawn(page)


def _a_version_report() -> str:
    """The report page of the demo version with the most rejected rows (the most to look at)."""
    from govdata.db import new_session
    from govdata.ingest import dashboard

    with new_session() as db:
        version = max(dashboard.latest_published_versions(db), key=lambda v: v.rows_rejected)
        return f"/data/{version.resource_code}/versions/{version.number}"


def _charts_drawn(page, count: int = 3) -> None:
    page.locator(".chart canvas").nth(count - 1).wait_for()
    page.wait_for_timeout(1500)  # ECharts' entry animation


def _shoot(page, path: Path) -> None:
    page.screenshot(path=str(path))
    _check_size(path)


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {size // 1024} KB")
    if size > MAX_BYTES:
        raise SystemExit(f"{path} is {size // 1024} KB, over the {MAX_BYTES // 1024} KB budget")


def take(base_url: str, password: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        desktop = browser.new_context(base_url=base_url, locale="zh-CN", **DESKTOP)
        page = desktop.new_page()
        page.goto("/login")
        _shoot(page, out / "login.png")
        _log_in(page, password)
        _shoot(page, out / "home.png")
        page.goto("/orgs")
        _shoot(page, out / "orgs.png")
        page.goto("/action-log")
        _shoot(page, out / "action-log.png")
        page.goto("/catalog?q=%E5%87%BA%E7%94%9F")  # 出生: a search with its results marked, and the facets
        page.locator("#catalog-results article.result").first.wait_for()
        _shoot(page, out / "catalog.png")
        page.locator("#catalog-results article.result h3 a").first.click()
        page.wait_for_url("**/catalog/r/**")
        _shoot(page, out / "resource.png")
        page.goto("/quality")
        _charts_drawn(page, 1)
        _shoot(page, out / "quality.png")
        page.goto(_a_version_report())
        _charts_drawn(page, 2)
        _shoot(page, out / "version-report.png")
        page.goto("/sharing?tab=all")
        page.locator("a[href^='/sharing/requests/']").first.click()
        page.wait_for_url("**/sharing/requests/**")
        _shoot(page, out / "sharing-request.png")
        page.goto("/sharing/evaluation")
        _charts_drawn(page, 1)
        _shoot(page, out / "sharing-evaluation.png")
        page.goto("/audit")
        _shoot(page, out / "audit.png")
        page.goto("/onething")
        _charts_drawn(page, 2)
        _shoot(page, out / "onething.png")
        page.goto("/matters/dashboard")
        _charts_drawn(page, 2)
        _shoot(page, out / "matters-dashboard.png")
        desktop.close()
        officer = browser.new_context(base_url=base_url, locale="zh-CN", **DESKTOP)
        page = officer.new_page()
        _log_in(page, _password("ga_staff"), "ga_staff")
        page.goto("/onething/queue")
        page.locator("a[href^='/onething/tasks/']").first.click()
        page.wait_for_url("**/onething/tasks/**")
        _shoot(page, out / "onething-task.png")
        officer.close()
        _applicant(browser, base_url, out)
        _portal(browser, base_url, out)

        # Sharp on a high-density screen if that fits the size budget, else at 1x.
        for scale in (2, 1):
            phone = browser.new_context(base_url=base_url, locale="zh-CN", device_scale_factor=scale, **PHONE)
            page = phone.new_page()
            _log_in(page, password)
            page.screenshot(path=str(out / "home-phone.png"))
            phone.close()
            if (out / "home-phone.png").stat().st_size <= MAX_BYTES:
                break
        _check_size(out / "home-phone.png")
        browser.close()


def _portal(browser, base_url: str, out: Path) -> None:
    """The public open-data portal (no login), and a department's opening page with the check's report."""
    public = browser.new_context(base_url=base_url, locale="zh-CN", **DESKTOP)
    page = public.new_page()
    page.goto("/open/")
    _charts_drawn(page, 2)
    _shoot(page, out / "open-home.png")
    page.goto("/open/datasets?q=%E5%8C%BB%E7%96%97")  # 医疗
    _shoot(page, out / "open-search.png")
    page.locator("#od-results a[href^='/open/datasets/']").first.click()
    page.wait_for_url("**/open/datasets/**")
    page.locator("#preview-body table").wait_for()
    _shoot(page, out / "open-dataset.png")
    public.close()
    staff = browser.new_context(base_url=base_url, locale="zh-CN", **DESKTOP)
    page = staff.new_page()
    _log_in(page, _password("jy_admin"), "jy_admin")
    page.goto("/opendata?state=refused")  # the demo's refused check: a person's name left in
    page.locator("#open-candidates a[href^='/opendata/datasets/']").first.click()
    page.wait_for_url("**/opendata/datasets/**")
    _shoot(page, out / "open-manage.png")
    staff.close()


def _password(username: str) -> str:
    from govdata.demo import service as demo

    return next(password for name, _, password in demo.saved_accounts() if name == username)


def _applicant(browser, base_url: str, out: Path) -> None:
    """A sample mother of the demo starts 个人出生一件事 on her phone: the plan, then the fetched proofs."""
    phone = browser.new_context(base_url=base_url, locale="zh-CN", device_scale_factor=1, **PHONE)
    page = phone.new_page()
    page.goto("/m/")
    newborn = page.locator("#samples details", has=page.locator("summary", has_text="个人出生一件事"))
    if newborn.get_attribute("open") is None:
        newborn.locator("summary").click()
    newborn.locator("a.m-sample").first.click()
    page.get_by_role("button", name="核验身份并进入").click()
    page.wait_for_url("**/m/start/newborn**")  # a sample applicant goes straight to the package's form
    page.get_by_label("联系电话").fill("13907721234")
    for select in page.locator("#start-form select").all():
        if not select.input_value():
            select.select_option(index=1)
    page.get_by_role("button", name="下一步").click()
    page.wait_for_url("**/m/cases/**")
    _shoot(page, out / "onething-plan-phone.png")
    page.locator("input[name=consent]").check()
    page.get_by_role("button", name="同意并调取").click()
    page.wait_for_load_state()
    _shoot(page, out / "onething-evidence-phone.png")
    phone.close()


def main() -> None:
    out = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium)")
    if not (ROOT / "src" / "govdata" / "web" / "static" / "vendor" / "htmx.min.js").exists():
        raise SystemExit("front-end assets are missing: run `make assets`")
    tmp = Path(tempfile.mkdtemp(prefix="govdata-screenshots-"))
    try:
        _configure(tmp)
        password = _load_demo()
        with _Server() as base_url:
            take(base_url, password, out)
    finally:
        from govdata import db

        db.reset_caches()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
