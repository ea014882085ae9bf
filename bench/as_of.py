"""Issue 17's `as_of` export: GET /api/v1/incidents.csv?as_of=… of 100,000 incidents, rows/s.

    .venv/bin/python bench/as_of.py                  # 100,000 incidents, SQLite + PostgreSQL
    BENCH_SIZES=1000 .venv/bin/python bench/as_of.py # smoke run
    BENCH_NO_PG=1 .venv/bin/python bench/as_of.py    # SQLite only

Run it with the app's environment (it imports the app and starts serve.py). It prints the figures
as Markdown and writes them to bench/.data/as_of.json; bench/README.md keeps them.

Its own databases (bench/.data/app-N.db here and PostgreSQL `bench_asof_N`, prefix
`BENCH_PG_PREFIX`), made as bench/generate.py makes the suite's (from its built-in templates,
loaded through the importer), then given a history: every incident re-imported once with its
title changed (the app's own export, a title cell edited, imported back: one `update` revision
each), so each has two revisions. Then, with the app as `make run` deploys it (`python
serve.py`), three streamed downloads each of the export as of two moments: `between`, after
every create and before any update (each incident's first of two revisions), and `now`, after
the last update; and of the live export for comparison. Median rows/s; goal ≥ 20,000 on both
databases. Two downloads of the same moment are checked to be the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import io
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("BENCH_PG_PREFIX", "bench_asof")
# generate.py's reading of the STOP sheet uses `stop_format.read_rows`, gone since 8243fc9: its
# built-in templates are used instead (the export's speed depends on the rows' size, not origin).
os.environ.setdefault("BENCH_STOP_CSV", "/nonexistent/stop.csv")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, generate, loadgen  # noqa: E402
from bench.common import DATA_DIR, log  # noqa: E402
from bench.suite import HOST, stop_all  # noqa: E402
from bench.writes import makerun  # noqa: E402

SIZES = [int(size.replace("_", "")) for size in os.environ.get("BENCH_SIZES", "100000").split(",") if size]
BACKENDS = ["sqlite"] if os.environ.get("BENCH_NO_PG") == "1" else ["sqlite", "postgresql"]
RUNS = 3
GOAL_ROWS_PER_S = 20_000
REVISED = " (revised)"


def revise(database_url: str, size: int) -> None:
    """Give every incident a second revision through the importer (once: skipped when done)."""
    import sqlalchemy as sa

    from app import create_app
    from app.db import db
    from app.services import importer, revisions

    app = create_app({"DATABASE_URL": database_url, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        count = db.session.scalar(sa.text("SELECT count(*) FROM incident_revisions"))
        db.session.close()
    if count >= 2 * size:
        return
    exported = DATA_DIR / "as_of-export.csv"
    generate.write_export(database_url, exported)
    with open(exported, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    title = rows[0].index("title")
    for row in rows[1:]:
        row[title] += REVISED
    log(f"revising {len(rows) - 1} incidents of {database_url.rsplit('/', 1)[-1]} through run_import")
    with app.app_context():
        for start in range(1, len(rows), generate.CHUNK_ROWS):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\r\n").writerows(
                [rows[0], *rows[start : start + generate.CHUNK_ROWS]]
            )
            session = db.session
            revisions.set_actor(session, "bench")
            report = importer.run_import(
                session, list(io.StringIO(buffer.getvalue(), newline="")), fmt="native"
            )
            session.close()
            if report.errors or report.updated != min(generate.CHUNK_ROWS, len(rows) - start):
                raise SystemExit(f"revision import failed: {report.updated} updated; {report.errors[:3]}")
    exported.unlink()


def moments(database_url: str) -> dict[str, str]:
    """`between`: the last create's commit time; `now`: a moment after the last change."""
    import sqlalchemy as sa

    from app.http.as_of import rfc3339

    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        between = connection.scalar(
            sa.text(
                "SELECT committed_at FROM incident_revisions WHERE seq = "
                "(SELECT max(seq) FROM incident_revisions WHERE action = 'create')"
            )
        )
    engine.dispose()
    if isinstance(between, str):
        between = datetime.fromisoformat(between)
    time.sleep(0.01)
    return {"between": rfc3339(between.replace(tzinfo=UTC)), "now": rfc3339(datetime.now(UTC))}


def digest(port: int, path: str) -> tuple[str, str]:
    connection = http.client.HTTPConnection(HOST, port, timeout=600)
    connection.request("GET", path)
    response = connection.getresponse()
    sha = hashlib.sha256()
    while data := response.read(1 << 16):
        sha.update(data)
    connection.close()
    return sha.hexdigest(), response.getheader("ETag") or ""


def measure(backend: str, size: int) -> dict[str, Any]:
    if backend == "sqlite":
        generate.load_sqlite(size)
        url = common.sqlite_url(size)
    else:
        generate.load_pg(size)
        url = common.pg_url(size)
    revise(url, size)
    if backend == "postgresql":
        import psycopg

        with psycopg.connect(common.pg_dsn(size), autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
    at = moments(url)
    server = makerun(f"as_of-{backend}-{size}", url).start()
    out: dict[str, Any] = {"backend": backend, "size": size, "moments": at}
    try:
        paths = {name: f"/api/v1/incidents.csv?as_of={moment}" for name, moment in at.items()}
        paths["live"] = "/api/v1/incidents.csv"
        for name, path in paths.items():
            runs = [loadgen.stream(HOST, server.port, path) for _ in range(RUNS)]
            if not all(run.complete and run.status == 200 for run in runs):
                raise SystemExit(f"{name}: {[run.as_dict() for run in runs]}")
            out[name] = {
                "rows": runs[0].rows,
                "rows_per_s": statistics.median(run.rows_per_s for run in runs),
                "seconds": statistics.median(run.seconds for run in runs),
                "first_byte_ms": statistics.median(run.first_byte_ms for run in runs),
                "mb": round(runs[0].bytes / 1e6, 1),
            }
            log(f"{backend} {size} {name}: {out[name]}")
        out["same_bytes"] = digest(server.port, paths["between"]) == digest(server.port, paths["between"])
    finally:
        server.stop()
    return out


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| database | incidents | export | rows | rows/s (median of 3) | s | first byte ms | MB "
        "| goal ≥ 20,000 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for name in ("between", "now", "live"):
            figures = result[name]
            goal = "" if name == "live" else ("met" if figures["rows_per_s"] >= GOAL_ROWS_PER_S else "MISSED")
            lines.append(
                f"| {result['backend']} | {result['size']:,} | {name} | {figures['rows']:,} | "
                f"{figures['rows_per_s']:,.0f} | {figures['seconds']} | {figures['first_byte_ms']} | "
                f"{figures['mb']} | {goal} |"
            )
    return "\n".join(lines)


def main() -> None:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for size in SIZES:
            for backend in BACKENDS:
                results.append(measure(backend, size))
    finally:
        stop_all()
    (DATA_DIR / "as_of.json").write_text(json.dumps(results, indent=2))
    print(markdown(results))
    print("same bytes twice:", {f"{r['backend']}-{r['size']}": r["same_bytes"] for r in results})


if __name__ == "__main__":
    main()
