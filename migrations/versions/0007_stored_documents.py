"""stored documents: each incident's finished JSON document and CSV row

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Reads and exports send `incident_documents.document` / `.csv_row` as they are instead of
building them from six child tables per request (see app/services/documents.py). A table of its
own keeps `incidents` narrow, so the scans behind counts and statistics stay cheap. The copies
are written with every change from now on; the upgrade fills them for the incidents already
there, a thousand at a time. An incident without one is still served (built from the tables).
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
    table = op.create_table(
        "incident_documents",
        sa.Column("incident_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("csv_row", sa.Text(), nullable=False),
        sa.Column("csv_duration_at", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_documents_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incident_documents")),
    )
    _fill(op.get_bind(), table)


def downgrade() -> None:
    op.drop_table("incident_documents")


def _fill(connection: sa.Connection, table: sa.Table) -> None:
    """Render the stored copies of existing incidents with the app's own document builder."""
    from app.services.documents import documents_for_rows, stored_values

    session = Session(bind=connection)
    incidents = sa.Table("incidents", sa.MetaData(), autoload_with=connection)
    last = 0
    while True:
        rows = session.execute(
            sa.select(incidents).where(incidents.c.id > last).order_by(incidents.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        stored = [
            {"incident_id": document["id"], **stored_values(document)}
            for document in documents_for_rows(session, rows)
        ]
        connection.execute(table.insert(), stored)
        last = rows[-1].id
