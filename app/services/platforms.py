"""Platform vocabulary: alias resolution and creation."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models import Platform, PlatformName

# Where a session keeps the alias map it read (`Session.info`): once per request, the table is small.
ALIASES = "platforms.aliases"


def alias_map(session: Session) -> dict[str, str]:
    """Every slug and alias (lower-case) → slug."""
    mapping = session.info.get(ALIASES)
    if mapping is None:
        mapping = dict(session.execute(sa.select(PlatformName.name, PlatformName.platform_slug)).all())
        session.info[ALIASES] = mapping
    return mapping


def forget_aliases(session: Session) -> None:
    """After a change to the vocabulary: the next lookup reads it again."""
    session.info.pop(ALIASES, None)


def resolve(session: Session, value: str) -> str | None:
    return alias_map(session).get(value.strip().lower())


def list_platforms() -> sa.Select:
    return sa.select(Platform).order_by(Platform.slug)


def names_of(data: dict[str, Any]) -> list[str]:
    """The names a new platform claims: its slug, then its aliases (lower-case, once each)."""
    return list(dict.fromkeys(name.lower() for name in [data["slug"], *data["aliases"]]))


def first_taken(session: Session, names: list[str]) -> tuple[str, str] | None:
    """(name, the platform that holds it) for the first of `names` already taken, read now."""
    holders = dict(
        session.execute(
            sa.select(PlatformName.name, PlatformName.platform_slug).where(PlatformName.name.in_(names))
        ).all()
    )
    return next(((name, holders[name]) for name in names if name in holders), None)


def add_platform(session: Session, data: dict[str, Any]) -> Platform:
    """A new platform and its names, to be committed by the caller. Two platforms racing for a
    name: the second commit fails on `platform_names`' key (IntegrityError)."""
    names = names_of(data)
    platform = Platform(**{**data, "aliases": names[1:]})
    session.add(platform)
    session.flush()  # the platform first: its names refer to it
    session.add_all(PlatformName(name=name, platform_slug=platform.slug) for name in names)
    session.flush()
    forget_aliases(session)
    return platform
