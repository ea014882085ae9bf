"""A one-row SELECT on a pooled DB-API connection, for a request whose whole work is one lookup."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine


class OneRow:
    """A one-row SELECT run straight on a pooled DB-API connection, for a request whose whole
    work is one indexed lookup (a single incident). Compiled once per dialect; no session, no
    transaction (SQLite's connections are in autocommit until a BEGIN; a PostgreSQL connection
    is put in autocommit for the statement), no execution context, no result processing: the
    row is the driver's tuple (SQLite gives dates as ISO text).

    Plain twin: `session.execute(statement, parameters).first()`, with the session, execution
    context and result objects this skips. The test that proves the two read the same row:
    tests/test_fast_paths.py::test_one_row_reads_what_the_session_reads.

    Parameters go to the driver as they are: a statement whose parameters SQLAlchemy would
    convert is refused when compiled. Driver errors are raised as SQLAlchemy's (an unreachable
    database is a 503 as anywhere else), and a dead connection makes the pool replace them all,
    as SQLAlchemy's own execution does.
    """

    def __init__(self, statement: sa.Select) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def sql(self, dialect: sa.Dialect, parameters: dict[str, object]) -> tuple[str, Any]:
        """The SQL and DB-API parameters that `first` runs."""
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            statement = self.statement.compile(dialect=dialect)
            if statement._bind_processors:  # noqa: SLF001 - what execution would convert
                raise ValueError(f"OneRow cannot bind {sorted(statement._bind_processors)} as they are")  # noqa: SLF001
            order = tuple(statement.positiontup) if statement.positiontup is not None else None
            # Values written into the statement itself (`status == "ongoing"`) are parameters too.
            fixed = {
                statement.bind_names[bind]: bind.effective_value
                for bind in statement.binds.values()
                if not bind.required
            }
            compiled = self._compiled[dialect.name] = (statement.string, order, fixed)
        sql, order, fixed = compiled
        values = {**fixed, **parameters} if fixed else parameters
        return sql, tuple(values[name] for name in order) if order is not None else values

    def first(self, engine: Engine, **parameters: object) -> tuple | None:
        dialect = engine.dialect
        sql, bound = self.sql(dialect, parameters)
        try:
            connection = engine.raw_connection()
        except dialect.loaded_dbapi.Error as error:  # the database cannot be reached
            raise sa.exc.DBAPIError.instance(
                None, None, error, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error
        driver = connection.driver_connection
        postgres = dialect.name == "postgresql"
        try:
            if postgres:
                driver.autocommit = True  # no BEGIN, and no ROLLBACK when it goes back
            cursor = driver.cursor()
            try:
                cursor.execute(sql, bound)
                return cursor.fetchone()
            finally:
                cursor.close()
        except dialect.loaded_dbapi.Error as error:
            dead = dialect.is_disconnect(error, driver, None)
            if dead:
                # As SQLAlchemy's execution does: every connection of the pool older than this
                # one is replaced at its next checkout, not only this one.
                engine.pool._invalidate(connection, error)  # noqa: SLF001
            raise sa.exc.DBAPIError.instance(
                sql, bound, error, dialect.loaded_dbapi.Error, connection_invalidated=dead, dialect=dialect
            ) from error
        finally:
            if postgres and connection.is_valid:
                try:
                    driver.autocommit = False
                except dialect.loaded_dbapi.Error as error:
                    connection.invalidate(error)
            connection.close()
