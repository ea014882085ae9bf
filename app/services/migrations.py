"""Alembic, driven from code: `flask db upgrade/downgrade` and the readiness check use it."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"


def alembic_config(database_url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def migration_state(engine: Engine) -> tuple[str | None, str]:
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, head_revision()


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def upgrade_and_rebuild(database_url: str) -> int:
    """What `flask db upgrade` does: migrate to head, then rebuild the stored copies of a shape
    other than the current one (app/fast/stored.py); returns how many were rebuilt."""
    from app.fast import stored

    upgrade(database_url)
    engine = sa.create_engine(database_url)
    try:
        with Session(engine) as session:
            return stored.rebuild(session)
    finally:
        engine.dispose()


def downgrade(database_url: str, revision: str = "-1") -> None:
    command.downgrade(alembic_config(database_url), revision)


# Engine-specific search objects of migration 0004, maintained by the database, not modelled.
UNMODELLED_TABLES = ("incidents_fts",)
UNMODELLED_COLUMNS = ("search_vector",)
UNMODELLED_INDEXES = ("ix_incidents_search_vector",)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic filter: leave the full-text objects out of autogenerate and drift checks."""
    if type_ == "table" and name and name.startswith(UNMODELLED_TABLES):
        return False
    if type_ == "column" and name in UNMODELLED_COLUMNS:
        return False
    if type_ == "index" and name in UNMODELLED_INDEXES:
        return False
    return True
