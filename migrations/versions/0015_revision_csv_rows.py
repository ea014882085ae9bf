"""revision CSV rows: each revision keeps its document's CSV row, for exports as of a moment

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

`incident_revisions` gains `csv_row` (the CSV row of the revision's document, when it does not
depend on the day: not for an ongoing incident) and `shape` (which columns that row has). An
export as of a moment reads an incident changed since then from that row instead of building
it from the document. Revisions written before keep none: they are built from their
documents, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incident_revisions") as batch:
        batch.add_column(sa.Column("csv_row", sa.Text(), nullable=True))
        batch.add_column(sa.Column("shape", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident_revisions") as batch:
        batch.drop_column("shape")
        batch.drop_column("csv_row")
