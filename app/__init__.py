"""Shutdown incident tracker: a REST API for internet shutdowns and platform blocks."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, request
from flask_cors import CORS
from flask_smorest import abort
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from app.config import Config, normalize_database_url
from app.db import db
from app.extensions import Api, init_json

EXPOSED_HEADERS = [
    "ETag",
    "Incident-ETag",
    "X-Pagination",
    "X-Next-Cursor",
    "Link",
    "Location",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]
BODY_METHODS = ("POST", "PUT", "PATCH")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    app.config["DATABASE_URL"] = normalize_database_url(app.config["DATABASE_URL"])
    logging.basicConfig(level=app.config["LOG_LEVEL"])
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    init_json(app)

    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        from pathlib import Path

        Path(app.config["DATABASE_URL"].removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    api = Api(app, spec_kwargs=_spec_options())
    from app.resources import register_blueprints

    register_blueprints(app, api)
    from app.resources.incidents.schemas import IncidentSchema
    from app.services import revisions

    revisions.install(IncidentSchema().dump)
    from app.services import aggregates

    aggregates.init_app(app)
    from app import limits

    limits.init_app(app)
    CORS(
        app,
        resources={r"/api/*": {"origins": "*"}},
        methods=["GET", "HEAD", "OPTIONS"],
        expose_headers=EXPOSED_HEADERS,
        send_wildcard=True,
    )
    app.before_request(_refuse_key_in_url)
    app.before_request(_refuse_unknown_query)
    app.before_request(_require_json_body)
    app.after_request(_security_headers)

    from app import cli

    cli.init_app(app)
    return app


KEY_PARAMETERS = ("api_key", "apikey", "key", "token", "access_token", "auth")


def _refuse_key_in_url():
    """URLs end up in logs and browser history: a key there is refused, not used."""
    try:
        args = request.args
    except UnicodeDecodeError as error:
        raise BadRequest("The query string is not valid UTF-8: percent-encode it.") from error
    if any(name in args for name in KEY_PARAMETERS):
        raise BadRequest("Send the API key in the `Authorization: Bearer <key>` header, never in the URL.")


def _refuse_unknown_query():
    """An operation without query parameters refuses any (a typo never passes silently); those
    with parameters refuse unknown ones through their schema."""
    if request.routing_exception is not None or not request.args or not request.path.startswith("/api/"):
        return
    view = current_app.view_functions.get(request.endpoint)
    verb = "get" if request.method == "HEAD" else request.method.lower()  # HEAD is served by get
    method = getattr(getattr(view, "view_class", None), verb, None)
    apidoc = getattr(method, "_apidoc", {})
    takes_query = any(
        parameter.get("in") == "query" for parameter in apidoc.get("arguments", {}).get("parameters", [])
    )
    allowed = {"page", "page_size"} if "pagination" in apidoc else set()
    if takes_query:
        return
    unknown = [name for name in request.args if name not in allowed]
    if unknown:
        abort(422, errors={"query": {name: ["Unknown field."] for name in unknown}})


def _require_json_body():
    """A body that is not JSON is a 415, not a confusing 'missing field' 422."""
    if request.routing_exception is not None:
        return  # 404 or 405 first: there is no operation to speak of
    if request.method in BODY_METHODS and request.path.startswith("/api/"):
        has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding")
        multipart = request.mimetype == "multipart/form-data" and request.endpoint in MULTIPART_ENDPOINTS
        if has_body and not request.is_json and not multipart:
            raise UnsupportedMediaType(
                f"Send the body as application/json (got {request.mimetype or 'no Content-Type'})."
            )


# Endpoints whose body is a multipart file upload rather than JSON.
MULTIPART_ENDPOINTS = {"bulk.IncidentsImportViews"}


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    )
    return response


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
        },
        "servers": [{"url": "/", "description": "This server"}],
    }
