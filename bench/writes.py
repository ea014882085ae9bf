"""Issue 15's write measurements: PATCH throughput, its growth with N, and reads while writes run.

    .venv/bin/python bench/writes.py                     # 1,000 and 100,000 incidents, SQLite + PostgreSQL
    BENCH_SIZES=1000,100000,1000000 .venv/bin/python bench/writes.py
    BENCH_NO_PG=1 .venv/bin/python bench/writes.py       # SQLite only
    BENCH_NO_SQLITE=1 .venv/bin/python bench/writes.py   # PostgreSQL only
    BENCH_QUICK=1 .venv/bin/python bench/writes.py       # smoke run: 1,000 incidents, 3 s phases

Run it with the app's environment (it imports the app and starts serve.py). It prints the figures
as Markdown and writes them to bench/.data/writes.json; bench/README.md keeps them.

For each N and database, on a scratch copy of the benchmark's database (bench/generate.py: drawn
from the STOP sheet; the SQLite file copied by sqlite3's backup, PostgreSQL by
`CREATE DATABASE … TEMPLATE`; the cached database is never written), with an editor key made in
process, the app as `make run` deploys it (`python serve.py`: one worker, its default threads):

* first page under writes: `/api/v1/incidents?country=IN&sort=-start_date` read by 4 and by 8
  keep-alive connections for a fixed time, read-only; then again while one client PATCHes a
  random incident once a second (GET for its ETag, PATCH with If-Match). Median and p99 of each,
  and their ratios. Goals: loaded median ≤ 2 × read-only median, loaded p99 ≤ 5 × read-only p99.
* PATCH throughput: 4 and 8 connections, each in a loop GETs a random incident's ETag and PATCHes
  its description (a suffix naming the write) with If-Match, for a fixed time. PATCH/s counts the
  200s (a 412, two clients on the same incident, is counted apart); median and p95 of the PATCH
  alone; the serving process's CPU time per GET + PATCH. Goal: PATCH/s at 1,000 incidents ÷
  PATCH/s at the largest N ≤ 1.5.
* verification: for a sample of the PATCHed incidents, the stored copy (GET) carries the last
  PATCH's suffix, its `revision` is the one the last 200 answered, the change history has one
  `update` by the bench key per 200 (the last listing the description), and the stored revision
  document of that number carries the suffix too.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, generate  # noqa: E402
from bench.common import DATA_DIR, REPO, log  # noqa: E402
from bench.suite import HOST, Server, _cpu_seconds, app_env  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK") == "1"
SIZES = [
    int(size.replace("_", ""))
    for size in os.environ.get("BENCH_SIZES", "1000" if QUICK else "1000,100000").split(",")
    if size
]
BACKENDS = [
    backend
    for backend, skip in (("sqlite", "BENCH_NO_SQLITE"), ("postgresql", "BENCH_NO_PG"))
    if os.environ.get(skip) != "1"
]
SECONDS = 3.0 if QUICK else 15.0
CONNECTIONS = (4, 8)
WRITE_INTERVAL = 1.0  # the writer of "first page under writes": one PATCH a second
FIRST_PAGE = "/api/v1/incidents?country=IN&sort=-start_date"
VERIFY_SAMPLE = 10 if QUICK else 40
KEY_NAME = "bench-writes"
SUFFIX = re.compile(r" ?\[bench write [0-9a-z.-]+\]$")
TIMEOUT_S = 120.0


# --------------------------------------------------------------------------- HTTP


class Connection:
    """One keep-alive connection; a request that finds it closed by the server is sent again
    on a new one (only GETs: a PATCH is never repeated)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT_S)
            try:
                self.conn.request(
                    method, path, body=body, headers={"Accept-Encoding": "identity", **(headers or {})}
                )
                response = self.conn.getresponse()
                data = response.read()
                answer = response.status, {k.lower(): v for k, v in response.getheaders()}, data
                if response.will_close:
                    self.close()
                return answer
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2 or method != "GET":
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _ms(value: float) -> float:
    return round(value * 1000, 2)


def _quantile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def _load() -> float:
    return round(os.getloadavg()[0], 2)


