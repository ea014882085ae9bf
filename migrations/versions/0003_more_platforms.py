"""more platforms: the services the STOP sheet names, and a catch-all

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Data only. Adds the services that the Access Now STOP sheet (2016–2025) names in its free
`other_affected` column, so that a service-based row naming them maps to a platform instead of
being rejected, and `unspecified` for service-based restrictions whose sources name no service
("Social media", "22 websites blocked").

A platform already in the table (an administrator may have added e.g. `grindr` through
POST /api/v1/platforms before this migration) is left as it is: a slug that is already taken as
a slug or alias is skipped, and an alias already taken is left out. The downgrade removes only
the rows this migration inserted (its slugs with its `created_at`) that no incident names; the
ones still in use stay, so a downgrade never fails and never loses incident data.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CREATED = datetime(2026, 11, 29, tzinfo=UTC)

# (slug, name, kind, aliases). Rows of the 2016–2025 sheet naming each: Grindr 85, Reddit 22,
# Pinterest 19, Tumblr 18, VSAT 18, Starlink 18, QQ, Google+, Baidu, Xanga, Flickr and the 2017
# Kashmir order's Snapfish/Vine/Buzznet 17 each (the sheet spells them "Snaptish", "Vinc",
# "Buaanet"; the importer maps those), Qzone 17 (16 spelt "Ozone"), VK 16, Odnoklassniki 16,
# VoIP 14, Blued 10, BoyAhoy 10, Moi Mir 6, Periscope 4, Briar 4, Microsoft Teams 3, Threema 3,
# Zoom 2, Twitch 2.
PLATFORMS = [
    ("grindr", "Grindr", "social_media", []),
    ("blued", "Blued", "social_media", []),
    ("boyahoy", "BoyAhoy", "social_media", []),
    ("vk", "VK (VKontakte)", "social_media", ["vkontakte"]),
    ("odnoklassniki", "Odnoklassniki (OK.ru)", "social_media", ["ok-ru", "okru"]),
    ("moi-mir", "Moi Mir (My.Mail.Ru)", "social_media", ["moimir", "my-mail-ru"]),
    ("reddit", "Reddit", "social_media", []),
    ("pinterest", "Pinterest", "social_media", []),
    ("tumblr", "Tumblr", "social_media", []),
    ("qq", "QQ", "messaging", ["tencent-qq"]),
    ("qzone", "Qzone", "social_media", ["ozone"]),
    ("baidu", "Baidu", "search", []),
    ("flickr", "Flickr", "social_media", []),
    ("google-plus", "Google+", "social_media", ["googleplus"]),
    ("xanga", "Xanga", "social_media", []),
    ("buzznet", "Buzznet", "social_media", []),
    ("snapfish", "Snapfish", "other", []),
    ("vine", "Vine", "video", []),
    ("periscope", "Periscope", "video", []),
    ("twitch", "Twitch", "video", []),
    ("zoom", "Zoom", "messaging", []),
    ("microsoft-teams", "Microsoft Teams", "messaging", ["teams", "ms-teams"]),
    ("threema", "Threema", "messaging", []),
    ("briar", "Briar", "messaging", []),
    ("starlink", "Starlink", "telecom_service", []),
    ("vsat", "VSAT (satellite internet)", "telecom_service", ["vsats"]),
    ("voip", "VoIP calls", "telecom_service", ["voip-calls"]),
    # Catch-all for service-based restrictions whose sources do not name the services.
    ("unspecified", "Unspecified services", "other", []),
]
SLUGS = [slug for slug, _, _, _ in PLATFORMS]

platforms = sa.table(
    "platforms",
    sa.column("slug", sa.String),
    sa.column("name", sa.String),
    sa.column("kind", sa.String),
    sa.column("aliases", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    taken: set[str] = set()
    for slug, aliases in op.get_bind().execute(sa.select(platforms.c.slug, platforms.c.aliases)):
        taken.add(slug.lower())
        taken.update(alias.lower() for alias in aliases or ())
    rows = []
    for slug, name, kind, aliases in PLATFORMS:
        if slug in taken:
            continue
        taken.add(slug)
        free = [alias for alias in aliases if alias not in taken]
        taken.update(free)
        rows.append({"slug": slug, "name": name, "kind": kind, "aliases": free, "created_at": CREATED})
    op.bulk_insert(platforms, rows)


def downgrade() -> None:
    # Platforms that incidents still name stay: a downgrade must never fail or lose incident
    # data, and an extra vocabulary entry is harmless to the older schema.
    in_use = sa.select(sa.table("incident_platforms", sa.column("platform_slug")).c.platform_slug)
    op.execute(
        platforms.delete().where(
            platforms.c.slug.in_(SLUGS), platforms.c.created_at == CREATED, platforms.c.slug.not_in(in_use)
        )
    )
