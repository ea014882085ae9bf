"""Command-line interface: `flask --app wsgi db …` and `flask --app wsgi demo load`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.services import migrations

db_cli = AppGroup("db", help="Database migrations (alembic).")
demo_cli = AppGroup("demo", help="The demo incident.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrations.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Database upgraded to {revision}.")


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step; `base` for an empty database)."""
    migrations.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Database downgraded to {revision}.")


@db_cli.command("current")
def db_current() -> None:
    """Show the applied and the expected revision."""
    from app.db import db

    current, head = migrations.migration_state(db.engine)
    click.echo(f"applied: {current or 'none'}\nhead:    {head}")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Only when the database holds no incident.")
def demo_load(if_empty: bool) -> None:
    """Load the demo incident (the 2024–2025 block of X in Pakistan)."""
    from app.services.seed import load_demo

    incident = load_demo(only_if_empty=if_empty)
    if incident is None:
        click.echo("Database already holds incidents; demo not loaded.")
    else:
        click.echo(f"Demo incident loaded as id {incident.id}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(demo_cli)
