"""Paths and small helpers shared by the benchmark scripts (standard library only)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", BENCH_DIR / ".data"))
VENV = BENCH_DIR / ".venv"
STOP_CSV = Path(
    os.environ.get("BENCH_STOP_CSV", REPO.parent / "shared" / "data" / "stop_combined_2016_2025.csv")
)
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_PREFIX = os.environ.get("BENCH_PG_PREFIX", "bench_pg")
# Databases this suite must never touch, whatever the prefix says.
PG_FORBIDDEN = {"test", "test2", "test3", "test4", "bench", "postgres", "template0", "template1", "root"}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sqlite_path(size: int) -> Path:
    return DATA_DIR / f"app-{size}.db"


def sqlite_url(size: int) -> str:
    return f"sqlite:///{sqlite_path(size)}"


def pg_name(size: int) -> str:
    name = f"{PG_PREFIX}_{size}"
    if name in PG_FORBIDDEN:
        raise SystemExit(f"refusing to use the PostgreSQL database {name!r}")
    return name


def pg_url(size: int) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{pg_name(size)}"


def pg_dsn(size: int) -> str:
    """The same database as a plain libpq URL, for psycopg itself."""
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + pg_name(size)


def flat_dir(size: int) -> Path:
    return DATA_DIR / f"flat-{size}"


def flat_path(size: int) -> Path:
    # Datasette names a database after its file: /db/incidents.json
    return flat_dir(size) / "db.db"


def csv_path(size: int, version: int) -> Path:
    return DATA_DIR / f"incidents-{size}-g{version}.csv"
