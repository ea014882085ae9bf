"""The measurements of bench/run.py (runs inside bench/.venv). See bench/README.md."""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import common, generate, imports, loadgen, report
from bench.common import BENCH_DIR, DATA_DIR, REPO, log

HOST = "127.0.0.1"
DEFAULT_SIZES = [1000, 10000, 100000]
QUERIES = ("first_page", "deep_page", "single", "search", "stats")
SEARCH_WORD = "protest"
STATS_FROM = "2020-01-01"
BIG_LIMIT = "100000000 per minute"  # rate limits out of the way: the benchmark is one client address


@dataclass
class Profile:
    """How long each measurement may take (bounded in requests AND seconds)."""

    seq_requests: int
    seq_seconds: float
    conc_requests: int
    conc_seconds: float
    concurrency: int = 4
    # Throughput is measured again with this many connections (issue 15: 8 as well as 4), on the
    # same servers: more clients than ours has threads, as `make run`'s 8 threads would see.
    wide_concurrency: int = 8
    warmup: int = 5
    raw_seconds: float = 1.0
    csv_max_seconds: float = 600.0


DEFAULT_PROFILE = Profile(seq_requests=150, seq_seconds=2.5, conc_requests=2000, conc_seconds=4.0)
QUICK_PROFILE = Profile(
    seq_requests=20, seq_seconds=0.7, conc_requests=150, conc_seconds=1.0, warmup=2, raw_seconds=0.3
)


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    ready_path: str
    port: int = 0
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def start(self) -> Server:
        self.port = free_port()
        command = [part.replace("{port}", str(self.port)) for part in self.command]
        env = {key: value.replace("{port}", str(self.port)) for key, value in self.env.items()}
        logs = DATA_DIR / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / f"{self.name}.log"
        handle = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.proc = subprocess.Popen(
            command,
            cwd=self.cwd,
            env={**os.environ, **env},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        _STARTED.append(self)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            try:
                status, _, _ = loadgen.fetch(HOST, self.port, self.ready_path)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {self.ready_path} within 60s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # our own process group (started above)
                self.proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        if self in _STARTED:
            _STARTED.remove(self)
        self.proc = None

    def serving_pids(self) -> list[int]:
        """The processes that answer requests: granian's workers, or the process itself."""
        assert self.proc is not None
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            children = []
        return [int(pid) for pid in children] or [self.proc.pid]


_STARTED: list[Server] = []


def stop_all() -> None:
    for server in list(_STARTED):
        server.stop()


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def app_env(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "RATELIMIT_READ": BIG_LIMIT,
        "RATELIMIT_WRITE": BIG_LIMIT,
        "RATELIMIT_BULK": BIG_LIMIT,
        "PYTHONUNBUFFERED": "1",
    }


# Ours and the trivial floor run under the same server settings: serve.py (granian, WSGI), one
# worker with four threads; ours with the app's own access log (as deployed), the floor without
# one (a trivial Flask app has none; granian's is off in serve.py).
SAME_SERVER = {"BIND": f"{HOST}:{{port}}", "WEB_CONCURRENCY": "1", "WEB_THREADS": "4"}


def ours_server(name: str, database_url: str) -> Server:
    return Server(
        name,
        [sys.executable, str(REPO / "serve.py"), "wsgi:app"],
        REPO,
        {**app_env(database_url), **SAME_SERVER},
        "/healthz",
    )


def makerun_server(database_url: str) -> Server:
    # Exactly what `make run` starts (serve.py's defaults: one worker, 8 threads), on our port.
    return Server(
        "ours_makerun",
        [sys.executable, str(REPO / "serve.py"), "wsgi:app"],
        REPO,
        {**app_env(database_url), "BIND": f"{HOST}:{{port}}"},
        "/healthz",
    )


def trivial_server() -> Server:
    return Server(
        "trivial",
        [sys.executable, str(REPO / "serve.py"), "trivial_app:app"],
        BENCH_DIR,
        {**SAME_SERVER, "PYTHONPATH": str(BENCH_DIR)},
        "/ping",
    )


def datasette_server(size: int) -> Server:
    return Server(
        "datasette",
        [
            _bin("datasette"),
            "serve",
            "db.db",
            "--host",
            HOST,
            "--port",
            "{port}",
            "--metadata",
            "metadata.json",
            "--setting",
            "suggest_facets",
            "off",
            "--setting",
            "sql_time_limit_ms",
            "10000",
            "--setting",
            "max_returned_rows",
            "1000",
            # Datasette cuts CSV downloads at 100 MB by default (~72,000 of these rows); a publisher
            # offering the full download lifts that, as the comparison needs the whole table.
            "--setting",
            "max_csv_mb",
            "0",
        ],
        common.flat_dir(size),
        {},
        "/-/versions.json",
    )


# --------------------------------------------------------------------------- the queries


STATS_SQL = (
    "select country as \"group\", count(*) as incidents, sum(status = 'ongoing') as ongoing, "
    "coalesce(sum(duration_days), 0) as incident_days, "
    "sum(acknowledgement_status = 'acknowledged') as acknowledged, "
    "sum(litigation_status != 'none') as in_court, sum(litigation_status = 'pending') as in_court_pending "
    f"from incidents where start_date >= '{STATS_FROM}' group by country order by incidents desc, country"
)


@dataclass
class Plan:
    """The paths of every query for one data size."""

    ours: dict[str, list[str]]
    datasette: dict[str, list[str]]
    flat_sql: dict[str, list[tuple[str, tuple]]]
    facts: dict[str, Any]


def plan_queries(size: int) -> Plan:
    flat = sqlite3.connect(f"file:{common.flat_path(size)}?mode=ro", uri=True)
    total_in = flat.execute("select count(*) from incidents where country = 'IN'").fetchone()[0]
    page = max(1, round(total_in / 50 / 2))
    offset = (page - 1) * 50
    token = None
    if offset:
        boundary = flat.execute(
            "select start_date, id from incidents where country = 'IN' order by start_date desc, id asc "
            "limit 1 offset ?",
            (offset - 1,),
        ).fetchone()
        token = f"{boundary[0]},{boundary[1]}"
    ours_after = None
    if offset:
        # Our order is start_date desc, id desc: the cursor of the incident before the deep page
        # (keyset paging, as Datasette's `_next` token is for its own order).
        from datetime import date

        from app.services.sorts import encode_cursor

        day, last_id = flat.execute(
            "select start_date, id from incidents where country = 'IN' order by start_date desc, id desc "
            "limit 1 offset ?",
            (offset - 1,),
        ).fetchone()
        ours_after = encode_cursor("-start_date", date.fromisoformat(day), last_id)
    low, high = flat.execute("select min(id), max(id) from incidents").fetchone()
    step = max(1, (high - low) // 97)
    ids = list(range(low, high + 1, step))[:100]
    flat.close()
    first = "/api/v1/incidents?country=IN&sort=-start_date&page_size=50"
    ds_first = "/db/incidents.json?country__exact=IN&_sort_desc=start_date&_size=50&_shape=objects"
    ours = {
        "first_page": [first],
        "deep_page": [f"{first}&after={ours_after}" if ours_after else f"{first}&page={page}"],
        "single": [f"/api/v1/incidents/{i}" for i in ids],
        "search": [f"/api/v1/incidents?q={SEARCH_WORD}&page_size=50"],
        "stats": [f"/api/v1/stats?group_by=country&started_from={STATS_FROM}"],
        "csv": ["/api/v1/incidents.csv"],
    }
    datasette = {
        "first_page": [ds_first],
        "deep_page": [f"{ds_first}&_next={urllib.parse.quote(token)}" if token else ds_first],
        "single": [f"/db/incidents/{i}.json" for i in ids],
        "search": [f"/db/incidents.json?_search={SEARCH_WORD}&_size=50&_shape=objects"],
        "stats": ["/db.json?" + urllib.parse.urlencode({"sql": STATS_SQL, "_shape": "objects"})],
        "csv": ["/db/incidents.csv?_stream=on&_size=max"],
    }
    where_deep = "country = ? and (start_date < ? or start_date is null or (start_date = ? and id > ?))"
    deep_args: tuple = (
        ("IN", *(token.split(",")[0], token.split(",")[0], int(token.split(",")[1]))) if token else ()
    )
    fts = "id in (select rowid from incidents_fts where incidents_fts match ?)"
    flat_sql = {
        "first_page": [
            ("select * from incidents where country = ? order by start_date desc limit 51", ("IN",)),
            ("select count(*) from incidents where country = ?", ("IN",)),
        ],
        "deep_page": [
            (f"select * from incidents where {where_deep} order by start_date desc, id limit 51", deep_args),
            ("select count(*) from incidents where country = ?", ("IN",)),
        ]
        if token
        else [("select * from incidents where country = ? order by start_date desc limit 51", ("IN",))],
        "single": [("select * from incidents where id = ?", (ids[len(ids) // 2],))],
        "search": [
            (f"select * from incidents where {fts} order by id limit 51", (SEARCH_WORD,)),
            (f"select count(*) from incidents where {fts}", (SEARCH_WORD,)),
        ],
        "stats": [(STATS_SQL, ())],
    }
    facts = {
        "in_total": total_in,
        "deep_page": page,
        "deep_offset": offset,
        "datasette_next": token,
        "single_ids": [ids[0], ids[-1], len(ids)],
    }
    return Plan(ours, datasette, flat_sql, facts)


# --------------------------------------------------------------------------- the raw floor


def capture_app_sql(database_url: str, paths: dict[str, list[str]]) -> tuple[Any, dict, dict]:
    """Run each query once in-process (Flask test client) and record the SQL it sends."""
    import sqlalchemy as sa

    from app import create_app

    app = create_app({"DATABASE_URL": database_url, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING"})
    engine = app.extensions["database"]["engine"]
    captured: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip()[:10].upper()
        if not head.startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE")):
            captured.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    # A one-row read on the DB-API connection (app.fast.one_row.OneRow) passes no SQLAlchemy event.
    from app.fast.one_row import OneRow

    one_row_first = OneRow.first

    def first(self, engine, **parameters):
        captured.append(self.sql(engine.dialect, parameters))
        return one_row_first(self, engine, **parameters)

    OneRow.first = first
    try:
        return _capture(app, engine, paths, captured)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
        OneRow.first = one_row_first


def _capture(app, engine, paths, captured) -> tuple[Any, dict[str, list], dict[str, Any]]:
    client = app.test_client()
    out: dict[str, list] = {}
    seconds: dict[str, Any] = {}
    client.get("/api/v1/incidents?page_size=1")  # warm: imports, first connection, vocabulary
    for name in QUERIES:
        captured.clear()
        started = time.perf_counter()
        response = client.get(paths[name][0])
        seconds[name] = time.perf_counter() - started
        seconds[name + ":total"] = json.loads(response.headers.get("X-Pagination", "{}")).get("total")
        if response.status_code != 200:
            raise RuntimeError(f"{name}: {response.status_code} {response.get_data()[:300]!r}")
        out[name] = list(captured)
    return engine, out, seconds


def time_statements(cursor_factory, statements: list[tuple[str, Any]], budget: float, rollback=None) -> dict:
    """Median time of running the statements in sequence (fetching every row), and per statement."""

    def once() -> list[float]:
        times = []
        for statement, parameters in statements:
            cursor = cursor_factory()
            t0 = time.perf_counter()
            cursor.execute(statement, parameters)
            cursor.fetchall()
            times.append((time.perf_counter() - t0) * 1000)
            cursor.close()
        if rollback:
            rollback()
        return times

    first = once()
    runs: list[list[float]] = []
    if sum(first) > 1000 * budget:
        runs.append(first)  # a slow query: its (warm) first run is all it gets
    else:
        deadline = time.perf_counter() + budget
        while len(runs) < 5 or (time.perf_counter() < deadline and len(runs) < 300):
            runs.append(once())
    totals = [sum(run) for run in runs]
    per_statement = [round(statistics.median(run[i] for run in runs), 3) for i in range(len(statements))]
    return {
        "ms": round(statistics.median(totals), 3),
        "statements": len(statements),
        "runs": len(runs),
        "per_statement_ms": per_statement,
    }


_COLUMNS = re.compile(r"SELECT ((?:(?!SELECT\b|FROM\b).)+?) FROM\b", re.S)
_IN_LIST = re.compile(r"IN \(((?:[^()]|\([^()]*\))*?)\)")


def _short(statement: str, limit: int = 600) -> str:
    """One line; long column lists and IN lists folded, so that the WHERE and ORDER BY show."""
    text = " ".join(statement.split())

    def columns(match: re.Match) -> str:
        listed = match.group(1)
        if len(listed) < 70:
            return match.group(0)
        return f"SELECT {listed.split(',')[0]}, … ({listed.count(',') + 1} columns) FROM"

    def in_list(match: re.Match) -> str:
        items = match.group(1).count(",") + 1
        return match.group(0) if items < 4 else f"IN (… {items} values)"

    text = _IN_LIST.sub(in_list, _COLUMNS.sub(columns, text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _features(statements: list[tuple[str, Any]]) -> dict[str, bool]:
    sql = " ".join(s for s, _ in statements).lower()
    return {
        "like": " like " in sql or " ilike " in sql,
        "fts": " match " in sql or "_fts" in sql or "@@" in sql or "tsquery" in sql,
        "offset": " offset " in sql,
    }


class AppFloor:
    """The app's own SQL for each query (captured once, in-process), timed on the DB-API connection
    right before the same query is measured over HTTP, so that both see the same machine load."""

    def __init__(self, database_url: str, paths: dict[str, list[str]]) -> None:
        self.engine, self.captured, seconds = capture_app_sql(database_url, paths)
        self.is_pg = self.engine.dialect.name == "postgresql"
        self.raw = self.engine.raw_connection()
        self.info = {
            name: {
                "sql": [_short(s) for s, _ in statements],
                "features": _features(statements),
                "request_s": round(seconds[name], 3),  # the whole request, in-process
                "total": seconds.get(name + ":total"),
            }
            for name, statements in self.captured.items()
        }

    def measure(self, name: str, budget: float, explain: bool) -> dict[str, Any]:
        statements = self.captured[name]
        raw = self.raw
        entry = time_statements(raw.cursor, statements, budget, rollback=raw.rollback if self.is_pg else None)
        entry.update(self.info[name])
        if explain:
            entry["plans"] = []
            for statement, parameters in statements:
                cursor = raw.cursor()
                prefix = "EXPLAIN (ANALYZE, BUFFERS) " if self.is_pg else "EXPLAIN QUERY PLAN "
                cursor.execute(prefix + statement, parameters)
                rows = cursor.fetchall()
                cursor.close()
                entry["plans"].append(
                    [r[0] for r in rows] if self.is_pg else [f"{'  ' * _depth(rows, r)}{r[-1]}" for r in rows]
                )
            if self.is_pg:
                raw.rollback()
        return entry

    def close(self) -> None:
        self.raw.close()
        self.engine.dispose()


def _depth(rows: list, row: tuple) -> int:
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth


class FlatFloor:
    """Datasette's equivalent SQL on the flat table, and the CSV floor."""

    def __init__(self, size: int, plan: Plan) -> None:
        self.plan = plan
        self.conn = sqlite3.connect(
            f"file:{common.flat_path(size)}?mode=ro", uri=True, check_same_thread=False
        )

    def measure(self, name: str, budget: float, explain: bool) -> dict[str, Any]:
        statements = self.plan.flat_sql[name]
        entry = time_statements(self.conn.cursor, statements, budget)
        entry["sql"] = [_short(s) for s, _ in statements]
        if explain:
            entry["plans"] = [
                [r[-1] for r in self.conn.execute("EXPLAIN QUERY PLAN " + s, p).fetchall()]
                for s, p in statements
            ]
        return entry

    def csv_floor(self) -> dict[str, Any]:
        """Every row of the flat table through csv.writer, in one process."""
        import csv
        import io

        started = time.perf_counter()
        sink = io.StringIO()
        writer = csv.writer(sink, lineterminator="\r\n")
        rows = 0
        cursor = self.conn.execute("select * from incidents")
        while batch := cursor.fetchmany(1000):
            writer.writerows(batch)
            rows += len(batch)
            sink.seek(0)
            sink.truncate()
        seconds = time.perf_counter() - started
        return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds, 1)}

    def close(self) -> None:
        self.conn.close()


# --------------------------------------------------------------------------- HTTP measurements


SLOW_S = 2.0  # a query slower than this in-process gets its first request reported apart


def measure_http(
    server: Server, paths: list[str], profile: Profile, *, seq: bool = True, slow: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if slow:
        # Its first request alone, kept apart (`first`): it pays what the app caches until the
        # data changes (totals, statistics, a search's ranking). The load test that follows is
        # bounded in time like every other (at least three requests, however slow), so a query
        # that stays slow costs seconds, and one served from a cache shows its steady state.
        out["first"] = loadgen.run(
            HOST, server.port, paths, concurrency=1, max_requests=1, min_requests=1
        ).as_dict()
        out["slow"] = True
    if seq:
        out["seq"] = loadgen.run(
            HOST,
            server.port,
            paths,
            concurrency=1,
            max_requests=profile.seq_requests,
            max_seconds=profile.seq_seconds,
            warmup=profile.warmup,
        ).as_dict()
    pids = server.serving_pids()
    for key, concurrency in (("conc", profile.concurrency), ("conc8", profile.wide_concurrency)):
        cpu_before = _cpu_seconds(pids)
        out[key] = loadgen.run(
            HOST,
            server.port,
            paths,
            concurrency=concurrency,
            max_requests=profile.conc_requests,
            max_seconds=profile.conc_seconds,
            warmup=0 if seq or key != "conc" else profile.warmup,
        ).as_dict()
        out[key]["connections"] = concurrency
        if out[key]["requests"]:
            # The serving processes' CPU time per request under load (a database server's own is
            # not in it): what throughput on a busy machine comes down to.
            spent = _cpu_seconds(pids) - cpu_before
            out[key]["cpu_us"] = round(spent / out[key]["requests"] * 1e6, 1)
    return out


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (from /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _rss_kb(pid: int, key: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure_csv(server: Server, path: str, warm_path: str, expected: int, profile: Profile) -> dict[str, Any]:
    """Two full exports from a freshly started server, with its memory sampled every 20 ms."""
    server.start()
    try:
        loadgen.fetch(HOST, server.port, warm_path)
        pids = server.serving_pids()
        before = max(_rss_kb(pid) for pid in pids)
        peak = [before]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max([peak[0], *(_rss_kb(pid) for pid in pids)])
                stop.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # Twice on the same server: the first export also reads the database file from disk into
        # the OS cache (a one-off on this machine's slow disk), the second is the steady state;
        # rows/s is the second's, the first's is kept as `cold_rows_per_s`.
        cold = loadgen.stream(HOST, server.port, path, max_seconds=profile.csv_max_seconds)
        result = loadgen.stream(HOST, server.port, path, max_seconds=profile.csv_max_seconds)
        stop.set()
        sampler.join()
        hwm = max(_rss_kb(pid, "VmHWM") for pid in pids)
        out = result.as_dict()
        out["cold_rows_per_s"] = cold.as_dict().get("rows_per_s")
        out.update(
            expected_rows=expected,
            ok=result.status == 200 and result.rows == expected,
            rss_before_kb=before,
            peak_rss_kb=max(peak[0], hwm),
            pids=len(pids),
        )
        if not out["ok"] and not out.get("error"):
            out["error"] = f"{result.rows} of {expected} rows (HTTP {result.status})"
        return out
    finally:
        server.stop()


def _get_s(raw: dict[str, Any], name: str) -> float | None:
    return (raw.get(name) or {}).get("request_s")


def _total(server: Server, path: str, header: bool) -> int | None:
    status, headers, body = loadgen.fetch(HOST, server.port, path)
    if status != 200:
        return None
    if header:
        return json.loads(headers.get("x-pagination", "{}")).get("total")
    return json.loads(body).get("filtered_table_rows_count")


def run_size(size: int, profile: Profile, with_pg: bool, explain: bool) -> dict[str, Any]:
    plan = plan_queries(size)
    result: dict[str, Any] = {"facts": plan.facts, "raw": {}, "http": {}, "csv": {}, "checks": {}}
    log(f"[{size}] capturing the app's SQL for each query (in-process)")
    floors: dict[str, Any] = {"sqlite": AppFloor(common.sqlite_url(size), plan.ours)}
    if with_pg:
        floors["pg"] = AppFloor(common.pg_url(size), plan.ours)
    floors["flat"] = FlatFloor(size, plan)
    result["raw"] = {kind: {} for kind in floors}

    servers = {
        "ours": ours_server("ours", common.sqlite_url(size)),
        "ours_makerun": makerun_server(common.sqlite_url(size)),
        "datasette": datasette_server(size),
    }
    if with_pg:
        servers["ours_pg"] = ours_server("ours_pg", common.pg_url(size))
    try:
        for server in servers.values():
            server.start()
        result["checks"] = {
            "ours_in_total": _total(servers["ours"], plan.ours["first_page"][0], True),
            "datasette_in_total": _total(servers["datasette"], plan.datasette["first_page"][0], False),
            "ours_search_total": floors["sqlite"].info["search"]["total"],
            "datasette_search_total": _total(servers["datasette"], plan.datasette["search"][0], False),
        }
        if with_pg:
            result["checks"]["ours_pg_in_total"] = _total(
                servers["ours_pg"], plan.ours["first_page"][0], True
            )
        # Interleaved: each query runs on every server back to back, so drift on a noisy machine
        # hits them alike.
        for name in QUERIES:
            log(f"[{size}] {name:<10} raw SQL")
            for kind, floor in floors.items():
                result["raw"][kind][name] = floor.measure(name, profile.raw_seconds, explain)
            for key, server in servers.items():
                paths = plan.datasette[name] if key == "datasette" else plan.ours[name]
                log(f"[{size}] {name:<10} {key}")
                raw = result["raw"].get("pg" if key == "ours_pg" else "sqlite", {})
                slow = key != "datasette" and (_get_s(raw, name) or 0) > SLOW_S
                result["http"].setdefault(key, {})[name] = measure_http(
                    server, paths, profile, seq=key != "ours_makerun", slow=slow
                )
        result["raw"]["flat"]["csv"] = floors["flat"].csv_floor()
    finally:
        for server in servers.values():
            server.stop()
        for floor in floors.values():
            floor.close()
    for key, server in servers.items():
        log(f"[{size}] csv export   {key}")
        paths = plan.datasette if key == "datasette" else plan.ours
        warm = "/db/incidents.json?_size=1" if key == "datasette" else "/api/v1/incidents?page_size=1"
        result["csv"][key] = measure_csv(server, paths["csv"][0], warm, size, profile)
    return result


# --------------------------------------------------------------------------- the machine


def machine_info(with_pg: bool) -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(
        next(
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    )
    versions = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for package in ("datasette", "Flask", "SQLAlchemy", "granian", "flask-smorest", "psycopg", "orjson"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    if with_pg:
        import psycopg

        with psycopg.connect(common.PG_ADMIN_URL) as conn:
            versions["postgresql"] = conn.execute("show server_version").fetchone()[0]
    git = generate._git_state()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "app", "migrations", "wsgi.py", "serve.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "loadavg_start": os.getloadavg(),
        "kernel": platform.release(),
        "versions": versions,
        "app_commit": git,
        "app_dirty_files": [line[3:] for line in dirty if line.strip()],
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


# --------------------------------------------------------------------------- main


def _terminate(signum, _frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # runs the finally blocks: servers are stopped


def main(args) -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _terminate)
    results_path = BENCH_DIR / "results.json"
    if args.report_only:
        results = json.loads(results_path.read_text())
        results["goals"] = report.goals(results)
        report.write(results, BENCH_DIR / "RESULTS.md")
        return
    quick = args.quick
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()] if args.sizes else None
    sizes = sorted(set(sizes or ([1000] if quick else DEFAULT_SIZES)))
    profile = QUICK_PROFILE if quick else DEFAULT_PROFILE
    with_pg = not args.no_pg
    started = time.perf_counter()
    log(f"sizes {sizes}; {'quick' if quick else 'full'} profile; PostgreSQL {'on' if with_pg else 'off'}")
    targets = ["csv", "sqlite", "flat"] + (["pg"] if with_pg else [])
    prepared = generate.prepare(sizes, targets, rebuild=args.rebuild)
    prepare_seconds = time.perf_counter() - started

    results: dict[str, Any] = {
        "machine": machine_info(with_pg),
        "config": {
            "sizes": sizes,
            "quick": quick,
            "postgresql": with_pg,
            "profile": profile.__dict__,
            "search_word": SEARCH_WORD,
            "stats_from": STATS_FROM,
            "generator_version": generate.GENERATOR_VERSION,
        },
        "data": prepared,
        "sizes": {},
    }
    results["stop_import"] = imports.measure(with_pg)
    try:
        log("trivial floor")
        trivial = trivial_server().start()
        try:
            results["trivial"] = measure_http(trivial, ["/ping"], profile)
        finally:
            trivial.stop()
        for size in sizes:
            results["sizes"][str(size)] = run_size(size, profile, with_pg, explain=size == sizes[-1])
        log("trivial floor again (drift over the run)")
        trivial = trivial_server().start()
        try:
            results["trivial_end"] = measure_http(trivial, ["/ping"], profile)
        finally:
            trivial.stop()
        results["loadavg_end"] = os.getloadavg()
    finally:
        stop_all()
    results["seconds"] = {
        "prepare": round(prepare_seconds, 1),
        "total": round(time.perf_counter() - started, 1),
    }
    results["goals"] = report.goals(results)
    results_path.write_text(json.dumps(results, indent=1, default=str))
    report.write(results, BENCH_DIR / "RESULTS.md")
    log(f"done in {results['seconds']['total']:.0f}s: bench/RESULTS.md, bench/results.json")
    for goal in results["goals"]:
        log(f"  {({True: 'MET   ', False: 'MISSED'}).get(goal['met'], 'n/a   ')} {goal['text']}")
