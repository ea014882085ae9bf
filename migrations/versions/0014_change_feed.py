"""change feed: each revision's place in commit order, its commit time and country; `revert`

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

`incident_revisions` gains `seq` (the change feed's cursor, given at commit in commit order),
`committed_at` (when its transaction committed: what `as_of` compares) and `country` (the
feed's and `as_of`'s country filter); `data_version` gains the clock they are read from.
Reverts, until now `update` revisions whose changes note `revert`, become `revert` revisions.

Existing revisions were committed before commit order was kept: they are numbered in the order
of their ids (the order they were written in), and given their own time as commit time, never
earlier than an earlier-numbered one's. Nothing is deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OLD_ACTIONS = ("create", "update", "delete", "restore")
ACTIONS = (*OLD_ACTIONS, "revert")


def _check(actions: tuple[str, ...]) -> str:
    return "action IN ({})".format(", ".join(f"'{action}'" for action in actions))


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("incident_revisions") as batch:
        batch.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f("ck_incident_revisions_revision_action"), type_="check")
        batch.create_check_constraint("revision_action", _check(ACTIONS))
    with op.batch_alter_table("data_version") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))
        batch.add_column(sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True))

    country = "json_extract(document, '$.country')" if sqlite else "document ->> 'country'"
    reverted = "json_extract(changes, '$.revert')" if sqlite else "(changes -> 'revert')"
    op.execute(
        "UPDATE incident_revisions SET seq = id, committed_at = ordered.committed_at, "
        f"country = {country}, action = CASE WHEN action = 'update' AND {reverted} IS NOT NULL "
        "THEN 'revert' ELSE action END "
        "FROM (SELECT id AS revision_id, max(at) OVER (ORDER BY id) AS committed_at "
        "FROM incident_revisions) AS ordered WHERE incident_revisions.id = ordered.revision_id"
    )
    op.execute(
        "UPDATE data_version SET seq = (SELECT coalesce(max(seq), 0) FROM incident_revisions), "
        "committed_at = (SELECT max(committed_at) FROM incident_revisions)"
    )
    op.create_index("ix_incident_revisions_seq", "incident_revisions", ["seq"], unique=True)
    op.create_index("ix_incident_revisions_incident_seq", "incident_revisions", ["incident_id", "seq"])
    op.create_index("ix_incident_revisions_country_seq", "incident_revisions", ["country", "seq"])
    op.create_index("ix_incident_revisions_action_seq", "incident_revisions", ["action", "seq"])
    op.create_index(
        "ix_incident_revisions_unstamped",
        "incident_revisions",
        ["id"],
        sqlite_where=sa.text("seq IS NULL"),
        postgresql_where=sa.text("seq IS NULL"),
    )


def downgrade() -> None:
    for name in ("unstamped", "action_seq", "country_seq", "incident_seq", "seq"):
        op.drop_index(f"ix_incident_revisions_{name}", table_name="incident_revisions")
    op.execute("UPDATE incident_revisions SET action = 'update' WHERE action = 'revert'")
    with op.batch_alter_table("data_version") as batch:
        batch.drop_column("committed_at")
        batch.drop_column("seq")
    with op.batch_alter_table("incident_revisions") as batch:
        batch.drop_constraint(op.f("ck_incident_revisions_revision_action"), type_="check")
        batch.create_check_constraint("revision_action", _check(OLD_ACTIONS))
        batch.drop_column("committed_at")
        batch.drop_column("seq")
        batch.drop_column("country")
