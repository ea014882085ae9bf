"""lz4 for the stored documents and revisions (PostgreSQL)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

The stored JSON/CSV copies and the revision documents are 2-4 KB each, so PostgreSQL compresses
them (TOAST); its default, pglz, took half of the server's time to write them in a bulk import
(0.20 s of 0.21 s for the STOP sheet's copies), lz4 about a quarter, and lz4 also reads back
faster. Values already stored keep their compression until rewritten. A server built without
lz4 keeps pglz. SQLite stores them as they are: nothing to do there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = {"incident_documents": ("document", "csv_row"), "incident_revisions": ("document", "changes")}


def _set(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    with bind.begin_nested() as savepoint:
        try:
            for table, columns in COLUMNS.items():
                changes = ", ".join(f"ALTER COLUMN {column} SET COMPRESSION {method}" for column in columns)
                bind.exec_driver_sql(f"ALTER TABLE {table} {changes}")
        except sa.exc.DBAPIError as error:
            if "lz4" not in str(error.orig):
                raise
            savepoint.rollback()  # "compression method lz4 not supported": keep pglz


def upgrade() -> None:
    _set("lz4")


def downgrade() -> None:
    _set("pglz")
