"""Rate limits (Flask-Limiter): per client address for anonymous calls, per key for writes,
a stricter bucket for bulk exports and imports. Storage in memory, or Redis when configured."""

from __future__ import annotations

import threading
import time

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage

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


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory storage, without a thread started for every other request.

    limits (5.x) sweeps expired counters in a `threading.Timer` of 10 ms, started again by
    every hit once the last one has run: under steady traffic a new thread every few requests,
    whose start the request waits for (about a fifth of a single incident's time in a profile).
    A counter is already checked for expiry when it is read; the sweep only frees counters no
    longer read, so here it runs inline, at most once a second, by whichever hit comes first.
    `RATELIMIT_STORAGE_URI=memory://` (the default) selects it.
    """

    STORAGE_SCHEME = ["swept-memory"]
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.next_sweep = time.monotonic() + self.SWEEP_SECONDS
        self.sweeping = threading.Lock()

    # Replaces MemoryStorage.__schedule_expiry (name-mangled), which incr/decr/acquire call.
    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802
        now = time.monotonic()
        if now < self.next_sweep or not self.sweeping.acquire(blocking=False):
            return
        try:
            self.next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        finally:
            self.sweeping.release()


def init_app(app: Flask) -> None:
    uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if uri.startswith("memory://"):
        app.config["RATELIMIT_STORAGE_URI"] = "swept-" + uri
    limiter.init_app(app)
