"""Platform vocabulary: alias resolution and creation."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy.orm import Session

from app.models import Platform


def alias_map(session: Session) -> dict[str, str]:
    """Every slug and alias (lower-case) → slug; read once per request, the table is small."""
    if has_app_context() and "platform_aliases" in g:
        return g.platform_aliases
    mapping: dict[str, str] = {}
    for slug, aliases in session.execute(sa.select(Platform.slug, Platform.aliases)):
        mapping[slug] = slug
        for alias in aliases or ():
            mapping.setdefault(alias.lower(), slug)
    if has_app_context():
        g.platform_aliases = mapping
    return mapping


def forget_aliases() -> None:
    if has_app_context():
        g.pop("platform_aliases", None)


def resolve(session: Session, value: str) -> str | None:
    return alias_map(session).get(value.strip().lower())


def list_platforms() -> sa.Select:
    return sa.select(Platform).order_by(Platform.slug)
