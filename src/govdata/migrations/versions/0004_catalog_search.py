"""catalog search: SQLite FTS5 index with its facet tables, or a PostgreSQL tsvector table with a GIN index

These tables are not SQLAlchemy models (env.py and tests/test_migrations.py skip ``catalog_search*``);
govdata.catalog.search writes and reads them (the layout is explained in catalog/search_backends.py). The
catalog ships together with this revision, so there is nothing to back-fill; ``govdata catalog reindex``
rebuilds the index at any time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from __future__ import annotations

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        # document: name terms weighted A, body terms B; names: the name alone (which matches rank first when
        # too many match to rank them all). The facet, filter and sort columns are copied from the entry so
        # that search never reads catalog_entries rows (which carry the whole JSON) but the page's.
        op.execute(
            "CREATE TABLE catalog_search ("
            " resource_id INTEGER NOT NULL PRIMARY KEY"
            " REFERENCES catalog_entries (resource_id) ON DELETE CASCADE,"
            " provider VARCHAR(32) NOT NULL,"
            " classification_code VARCHAR(16) NOT NULL,"
            " share_type VARCHAR(16) NOT NULL,"
            " format VARCHAR(24) NOT NULL,"
            " open BOOLEAN NOT NULL,"
            " update_cycle VARCHAR(16) NOT NULL,"
            " published_at TIMESTAMP WITH TIME ZONE NOT NULL,"
            " name VARCHAR(200) NOT NULL,"
            " names TSVECTOR NOT NULL,"
            " document TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX catalog_search_document ON catalog_search USING GIN (document)")
        op.execute("CREATE INDEX catalog_search_published ON catalog_search (published_at, resource_id)")
        op.execute('CREATE INDEX catalog_search_name ON catalog_search ((name COLLATE "C"), resource_id)')
        # facet counts without a query: an index-only scan instead of reading every tsvector-laden row
        op.execute("CREATE INDEX catalog_search_facets ON catalog_search"
                   " (provider, classification_code, share_type, format, open, update_cycle)")
        return
    # rowid = seq << 20 | combo id; name and body hold space-separated terms (jieba words and CJK bigrams),
    # tags the entry's filter values as tokens no query word can produce
    op.execute(
        "CREATE VIRTUAL TABLE catalog_search USING fts5("
        "name, body, tags, tokenize = 'unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TABLE catalog_search_combos ("
        " id INTEGER NOT NULL PRIMARY KEY,"
        " provider VARCHAR(32) NOT NULL,"
        " classification_code VARCHAR(16) NOT NULL,"
        " share_type VARCHAR(16) NOT NULL,"
        " format VARCHAR(24) NOT NULL,"
        " open BOOLEAN NOT NULL,"
        " entries INTEGER NOT NULL DEFAULT 0,"  # indexed entries with these values
        " crc INTEGER NOT NULL,"  # of the values: lets a process cache them safely
        " UNIQUE (provider, classification_code, share_type, format, open))"
    )
    op.execute(
        "CREATE TABLE catalog_search_docs ("
        " resource_id INTEGER NOT NULL PRIMARY KEY,"
        " doc_id INTEGER NOT NULL UNIQUE,"
        " combo INTEGER NOT NULL,"
        " update_cycle VARCHAR(16) NOT NULL,"
        " name VARCHAR(200) NOT NULL)"
    )
    op.execute("CREATE INDEX catalog_search_docs_cycle ON catalog_search_docs (update_cycle, combo)")
    op.execute("CREATE INDEX catalog_search_docs_name ON catalog_search_docs (name, resource_id)")
    # What ON DELETE CASCADE does on PostgreSQL: an entry leaving the catalog leaves the index.
    op.execute(
        "CREATE TRIGGER catalog_search_entry_deleted BEFORE DELETE ON catalog_entries BEGIN"
        " UPDATE catalog_search_combos SET entries = entries - 1 WHERE id ="
        " (SELECT combo FROM catalog_search_docs WHERE resource_id = old.resource_id);"
        " DELETE FROM catalog_search WHERE rowid ="
        " (SELECT doc_id FROM catalog_search_docs WHERE resource_id = old.resource_id);"
        " DELETE FROM catalog_search_docs WHERE resource_id = old.resource_id;"
        " END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS catalog_search_entry_deleted")
        op.execute("DROP TABLE IF EXISTS catalog_search_docs")
        op.execute("DROP TABLE IF EXISTS catalog_search_combos")
    op.execute("DROP TABLE IF EXISTS catalog_search")
