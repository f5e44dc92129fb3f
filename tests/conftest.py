"""Test fixtures. Every database test runs on SQLite; with GOVDATA_TEST_POSTGRES set (``.ci/run`` sets it)
it runs again on a fresh PostgreSQL database created for this run and dropped afterwards.

The browser fixtures at the end (Chromium through Playwright against the app served by uvicorn) are shared by
every domain's browser tests (tests/web, tests/catalog, …): they must be defined once, because one process can
run only one Playwright instance at a time."""

from __future__ import annotations

import os
import re
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_VAR = Path(tempfile.mkdtemp(prefix="govdata-test-"))
os.environ["GOVDATA_VAR_DIR"] = str(_VAR)
os.environ["GOVDATA_SECRET_KEY"] = secrets.token_urlsafe(32)
os.environ["GOVDATA_DATA_DIR"] = str(_VAR / "data")
os.environ["GOVDATA_WORKER_THREADS"] = "0"  # tests run jobs themselves (jobs.service.run_pending)
# argon2id at its cheapest sound setting: every fixture that creates people hashes passwords (production keeps
# argon2-cffi's defaults; tests/accounts check hashing and verification, not the cost)
os.environ["GOVDATA_ARGON2_TIME_COST"] = "1"
os.environ["GOVDATA_ARGON2_MEMORY_KIB"] = "1024"

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from govdata import db as dbmod  # noqa: E402
from govdata import migrate  # noqa: E402
from govdata.models import metadata  # noqa: E402
from tests.scratchdb import create_pg_database, drop_pg_database  # noqa: E402

# fixtures that several domains' tests use (a published person resource, granted access to it)
pytest_plugins = ("tests.ingest.fixtures", "tests.sharing.fixtures")

PG_ADMIN_URL = os.environ.get("GOVDATA_TEST_POSTGRES")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_ADMIN_URL else [])


def _create_pg_database() -> tuple[str, str]:
    return create_pg_database(PG_ADMIN_URL, f"govdata_test_{os.getpid()}")


def _drop_pg_database(name: str) -> None:
    drop_pg_database(PG_ADMIN_URL, name)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{_VAR / f'test-{os.getpid()}.db'}"
        _use(url)
        yield url
        return
    url, name = _create_pg_database()
    _use(url)
    try:
        yield url
    finally:
        dbmod.reset_caches()
        _drop_pg_database(name)


def _use(url: str) -> None:
    os.environ["GOVDATA_DATABASE_URL"] = url
    dbmod.reset_caches()
    migrate.upgrade(url)


@pytest.fixture(autouse=True)
def _no_remembered_credentials() -> None:
    """Each test starts without credentials remembered from an earlier one (the database is emptied)."""
    from govdata.accounts import service as accounts

    accounts.forget_credentials()


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    """A session on a migrated, empty database; every table is emptied after the test."""
    os.environ["GOVDATA_DATABASE_URL"] = database_url
    dbmod.reset_caches() if dbmod.get_settings().database_url != database_url else None
    session = dbmod.new_session()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
        _empty_tables(database_url)


def _empty_tables(url: str) -> None:
    engine = dbmod.get_engine(url)
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            tables.append("catalog_search")  # the search index (migration 0004) is not in metadata
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in ["catalog_search", "catalog_search_docs", "catalog_search_combos", *tables]:  # 0004
                conn.execute(text(f'DELETE FROM "{table}"'))
        _reseed(conn)


def _reseed(conn) -> None:
    """Rows the migrations ship (the catalog's classification tree, the masking rules) come back after every test."""
    from govdata.catalog.classifications import seed_rows
    from govdata.catalog.models import Classification
    from govdata.exchange.models import MaskingRule, default_rule_rows

    conn.execute(Classification.__table__.insert(), seed_rows())
    conn.execute(MaskingRule.__table__.insert(), default_rule_rows())


@pytest.fixture
def client(db: Session) -> Iterator[TestClient]:
    from govdata.app import create_app

    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def var_dir() -> Path:
    return _VAR


# ---- browser tests ------------------------------------------------------------------------------------------
# Debian's Chromium driven by Playwright against the real app, served by uvicorn on a free 127.0.0.1 port in a
# background thread, on the test database above. Without /usr/bin/chromium the browser tests are skipped,
# unless GOVDATA_TEST_BROWSER=1 (set by CI), in which case they fail: a CI run must never pass by silently
# skipping them. Browser test modules share the xdist group "browser", so one worker runs them all.

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VENDOR = Path(__file__).resolve().parents[1] / "src" / "govdata" / "web" / "static" / "vendor"
VENDOR_FILES = ("htmx.min.js", "echarts.min.js", "pico.min.css")
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("GOVDATA_TEST_BROWSER") == "1":
            pytest.fail(f"GOVDATA_TEST_BROWSER=1 but {message}", pytrace=False)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def vendor_assets() -> Path:
    """The pages load htmx, ECharts and Pico from /static/vendor; without them the tests would not test
    what users get, so a missing build is an error, not a skip."""
    missing = [name for name in VENDOR_FILES if not (VENDOR / name).is_file()]
    if missing:
        pytest.fail(f"front-end assets missing from {VENDOR}: {', '.join(missing)} — run `make assets`",
                    pytrace=False)
    return VENDOR


@pytest.fixture(scope="session")
def browser(chromium_path: Path, vendor_assets: Path) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class _ThreadedServer:
    """uvicorn in a daemon thread (uvicorn installs no signal handlers off the main thread)."""

    def __init__(self) -> None:
        import uvicorn

        from govdata.app import create_app

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(create_app(), log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True,
                                       name="govdata-uvicorn")

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture(scope="module")
def live_server(database_url: str) -> Iterator[str]:
    """Base URL of the app. One server per module and backend: every request opens a session through
    ``govdata.db.get_db``, which follows GOVDATA_DATABASE_URL as set by ``database_url``/``db``, so the
    server sees exactly what each test seeds with the function-scoped ``db`` fixture."""
    server = _ThreadedServer()
    try:
        yield server.start()
    finally:
        server.stop()


@dataclass
class PageProblems:
    """Console errors, uncaught exceptions, failed requests and HTTP errors seen by one page.
    CSP violations are reported by Chromium as console errors ("Refused to …"), so they land here too."""

    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Tolerate problems matching ``pattern`` — for responses a test expects (e.g. a 403 page)."""
        self.allowed.append(re.compile(pattern))

    def add(self, text: str) -> None:
        self.problems.append(text)

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def new_page(browser, live_server: str, problems: PageProblems):
    """``new_page(**context_options)`` opens a page in a fresh browser context (own cookies) with every
    console error, page error, failed request and 4xx/5xx response recorded in ``problems``. At the end
    of the test, any of those the test did not explicitly allow fails it."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(base_url=live_server, locale="zh-CN", **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: problems.add(f"console.{m.type}: {m.text} @ {m.location.get('url')}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.add(f"pageerror: {e}"))
        # ERR_ABORTED: a load cut short because the test moved on to the next page — not a fault.
        page.on("requestfailed", lambda r: problems.add(f"requestfailed: {r.method} {r.url} {r.failure}")
                if r.failure != "net::ERR_ABORTED" else None)
        page.on("response", lambda r: problems.add(f"http {r.status}: {r.request.method} {r.url}")
                if r.status >= 400 else None)
        return page

    yield make
    for context in contexts:
        context.close()
    unexpected = problems.unexpected()
    assert not unexpected, "browser reported problems:\n" + "\n".join(unexpected)
