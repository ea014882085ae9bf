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
        app.preprocess_request()  # the hooks decide the transaction mode (app/http/transactions.py)
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
        app.preprocess_request()  # the hooks decide the transaction mode (app/http/transactions.py)
        connection = db.session.connection()
        connection.exec_driver_sql("SELECT count(*) FROM incidents").scalar_one()
        status = connection.connection.driver_connection.info.transaction_status
        assert status.name == "IDLE"  # autocommit: no BEGIN was sent, no ROLLBACK will be
    with app.test_request_context("/api/v1/incidents", method="POST"):
        app.preprocess_request()
        connection = db.session.connection()
        connection.exec_driver_sql("SELECT count(*) FROM incidents").scalar_one()
        assert connection.connection.driver_connection.info.transaction_status.name == "INTRANS"
        db.session.rollback()


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_a_read_with_a_new_key_records_its_use_in_autocommit(app, anon_client):
    """A GET's session is in autocommit; the one write a GET makes (the rate limiter checks the
    key, which records when it was last used) still lands."""
    from app.models import ApiKey
    from tests.conftest import make_key

    fresh = make_key(app, "fresh-reader", "editor")
    reply = anon_client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {fresh}"})
    assert reply.status_code == 200
    with app.app_context():
        used = db.session.scalar(sa.select(ApiKey.last_used_at).where(ApiKey.name == "fresh-reader"))
    assert used is not None


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


def _fill_pool(app, count: int) -> list[int]:
    """`count` connections in the pool, each used once; their server processes."""
    with app.app_context():
        db.engine.dispose()
        connections = [db.engine.connect() for _ in range(count)]
        pids = [c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() for c in connections]
        for connection in connections:
            connection.close()
        assert db.engine.pool.checkedin() == count
    return pids


def test_a_one_row_read_on_dead_connections_fails_once_then_the_pool_is_renewed(
    app, client, anon_client, monkeypatch
):
    """A single incident is read on the DB-API connection (app.fast.one_row.OneRow): when the server has
    dropped every pooled connection (a restart under load, no idle ping), the request that meets
    one gets a clean 503, and the pool replaces all of them, as SQLAlchemy's own execution does."""
    made = create(client)
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 3600.0)
    for pid in _fill_pool(app, 4):
        _terminate(app, pid)
    replies = [anon_client.get(f"/api/v1/incidents/{made['id']}") for _ in range(4)]
    assert [r.status_code for r in replies] == [503, 200, 200, 200]
    assert replies[0].headers["Content-Type"] == "application/problem+json"
    assert replies[1].get_json()["title"] == made["title"]


def test_a_one_row_read_leaves_its_connection_as_it_found_it(app, client):
    """OneRow puts a PostgreSQL connection in autocommit for its statement only: the next
    write on the same pooled connection runs in a transaction of its own."""
    from app.fast.pages import STORED_ONE

    made = create(client)
    _fill_pool(app, 1)
    with app.app_context():
        assert STORED_ONE.first(db.engine, incident_id=made["id"])[0] == made["id"]
    with app.test_request_context("/api/v1/incidents", method="POST"):
        app.preprocess_request()
        connection = db.session.connection()
        connection.exec_driver_sql("SELECT 1").scalar_one()
        assert connection.connection.driver_connection.info.transaction_status.name == "INTRANS"
        db.session.rollback()
