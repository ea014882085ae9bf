"""provenance: where each incident, statement, court case and source came from, and when

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

Adds `provenance` and `provenance_at` to incidents, acknowledgements, legal_cases and sources,
and to incidents the STOP sheet's rows (`stop_rows`, shown) and what the STOP import last wrote
(`import_state`, internal). Existing records were made before provenance was kept: an incident
becomes `legacy:<actor of its first revision>` at its creation time, a child record `legacy`
(no time: when it was added is not known).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

CHILD_TABLES = ("acknowledgements", "legal_cases", "sources")


def _provenance_columns(table: str) -> None:
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("provenance", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("provenance_at", sa.DateTime(timezone=True), nullable=True))


def upgrade() -> None:
    _provenance_columns("incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("stop_rows", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("import_state", sa.JSON(), nullable=True))
    for table in CHILD_TABLES:
        _provenance_columns(table)
    op.execute(
        "UPDATE incidents SET provenance_at = created_at, provenance = 'legacy:' || ("
        "SELECT r.actor FROM incident_revisions r WHERE r.incident_id = incidents.id "
        "ORDER BY r.revision LIMIT 1)"
    )
    op.execute("UPDATE incidents SET provenance = 'legacy' WHERE provenance IS NULL")
    for table in CHILD_TABLES:
        op.execute(f"UPDATE {table} SET provenance = 'legacy'")


def downgrade() -> None:
    for table in (*CHILD_TABLES, "incidents"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("provenance_at")
            batch.drop_column("provenance")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("import_state")
        batch.drop_column("stop_rows")
