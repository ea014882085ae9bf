"""Rate limits on the `limits` library: per client address for anonymous calls, per key for calls
with one, reads, writes and bulk exports and imports in buckets of their own. Counters in memory,
or in Redis when `RATELIMIT_STORAGE_URI` names it (shared by every worker).

Fixed windows (`RATELIMIT_READ="600 per minute"`, several separated by `;`): each request adds
one to its bucket's counter, and the counter's reset time is read for the headers. Every limited
response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (Unix
seconds); over the limit it is a 429 problem with `Retry-After`. `/healthz`, `/readyz` and the
docs are exempt.

Not Flask-Limiter, which resolves its limits through decorators, blueprint scopes and exemption
contexts on every request, for three fixed buckets whose choice is two comparisons; the counting
is `limits`, Flask-Limiter's own engine.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from werkzeug.exceptions import TooManyRequests

from app.http.auth import caller_or_none

log = logging.getLogger(__name__)

CATEGORIES = ("read", "write", "bulk")
READ_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
# Endpoints that move many rows at once get the stricter "bulk" limit.
BULK_ENDPOINTS = frozenset(("bulk.IncidentsCsvViews", "bulk.IncidentsImportViews"))
EXEMPT_BLUEPRINTS = frozenset(("health", "docs", "api-docs"))
HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
# How often a failing storage (Redis down) is logged: requests go on meanwhile, unlimited.
STORAGE_ERROR_LOG_SECONDS = 60.0

RATE_LIMIT_HEADERS = {
    "Retry-After": "Seconds until this bucket's window resets (on a 429 only).",
    "X-RateLimit-Limit": "Requests allowed in the window of this caller's bucket.",
    "X-RateLimit-Remaining": "Requests left in the current window.",
    "X-RateLimit-Reset": "When the window resets, in Unix seconds.",
}
# The documented 429 (the default response of its status, which every limited operation names).
TOO_MANY_REQUESTS_RESPONSE = {
    "description": "Rate limited: too many requests from this address (or API key) in the window "
    "of its bucket (reads, writes, bulk). Wait `Retry-After` seconds.",
    "headers": {
        name: {"description": text, "schema": {"type": "integer"}}
        for name, text in RATE_LIMIT_HEADERS.items()
    },
}


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory storage, without a thread started for every other request.

    limits (5.x) sweeps expired counters in a `threading.Timer` of 10 ms, started again by
    every hit once the last one has run: under steady traffic a new thread every few requests,
    whose start the request waits for.
    A counter is already checked for expiry when it is read; the sweep only frees counters no
    longer read, so here it runs inline, at most once a second, by whichever hit comes first.
    `RATELIMIT_STORAGE_URI=memory://` (the default) selects it. Plain twin: limits'
    `MemoryStorage`; tests/test_rate_limits.py counts the same with no thread per hit.
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


@dataclass
class RateLimiter:
    """The app's buckets and their storage (`app.extensions["rate_limits"]`)."""

    storage: Storage
    buckets: dict[str, list[RateLimitItem]]
    error_logged_at: float = -math.inf

    def hit(self, bucket: str, who: str) -> tuple[RateLimitItem, int, float, bool]:
        """Count one request of `who` in every limit of `bucket`; returns the limit nearest to
        exhaustion (the one exceeded, if any) with its remaining count, its reset time and
        whether the request is allowed."""
        nearest: tuple[RateLimitItem, int, float, bool] | None = None
        for limit in self.buckets[bucket]:
            key = limit.key_for(bucket, who)
            count = self.storage.incr(key, limit.get_expiry())
            remaining = max(0, limit.amount - count)
            allowed = count <= limit.amount
            if nearest is None or not allowed or (nearest[3] and remaining < nearest[1]):
                nearest = (limit, remaining, self.storage.get_expiry(key), allowed)
                if not allowed:
                    break
        assert nearest is not None
        return nearest


def _bucket() -> str:
    if request.endpoint in BULK_ENDPOINTS:
        return "bulk"
    return "read" if request.method in READ_METHODS else "write"


def _who() -> str:
    caller = caller_or_none() if "Authorization" in request.headers else None
    return f"key:{caller.name}" if caller else f"addr:{request.remote_addr or '127.0.0.1'}"


def _check() -> None:
    if request.endpoint is None or request.blueprint in EXEMPT_BLUEPRINTS:
        return  # 404s, the health checks and the docs are not counted
    limiter: RateLimiter = current_app.extensions["rate_limits"]
    bucket, who = _bucket(), _who()
    try:
        limit, remaining, reset, allowed = limiter.hit(bucket, who)
    except Exception as error:  # noqa: BLE001 - a limiter that cannot count must not take the API down
        now = time.monotonic()
        if now - limiter.error_logged_at >= STORAGE_ERROR_LOG_SECONDS:
            limiter.error_logged_at = now
            log.warning("Rate limits not applied: the counter storage failed (%s)", error)
        return
    g.rate_limit = (limit, remaining, reset)
    if not allowed:
        retry_after = max(1, math.ceil(reset - time.time()))
        whose = "this API key" if who.startswith("key:") else "your address"
        raise TooManyRequests(
            f"Too many {bucket} requests from {whose}: the limit is {limit.amount} per "
            f"{limit.multiples} {limit.GRANULARITY.name}. Try again in {retry_after} s.",
            retry_after=retry_after,
        )


def _headers(response: Response) -> Response:
    state = g.get("rate_limit")
    if state is not None:
        limit, remaining, reset = state
        response.headers["X-RateLimit-Limit"] = str(limit.amount)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
        response.headers["X-RateLimit-Reset"] = str(math.ceil(reset))
    return response


def init_app(app: Flask) -> None:
    """Count every request before the guards run (only the transaction mode's hook runs first)."""
    if not app.config["RATELIMIT_ENABLED"]:
        return
    uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if uri.startswith("memory://"):
        uri = "swept-" + uri
    buckets = {bucket: parse_many(app.config[f"RATELIMIT_{bucket.upper()}"]) for bucket in CATEGORIES}
    # A Redis that stops answering (rather than refusing) must not hold every request up: past
    # this many seconds the counter fails, and the request goes on unlimited (see _check).
    options = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5} if uri.startswith("redis") else {}
    app.extensions["rate_limits"] = RateLimiter(storage_from_string(uri, **options), buckets)
    app.before_request(_check)
    app.after_request(_headers)
