"""stored documents: each incident's finished JSON document and CSV row

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Reads and exports send `incidents.document` / `incidents.csv_row` as they are instead of
building them from six child tables per request (see app/services/documents.py). They are
written with every change from now on; the upgrade fills them for the incidents already there,
a thousand at a time. A row left without them is still served (built from the tables).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    # Plain ADD COLUMN (not batch mode): on SQLite a batch would rebuild the table and drop the
    # full-text triggers.
    op.add_column("incidents", sa.Column("document", sa.Text(), nullable=True))
    op.add_column("incidents", sa.Column("csv_row", sa.Text(), nullable=True))
    op.add_column("incidents", sa.Column("csv_duration_at", sa.Integer(), nullable=True))
    _fill(op.get_bind())


def downgrade() -> None:
    op.drop_column("incidents", "csv_duration_at")
    op.drop_column("incidents", "csv_row")
    op.drop_column("incidents", "document")


def _fill(connection: sa.Connection) -> None:
    """Render the stored copies of existing incidents with the app's own document builder."""
    from app.services.documents import documents_for_rows, stored_values

    incidents = sa.table(
        "incidents",
        sa.column("id"),
        sa.column("document"),
        sa.column("csv_row"),
        sa.column("csv_duration_at"),
    )
    session = Session(bind=connection)
    full = sa.Table("incidents", sa.MetaData(), autoload_with=connection)
    last = 0
    while True:
        rows = session.execute(sa.select(full).where(full.c.id > last).order_by(full.c.id).limit(BATCH)).all()
        if not rows:
            break
        updates = [
            {"key": document["id"], **stored_values(document)}
            for document in documents_for_rows(session, rows)
        ]
        connection.execute(
            incidents.update()
            .where(incidents.c.id == sa.bindparam("key"))
            .values(document=sa.bindparam("document"), csv_row=sa.bindparam("csv_row")),
            updates,
        )
        last = rows[-1].id
