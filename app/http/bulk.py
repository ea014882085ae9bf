"""Bulk work bounded per process: at most BULK_CONCURRENCY exports and imports run at once in a
worker; one more is answered at once with 503 problem+json and `Retry-After`, so that long
exports can never hold every thread while single reads wait behind them.

A streamed export holds its slot until its body has been sent or the client has gone away
(the server closes the body either way); an import until its report is ready.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, current_app
from werkzeug.exceptions import ServiceUnavailable

from app.http.problems import PROBLEM_JSON, ProblemSchema

EXTENSION = "bulk_slots"

BUSY_RESPONSE = {
    "description": "This server already runs as many exports and imports as it allows at once "
    "(`BULK_CONCURRENCY` per worker process): try again after `Retry-After` seconds.",
    "headers": {
        "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}
    },
}


class Slots:
    """A fixed number of slots; taking one never waits."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = threading.BoundedSemaphore(size) if size > 0 else None

    def take(self) -> Slot | None:
        """A slot, or None when all are taken (a size of 0 or less: no bound)."""
        if self._free is None:
            return Slot(None)
        return Slot(self._free) if self._free.acquire(blocking=False) else None


class Slot:
    """One taken slot; giving it back twice gives it back once."""

    def __init__(self, free: threading.BoundedSemaphore | None) -> None:
        self._free = free
        self._lock = threading.Lock()

    def give_back(self) -> None:
        with self._lock:
            free, self._free = self._free, None
        if free is not None:
            free.release()


class HeldWhileStreaming:
    """A response body that gives its slot back when it ends, fails or is closed (the client
    went away); a body never started (a HEAD) is closed by the server all the same."""

    def __init__(self, body: Iterator[Any], slot: Slot) -> None:
        self._body, self._slot = iter(body), slot

    def __iter__(self) -> HeldWhileStreaming:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._body)
        except BaseException:  # the end (StopIteration) or a failure: either way, done
            self._slot.give_back()
            raise

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._slot.give_back()

    def __del__(self) -> None:  # a body dropped without close(): the slot must not leak
        self._slot.give_back()


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Slots(app.config["BULK_CONCURRENCY"])


def _busy() -> ServiceUnavailable:
    slots: Slots = current_app.extensions[EXTENSION]
    seconds = current_app.config["BULK_RETRY_AFTER"]
    return ServiceUnavailable(
        f"This server is already running {slots.size} exports and imports, the most it runs at "
        f"once: try again in {seconds} seconds.",
        retry_after=seconds,
    )


class BulkWork:
    """Blueprint part: `bulk_work`, the bound on a view and its documented 503."""

    def bulk_work(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Run the view in one of the process's bulk slots; 503 when none is free."""

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            slot = current_app.extensions[EXTENSION].take()
            if slot is None:
                raise _busy()
            try:
                response = func(*args, **kwargs)
            except BaseException:
                slot.give_back()
                raise
            if isinstance(response, Response) and response.is_streamed:
                response.response = HeldWhileStreaming(response.response, slot)
            else:
                slot.give_back()
            return response

        return self.alt_response(503, schema=ProblemSchema, content_type=PROBLEM_JSON, **BUSY_RESPONSE)(
            wrapper
        )