# --------------------------------------------------------------------------- one write


class Writes:
    """Every 200 PATCH, per incident: how many, and the last one's suffix and revision."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_incident: dict[int, dict[str, Any]] = {}
        self.sequence = 0

    def marker(self, worker: str) -> str:
        with self.lock:
            self.sequence += 1
            return f"{worker}-{self.sequence}"

    def record(self, incident_id: int, marker: str, revision: int) -> None:
        with self.lock:
            entry = self.by_incident.setdefault(incident_id, {"count": 0, "revision": 0, "marker": None})
            entry["count"] += 1
            if revision > entry["revision"]:
                entry["revision"], entry["marker"] = revision, marker


def write_once(
    connection: Connection, key: str, incident_id: int, marker: str, writes: Writes
) -> tuple[int, float]:
    """GET the incident for its ETag, PATCH its description with If-Match; (status, PATCH seconds)."""
    status, headers, body = connection.request("GET", f"/api/v1/incidents/{incident_id}")
    if status != 200:
        raise RuntimeError(f"GET incident {incident_id}: HTTP {status} {body[:200]!r}")
    description = SUFFIX.sub("", json.loads(body)["description"] or "")
    # An incident without a description gets the suffix alone (the API strips a leading space).
    patch = json.dumps({"description": f"{description} [bench write {marker}]".lstrip()}).encode()
    started = time.perf_counter()
    status, _, body = connection.request(
        "PATCH",
        f"/api/v1/incidents/{incident_id}",
        {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "If-Match": headers["etag"],
        },
        patch,
    )
    seconds = time.perf_counter() - started
    if status == 200:
        writes.record(incident_id, marker, json.loads(body)["revision"])
    return status, seconds


# --------------------------------------------------------------------------- the measurements


def _backend_cpu(database_url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to this database ({} for SQLite).
    The server's shared processes (WAL writer, checkpointer) are not counted."""
    if not database_url.startswith("postgresql"):
        return {}
    import psycopg

    with psycopg.connect(common.PG_ADMIN_URL, autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database_url.rsplit("/", 1)[1],),
            )
        ]
    return {pid: _cpu_seconds([pid]) for pid in pids}


def patch_throughput(
    port: int, pids: list[int], key: str, ids: list[int], connections: int, writes: Writes, database_url: str
):
    deadline_box: list[float] = []
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    start = threading.Barrier(connections + 1)

    def worker(number: int) -> None:
        rng = random.Random(f"{connections}-{number}")
        connection = Connection(port)
        local: list[float] = []
        counts: dict[str, int] = {}
        start.wait()
        try:
            while time.perf_counter() < deadline_box[0]:
                incident_id = rng.choice(ids)
                try:
                    status, seconds = write_once(
                        connection, key, incident_id, writes.marker(f"c{connections}"), writes
                    )
                except (OSError, http.client.HTTPException, RuntimeError) as error:
                    connection.close()
                    with lock:
                        errors.append(f"{type(error).__name__}: {error}")
                    continue
                counts[str(status)] = counts.get(str(status), 0) + 1
                if status == 200:
                    local.append(seconds)
        finally:
            connection.close()
            with lock:
                latencies.extend(local)
                for status, count in counts.items():
                    statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(connections)]
    for thread in threads:
        thread.start()
    load_before, cpu_before = _load(), _cpu_seconds(pids)
    backends_before = _backend_cpu(database_url)
    began = time.perf_counter()
    deadline_box.append(began + SECONDS)
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu = _cpu_seconds(pids) - cpu_before
    backend_cpu = sum(
        seconds - backends_before.get(pid, 0.0) for pid, seconds in _backend_cpu(database_url).items()
    )
    ok, collisions = statuses.get("200", 0), statuses.get("412", 0)
    cycles = sum(statuses.values())
    return {
        "connections": connections,
        "seconds": round(elapsed, 2),
        "patches_ok": ok,
        "collisions_412": collisions,
        "other_statuses": {s: c for s, c in statuses.items() if s not in ("200", "412")},
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "patch_per_s": round(ok / elapsed, 1),
        "patch_median_ms": _ms(statistics.median(latencies)) if latencies else None,
        "patch_p95_ms": _ms(_quantile(latencies, 0.95)) if latencies else None,
        "cpu_us_per_cycle": round(cpu / cycles * 1e6) if cycles else None,
        "db_cpu_us_per_cycle": round(backend_cpu / cycles * 1e6)
        if cycles and database_url.startswith("postgresql")
        else None,
        "load_before": load_before,
        "load_after": _load(),
    }


