"""Aggregates that grow with the data (a list's total, statistics), cached per worker process
until the data changes.

A page is read from an index in constant time, but its total (`X-Pagination`) and the
statistics count every matching incident: their cost grows with the database. They depend only
on the query, the data and (for durations of ongoing incidents) today's date, so each worker
keeps the results it computed, keyed by those three. The data's part of the key is the token of
the `data_version` row, which every write to an incident replaces in its own transaction (the
revision hook calls `bump` just before the commit, for the bulk import's Core inserts too): a
cached figure is never used after the data changed, and costs one primary-key read per
request to check. Entries also expire after
AGGREGATE_CACHE_SECONDS, for changes made outside the app (SQL by hand); 0 turns the cache off.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from app.models import DataVersion, IncidentRevision
from app.models.incident import today_utc

T = TypeVar("T")
TABLE = DataVersion.__table__
READ_TOKEN = sa.select(TABLE.c.token).where(TABLE.c.id == 1)
# Where a session keeps the data version it read (`Session.info`).
DATA_VERSION = "aggregates.data_version"


def bump(session: Session) -> None:
    """Give the data a new version (inside the writing transaction)."""
    token = secrets.token_hex(16)
    session.info.pop(DATA_VERSION, None)  # this session's reads from now on see the new data
    connection = session.connection()
    if connection.execute(TABLE.update().where(TABLE.c.id == 1).values(token=token)).rowcount == 0:
        # Emptied by hand: the change feed's clock goes on from the last change it numbered.
        last = sa.select(sa.func.coalesce(sa.func.max(IncidentRevision.seq), 0)).scalar_subquery()
        at = sa.select(sa.func.max(IncidentRevision.committed_at)).scalar_subquery()
        connection.execute(TABLE.insert().values(id=1, token=token, seq=last, committed_at=at))


class AggregateCache:
    """A small LRU of computed aggregates, shared by a worker's threads."""

    def __init__(self, size: int, seconds: float) -> None:
        self.size, self.seconds = size, seconds
        self.entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, session: Session, key: Hashable, compute: Callable[[], T]) -> T:
        if self.size <= 0 or self.seconds <= 0:
            return compute()
        token = _data_version(session)
        if token is None:  # no version row (emptied by hand): nothing can be trusted
            return compute()
        full_key = (token, today_utc(), key)
        now = time.monotonic()
        with self.lock:
            entry = self.entries.get(full_key)
            if entry is not None and entry[0] > now:
                self.entries.move_to_end(full_key)
                return entry[1]
        value = compute()
        with self.lock:
            self.entries[full_key] = (now + self.seconds, value)
            self.entries.move_to_end(full_key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return value


def _data_version(session: Session) -> str | None:
    """The data version, read once per session, which is once per request (a search asks twice:
    its total, its ranking)."""
    if DATA_VERSION not in session.info:
        session.info[DATA_VERSION] = session.connection().scalar(READ_TOKEN)
    return session.info[DATA_VERSION]


def args_key(kind: str, args: Mapping[str, Any]) -> Hashable:
    """A cache key for a query's parsed arguments (order-independent; lists as tuples)."""
    return (kind, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in args.items())))


def cached(session: Session, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, or its result for the same key and data version."""
    cache: AggregateCache = current_app.extensions["aggregates"]
    return cache.get(session, key, compute)


def init_app(app: Any) -> None:
    app.extensions["aggregates"] = AggregateCache(
        app.config["AGGREGATE_CACHE_SIZE"], app.config["AGGREGATE_CACHE_SECONDS"]
    )
