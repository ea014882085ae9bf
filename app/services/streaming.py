"""Streamed reads for long responses (the CSV export): values in batches (`read_values`, by
binary COPY on PostgreSQL), produced by a thread of their own ahead of the response
(`read_ahead`).

A long export alternates two kinds of waiting: for the database to produce the next batch of
rows, and for the socket to take the last one. Done in turn in one thread, each waits for the
other; the database drivers (sqlite3, psycopg) and socket writes release the GIL, so a thread
that reads while the request's thread sends keeps both busy. The queue between them is
bounded: memory stays at a few chunks whatever the export's size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from itertools import chain
from typing import Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")


# Binary COPY framing (PostgreSQL manual, "COPY", Binary Format): a header before the first
# tuple, then per tuple an int16 field count and per field an int32 length (-1: NULL) and the
# bytes; an int16 -1 ends the data. psycopg hands out one tuple per CopyData message.
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def read_values(
    connection: sa.Connection, statement: sa.Select, batch: int
) -> Iterator[list[bytes | memoryview | None]]:
    """The values of a Core select of one bytes column (`bytea` / BLOB), in lists of up to
    `batch`: a long read with as little Python per row as it can get. PostgreSQL streams them
    by binary COPY (`_copy_values`, for speed; its plain twin is `_fetch_values`, proven equal by
    tests/test_fast_paths.py), other databases through the DB-API cursor (`_fetch_values`).
    The connection is busy until the last batch: other statements need another connection."""
    if connection.dialect.name == "postgresql":
        yield from _copy_values(connection, statement, batch)
    else:
        yield from _fetch_values(connection, statement, batch)


def _fetch_values(
    connection: sa.Connection, statement: sa.Select, batch: int
) -> Iterator[list[bytes | memoryview | None]]:
    """The DB-API cursor, `batch` rows at a time (a BLOB needs no processing)."""
    with connection.execute(statement) as result:
        cursor = result.context.cursor
        while rows := cursor.fetchmany(batch):
            yield [row[0] for row in rows]


def _bound_sql(connection: sa.Connection, statement: sa.Select) -> tuple[str, Any]:
    """The SQL and parameters SQLAlchemy binds for `statement`, got by declaring it (a
    server-side cursor, closed at once, no row read); psycopg then binds the parameters
    client-side into the COPY, with its own quoting."""
    with connection.execution_options(stream_results=True).execute(statement) as declared:
        return declared.context.statement, declared.context.parameters[0]


def _past_header(data: memoryview) -> memoryview:
    """The first CopyData message after the header that precedes the first tuple."""
    if bytes(data[:11]) != _COPY_SIGNATURE:
        raise ValueError("not a binary COPY stream")
    extension = int.from_bytes(data[15:19], "big")
    return data[19 + extension :]


def _copy_values(
    connection: sa.Connection, statement: sa.Select, batch: int
) -> Iterator[list[bytes | memoryview | None]]:
    """`COPY (select) TO STDOUT (FORMAT BINARY)`. A server-side cursor would make the server
    wait for each FETCH while the client handles the last batch; COPY streams without waiting,
    and each tuple's value is a slice of its message, past the fixed six bytes before a single
    field."""
    sql, parameters = _bound_sql(connection, statement)
    cursor = connection.connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", parameters) as copy:
        messages = iter(copy)  # memoryviews of psycopg's buffers: sliced and joined without copies
        first = next(messages, None)
        if first is None:
            return
        values: list[bytes | memoryview | None] = []
        append = values.append
        for data in chain((_past_header(first),), messages):
            # Bytes compared one by one: comparing a memoryview slice with bytes is slow.
            if data[0] or data[1] != 1:
                if len(data) == 2 and data[0] == 0xFF:  # the end (the iteration ends the COPY)
                    continue
                raise ValueError("a binary COPY tuple of more than one field")
            append(None if data[2] == 0xFF else data[6:])  # a length of -1 is NULL
            if len(values) == batch:
                yield values
                values = []
                append = values.append
        if values:
            yield values


_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(source: Iterator[T], depth: int = 2, name: str = "read-ahead") -> Iterator[T]:
    """Yield what `source` yields, produced in a thread of its own up to `depth` items ahead.

    An error in `source` is raised here, at the item where it happened. Closing this generator
    (a client that hangs up) stops the thread and closes `source` (whose `finally` releases its
    connection) before returning.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
            put(_Failed(error))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()
