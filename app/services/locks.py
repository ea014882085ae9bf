"""Database-wide locks for work that must not run twice at once (no Flask in here)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

# pg_advisory_xact_lock's key for imports: any 64-bit number no other lock of this database uses.
IMPORT_LOCK_KEY = 0x1D_0015_1A


def one_import_at_a_time(session: Session) -> None:
    """Hold the database's import lock until the session's transaction ends (commit or rollback).

    An import reads which incidents exist, then creates the others: two at once would both read
    "none" and create everything twice. PostgreSQL: a transaction-scoped advisory lock, taken
    before the first read, so the second import waits and then reads what the first wrote.
    SQLite: a writer's transaction begins with BEGIN IMMEDIATE (app/db.py), which takes the
    database's write lock; beginning it here, before the first read, closes the same window.
    """
    connection = session.connection()  # begins the transaction (SQLite: BEGIN IMMEDIATE)
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})
