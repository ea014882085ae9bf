"""Command-line interface: `flask --app wsgi db …` and `flask --app wsgi demo load`."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.services import migrations

db_cli = AppGroup("db", help="Database migrations (alembic).")
demo_cli = AppGroup("demo", help="The demo incident.")
keys_cli = AppGroup("keys", help="API keys.")
incidents_cli = AppGroup("incidents", help="Bulk work on incidents.")


def _as_cli():
    """Commands write with the actor `cli` in the revision history."""
    from app.db import db
    from app.services import revisions

    revisions.set_actor(db.session, "cli")
    return db.session


@keys_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["editor", "admin"]), default="editor", show_default=True)
def keys_create(name: str, role: str) -> None:
    """Create a key NAME; the key is printed once, as the last line."""
    from app.services import auth

    session = _as_cli()
    try:
        _, plain = auth.create_key(session, name.strip(), role)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    session.commit()
    click.echo(f"Created {role} key '{name.strip()}'. Store it now: it is not shown again.")
    click.echo(plain)


@keys_cli.command("list")
def keys_list() -> None:
    """List keys (names, roles, use; never the keys themselves)."""
    from app.services import auth

    for api_key in auth.list_keys(_as_cli()):
        state = f"revoked {api_key.revoked_at:%Y-%m-%d}" if api_key.revoked_at else "active"
        used = f"{api_key.last_used_at:%Y-%m-%dT%H:%M:%SZ}" if api_key.last_used_at else "never"
        click.echo(f"{api_key.name}\t{api_key.role}\t{state}\tlast used {used}\tprefix {api_key.prefix}")


@keys_cli.command("revoke")
@click.argument("name")
def keys_revoke(name: str) -> None:
    """Revoke the key NAME (it stops working at once)."""
    from app.services import auth

    session = _as_cli()
    api_key = auth.revoke(session, name)
    if api_key is None:
        raise click.UsageError(f"no key named {name!r}")
    session.commit()
    click.echo(f"Revoked key '{name}'.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    url = current_app.config["DATABASE_URL"]
    if revision == "head":
        rebuilt = migrations.upgrade_and_rebuild(url)
        click.echo(f"Database upgraded to head.\nStored documents rebuilt: {rebuilt}.")
    else:
        migrations.upgrade(url, revision)
        click.echo(f"Database upgraded to {revision}.")


def _rebuild_documents(every: bool) -> None:
    from app.fast import stored

    written = stored.rebuild(_as_cli(), every=every)
    click.echo(f"Stored documents rebuilt: {written}.")


@incidents_cli.command("rebuild-documents")
@click.option("--all", "every", is_flag=True, help="Rebuild every copy, not only the stale ones.")
def incidents_rebuild_documents(every: bool) -> None:
    """Rebuild the stored copies (JSON and CSV) of a shape other than the current one."""
    _rebuild_documents(every)


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step; `base` for an empty database)."""
    migrations.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Database downgraded to {revision}.")


@db_cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def db_backup(file: str, force: bool) -> None:
    """Copy the SQLite database to FILE, consistent while the API keeps writing.

    PostgreSQL: use pg_dump (the command says how and exits with status 1)."""
    from pathlib import Path

    from app.services import backup

    url = current_app.config["DATABASE_URL"]
    try:
        if url.startswith("postgresql"):
            raise backup.BackupError(backup.postgres_advice(url))
        summary = backup.backup_sqlite(
            backup.sqlite_path(url),
            Path(file),
            replace=force,
            busy_timeout_ms=current_app.config["SQLITE_BUSY_TIMEOUT_MS"],
        )
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Backed up {summary.source} to {summary.target}: {summary.incidents} incident(s) "
        f"({summary.deleted} deleted), migration {summary.migration}, {summary.size_bytes:,} bytes, "
        "integrity check ok."
    )


@db_cli.command("current")
def db_current() -> None:
    """Show the applied and the expected revision."""
    from app.db import db

    current, head = migrations.migration_state(db.engine)
    click.echo(f"applied: {current or 'none'}\nhead:    {head}")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Only when the database holds no incident.")
