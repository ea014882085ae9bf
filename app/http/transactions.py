"""Transaction mode: a GET, HEAD or OPTIONS request only reads, and its transactions say so."""

from __future__ import annotations

from flask import Flask, g, request

from app.db import enter_read_only, leave_read_only

READ_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


def init_app(app: Flask) -> None:
    """Before any other hook (the rate limiter's reads the caller's key through the session)."""
    app.before_request(_enter_read_only)
    app.teardown_request(_leave_read_only)


def _enter_read_only() -> None:
    # db.read_only() for the whole request, left at its teardown: the session it hands out and
    # the transactions it begins are a reader's (on SQLite a deferred BEGIN, which never takes
    # the write lock; on PostgreSQL a session in autocommit).
    if request.method in READ_METHODS and "read_only_token" not in g:
        g.read_only_token = enter_read_only()


def _leave_read_only(_error: BaseException | None) -> None:
    token = g.pop("read_only_token", None)
    if token is not None:
        leave_read_only(token)
