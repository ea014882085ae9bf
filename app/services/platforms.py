"""Platform vocabulary: alias resolution and creation."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models import Platform

# Where a session keeps the alias map it read (`Session.info`): once per request, the table is small.
ALIASES = "platforms.aliases"


def alias_map(session: Session) -> dict[str, str]:
    """Every slug and alias (lower-case) → slug."""
    mapping = session.info.get(ALIASES)
    if mapping is None:
        mapping = {}
        for slug, aliases in session.execute(sa.select(Platform.slug, Platform.aliases)):
            mapping[slug] = slug
            for alias in aliases or ():
                mapping.setdefault(alias.lower(), slug)
        session.info[ALIASES] = mapping
    return mapping


def forget_aliases(session: Session) -> None:
    """After a change to the vocabulary: the next lookup reads it again."""
    session.info.pop(ALIASES, None)


def resolve(session: Session, value: str) -> str | None:
    return alias_map(session).get(value.strip().lower())


def list_platforms() -> sa.Select:
    return sa.select(Platform).order_by(Platform.slug)
