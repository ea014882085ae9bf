"""Fixtures: every database test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers

from app import create_app
from app.config import normalize_database_url
from app.db import Base
from app.services import migrations

PG_URL = os.environ.get("TEST_DATABASE_URL")
# Access Now's STOP sheet (2016–2025, public; not in the repository): STOP_SHEET names the file,
# by default where the team keeps it beside the clone. Tests that read it skip without it.
REAL_STOP_FILE = Path(
    os.environ.get("STOP_SHEET")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "stop_combined_2016_2025.csv"
)
# CI sets this so that a PostgreSQL test that cannot run is a failure, never a skip.
REQUIRE_ALL = os.environ.get("REQUIRE_ALL_DATABASES") == "1"
BACKENDS = ["sqlite", "postgresql"]

SEEDED_PLATFORMS_SQL = "SELECT slug FROM platforms"


def pytest_collection_modifyitems(config, items):
    if REQUIRE_ALL and not PG_URL:
        raise pytest.UsageError("REQUIRE_ALL_DATABASES=1 but TEST_DATABASE_URL is not set.")
    # `@pytest.mark.only_on("sqlite")`: a test about one database's own feature is not collected
    # for the other one (deselected, not skipped, so that a skip always means something is missing).
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("only_on")
        param = getattr(getattr(item, "callspec", None), "params", {}).get("database_url")
        (dropped if marker and param and param != marker.args[0] else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> Iterator[str]:
    """A migrated, empty database of each backend, created once per test session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        if not PG_URL:
            if REQUIRE_ALL:
                pytest.fail(
                    "PostgreSQL is required (REQUIRE_ALL_DATABASES=1) but TEST_DATABASE_URL is unset."
                )
            pytest.skip("PostgreSQL: set TEST_DATABASE_URL to run these tests on it too.")
        url = normalize_database_url(PG_URL)
        try:
            _reset_postgres(url)
        except sa.exc.OperationalError as error:
            if REQUIRE_ALL:
                pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {error}")
            pytest.skip(f"PostgreSQL unreachable: {error}")
    migrations.upgrade(url)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        seeded = {row[0] for row in connection.execute(sa.text(SEEDED_PLATFORMS_SQL))}
    engine.dispose()
    request.config._seeded_platforms = seeded  # noqa: SLF001
    yield url


def _clean(app, seeded: set[str]) -> None:
    from app.db import db

    with app.app_context():
        with db.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                if table.name == "platforms":
                    connection.execute(table.delete().where(table.c.slug.not_in(seeded)))
                elif table.name == "platform_names":
                    continue  # the seeded platforms' names stay; the others' go with them (cascade)
                else:
                    connection.execute(table.delete())


class KeyedClient(FlaskClient):
    """A test client that sends `Authorization: Bearer <api_key>` unless a test sets its own."""

    def __init__(self, *args: Any, api_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api_key = api_key

    def open(self, *args: Any, **kwargs: Any):
        if self.api_key and args and isinstance(args[0], str):
            headers = Headers(kwargs.pop("headers", None) or {})
            headers.setdefault("Authorization", f"Bearer {self.api_key}")
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


TEST_CONFIG = {"TESTING": True, "RATELIMIT_ENABLED": False}


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Overridable per test module (rate-limit tests turn limits on)."""
    return {}


@pytest.fixture
def app(database_url, request, app_config):
    application = create_app({"DATABASE_URL": database_url, **TEST_CONFIG, **app_config})
    application.test_client_class = KeyedClient
    _clean(application, request.config._seeded_platforms)  # noqa: SLF001
    yield application
    from app.db import db

    with application.app_context():
        db.engine.dispose()


def make_key(app, name: str, role: str) -> str:
    from app.db import db
    from app.services import auth

    with app.app_context():
        _, plain = auth.create_key(db.session, name, role)
        db.session.commit()
    return plain


@pytest.fixture
def editor_key(app) -> str:
    return make_key(app, "test-editor", "editor")


@pytest.fixture
def admin_key(app) -> str:
    return make_key(app, "test-admin", "admin")


@pytest.fixture
def client(app, editor_key):
    """Most tests act as an editor."""
    return app.test_client(api_key=editor_key)


@pytest.fixture
def admin_client(app, admin_key):
    return app.test_client(api_key=admin_key)


@pytest.fixture
def anon_client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def backend(database_url) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


# --------------------------------------------------------------------------- helpers


def incident_doc(**overrides: Any) -> dict[str, Any]:
    """A minimal valid incident document."""
    doc: dict[str, Any] = {
        "title": "Mobile internet cut in Manipur",
        "country": "IN",
        "area": "Manipur",
        "scope": "regional",
        "shutdown_types": ["full_network"],
        "networks": ["mobile"],
        "start_date": "2023-05-03",
    }
    doc.update(overrides)
    return doc


def create(client, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/incidents", json=incident_doc(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def etag_of(client, incident_id: int) -> str:
    response = client.get(f"/api/v1/incidents/{incident_id}")
    assert response.status_code == 200
    return response.headers["ETag"]
