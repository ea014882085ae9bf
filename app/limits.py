"""Rate limits (Flask-Limiter): per client address for anonymous calls, per key for writes,
a stricter bucket for bulk exports and imports. Storage in memory, or Redis when configured."""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from app.extensions import caller_or_none

# Endpoints that move many rows at once get the stricter "bulk" limit.
BULK_ENDPOINTS = {"bulk.IncidentsCsvViews", "bulk.IncidentsImportViews"}
EXEMPT_BLUEPRINTS = ("health", "docs", "api-docs")


def _category() -> str:
    if request.endpoint in BULK_ENDPOINTS:
        return "bulk"
    return "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"


def _identity() -> str:
    caller = caller_or_none() if request.headers.get("Authorization") else None
    return f"key:{caller.name}" if caller else f"addr:{get_remote_address()}"


def _key() -> str:
    return f"{_category()}:{_identity()}"


def _limit() -> str:
    from flask import current_app

    return current_app.config[f"RATELIMIT_{_category().upper()}"]


def _exempt() -> bool:
    return request.blueprint in EXEMPT_BLUEPRINTS or request.endpoint is None


limiter = Limiter(
    key_func=_key,
    default_limits=[_limit],
    default_limits_exempt_when=_exempt,
    headers_enabled=True,
)


def init_app(app: Flask) -> None:
    limiter.init_app(app)
