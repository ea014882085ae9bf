"""Configuration read from environment variables (every variable is listed in README.md)."""

import os
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def normalize_database_url(url: str) -> str:
    """Name the driver explicitly, as SQLAlchemy 2.1 needs (Heroku-style URLs say postgres://)."""
    for bare in ("postgres://", "postgresql://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare) :]
    return url


def _int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be {minimum} or more, not {value}.")
    return value


class Config:
    """Settings; every attribute can be overridden by the environment variable of the same name."""

    DATABASE_URL = normalize_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'tracker.db'}")
    )
    # Bodies larger than this are refused with 413 (bytes).
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 10 * 1024 * 1024)
    # An import of more data rows than this is refused with 413 (split the file).
    IMPORT_MAX_ROWS = _int("IMPORT_MAX_ROWS", 100_000)
    # Exports and imports one worker process runs at once; beyond, 503 with Retry-After.
    BULK_CONCURRENCY = _int("BULK_CONCURRENCY", 1)
    BULK_RETRY_AFTER = _int("BULK_RETRY_AFTER", 5)
    # How long a SQLite connection waits for a writer's lock before failing (ms).
    SQLITE_BUSY_TIMEOUT_MS = _int("SQLITE_BUSY_TIMEOUT_MS", 15000)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # Reverse proxies in front of the server whose X-Forwarded-For / X-Forwarded-Proto are
    # trusted (app/http/proxies.py): 1 behind one nginx, Caddy or load balancer; 0 (default)
    # when clients connect directly, so that no client can choose its address by a header.
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0, minimum=0)
    # Host names the server answers to (comma-separated; Flask's TRUSTED_HOSTS): links the API
    # builds (`GET /`, `Location`, `Link`) come from the Host header, so a public deployment
    # names its own and any other Host gets 400. Unset: every Host (fine on one's own machine).
    TRUSTED_HOSTS = [
        host.strip() for host in os.environ.get("TRUSTED_HOSTS", "").split(",") if host.strip()
    ] or None
    # One line per request on standard output, secrets in URLs redacted (app/http/accesslog.py).
    ACCESS_LOG = os.environ.get("ACCESS_LOG", "true").lower() not in ("0", "false", "no")
    # Request targets (path and query) longer than this many bytes get 414 (problem+json).
    MAX_URL_LENGTH = _int("MAX_URL_LENGTH", 16384)
    # List totals and statistics cached per worker until the data changes (app/services/aggregates.py):
    # at most this many results, each for at most this many seconds (0: no cache).
    AGGREGATE_CACHE_SIZE = _int("AGGREGATE_CACHE_SIZE", 1024)
    AGGREGATE_CACHE_SECONDS = _int("AGGREGATE_CACHE_SECONDS", 300)

    # Rate limits (the `limits` library's syntax, e.g. "300 per minute;5000 per hour").
    RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "true").lower() not in ("0", "false", "no")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_READ = os.environ.get("RATELIMIT_READ", "600 per minute")
    RATELIMIT_WRITE = os.environ.get("RATELIMIT_WRITE", "120 per minute")
    RATELIMIT_BULK = os.environ.get("RATELIMIT_BULK", "10 per minute")

    API_TITLE = "Shutdown incident tracker"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    JSON_SORT_KEYS = True
