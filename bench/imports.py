"""Issue 4's import goal: the real STOP sheet into an empty database, as the CLI does it.

Each measurement runs in a child process of its own (a cold start, like
`flask incidents import FILE --format stop --on-error skip`): a fresh, migrated database, the
file read, `importer.run_import` with the API's schema, the commit. The clock covers the import
call (reading the file included), not the interpreter start or the migrations. Then the same
file again into the now-full database (every incident unchanged, the re-import path).

The floor, in the same child: reading the file with the csv module alone.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import common
from bench.common import DATA_DIR, REPO, log

RUNS = 3
STOP_DB = "stop"  # bench_pg_stop / bench/.data/app-stop.db


def _sqlite_url() -> str:
    return f"sqlite:///{DATA_DIR / 'app-stop.db'}"


def _fresh(backend: str) -> str:
    """An empty, migrated database; its URL."""
    from app.services import migrations

    if backend == "sqlite":
        path = DATA_DIR / "app-stop.db"
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        url = _sqlite_url()
    else:
        import psycopg

        name = common.pg_name(STOP_DB)  # type: ignore[arg-type]
        with psycopg.connect(common.PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = common.pg_url(STOP_DB)  # type: ignore[arg-type]
    migrations.upgrade(url)
    return url


def child(backend: str) -> dict[str, Any]:
    """One measurement (runs in its own process)."""
    import csv

    from app import create_app
    from app.db import db
    from app.services import importer

    url = _fresh(backend)
    started = time.perf_counter()
    with open(common.STOP_CSV, encoding="utf-8-sig", newline="") as handle:
        rows = sum(1 for _ in csv.DictReader(handle))
    floor_s = time.perf_counter() - started

    app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING"})
    out: dict[str, Any] = {"rows": rows, "floor_s": floor_s}
    with app.app_context():
        for label in ("fresh", "again"):
            started, cpu = time.perf_counter(), time.process_time()
            with open(common.STOP_CSV, encoding="utf-8-sig", newline="") as handle:
                lines = handle.readlines()
            report = importer.run_import(
                db.session,
                lines,
                fmt="stop",
                on_error="skip",
            )
            seconds = time.perf_counter() - started
            db.session.close()
            out[label] = {
                "seconds": seconds,
                "cpu_s": time.process_time() - cpu,
                "rows_per_s": rows / seconds,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "merged": report.merged,
                "rejected": report.rejected,
            }
    return out


def measure(with_pg: bool) -> dict[str, Any] | None:
    """RUNS cold runs per backend; the median run's figures."""
    if not common.STOP_CSV.exists():
        log(f"STOP import: {common.STOP_CSV} is absent, skipped")
        return None
    results: dict[str, Any] = {}
    for backend in ["sqlite", *(["pg"] if with_pg else [])]:
        runs = []
        for number in range(RUNS):
            log(f"STOP import into an empty {backend} database, run {number + 1} of {RUNS}")
            done = subprocess.run(
                [sys.executable, "-m", "bench.imports", backend],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                results[backend] = {"error": done.stderr[-2000:]}
                break
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        if runs:
            runs.sort(key=lambda run: run["fresh"]["seconds"])
            median = runs[len(runs) // 2]
            median["runs_rows_per_s"] = [round(run["fresh"]["rows_per_s"]) for run in runs]
            median["again_runs_rows_per_s"] = [round(run["again"]["rows_per_s"]) for run in runs]
            median["median_again_rows_per_s"] = statistics.median(run["again"]["rows_per_s"] for run in runs)
            results[backend] = median
    return results


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1])))
