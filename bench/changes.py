"""Issue 17's feed speed: a page of 500 changes against a page of 500 incidents, same server.

    .venv/bin/python bench/changes.py                      # 100,000 incidents, SQLite + PostgreSQL
    BENCH_SIZES=1000000 .venv/bin/python bench/changes.py  # the million (its cached database first)
    BENCH_NO_PG=1 .venv/bin/python bench/changes.py        # SQLite only
    BENCH_QUICK=1 .venv/bin/python bench/changes.py        # smoke run: 1,000 incidents, short rounds

Run it with the app's environment (it imports the app and starts serve.py). It prints the figures
as Markdown and writes them to bench/.data/changes.json; bench/README.md keeps them.

For each N and database, on a scratch copy of the benchmark's cached database (bench/generate.py:
N incidents imported, so N creates in the feed; copied as bench/writes.py copies it), the feed
is grown to 2N changes in SQL: every create is copied as the incident's revision 2, an `update`
numbered N places later (`seq + N`), its document the create's with `"revision":2`. That is what
N edits that change nothing else would leave in the feed, without N requests; the incidents and
their stored copies stay as they were (the list reads those). Then one server as the suite runs
ours (`serve.py`, one worker, four threads), and in alternating rounds, 4 keep-alive connections
each (bench/loadgen.py):

* changes: `/api/v1/changes?after=<c>&limit=500`, the cursor drawn from the middle of the feed
  (c around N, where the creates end and the updates begin: deep in both indexes);
* incidents: `/api/v1/incidents?page_size=500` (the list's largest page, in its default sort).

Per query: requests/s, median and p95, the serving process's CPU per request and the response
size; the figures are each round's median over ROUNDS rounds. Goal: a page of changes costs no
more than 2 × a page of incidents (median latency and CPU per request).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import loadgen  # noqa: E402
from bench.common import DATA_DIR, log  # noqa: E402
from bench.suite import HOST, Server, _cpu_seconds, ours_server  # noqa: E402
from bench.writes import scratch_database  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK") == "1"
SIZES = [
    int(size.replace("_", ""))
    for size in os.environ.get("BENCH_SIZES", "1000" if QUICK else "100000").split(",")
    if size
]
# BENCH_REPLICATE=10 with BENCH_SIZES=100000: the million built in SQL from the 100,000 (below).
REPLICATE = int(os.environ.get("BENCH_REPLICATE", "1"))
BACKENDS = ["sqlite"] if os.environ.get("BENCH_NO_PG") == "1" else ["sqlite", "postgresql"]
ROUNDS = 2 if QUICK else 5
SECONDS = 1.5 if QUICK else 6.0
CONNECTIONS = 4
PAGE = 500
CURSORS = 50  # distinct cursors in the middle of the feed, walked round-robin
INCIDENTS = f"/api/v1/incidents?page_size={PAGE}"
GOAL = 2.0
# The document's own revision number, with sorted keys followed by `scope`.
REVISION_TWO = {"first": '"revision":1,', "second": '"revision":2,'}

# Every create again as revision 2, an update numbered N later: the feed doubled (see above).
GROW_SQL = {
    "sqlite": [
        "INSERT INTO incident_revisions "
        "(id, incident_id, revision, action, at, actor, changes, document, country, seq, committed_at) "
        "SELECT id + :ids, incident_id, 2, 'update', at, 'bench', '{}', "
        "replace(document, :first, :second), country, seq + :n, committed_at "
        "FROM incident_revisions WHERE action = 'create' AND revision = 1 ORDER BY seq",
        "UPDATE data_version SET seq = (SELECT max(seq) FROM incident_revisions)",
        "ANALYZE",
    ],
    "postgresql": [
        "INSERT INTO incident_revisions "
        "(id, incident_id, revision, action, at, actor, changes, document, country, seq, committed_at) "
        "SELECT id + :ids, incident_id, 2, 'update', at, 'bench', '{}', "
        "replace(document::text, :first, :second)::json, country, seq + :n, "
        "committed_at FROM incident_revisions WHERE action = 'create' AND revision = 1 ORDER BY seq",
        "UPDATE data_version SET seq = (SELECT max(seq) FROM incident_revisions)",
    ],
}


def grow_feed(database_url: str) -> dict[str, int]:
    """The feed doubled in SQL; returns its size before and after."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    started = time.perf_counter()
    try:
        with engine.begin() as connection:
            before = connection.scalar(sa.text("SELECT max(seq) FROM incident_revisions"))
            ids = connection.scalar(sa.text("SELECT max(id) FROM incident_revisions"))
            for statement in GROW_SQL[engine.dialect.name]:
                connection.execute(sa.text(statement), {"n": before, "ids": ids, **REVISION_TWO})
            after = connection.scalar(sa.text("SELECT seq FROM data_version"))
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text("VACUUM ANALYZE"))
    finally:
        engine.dispose()
    log(f"feed grown from {before} to {after} changes in {time.perf_counter() - started:.1f}s")
    return {"changes_before": before, "changes": after}


REPLICATED = {  # table: its columns holding an incident id, a revision id or a feed place
    "incidents": ("id",),
    "incident_documents": ("incident_id",),
    "incident_revisions": ("id", "incident_id", "seq"),
}


