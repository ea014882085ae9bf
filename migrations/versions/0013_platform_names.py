"""platform names: every slug and alias in a table whose key keeps a name to one platform

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

Until now a platform's aliases were only a JSON list: two admins adding platforms at the same
moment could both claim an alias (a check before the write cannot stop that), and the name then
resolved to whichever platform a query happened to read first. `platform_names` holds every name
(the slug and each alias, lower-case) with the platform it names; its primary key refuses a
second claim whatever the concurrency.

Existing claims are resolved deterministically, and nothing else changes: a slug always names
its own platform; an alias goes to the platform added first (`created_at`, then slug) among
those listing it. An alias that loses is taken out of the losing platform's `aliases` list (so
that the list shows what resolves) and reported in the migration's log. No platform is deleted.
The downgrade drops the table and leaves the lists as they are.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

platforms = sa.table(
    "platforms",
    sa.column("slug", sa.String),
    sa.column("aliases", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
platform_names = sa.table(
    "platform_names",
    sa.column("name", sa.String),
    sa.column("platform_slug", sa.String),
)


def upgrade() -> None:
    op.create_table(
        "platform_names",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("platform_slug", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_slug"],
            ["platforms.slug"],
            name=op.f("fk_platform_names_platform_slug_platforms"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_platform_names")),
    )
    op.create_index(op.f("ix_platform_names_platform_slug"), "platform_names", ["platform_slug"])
    _fill()


def _fill() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(platforms.c.slug, platforms.c.aliases).order_by(platforms.c.created_at, platforms.c.slug)
    ).all()
    owner = {slug.lower(): slug for slug, _ in rows}
    for slug, aliases in rows:
        kept = []
        for alias in aliases or ():
            name = alias.lower()
            if name not in owner:
                owner[name] = slug
                kept.append(alias)
            elif owner[name] != slug:
                log.warning(
                    "platform names: alias '%s' of platform '%s' is already a name of '%s'; "
                    "taken out of '%s' aliases",
                    alias,
                    slug,
                    owner[name],
                    slug,
                )
            # else: the same name twice in one platform, kept once
        if kept != list(aliases or ()):
            connection.execute(platforms.update().where(platforms.c.slug == slug).values(aliases=kept))
    if owner:
        op.bulk_insert(platform_names, [{"name": n, "platform_slug": s} for n, s in owner.items()])


def downgrade() -> None:
    op.drop_index(op.f("ix_platform_names_platform_slug"), table_name="platform_names")
    op.drop_table("platform_names")
