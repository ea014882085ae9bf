"""stored documents: each incident's finished JSON document and CSV row

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Reads and exports send `incident_documents.document` / `.csv_row` as they are instead of
building them from six child tables per request (app/fast/stored.py). A table of its own keeps
`incidents` narrow, so the scans behind counts and statistics stay cheap. The copies are written
with every change from now on. This migration creates the table only (a migration never imports
the app, whose document builder changes with later migrations): an incident without a copy is
served built from its tables, and `flask --app wsgi db upgrade` ends by building the missing
copies with the app's current builder (`incidents rebuild-documents`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
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


def downgrade() -> None:
    op.drop_table("incident_documents")
