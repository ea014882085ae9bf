"""full-text search: FTS5 on SQLite, a tsvector column with a GIN index on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

`q` searched with LIKE '%…%', a scan of every incident. Both engines now keep a word index of
title, description, area and decision maker. Neither object is in the SQLAlchemy models (they
are engine-specific and maintained by the database itself); `app.services.migrations` tells
the model/migration drift check to skip them.

SQLite: an external-content FTS5 table `incidents_fts` (rowid = incidents.id) and triggers that
keep it in step with inserts, updates and deletes. PostgreSQL: a stored generated column
`incidents.search_vector` and a GIN index. Both tokenise the same way ('simple': no stemming,
no accent folding).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = "title, description, area, decision_maker"
NEW = "new.title, new.description, new.area, new.decision_maker"
OLD = "old.title, old.description, old.area, old.decision_maker"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE incidents ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            "(to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(description, '') || ' ' || "
            "coalesce(area, '') || ' ' || coalesce(decision_maker, ''))) STORED"
        )
        op.execute("CREATE INDEX ix_incidents_search_vector ON incidents USING gin (search_vector)")
        return
    op.execute(
        f"CREATE VIRTUAL TABLE incidents_fts USING fts5({COLUMNS}, content='incidents', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 0')"
    )
    op.execute(
        f"CREATE TRIGGER incidents_fts_insert AFTER INSERT ON incidents BEGIN "
        f"INSERT INTO incidents_fts(rowid, {COLUMNS}) VALUES (new.id, {NEW}); END"
    )
    op.execute(
        f"CREATE TRIGGER incidents_fts_delete AFTER DELETE ON incidents BEGIN "
        f"INSERT INTO incidents_fts(incidents_fts, rowid, {COLUMNS}) VALUES ('delete', old.id, {OLD}); END"
    )
    op.execute(
        f"CREATE TRIGGER incidents_fts_update AFTER UPDATE OF {COLUMNS} ON incidents BEGIN "
        f"INSERT INTO incidents_fts(incidents_fts, rowid, {COLUMNS}) VALUES ('delete', old.id, {OLD}); "
        f"INSERT INTO incidents_fts(rowid, {COLUMNS}) VALUES (new.id, {NEW}); END"
    )
    op.execute("INSERT INTO incidents_fts(incidents_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_incidents_search_vector")
        op.execute("ALTER TABLE incidents DROP COLUMN IF EXISTS search_vector")
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS incidents_fts_{trigger}")
    op.execute("DROP TABLE IF EXISTS incidents_fts")
