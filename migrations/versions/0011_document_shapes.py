"""document shapes: each stored copy says which shape of the document built it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

`incident_documents.shape` is the fingerprint of the document definition a copy was built with
(app/document/shape.py). A copy of another shape (NULL for the copies made before this
migration) is never served: it is built from the tables at read until `flask --app wsgi db
upgrade` (or `incidents rebuild-documents`) rebuilds it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incident_documents") as batch:
        batch.add_column(sa.Column("shape", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident_documents") as batch:
        batch.drop_column("shape")
