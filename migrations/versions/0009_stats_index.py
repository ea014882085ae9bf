"""stats index: a partial index covering what /stats reads

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

The benchmark's first /stats after a write read every matching incident row (3.4 s at a
million incidents on SQLite, the rows being wide with their descriptions). This index holds
every column the grouped query needs, for live incidents, country first (the usual grouping).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = [
    "country",
    "start_date",
    "status",
    "end_date",
    "acknowledgement_status",
    "litigation_status",
    "actual_cause",
    "official_justification",
]
LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    # Not batch mode: on SQLite a batch would rebuild the table and drop the full-text triggers.
    op.create_index("ix_incidents_stats", "incidents", COLUMNS, sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    op.drop_index("ix_incidents_stats", table_name="incidents")
