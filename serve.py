"""Serve the API with granian (`make run`, production): `python serve.py [MODULE:APP]`.

Builds granian's command line from the environment variables in README.md's settings table
(`BIND`, `WEB_CONCURRENCY`, `WEB_THREADS`, …), checks that the rate limits can be kept as the
headers state them, and replaces this process with granian (its PID is the server's: send it
SIGHUP to reload the workers gracefully, SIGTERM or SIGINT to stop). Any other granian option can
be given as its `GRANIAN_*` variable or appended on the command line after `--`.

Why granian: its HTTP layer is Rust (hyper on tokio), so a connection costs a Python thread only
once its request has fully arrived; slow or stalled clients hold sockets, not workers.
"""

from __future__ import annotations

import os
import sys

DEFAULT_APP = "wsgi:app"


def _int(environ: dict[str, str], name: str, default: int) -> int:
    raw = environ.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"serve.py: {name}={raw!r} is not a whole number.") from None
    if value < 1:
        raise SystemExit(f"serve.py: {name} must be at least 1 (got {value}).")
    return value


def _bind(value: str) -> list[str]:
    """`host:port`, `[v6]:port`, `:port` or `unix:/path/to.sock` → granian's options."""
    if value.startswith("unix:"):
        return ["--uds", value.removeprefix("unix:")]
    host, separator, port = value.rpartition(":")
    if not separator or not port.isdigit():
        raise SystemExit(f"serve.py: BIND={value!r} must be HOST:PORT or unix:/PATH.")
    return ["--host", host.strip("[]") or "0.0.0.0", "--port", port]


def rate_limit_problem(environ: dict[str, str], workers: int) -> str | None:
    """Why these settings would let a client through more often than X-RateLimit-Limit says, or None.

    In-memory counters belong to one process: with several workers each keeps its own, and a
    client gets the stated limit once per worker.
    """
    enabled = environ.get("RATELIMIT_ENABLED", "true").lower() not in ("0", "false", "no")
    storage = environ.get("RATELIMIT_STORAGE_URI") or "memory://"
    if enabled and workers > 1 and storage.startswith("memory://"):
        return (
            f"WEB_CONCURRENCY={workers} with in-memory rate-limit counters would give every client "
            f"{workers} times the limit its X-RateLimit-Limit header states (one count per worker). "
            "Set RATELIMIT_STORAGE_URI=redis://HOST:6379/0 so that the workers share one count, or "
            "serve with one worker (more WEB_THREADS instead), or set RATELIMIT_ENABLED=false."
        )
    return None


def command(environ: dict[str, str], target: str = DEFAULT_APP, extra: list[str] | None = None) -> list[str]:
    """granian's command line for these settings (raises SystemExit on a setting it refuses)."""
    extra = extra or []
    if any(option.split("=")[0] in ("--workers", "--blocking-threads") for option in extra):
        raise SystemExit(
            "serve.py: set WEB_CONCURRENCY and WEB_THREADS instead of --workers/--blocking-threads."
        )
    workers = _int(environ, "WEB_CONCURRENCY", 1)
    problem = rate_limit_problem(environ, workers)
    if problem:
        raise SystemExit(f"serve.py: refusing to start: {problem}")
    threads = _int(environ, "WEB_THREADS", 8)
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--no-ws",
        *_bind(environ.get("BIND") or "127.0.0.1:8000"),
        "--workers",
        str(workers),
        # The Python threads of a worker: the requests it runs at once. A long CSV export or import
        # holds one for its whole length, the others go on.
        "--blocking-threads",
        str(threads),
        # Connections a worker holds at once (being served, idle between requests, or still sending
        # their headers); more wait in the listen backlog. Each costs a socket, not a thread.
        "--backpressure",
        str(_int(environ, "WEB_BACKPRESSURE", 1024)),
        # A client has this long to send a request's headers, however slowly it sends them.
        "--http1-header-read-timeout",
        str(1000 * _int(environ, "WEB_HEADER_TIMEOUT", 10)),
        # A worker that dies (out of memory, a crash in a driver) is started again.
        "--respawn-failed-workers",
        # The access log is the app's own (app/http/accesslog.py): it hides secrets in URLs.
        "--no-access-log",
        *extra,
        target,
    ]


def main(argv: list[str]) -> None:
    target = argv[0] if argv and not argv[0].startswith("-") else DEFAULT_APP
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = command(dict(os.environ), target, extra)
    os.execv(args[0], args)


if __name__ == "__main__":
    main(sys.argv[1:])
