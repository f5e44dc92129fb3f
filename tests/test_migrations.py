from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from govdata import db as dbmod
from govdata import migrate
from govdata.models import metadata


def _include_name(name, type_, parent_names) -> bool:
    """The filter of migrations/env.py: the search index tables (``catalog_search*``) and the portal's SQLite
    covering index (``open_search_*``) are not models."""
    if type_ == "index" and name and name.startswith("open_search_"):
        return False
    return not (type_ == "table" and name and name.startswith("catalog_search"))


def test_migrations_match_the_models(db, database_url):
    """A model change without its migration fails here, on SQLite and PostgreSQL alike."""
    with dbmod.get_engine(database_url).connect() as conn:
        opts = {"compare_type": True, "include_name": _include_name}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
    assert diff == []


def test_database_is_at_head_and_upgrade_is_idempotent(db, database_url):
    assert migrate.current_revision(database_url) == migrate.head_revision()
    migrate.upgrade(database_url)
    assert migrate.current_revision(database_url) == migrate.head_revision()
    tables = set(inspect(dbmod.get_engine(database_url)).get_table_names())
    assert {"organizations", "users", "user_sessions", "api_credentials", "action_log"} <= tables


def test_sqlite_runs_in_wal_mode(db, database_url):
    if not database_url.startswith("sqlite"):
        return
    assert db.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert db.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