def read_first_page(port: int, connections: int, writer: dict[str, Any] | None) -> dict[str, Any]:
    """`connections` readers of the first page for SECONDS; with `writer` (port, key, ids, writes),
    one more client PATCHes a random incident once a second meanwhile."""
    stop = threading.Event()
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    written: dict[str, int] = {}
    start = threading.Barrier(connections + 1 + (writer is not None))

    def reader() -> None:
        connection = Connection(port)
        local: list[float] = []
        start.wait()
        try:
            while not stop.is_set():
                began = time.perf_counter()
                try:
                    status, _, body = connection.request("GET", FIRST_PAGE)
                except (OSError, http.client.HTTPException) as error:
                    connection.close()
                    with lock:
                        errors.append(f"{type(error).__name__}: {error}")
                    continue
                local.append(time.perf_counter() - began)
                if status != 200:
                    with lock:
                        errors.append(f"HTTP {status}: {body[:200]!r}")
        finally:
            connection.close()
            with lock:
                latencies.extend(local)

    def write_each_second() -> None:
        assert writer is not None
        rng = random.Random(f"page-{connections}")
        connection = Connection(port)
        start.wait()
        next_at = time.perf_counter()
        try:
            while not stop.is_set():
                try:
                    status, _ = write_once(
                        connection,
                        writer["key"],
                        rng.choice(writer["ids"]),
                        writer["writes"].marker("w"),
                        writer["writes"],
                    )
                except (OSError, http.client.HTTPException, RuntimeError) as error:
                    connection.close()
                    status = type(error).__name__  # type: ignore[assignment]
                written[str(status)] = written.get(str(status), 0) + 1
                next_at += WRITE_INTERVAL
                stop.wait(max(0.0, next_at - time.perf_counter()))
        finally:
            connection.close()

    # Warm-up: the statement and the cached total are ready before timing starts.
    warm = Connection(port)
    for _ in range(5):
        warm.request("GET", FIRST_PAGE)
    warm.close()
    threads = [threading.Thread(target=reader, daemon=True) for _ in range(connections)]
    if writer is not None:
        threads.append(threading.Thread(target=write_each_second, daemon=True))
    for thread in threads:
        thread.start()
    load_before = _load()
    start.wait()
    began = time.perf_counter()
    stop.wait(SECONDS)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "connections": connections,
        "writes": written if writer is not None else None,
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "median_ms": _ms(statistics.median(latencies)),
        "p99_ms": _ms(_quantile(latencies, 0.99)),
        "max_ms": _ms(max(latencies)),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "load_before": load_before,
        "load_after": _load(),
    }