def replicate(database_url: str, size: int, times: int) -> None:
    """`times` × the incidents, with their stored copies and revisions (creates): copies of the
    `size` imported ones under ids (and feed places) `size` apart, in SQL. The copies' child
    tables are not written (the list and the feed read the stored copies and the revisions) and
    the ids inside their documents are the originals'; the feed's order is the ids'."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    started = time.perf_counter()
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine, only=list(REPLICATED))
        for copy in range(1, times):
            with engine.begin() as connection:
                for name, shifted in REPLICATED.items():
                    table = metadata.tables[name]
                    # Not the columns the database computes (PostgreSQL's search vector).
                    columns = [c for c in table.columns if c.computed is None]
                    values = [c + copy * size if c.name in shifted else c for c in columns]
                    source = sa.select(*values).where(table.c[shifted[0]] <= size)
                    connection.execute(table.insert().from_select([c.name for c in columns], source))
            log(f"  copy {copy} of {times - 1} written ({time.perf_counter() - started:.0f}s)")
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE data_version SET seq = (SELECT max(seq) FROM incident_revisions)")
            )
    finally:
        engine.dispose()


def cursors(middle: int) -> list[str]:
    """Feed pages around the middle of the feed, each 500 changes from a different cursor."""
    spread = max(1, min(middle // 2, 25_000) // CURSORS)
    first = middle - spread * CURSORS // 2
    return [f"/api/v1/changes?after={first + spread * number}&limit={PAGE}" for number in range(CURSORS)]


def measure_round(server: Server, paths: list[str]) -> dict[str, Any]:
    pids = server.serving_pids()
    cpu_before = _cpu_seconds(pids)
    result = loadgen.run(
        HOST,
        server.port,
        paths,
        concurrency=CONNECTIONS,
        max_requests=10**6,
        max_seconds=SECONDS,
        warmup=len(paths) if len(paths) > 1 else 5,
    )
    cpu = _cpu_seconds(pids) - cpu_before
    if result.errors:
        raise SystemExit(f"errors measuring {paths[0]}: {result.first_error}")
    return {
        "rps": result.rps,
        "median_ms": result.median_ms,
        "p95_ms": result.p95_ms,
        "cpu_ms": round(cpu / result.requests * 1000, 2) if result.requests else None,
        "bytes": round(result.mean_bytes),
    }


def _median_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: round(statistics.median(r[key] for r in rounds), 1) for key in rounds[0]}


def measure(backend: str, size: int) -> dict[str, Any]:
    url, drop = scratch_database(backend, size)
    try:
        if REPLICATE > 1:
            replicate(url, size, REPLICATE)
            size *= REPLICATE
        feed = grow_feed(url)
        server = ours_server(f"changes-{backend}-{size}", url).start()
        try:
            paths = {"changes": cursors(feed["changes_before"]), "incidents": [INCIDENTS]}
            sample = json.loads(loadgen.fetch(HOST, server.port, paths["changes"][0])[2])
            assert len(sample["changes"]) == PAGE and sample["has_more"], "a feed page is not full"
            rounds: dict[str, list[dict[str, Any]]] = {"changes": [], "incidents": []}
            for number in range(ROUNDS):
                for query in ("incidents", "changes"):
                    rounds[query].append(measure_round(server, paths[query]))
                changes, incidents = rounds["changes"][-1], rounds["incidents"][-1]
                log(f"{backend} {size} round {number + 1}: changes {changes} vs incidents {incidents}")
        finally:
            server.stop()
    finally:
        drop()
    changes, incidents = _median_of(rounds["changes"]), _median_of(rounds["incidents"])
    ratios = {
        "median": round(changes["median_ms"] / incidents["median_ms"], 2),
        "cpu": round(changes["cpu_ms"] / incidents["cpu_ms"], 2),
        "rps": round(incidents["rps"] / changes["rps"], 2),
    }
    return {
        "backend": backend,
        "size": size,
        "replicated": REPLICATE > 1,
        **feed,
        "changes_page": changes,
        "incidents_page": incidents,
        "ratio": ratios,
        "met": ratios["median"] <= GOAL and ratios["cpu"] <= GOAL,
        "load": round(os.getloadavg()[0], 2),
    }


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| database | incidents | changes | page | req/s (4 conn.) | median / p95 ms | server CPU ms/req "
        "| bytes | changes ÷ incidents (median, CPU) | goal ≤ 2× |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for query in ("incidents", "changes"):
            figures = result[f"{query}_page"]
            ratio, met = result["ratio"], "met" if result["met"] else "MISSED"
            tail = f"{ratio['median']}×, {ratio['cpu']}× | {met}" if query == "changes" else " | "
            lines.append(
                f"| {result['backend']} | {result['size']:,} | {result['changes']:,} | {query} "
                f"| {figures['rps']} | {figures['median_ms']} / {figures['p95_ms']} | {figures['cpu_ms']} "
                f"| {figures['bytes']:,.0f} | {tail} |"
            )
    return "\n".join(lines)


def main() -> None:
    results = []
    for size in SIZES:
        for backend in BACKENDS:
            log(f"measuring {backend} at {size * REPLICATE:,} incidents")
            results.append(measure(backend, size))
    out = DATA_DIR / f"changes{'-x' + str(REPLICATE) if REPLICATE > 1 else ''}.json"
    out.write_text(json.dumps(results, indent=2))
    print(markdown(results))
    log(f"figures written to {out}")


if __name__ == "__main__":
    main()
