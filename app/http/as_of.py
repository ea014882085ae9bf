"""Responses as of a moment: the moment resolved to the last change committed by then, and the
headers that say which (`As-Of`, `As-Of-Cursor`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from app.db import db, read_only
from app.services import as_of

HEADERS = {
    "As-Of": {
        "description": "With `as_of`: the moment the data is shown as of (RFC 3339, UTC).",
        "schema": {"type": "string", "format": "date-time"},
    },
    "As-Of-Cursor": {
        "description": "With `as_of`: the change feed's cursor (`seq`) of the last change included.",
        "schema": {"type": "string"},
    },
}


@contextmanager
def reading() -> Iterator[sa.Connection]:
    """A connection of its own for reads as of a moment: its snapshot is taken after
    `resolve` waited for writers, which the request's session (perhaps begun by then on
    SQLite, where a read request keeps one snapshot) cannot promise."""
    with read_only(), db.engine.connect() as connection:
        yield connection


def resolve(at: datetime) -> as_of.Moment:
    with reading() as connection:
        return as_of.last_change(connection, at)


def rfc3339(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    fraction = f".{moment.microsecond:06d}" if moment.microsecond else ""
    return f"{moment:%Y-%m-%dT%H:%M:%S}{fraction}Z"


def headers(moment: as_of.Moment) -> dict[str, str]:
    return {"As-Of": rfc3339(moment.at), "As-Of-Cursor": str(moment.seq)}
