"""Test fixtures. Every database test runs on SQLite; with GOVDATA_TEST_POSTGRES set (``.ci/run`` sets it)
it runs again on a fresh PostgreSQL database created for this run and dropped afterwards."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

_VAR = Path(tempfile.mkdtemp(prefix="govdata-test-"))
os.environ["GOVDATA_VAR_DIR"] = str(_VAR)
os.environ["GOVDATA_SECRET_KEY"] = secrets.token_urlsafe(32)
os.environ["GOVDATA_DATA_DIR"] = str(_VAR / "data")

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from govdata import db as dbmod  # noqa: E402
from govdata import migrate  # noqa: E402
from govdata.models import metadata  # noqa: E402

PG_ADMIN_URL = os.environ.get("GOVDATA_TEST_POSTGRES")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_ADMIN_URL else [])


def _create_pg_database() -> tuple[str, str]:
    name = f"govdata_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False), name


def _drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def client(db: Session) -> Iterator[TestClient]:
    from govdata.app import create_app

    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def var_dir() -> Path:
    return _VAR
