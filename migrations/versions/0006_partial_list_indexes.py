"""partial list indexes: live incidents only, ending in id

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

Every list, export and count reads live incidents (`deleted_at IS NULL`) in an order ending in
id. With that condition in the indexes and id as their last column, a filtered page and its
count are answered from the index alone (the benchmark showed `count(*)` reading every row).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
INDEXES = {
    "ix_incidents_start_date_id": (["start_date", "id"], ["start_date", "id"]),
    "ix_incidents_country_start_date": (["country", "start_date", "id"], ["country", "start_date"]),
}


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for name, (columns, _) in INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False, sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for name, (_, columns) in INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
