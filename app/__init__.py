"""Shutdown incident tracker: a REST API for internet shutdowns and platform blocks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from app.config import Config, normalize_database_url
from app.db import db
from app.http import accesslog, bulk, guards, limits, proxies, transactions
from app.http.api import Api
from app.http.jsonio import init_json


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    _configure(app, config)
    proxies.init_app(app)
    init_json(app)
    db.init_app(app)
    bulk.init_app(app)
    api = Api(app, spec_kwargs=_spec_options())
    from app.resources import register_blueprints

    register_blueprints(app, api)
    from app.services import aggregates, provenance, revisions

    revisions.install()
    provenance.install()
    aggregates.init_app(app)
    # Hooks run in this order: the transaction mode first, then the rate limits, then the guards.
    transactions.init_app(app)
    limits.init_app(app)
    guards.init_app(app)
    from app import cli

    cli.init_app(app)
    accesslog.init_app(app)
    return app


def _configure(app: Flask, config: dict[str, Any] | None) -> None:
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    app.config["DATABASE_URL"] = normalize_database_url(app.config["DATABASE_URL"])
    logging.basicConfig(level=app.config["LOG_LEVEL"])
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        Path(app.config["DATABASE_URL"].removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def _spec_options() -> dict[str, Any]:
    return {
        "info": {
            "description": (
                "Records internet shutdowns and platform blocks: what was cut, where, from when to "
                "when, whether the government admitted it, and what the courts did.\n\n"
                "Errors are RFC 9457 problem details (`application/problem+json`). Writes that change "
                "an existing incident need its current `ETag` in `If-Match` (428 without, 412 when stale)."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
            # Who answers for the data and the API: the maintainers of this deployment.
            "contact": {"name": "Shutdown incident tracker maintainers"},
        },
        "servers": [{"url": "/", "description": "This server"}],
    }