def verify(port: int, writes: Writes, sample: int) -> dict[str, Any]:
    """The stored copy, the revision and the history of a sample of PATCHed incidents."""
    rng = random.Random(sample)
    chosen = rng.sample(sorted(writes.by_incident), min(sample, len(writes.by_incident)))
    connection = Connection(port)
    failures: list[str] = []
    try:
        for incident_id in chosen:
            expected = writes.by_incident[incident_id]
            suffix = f"[bench write {expected['marker']}]"
            _, _, body = connection.request("GET", f"/api/v1/incidents/{incident_id}")
            document = json.loads(body)
            if not (document["description"] or "").endswith(suffix):
                failures.append(f"{incident_id}: GET lacks {suffix!r}")
            if document["revision"] != expected["revision"]:
                failures.append(f"{incident_id}: revision {document['revision']} != {expected['revision']}")
            _, _, body = connection.request("GET", f"/api/v1/incidents/{incident_id}/revisions?page_size=500")
            history = json.loads(body)
            ours = [entry for entry in history if entry["actor"] == KEY_NAME and entry["action"] == "update"]
            if len(ours) != expected["count"]:
                failures.append(
                    f"{incident_id}: {len(ours)} updates in the history, {expected['count']} PATCHed"
                )
            if not history or history[-1]["revision"] != expected["revision"]:
                failures.append(
                    f"{incident_id}: the history ends at {history[-1]['revision'] if history else None}"
                )
            elif "description" not in (history[-1]["changes"] or {}):
                failures.append(f"{incident_id}: the last revision's changes lack the description")
            _, _, body = connection.request(
                "GET", f"/api/v1/incidents/{incident_id}/revisions/{expected['revision']}"
            )
            if not (json.loads(body)["description"] or "").endswith(suffix):
                failures.append(f"{incident_id}: revision {expected['revision']}'s document lacks the suffix")
    finally:
        connection.close()
    return {"checked": len(chosen), "failures": failures, "ok": not failures}


# --------------------------------------------------------------------------- databases and server


