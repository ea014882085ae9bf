"""data version: a token replaced by every write, the key of cached aggregates

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

List totals and statistics count every matching incident; each worker caches them keyed by
this token (app/services/aggregates.py), which every write to an incident replaces in its own
transaction.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    op.bulk_insert(table, [{"id": 1, "token": secrets.token_hex(16)}])


def downgrade() -> None:
    op.drop_table("data_version")
