"""indexes for every list filter

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

The scope, ordered_by, actual_cause and official_justification filters had no index.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_actual_cause"), ["actual_cause"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_incidents_official_justification"), ["official_justification"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_incidents_ordered_by"), ["ordered_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_scope"), ["scope"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_scope"))
        batch_op.drop_index(batch_op.f("ix_incidents_ordered_by"))
        batch_op.drop_index(batch_op.f("ix_incidents_official_justification"))
        batch_op.drop_index(batch_op.f("ix_incidents_actual_cause"))
