"""Migrations: models and migrations never drift; upgrade/downgrade round trips keep working."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.db import Base
from app.services import migrations
from tests.conftest import create


def test_single_head():
    script = ScriptDirectory.from_config(migrations.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_models_match_migrations(app, database_url):
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": migrations.include_object}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_readyz_reports_migrated(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["migration"] == migrations.head_revision()


def test_downgrade_to_base_and_upgrade_again(app, client, database_url):
    create(client)
    migrations.downgrade(database_url, "base")
    engine = sa.create_engine(database_url)
    try:
        assert "incidents" not in sa.inspect(engine).get_table_names()
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["Content-Type"] == "application/problem+json"
    finally:
        migrations.upgrade(database_url)
        engine.dispose()
    assert client.get("/readyz").status_code == 200
    platforms = client.get("/api/v1/platforms").get_json()
    assert {
        "x",
        "facebook",
        "instagram",
        "whatsapp",
        "telegram",
        "youtube",
        "tiktok",
        "signal",
        "sms",
        "voice-calls",
    } <= {p["slug"] for p in platforms}