def demo_load(if_empty: bool) -> None:
    """Load the demo incident (the 2024–2025 block of X in Pakistan), unless it is there already."""
    from app.services.seed import load_demo

    _as_cli()
    outcome, incident = load_demo(only_if_empty=if_empty)
    if outcome == "not_empty":
        click.echo("Database already holds incidents; demo not loaded (--if-empty).")
    elif outcome == "loaded":
        click.echo(f"Demo incident loaded as id {incident.id}.")
    elif incident.deleted_at is not None:
        click.echo(
            f"Demo incident is there already as id {incident.id}, deleted; not loaded again. "
            f"An admin can restore it: POST /api/v1/incidents/{incident.id}/restore."
        )
    else:
        click.echo(f"Demo incident is there already as id {incident.id}; not loaded again.")


IMPORT_SWITCH_INTERVAL = 0.0005  # seconds


@contextmanager
def _import_process() -> Iterator[None]:
    """Process-wide settings for the import command, whose process is its own (a web worker's
    import runs without them): no cyclic garbage collection (an import makes many objects and
    few reference cycles), and a short GIL switch interval, so that the import's writer thread
    runs soon after each answer from the database instead of waiting for the building thread."""
    collecting, interval = gc.isenabled(), sys.getswitchinterval()
    gc.disable()
    sys.setswitchinterval(min(interval, IMPORT_SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        if collecting:
            gc.enable()


@incidents_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["native", "stop"]), required=True, help="File format.")
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option(
    "--on-error",
    type=click.Choice(["abort", "skip"]),
    default="abort",
    show_default=True,
    help="abort: any bad row and nothing is written; skip: write the valid rows.",
)
@click.option(
    "--on-conflict",
    type=click.Choice(["keep", "sheet"]),
    default="keep",
    show_default=True,
    help="Keep (and report) fields editors changed since the file wrote them (native: since the row's "
    "revision), or let the file win.",
)
def incidents_import(file: str, fmt: str, dry_run: bool, on_error: str, on_conflict: str) -> None:
    """Import incidents from a CSV FILE (the same report as POST /api/v1/incidents/import)."""
    from app.services import import_rows, importer

    session = _as_cli()
    # Read twice, as it comes, never held whole: once to size the progress bar, once to import.
    try:
        with (
            open(file, encoding="utf-8-sig", newline="") as handle,
            click.progressbar(
                length=max(import_rows.count_rows(handle, sys.maxsize), 1), label="Importing", file=sys.stderr
            ) as bar,
            _import_process(),
        ):
            handle.seek(0)
            problem = import_rows.separator_problem(handle.readline())
            if problem is not None:
                raise click.ClickException(problem)
            handle.seek(0)
            report = importer.run_import(
                session,
                handle,
                fmt=fmt,
                dry_run=dry_run,
                on_error=on_error,
                on_conflict=on_conflict,
                sheet=import_rows.sheet_name(file),
                progress=bar.update,
            )
    except (import_rows.UnreadableFile, UnicodeDecodeError) as error:
        click.echo(f"{file}: {str(error).rstrip('.')}. Nothing was written.", err=True)
        raise SystemExit(1) from error
    for error in report.errors:
        click.echo(f"row {error.row}, {error.column}: {error.message}", err=True)
    for note in report.notes:
        click.echo(f"row {note.row}, {note.column} (recorded): {note.message}", err=True)
    for merge in report.merges:
        click.echo(f"incident {merge.incident} <- rows {', '.join(map(str, merge.rows))}", err=True)
    for conflict in report.conflicts:
        click.echo(
            f"row {conflict.row}, {conflict.field}: incident {conflict.incident} kept "
            f"{conflict.stored!r} (sheet: {conflict.sheet!r})",
            err=True,
        )
    verdict = "dry run, nothing written" if dry_run else ("written" if report.written else "NOTHING WRITTEN")
    click.echo(
        f"rows {report.rows}: created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, merged {report.merged}, rejected {report.rejected}, "
        f"conflicts {len(report.conflicts)} ({verdict})"
    )
    if report.refused:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(incidents_cli)
