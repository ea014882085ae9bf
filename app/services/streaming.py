"""Read ahead of a streamed response: the next chunk is fetched while the last one is sent.

A long export alternates two kinds of waiting: for the database to produce the next batch of
rows, and for Python to turn a batch into bytes and for the socket to take them. Done in turn
in one thread, each waits for the other; the database driver (sqlite3, psycopg) and socket
writes release the GIL, so a thread that reads while the request's thread sends keeps both
busy. The queue is bounded: memory stays at a few chunks whatever the export's size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

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
