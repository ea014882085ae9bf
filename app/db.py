"""Declarative base, engine and the per-request session (plain SQLAlchemy 2, no Flask-SQLAlchemy)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime

import orjson
import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Explicit constraint names so alembic can alter and drop them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Current UTC time to the second: what clients see is what is stored."""
    return datetime.now(UTC).replace(microsecond=0)


class UtcDateTime(sa.types.TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, whatever the backend keeps."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if value is not None and dialect.name == "sqlite":
            # SQLite has no time zone type: store naive UTC so text comparison orders correctly.
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_dumps(value: object) -> str:
    # orjson: the revision documents of a bulk import are many.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


JSON_OPTIONS = {"json_serializer": json_dumps, "json_deserializer": orjson.loads}


def make_engine(url: str, *, sqlite_busy_timeout_ms: int = 15000) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, sqlite_busy_timeout_ms)
    return _postgres_engine(url)


def _sqlite_engine(url: str, sqlite_busy_timeout_ms: int) -> Engine:
    engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **JSON_OPTIONS)

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions defeat locking).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Foreign keys are off by default in SQLite; WAL lets readers run beside a writer.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(sqlite_busy_timeout_ms)}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        # A deferred transaction that later upgrades to a writer fails at once with
        # "database is locked" when another writer is active; BEGIN IMMEDIATE waits for
        # busy_timeout instead. Reads keep deferred transactions so they never queue.
        # Straight to the driver: exec_driver_sql would build an execution context and run
        # events for a statement with no rows.
        # Its errors ("database is locked" after busy_timeout) are raised as SQLAlchemy's,
        # as exec_driver_sql would: the app answers those with a 503, not a 500.
        begin = "BEGIN" if _reading() else "BEGIN IMMEDIATE"
        try:
            conn.connection.driver_connection.execute(begin)
        except sqlite3.Error as error:
            raise sa.exc.DBAPIError.instance(begin, (), error, sqlite3.Error, dialect=conn.dialect) from error

    return engine


def _postgres_engine(url: str) -> Engine:
    engine = sa.create_engine(url, pool_size=5, max_overflow=10, **JSON_OPTIONS)

    # A pooled connection idle for a while may be dead (the server restarted, a proxy dropped it):
    # it is tested before use, and replaced if the test fails (the pool tries again). A connection
    # in steady use is not: pool_pre_ping would test every checkout, a round trip per request.
    # A connection that dies while in use fails its request (503), and SQLAlchemy then replaces
    # every connection of the pool.
    @sa.event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _ping_after_idle(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()  # the ping's transaction: leave the connection idle
        except Exception as error:
            raise sa.exc.DisconnectionError(f"a pooled connection is dead: {error}") from error

    return engine


# A pooled PostgreSQL connection unused for this long is tested before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0


_READ_ONLY: ContextVar[bool] = ContextVar("read_only", default=False)


@contextmanager
def read_only() -> Iterator[None]:
    """Transactions begun inside only read (on SQLite a deferred BEGIN, which never takes the
    write lock), and `db.session` first asked for inside is a reader's: entered for a GET's
    request, and for reads outside one, such as an export's reading thread, which would
    otherwise begin as a writer and hold off every write until it ends."""
    token = enter_read_only()
    try:
        yield
    finally:
        leave_read_only(token)


def enter_read_only() -> Token[bool]:
    """`read_only()` entered by hand, for a scope that a hook opens and another closes."""
    return _READ_ONLY.set(True)


def leave_read_only(token: Token[bool]) -> None:
    _READ_ONLY.reset(token)


def _reading() -> bool:
    """Whether the transactions begun now only read: inside `read_only()`, which the HTTP layer
    enters for a GET, HEAD or OPTIONS request (app/http/transactions.py)."""
    return _READ_ONLY.get()


class Database:
    """Hands out the app's engine and one session per request (or CLI command)."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(
            app.config["DATABASE_URL"],
            sqlite_busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"],
        )
        # A GET's session on PostgreSQL runs in autocommit: each statement is its own
        # transaction, which READ COMMITTED gave it anyway (a snapshot per statement), without
        # the BEGIN and ROLLBACK round trips around it. SQLite's BEGIN costs no round trip, and
        # its read transaction keeps one snapshot for every statement of the request.
        reads = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else engine
        )
        app.extensions["database"] = {
            "engine": engine,
            "session_factory": sessionmaker(engine, expire_on_commit=False),
            "read_session_factory": sessionmaker(reads, expire_on_commit=False),
        }
        app.teardown_appcontext(self._remove_session)

    @staticmethod
    def _remove_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    @property
    def engine(self) -> Engine:
        return current_app.extensions["database"]["engine"]

    def new_session(self) -> Session:
        """A session of its own, for work that outlives the request (a streamed export)."""
        return current_app.extensions["database"]["session_factory"]()

    @property
    def session(self) -> Session:
        """The request's session (a read request's is in autocommit on PostgreSQL)."""
        if "db_session" not in g:
            factory = "read_session_factory" if _reading() else "session_factory"
            g.db_session = current_app.extensions["database"][factory]()
        return g.db_session


db = Database()
