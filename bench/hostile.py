"""Issue 15's measurements: bulk work under hostile traffic, and the import's memory.

    .venv/bin/python bench/hostile.py [--size 100000] [--no-pg] [--parts exports,imports]
    BENCH_QUICK=1 .venv/bin/python bench/hostile.py     # smoke run: 1,000 incidents, short phases

Run it with the app's environment (it imports the app and starts its gunicorn). It prints the
figures as Markdown and writes them to bench/.data/hostile.json; bench/README.md keeps them.

* exports: the app as `make run` deploys it (gunicorn.conf.py: 2 gthread workers of 4 threads),
  on the benchmark's database of N incidents (bench/generate.py: drawn from the STOP sheet).
  A single incident's latency, one request at a time over 100 ids, idle; then again while 8
  clients each export the whole table (GET /api/v1/incidents.csv, read to the end) over and
  over, retrying half a second after a 503. With the default bound (BULK_CONCURRENCY) and
  without one (BULK_CONCURRENCY=0, how it was); `--bounds 1,2,0` compares others. Goal: loaded
  median ≤ 10 × idle median.
* imports: a fresh server with one worker and an empty database per run; after a warm-up (a
  list request and a one-row import), POST /api/v1/incidents/import?dry_run=true of a file of
  1 MB and of 10 MB, minimal rows (the issue's case: 297,000 rows in 10 MB, with the row cap
  raised so that it runs) and rows as bench/generate.py writes them; the worker's peak RSS
  (VmHWM), its RSS after, its CPU time. Goals: the 10 MB peak ≤ 250 MB and within 20 % of the
  1 MB peak. And the 10 MB minimal file against the default row cap: the 413 and its cost.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, generate  # noqa: E402
from bench.common import DATA_DIR, REPO, log  # noqa: E402
from bench.suite import HOST, Server, _bin, _cpu_seconds, _rss_kb, app_env  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK") == "1"
EXPORTERS = 8
SINGLE_REQUESTS = 60 if QUICK else 300
LOADED_SECONDS = 8 if QUICK else 30
IMPORT_DB = "hostile_import"  # bench_pg_hostile_import / bench/.data/app-hostile_import.db
MB = 1_000_000  # 10 MB = 10,000,000 bytes: with the multipart framing, under MAX_CONTENT_LENGTH


# --------------------------------------------------------------------------- HTTP


def _get(port: int, path: str, timeout: float = 600) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "identity"})
        response = connection.getresponse()
        body = response.read()
        return response.status, body, time.perf_counter() - started
    finally:
        connection.close()


def _post_file(port: int, path: str, content: bytes, key: str) -> tuple[int, dict[str, Any], float]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=3600)
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Authorization": f"Bearer {key}",
            },
        )
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data or b"{}"), time.perf_counter() - started
    finally:
        connection.close()


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 2)


def _p95_ms(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000, 2)


# --------------------------------------------------------------------------- exports


def _server(name: str, database_url: str, **env: str) -> Server:
    return Server(
        name,
        [_bin("gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"],
        REPO,
        {**app_env(database_url), "BIND": f"{HOST}:{{port}}", "GUNICORN_TIMEOUT": "600", **env},
        "/healthz",
    )


def _singles(port: int, ids: list[int], count: int, until: float | None = None) -> list[float]:
    """Latencies of single-incident GETs, one at a time (a new connection each, as a browser
    tab or a script would open one; not queued behind a keep-alive connection's export)."""
    times = []
    for n in range(count):
        status, _, seconds = _get(port, f"/api/v1/incidents/{ids[n % len(ids)]}", timeout=120)
        if status != 200:
            raise RuntimeError(f"single incident: HTTP {status}")
        times.append(seconds)
        if until is not None and time.monotonic() > until:
            break
    return times


def _exporters(port: int, stop: threading.Event, counts: dict[str, int]) -> list[threading.Thread]:
    lock = threading.Lock()

    def export() -> None:
        while not stop.is_set():
            try:
                status, _, _ = _get(port, "/api/v1/incidents.csv")
            except OSError:
                status = -1
            with lock:
                counts[str(status)] = counts.get(str(status), 0) + 1
            if status != 200:
                stop.wait(0.5)

    threads = [threading.Thread(target=export, daemon=True) for _ in range(EXPORTERS)]
    for thread in threads:
        thread.start()
    return threads


def measure_exports(backend: str, database_url: str, bound: str | None) -> dict[str, Any]:
    env = {} if bound is None else {"BULK_CONCURRENCY": bound}
    server = _server(f"hostile-{backend}", database_url, **env).start()
    try:
        status, body, _ = _get(server.port, "/api/v1/incidents?page_size=100")
        ids = [incident["id"] for incident in json.loads(body)]
        _singles(server.port, ids, 50)  # warm-up: statement caches, connections
        idle = _singles(server.port, ids, SINGLE_REQUESTS)
        stop, counts = threading.Event(), {}
        threads = _exporters(server.port, stop, counts)
        time.sleep(3)  # every exporter has asked once
        loaded = _singles(server.port, ids, 10**9, until=time.monotonic() + LOADED_SECONDS)
        stop.set()
        for thread in threads:
            thread.join(timeout=600)
        out = {
            "backend": backend,
            "bulk_concurrency": bound if bound is not None else "default (1)",
            "idle_median_ms": _median_ms(idle),
            "idle_p95_ms": _p95_ms(idle),
            "loaded_requests": len(loaded),
            "loaded_median_ms": _median_ms(loaded),
            "loaded_p95_ms": _p95_ms(loaded),
            "loaded_max_ms": round(max(loaded) * 1000, 1),
            "exports": counts,
        }
        out["ratio"] = round(out["loaded_median_ms"] / out["idle_median_ms"], 1)
        log(f"exports {backend} bound={out['bulk_concurrency']}: {out}")
        return out
    finally:
        server.stop()


# --------------------------------------------------------------------------- imports


def minimal_file(size: int) -> bytes:
    lines = ["title,country,start_date,shutdown_types\r\n"]
    total, number = len(lines[0]), 0
    while True:
        line = f"Incident {number},PK,2024-01-01,full_network\r\n"
        if total + len(line) > size:
            return "".join(lines).encode()
        lines.append(line)
        total, number = total + len(line), number + 1


def generated_file(source: Path, size: int) -> bytes:
    """The first rows of bench/generate.py's CSV that fit in `size` bytes, ids left out (an
    empty database: every row a create)."""
    import csv

    line = io.StringIO()
    writer = csv.writer(line, lineterminator="\r\n")
    chunks: list[bytes] = []
    total = 0
    with open(source, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        keep = [i for i, name in enumerate(header) if name not in ("id", "revision")]
        for row in [header, *reader]:
            line.seek(0)
            line.truncate()
            writer.writerow([row[i] for i in keep])
            encoded = line.getvalue().encode()
            if total + len(encoded) > size:
                break
            chunks.append(encoded)
            total += len(encoded)
    return b"".join(chunks)


def _fresh_database(backend: str) -> str:
    from app.services import migrations

    if backend == "sqlite":
        path = common.sqlite_path(IMPORT_DB)  # type: ignore[arg-type]
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        url = common.sqlite_url(IMPORT_DB)  # type: ignore[arg-type]
    else:
        import psycopg

        name = common.pg_name(IMPORT_DB)  # type: ignore[arg-type]
        with psycopg.connect(common.PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = common.pg_url(IMPORT_DB)  # type: ignore[arg-type]
    migrations.upgrade(url)
    return url


def _key(database_url: str) -> str:
    from app import create_app
    from app.db import db
    from app.services import auth

    app = create_app({"DATABASE_URL": database_url, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        _, plain = auth.create_key(db.session, "bench", "editor")
        db.session.commit()
        db.engine.dispose()
    return plain


def measure_import(backend: str, label: str, content: bytes, max_rows: str | None) -> dict[str, Any]:
    url = _fresh_database(backend)
    key = _key(url)
    env = {"WEB_CONCURRENCY": "1"}
    if max_rows is not None:
        env["IMPORT_MAX_ROWS"] = max_rows
    server = _server(f"hostile-import-{backend}", url, **env).start()
    try:
        _get(server.port, "/api/v1/incidents")
        warm = minimal_file(200)
        _post_file(server.port, "/api/v1/incidents/import?format=native&dry_run=true", warm, key)
        (pid,) = server.serving_pids()
        before, cpu = _rss_kb(pid), _cpu_seconds([pid])
        status, report, seconds = _post_file(
            server.port, "/api/v1/incidents/import?format=native&dry_run=true", content, key
        )
        out = {
            "backend": backend,
            "file": label,
            "bytes": len(content),
            "rows": report.get("rows"),
            "status": status,
            "created": report.get("created"),
            "seconds": round(seconds, 2),
            "cpu_s": round(_cpu_seconds([pid]) - cpu, 2),
            "rss_before_mb": round(before / 1024, 1),
            "peak_rss_mb": round(_rss_kb(pid, "VmHWM") / 1024, 1),
            "rss_after_mb": round(_rss_kb(pid) / 1024, 1),
        }
        if status != 200:
            out["detail"] = report.get("detail")
        log(f"import {backend} {label}: {out}")
        return out
    finally:
        server.stop()


# --------------------------------------------------------------------------- main


def _markdown(results: dict[str, Any]) -> str:
    lines = []
    if results.get("exports"):
        lines += [
            "| database | BULK_CONCURRENCY | single incident idle, median / p95 "
            "| with 8 exporters, median / p95 / max | ratio | exports (HTTP status: count) |",
            "|---|---|---|---|---|---|",
        ]
        for r in results["exports"]:
            lines.append(
                f"| {r['backend']} | {r['bulk_concurrency']} | {r['idle_median_ms']} / {r['idle_p95_ms']} ms "
                f"| {r['loaded_median_ms']} / {r['loaded_p95_ms']} / {r['loaded_max_ms']} ms "
                f"| {r['ratio']}× | {r['exports']} |"
            )
    if results.get("imports"):
        lines += [
            "",
            "| database | file | rows | HTTP | time | CPU | RSS before | peak RSS | RSS after |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in results["imports"]:
            lines.append(
                f"| {r['backend']} | {r['file']} | {r['rows'] or '—'} | {r['status']} | {r['seconds']} s "
                f"| {r['cpu_s']} s | {r['rss_before_mb']} MB | {r['peak_rss_mb']} MB "
                f"| {r['rss_after_mb']} MB |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000 if QUICK else 100_000)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--parts", default="exports,imports")
    parser.add_argument(
        "--bounds", default="default,0", help="BULK_CONCURRENCY values to compare (`default`: unset)"
    )
    args = parser.parse_args()
    backends = ["sqlite"] if args.no_pg else ["sqlite", "postgresql"]
    parts = args.parts.split(",")
    results: dict[str, Any] = {"size": args.size, "quick": QUICK, "exports": [], "imports": []}
    if "exports" in parts:
        for backend in backends:
            if backend == "sqlite":
                generate.load_sqlite(args.size)
                url = common.sqlite_url(args.size)
            else:
                generate.load_pg(args.size)
                url = common.pg_url(args.size)
            for bound in args.bounds.split(","):
                results["exports"].append(
                    measure_exports(backend, url, None if bound == "default" else bound)
                )
    if "imports" in parts:
        source = generate.generate_csv(args.size)
        sizes = (("1 MB", MB), ("10 MB", 10 * MB)) if not QUICK else (("0.1 MB", MB // 10), ("1 MB", MB))
        for backend in backends:
            for kind, make in (("minimal", minimal_file), ("generated", lambda n: generated_file(source, n))):
                for label, size in sizes:
                    measured = measure_import(backend, f"{label} {kind}", make(size), "1000000")
                    results["imports"].append(measured)
            big = sizes[-1]
            results["imports"].append(
                measure_import(backend, f"{big[0]} minimal, default row cap", minimal_file(big[1]), None)
            )
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    (DATA_DIR / "hostile.json").write_text(json.dumps(results, indent=2))
    print(_markdown(results))


if __name__ == "__main__":
    main()
