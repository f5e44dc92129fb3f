from __future__ import annotations

from alembic import context

from govdata.db import get_engine
from govdata.models import metadata

config = context.config

# Search index tables (SQLite FTS5 and its shadow tables, PostgreSQL tsvector) are written by hand in
# migration 0004, not modelled: autogenerate must neither drop nor reflect them. tests/test_migrations.py
# applies the same filter.
NOT_MODELLED_PREFIX = "catalog_search"
# ... and the SQLite-only covering index of the open-data portal's search (migration 0011)
NOT_MODELLED_INDEX_PREFIX = "open_search_"


def include_name(name, type_, parent_names) -> bool:
    if type_ == "index" and name and name.startswith(NOT_MODELLED_INDEX_PREFIX):
        return False
    return not (type_ == "table" and name and name.startswith(NOT_MODELLED_PREFIX))


def run_migrations() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    with get_engine(config.get_main_option("sqlalchemy.url")).connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      compare_type=True, include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
