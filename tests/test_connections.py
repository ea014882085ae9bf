"""Pooled connections on PostgreSQL: a read request runs in autocommit (no BEGIN/ROLLBACK round
trips), a connection idle for a while is tested before use, one in steady use is not."""

from __future__ import annotations

import sys

import pytest
import sqlalchemy as sa

from app.db import db
from tests.conftest import create, incident_doc

db_module = sys.modules["app.db"]  # `app.db` the attribute is the Database object


# PostgreSQL's connection handling only (SQLite has no server to lose, no round trips to save).
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _backend_pid(app) -> int:
    """The server process behind the pooled connection the next request will get."""
    with app.test_request_context("/api/v1/incidents", method="GET"):
        return db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def _terminate(app, pid: int) -> None:
    with app.app_context():
        engine = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.pg_terminate_backend(pid))).scalar_one()
    engine.dispose()


def test_a_read_request_leaves_no_transaction_open(app, client):
    create(client)
    with app.test_request_context("/api/v1/incidents", method="GET"):
        connection = db.session.connection()
        connection.exec_driver_sql("SELECT count(*) FROM incidents").scalar_one()
        status = connection.connection.driver_connection.info.transaction_status
        assert status.name == "IDLE"  # autocommit: no BEGIN was sent, no ROLLBACK will be
    with app.test_request_context("/api/v1/incidents", method="POST"):
        connection = db.session.connection()
        connection.exec_driver_sql("SELECT count(*) FROM incidents").scalar_one()
        assert connection.connection.driver_connection.info.transaction_status.name == "INTRANS"
        db.session.rollback()
    # A GET with an API key records the key's use: that write still lands.
    assert client.get("/api/v1/incidents").status_code == 200


def test_an_idle_connection_killed_by_the_server_is_replaced_unseen(app, client, monkeypatch):
    create(client)
    _terminate(app, _backend_pid(app))  # as a server restart or a proxy timeout would
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # "a while" is now
    response = client.get("/api/v1/incidents")
    assert response.status_code == 200
    assert [i["title"] for i in response.get_json()] == [incident_doc()["title"]]


def test_a_connection_killed_between_two_busy_requests_fails_one_request_only(app, client, monkeypatch):
    """Without the idle test (a busy connection is not pinged), the request that meets the dead
    connection gets a clean 503; SQLAlchemy replaces the pool's connections and the next works."""
    create(client)
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 3600.0)
    _terminate(app, _backend_pid(app))
    failed = client.get("/api/v1/incidents")
    assert failed.status_code == 503
    assert failed.headers["Content-Type"] == "application/problem+json"
    assert client.get("/api/v1/incidents").status_code == 200


def test_a_one_row_read_on_a_dead_connection_is_a_503_and_the_connection_is_dropped(app, client, monkeypatch):
    """A single incident is read on the DB-API connection (db.OneRow): a connection that died
    while pooled gives a clean 503 (not a 500), and is not handed out again."""
    made = create(client)
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 3600.0)
    with app.app_context():
        db.engine.dispose()  # one pooled connection: the one about to be killed
    _terminate(app, _backend_pid(app))
    failed = client.get(f"/api/v1/incidents/{made['id']}")
    assert failed.status_code == 503
    assert failed.headers["Content-Type"] == "application/problem+json"
    assert client.get(f"/api/v1/incidents/{made['id']}").get_json()["title"] == made["title"]