def scratch_database(backend: str, size: int) -> tuple[str, Any]:
    """A copy of the cached database of `size` incidents: (URL, a function that removes it)."""
    # Loaded (or migrated, when cached) by a process of its own, whose connections end with it:
    # PostgreSQL copies a template only while no one is connected to it.
    subprocess.run(
        [
            sys.executable,
            generate.__file__,
            "--sizes",
            str(size),
            "--targets",
            "sqlite" if backend == "sqlite" else "pg",
        ],
        check=True,
    )
    if backend == "sqlite":
        path = DATA_DIR / f"writes-{size}.db"
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        source = sqlite3.connect(f"file:{common.sqlite_path(size)}?mode=ro", uri=True)
        target = sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()

        def drop() -> None:
            for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                stale.unlink(missing_ok=True)

        return f"sqlite:///{path}", drop
    import psycopg

    template, name = common.pg_name(size), common.pg_name(f"writes_{size}")  # type: ignore[arg-type]
    with psycopg.connect(common.PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def drop_pg() -> None:
        with psycopg.connect(common.PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return common.pg_url(f"writes_{size}"), drop_pg  # type: ignore[arg-type]


def key_and_ids(database_url: str) -> tuple[str, list[int]]:
    """An editor key made by the app's own service, and the live incidents' ids."""
    import sqlalchemy as sa

    from app import create_app
    from app.db import db
    from app.services import auth

    app = create_app({"DATABASE_URL": database_url, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        _, plain = auth.create_key(db.session, KEY_NAME, "editor")
        db.session.commit()
        ids = list(
            db.session.scalars(sa.text("select id from incidents where deleted_at is null order by id"))
        )
        db.session.close()
        db.engine.dispose()
    return plain, ids


def makerun(name: str, database_url: str) -> Server:
    # What `make run` starts (serve.py's defaults: one worker, its default threads), on a free port.
    return Server(
        name,
        [sys.executable, str(REPO / "serve.py"), "wsgi:app"],
        REPO,
        {**app_env(database_url), "BIND": f"{HOST}:{{port}}"},
        "/healthz",
    )


def measure(backend: str, size: int) -> dict[str, Any]:
    url, drop = scratch_database(backend, size)
    try:
        key, ids = key_and_ids(url)
        server = makerun(f"writes-{backend}-{size}", url).start()
        try:
            pids = server.serving_pids()
            writes = Writes()
            out: dict[str, Any] = {"backend": backend, "size": size, "incidents": len(ids)}
            out["first_page"] = []
            for connections in CONNECTIONS:
                idle = read_first_page(server.port, connections, None)
                loaded = read_first_page(server.port, connections, {"key": key, "ids": ids, "writes": writes})
                entry = {
                    "connections": connections,
                    "read_only": idle,
                    "with_writes": loaded,
                    "median_ratio": round(loaded["median_ms"] / idle["median_ms"], 2),
                    "p99_ratio": round(loaded["p99_ms"] / idle["p99_ms"], 2),
                }
                log(f"first page {backend} {size} c={connections}: {entry}")
                out["first_page"].append(entry)
            warm = Connection(server.port)
            write_once(warm, key, ids[0], writes.marker("warm"), writes)
            warm.close()
            out["patch"] = []
            for connections in CONNECTIONS:
                result = patch_throughput(server.port, pids, key, ids, connections, writes, url)
                log(f"PATCH {backend} {size} c={connections}: {result}")
                out["patch"].append(result)
            out["verify"] = verify(server.port, writes, VERIFY_SAMPLE)
            log(f"verify {backend} {size}: {out['verify']}")
            return out
        finally:
            server.stop()
    finally:
        drop()


# --------------------------------------------------------------------------- report


def growth(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """PATCH/s at the smallest N ÷ at the largest, per database and connection count."""
    rows = []
    for backend in BACKENDS:
        runs = sorted((r for r in results if r["backend"] == backend), key=lambda r: r["size"])
        if len(runs) < 2:
            continue
        small, large = runs[0], runs[-1]
        for a, b in zip(small["patch"], large["patch"], strict=True):
            ratio = round(a["patch_per_s"] / b["patch_per_s"], 2) if b["patch_per_s"] else None
            rows.append(
                {
                    "backend": backend,
                    "connections": a["connections"],
                    "small": small["size"],
                    "large": large["size"],
                    "ratio": ratio,
                    "met": ratio is not None and ratio <= 1.5,
                }
            )
    return rows


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| database | N | connections | PATCH/s | median / p95 (PATCH) | 412s | server CPU per GET + PATCH "
        "| PostgreSQL backends' CPU per GET + PATCH |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        for p in run["patch"]:
            lines.append(
                f"| {run['backend']} | {run['size']:,} | {p['connections']} | {p['patch_per_s']} "
                f"| {p['patch_median_ms']} / {p['patch_p95_ms']} ms | {p['collisions_412']} "
                f"| {p['cpu_us_per_cycle']} µs | {p.get('db_cpu_us_per_cycle') or '–'} µs |"
            )
    lines += [
        "",
        "| database | connections | PATCH/s growth (smallest ÷ largest N) | goal ≤ 1.5× |",
        "|---|---|---|---|",
    ]
    for g in results["growth"]:
        lines.append(
            f"| {g['backend']} | {g['connections']} | {g['ratio']}× ({g['small']:,} → {g['large']:,}) "
            f"| {'met' if g['met'] else 'missed'} |"
        )
    lines += [
        "",
        "| database | N | connections | read-only median / p99 | one PATCH a second: median / p99 "
        "| median ratio (≤ 2×) | p99 ratio (≤ 5×) |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        for f in run["first_page"]:
            idle, loaded = f["read_only"], f["with_writes"]
            lines.append(
                f"| {run['backend']} | {run['size']:,} | {f['connections']} "
                f"| {idle['median_ms']} / {idle['p99_ms']} ms "
                f"| {loaded['median_ms']} / {loaded['p99_ms']} ms "
                f"| {f['median_ratio']}× {'met' if f['median_ratio'] <= 2 else 'missed'} "
                f"| {f['p99_ratio']}× {'met' if f['p99_ratio'] <= 5 else 'missed'} |"
            )
    lines += ["", "Verification (stored copy, revision, history) of a sample of PATCHed incidents:", ""]
    for run in results["runs"]:
        v = run["verify"]
        lines.append(
            f"- {run['backend']} {run['size']:,}: {v['checked']} checked, "
            f"{'all correct' if v['ok'] else 'FAILURES: ' + '; '.join(v['failures'][:5])}"
        )
    return "\n".join(lines)


def main() -> None:
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    results: dict[str, Any] = {
        "quick": QUICK,
        "seconds": SECONDS,
        "started": started,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "load_start": os.getloadavg(),
        "runs": [],
    }
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        for backend in BACKENDS:
            results["runs"].append(measure(backend, size))
    results["growth"] = growth(results["runs"])
    results["load_end"] = os.getloadavg()
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    (DATA_DIR / "writes.json").write_text(json.dumps(results, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
