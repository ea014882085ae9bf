"""A consistent copy of the SQLite database while the API keeps writing (SQLite's online backup API)."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupSummary:
    source: Path
    target: Path
    size_bytes: int
    incidents: int
    deleted: int
    migration: str | None


def postgres_advice(url: str) -> str:
    """What to run instead on PostgreSQL (the URL as pg_dump takes it, without its password)."""
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=True)
    return (
        "The database is PostgreSQL: back it up with pg_dump, which takes a consistent snapshot "
        f"while the API keeps serving, e.g. pg_dump --format=custom --file=tracker.dump '{plain}' "
        "(restore with pg_restore --clean --if-exists --no-owner --dbname=… tracker.dump; "
        "README.md, section Production)."
    )


def sqlite_path(url: str) -> Path:
    """The file of a SQLite database URL; BackupError for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        raise BackupError("The database is in memory (DATABASE_URL=sqlite://): there is no file to back up.")
    return Path(database).resolve()


def backup_sqlite(
    source: Path, target: Path, *, replace: bool = False, busy_timeout_ms: int = 15000
) -> BackupSummary:
    """Copy the SQLite database `source` to `target` as one consistent snapshot.

    `Connection.backup` in a single step reads the whole database inside one read transaction:
    in WAL mode writers go on meanwhile, and the copy holds exactly the transactions committed
    before it began (a copy in several steps would restart whenever another connection writes).
    The copy is written beside `target`, checked (`PRAGMA integrity_check`), switched to a
    rollback journal so that it is one self-contained file, and only then renamed to `target`:
    a failed or interrupted backup never leaves a half-written file under that name.
    """
    target = target.resolve()
    if not source.is_file():
        raise BackupError(f"No database file at {source}: check DATABASE_URL.")
    own_files = {source, *(source.with_name(source.name + suffix) for suffix in ("-wal", "-shm", "-journal"))}
    if target in own_files:
        raise BackupError(f"{target} is the database itself or one of its files: choose another name.")
    if target.exists() and not replace:
        raise BackupError(f"{target} exists: choose a new name, or pass --force to replace it.")
    if not target.parent.is_dir():
        raise BackupError(f"No directory {target.parent}: create it first.")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        _copy(source, partial, busy_timeout_ms)
        summary = _summary(source, target, partial)
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as error:
        raise BackupError(f"The backup failed ({error}); {target} was not written.") from error
    finally:
        partial.unlink(missing_ok=True)
    return summary


def _copy(source: Path, partial: Path, busy_timeout_ms: int) -> None:
    partial.unlink(missing_ok=True)
    timeout = busy_timeout_ms / 1000
    with closing(sqlite3.connect(source, timeout=timeout)) as reader:
        with closing(sqlite3.connect(partial, timeout=timeout)) as copy:
            reader.backup(copy)  # pages=-1: the whole database in one step, one snapshot
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(
                    f"The copy failed SQLite's integrity check ({verdict}); the database was not changed."
                )
            copy.execute("PRAGMA journal_mode=DELETE")  # one file: no -wal or -shm beside it
    with open(partial, "rb") as written:
        os.fsync(written.fileno())


def _summary(source: Path, target: Path, partial: Path) -> BackupSummary:
    """What the copy holds, read from the copy itself."""
    with closing(sqlite3.connect(f"file:{partial}?mode=ro", uri=True)) as copy:
        tables = {name for (name,) in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"incidents", "alembic_version"} <= tables:
            raise BackupError("The database has no tables yet: run `flask --app wsgi db upgrade` first.")
        live, deleted = copy.execute(
            "SELECT count(*) - count(deleted_at), count(deleted_at) FROM incidents"
        ).fetchone()
        migration = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    return BackupSummary(source, target, partial.stat().st_size, live, deleted, migration and migration[0])
