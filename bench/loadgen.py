"""A small HTTP load generator for loopback servers (wrk is not installed here).

Threads, one keep-alive `http.client` connection each, a bounded number of requests AND a
bounded duration (whichever comes first), every response read to the end and checked. Reports
requests/s, median and p95 latency, errors and bytes. Standard library only.
"""

from __future__ import annotations

import http.client
import itertools
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

TIMEOUT_S = 600.0


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    median_ms: float | None = None
    p95_ms: float | None = None
    mean_bytes: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class _Client:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_S)
            try:
                self.conn.request("GET", path, headers={"Accept-Encoding": "identity"})
                response = self.conn.getresponse()
                body = response.read()
                if response.will_close:
                    self.close()
                return response.status, body
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed between requests: retry once on a new one.
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run(
    host: str,
    port: int,
    paths: list[str],
    *,
    concurrency: int = 1,
    max_requests: int = 1000,
    max_seconds: float = 5.0,
    min_requests: int = 3,
    warmup: int = 0,
    expect_status: int = 200,
) -> LoadResult:
    """GET the paths round-robin from `concurrency` threads until either bound is reached.

    At least `min_requests` are made even when they take longer than `max_seconds` (a slow
    query still gets a median). `warmup` requests are made first and not counted.
    """
    warm = _Client(host, port)
    for index in range(warmup):
        try:
            warm.get(paths[index % len(paths)])
        except OSError:
            warm.close()
    warm.close()

    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    sizes: list[int] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    started = time.perf_counter()
    deadline = started + max_seconds
    finished = [started]

    def worker() -> None:
        client = _Client(host, port)
        local_lat: list[float] = []
        local_sizes: list[int] = []
        local_status: dict[str, int] = {}
        local_errors: list[str] = []
        try:
            while True:
                number = next(counter)
                if number >= max_requests or (number >= min_requests and time.perf_counter() >= deadline):
                    break
                path = paths[number % len(paths)]
                t0 = time.perf_counter()
                try:
                    status, body = client.get(path)
                except (OSError, http.client.HTTPException) as error:
                    client.close()
                    local_errors.append(f"{type(error).__name__}: {error}")
                    continue
                local_lat.append((time.perf_counter() - t0) * 1000)
                local_sizes.append(len(body))
                local_status[str(status)] = local_status.get(str(status), 0) + 1
                if status != expect_status:
                    local_errors.append(f"HTTP {status} for {path}: {body[:200]!r}")
        finally:
            client.close()
            with lock:
                latencies.extend(local_lat)
                sizes.extend(local_sizes)
                errors.extend(local_errors)
                for key, value in local_status.items():
                    statuses[key] = statuses.get(key, 0) + value
                finished[0] = max(finished[0], time.perf_counter())

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = max(finished[0] - started, 1e-9)
    good = statuses.get(str(expect_status), 0)
    return LoadResult(
        requests=len(latencies),
        errors=len(errors),
        seconds=round(seconds, 3),
        rps=round(good / seconds, 1),
        median_ms=_round(statistics.median(latencies) if latencies else None),
        p95_ms=_round(percentile(latencies, 0.95)),
        mean_bytes=round(statistics.fmean(sizes), 1) if sizes else 0.0,
        statuses=statuses,
        first_error=errors[0] if errors else None,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def fetch(host: str, port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    """One GET, whole body, with headers (for setup: totals, tokens, ids)."""
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@dataclass
class StreamResult:
    status: int = 0
    bytes: int = 0
    rows: int = 0
    seconds: float = 0.0
    first_byte_ms: float = 0.0
    rows_per_s: float = 0.0
    mb_per_s: float = 0.0
    complete: bool = False
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def stream(
    host: str, port: int, path: str, *, max_seconds: float = 600.0, chunk: int = 1 << 16
) -> StreamResult:
    """Download one (CSV) response as it streams; rows are counted as CRLF line ends minus the
    header (both exporters write RFC 4180 CRLF records, and the data has no CR in its cells)."""
    result = StreamResult()
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    started = time.perf_counter()
    crlf, tail = 0, b""
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        response = conn.getresponse()
        result.status = response.status
        while True:
            data = response.read1(chunk) if hasattr(response, "read1") else response.read(chunk)
            if not data:
                break
            if result.bytes == 0:
                result.first_byte_ms = round((time.perf_counter() - started) * 1000, 1)
            result.bytes += len(data)
            joined = tail + data
            crlf += joined.count(b"\r\n") - tail.count(b"\r\n")
            tail = data[-1:]
            if time.perf_counter() - started > max_seconds:
                result.error = f"stopped after {max_seconds}s"
                break
        result.complete = result.error is None
    except (OSError, http.client.HTTPException) as error:
        result.error = f"{type(error).__name__}: {error}"
    finally:
        conn.close()
    result.seconds = round(time.perf_counter() - started, 3)
    result.rows = max(crlf - 1, 0)
    result.rows_per_s = round(result.rows / result.seconds, 1) if result.seconds else 0.0
    result.mb_per_s = round(result.bytes / 1e6 / result.seconds, 2) if result.seconds else 0.0
    return result
