"""The access log: one line per request, written by the app so that no secret reaches it.

A WSGI middleware (not the server's log, which prints URLs as they came) writes, once the
response's last byte is sent (a streamed export included) or the client went away:

    127.0.0.1 - - [03/Dec/2026:17:02:37 +0000] "GET /api/v1/incidents?country=PK HTTP/1.1" 200 5123
    "-" "curl/8.5.0" 2.113   (one line)

(client address, time, request line, status, body bytes sent, Referer, User-Agent, milliseconds)
on the `app.access` logger, to standard output. In the request line and the Referer, the value
of every query parameter whose name suggests a secret (`api_key`, `token`, `password`,
`client_secret`, `sig`, …) is replaced by `[REDACTED]`, and so is anything shaped like one of
our API keys wherever it stands (`sit_<prefix>_[REDACTED]`: the public prefix says which key
leaked, the secret is gone). Request headers other than Referer and User-Agent are never
logged, the Authorization header least of all.

The client address is read after the app has run, so it is the one a proxy fix in the app's
middleware stack settled on.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import unquote

from flask import Flask

log = logging.getLogger("app.access")

REDACTED = "[REDACTED]"
# A parameter whose name contains any of these (case-insensitive) carries a secret.
SECRET_NAME = re.compile(
    r"pass|pwd|secret|token|key|auth|session|sess_?id|cookie|credential|signature|sig$|jwt|bearer|otp",
    re.IGNORECASE,
)
# One of our API keys (app/services/auth.py: `sit_<prefix>_<secret>`), percent-encoded or not.
API_KEY = re.compile(r"(sit(?:_|%5[Ff])[A-Za-z0-9-]{1,64}(?:_|%5[Ff]))[A-Za-z0-9_%-]+")


def redact_query(query: str) -> str:
    """The query string with every secret's value replaced, the rest byte for byte as sent."""
    if not query:
        return query
    parts = []
    for pair in query.split("&"):
        name, separator, value = pair.partition("=")
        plain_name = unquote(name.replace("+", " "))
        if separator and (SECRET_NAME.search(plain_name) or API_KEY.search(unquote(value))):
            pair = f"{name}={REDACTED}"
        parts.append(pair)
    return API_KEY.sub(rf"\1{REDACTED}", "&".join(parts))


def redact_url(url: str) -> str:
    """A path or URL with its query's secrets and any API key in it replaced."""
    path, separator, query = url.partition("?")
    return API_KEY.sub(rf"\1{REDACTED}", path) + separator + redact_query(query)


def _quoted(value: str | None) -> str:
    if not value:
        return '"-"'
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def request_line(environ: dict[str, Any]) -> str:
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    target = redact_url(path + ("?" + query if query else ""))
    # WSGI gives the path as latin-1 decoded bytes: shown as sent, control characters escaped.
    target = target.encode("latin-1", "replace").decode("ascii", "backslashreplace")
    return f"{environ.get('REQUEST_METHOD', '-')} {target} {environ.get('SERVER_PROTOCOL', '-')}"


class _LoggedBody:
    """The response iterable, passed through; the line is written when it is closed or exhausted."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]) -> None:
        self.body = body
        self.done = done
        self.sent = 0
        self.logged = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            if not self.logged:
                self.logged = True
                self.done(self.sent)


class _StandardOutput(logging.StreamHandler):
    """A handler on whatever `sys.stdout` is when a line is written (a test may swap it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class AccessLog:
    """WSGI middleware writing one redacted line per request to the `app.access` logger."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        when = time.strftime("%d/%b/%Y:%H:%M:%S %z")
        status = ["-"]

        def recording_start_response(status_line: str, headers: list, exc_info: Any = None) -> Any:
            status[0] = status_line.split(" ", 1)[0]
            return start_response(status_line, headers, exc_info)

        def done(sent: int) -> None:
            milliseconds = 1000 * (time.perf_counter() - started)
            log.info(
                '%s - - [%s] "%s" %s %d %s %s %.3f',
                environ.get("REMOTE_ADDR") or "-",
                when,
                request_line(environ),
                status[0],
                sent,
                _quoted(redact_url(environ.get("HTTP_REFERER", ""))),
                _quoted(environ.get("HTTP_USER_AGENT")),
                milliseconds,
            )

        body = self.wsgi_app(environ, recording_start_response)
        return _LoggedBody(body, done)


def init_app(app: Flask) -> None:
    """Wrap the app's WSGI callable and send `app.access` to standard output (`ACCESS_LOG`)."""
    if not app.config["ACCESS_LOG"]:
        return
    if not log.handlers:
        handler = _StandardOutput()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False  # the line is complete as it is; the root's format would prefix it
    app.wsgi_app = AccessLog(app.wsgi_app)  # type: ignore[method-assign]
