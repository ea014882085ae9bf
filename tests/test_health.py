"""Probes, Swagger UI, security headers and CORS."""

from __future__ import annotations

import re

import pytest

from app import create_app


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_when_database_unreachable():
    app = create_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "unreachable" in response.get_json()["detail"]


@pytest.mark.parametrize(
    "path", ["/api/v1/incidents", "/api/v1/incidents/1", "/api/v1/stats?group_by=country"]
)
def test_reads_when_database_unreachable_are_503_problems(path):
    """Every read path, the single incident's straight-to-the-driver one included."""
    app = create_app(
        {"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "RATELIMIT_ENABLED": False}
    )
    response = app.test_client().get(path)
    assert response.status_code == 503, response.get_json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "psycopg" not in response.get_data(as_text=True)


def test_readyz_when_not_migrated(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "db upgrade" in response.get_json()["detail"]


def test_swagger_ui_is_self_hosted(client):
    assert client.get("/docs").status_code == 308
    page = client.get("/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/docs/") for a in assets), assets
    for asset in assets:
        with client.get(asset) as response:
            assert response.status_code == 200, asset
    initializer = client.get("/docs/swagger-initializer.js").get_data(as_text=True)
    assert 'validatorUrl: "none"' in initializer
    assert 'data-spec-url="/api/v1/openapi.json"' in html


def test_security_headers_and_cors(client):
    response = client.get("/api/v1/platforms", headers={"Origin": "https://example.org"})
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    exposed = {h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "x-pagination", "link"} <= exposed


def test_unknown_route_is_problem_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["status"] == 404


def test_method_not_allowed_keeps_allow_header(client):
    response = client.delete("/api/v1/platforms")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert response.headers["Content-Type"] == "application/problem+json"


def test_unknown_query_parameter_refused_everywhere_but_head_works(client):
    assert client.get("/api/v1/platforms?slug=x").status_code == 422
    assert client.get("/api/v1/platforms/x?verbose=1").get_json()["errors"] == {
        "query": {"verbose": ["Unknown field."]}
    }
    assert client.head("/api/v1/incidents?country=PK").status_code == 200
    assert client.head("/api/v1/incidents?contry=PK").status_code == 422


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("app_config", [{"SQLITE_BUSY_TIMEOUT_MS": 200}])
def test_a_write_that_waits_out_the_lock_is_a_503(app, client, database_url):
    """Another process holds SQLite's write lock past busy_timeout: the write is a 503 problem
    (retry later), not a 500, and nothing is half-written."""
    import sqlite3

    from sqlalchemy.engine import make_url

    from tests.conftest import create, incident_doc

    create(client, title="Before")
    holder = sqlite3.connect(make_url(database_url).database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = client.post("/api/v1/incidents", json=incident_doc(title="Blocked"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 503, response.get_json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["detail"] == "The database is busy; try again in a moment."
    assert response.headers["Retry-After"] == "1"
    assert [i["title"] for i in client.get("/api/v1/incidents").get_json()] == ["Before"]


def test_no_free_pooled_connection_is_a_503_to_retry(app, client):
    """Every pooled connection in use past the pool's timeout: a 503 with Retry-After, not a 500."""
    from app.db import db

    with app.app_context():
        pool = db.engine.pool
        pool._timeout = 0.05  # noqa: SLF001 - the pool's wait, 30 s by default
        held = [db.engine.connect() for _ in range(pool.size() + pool._max_overflow)]  # noqa: SLF001
        try:
            response = client.get("/api/v1/incidents/1")
        finally:
            for connection in held:
                connection.close()
    assert response.status_code == 503, response.get_json()
    assert response.headers["Retry-After"] == "1"
    assert client.get("/api/v1/incidents").status_code == 200
