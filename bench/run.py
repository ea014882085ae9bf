"""The benchmark suite: `make bench` (or `python3 bench/run.py`).

Builds bench/.venv (the app's requirements.txt plus bench/requirements.txt: Datasette stays out
of the app's own environment), generates and loads the data (bench/generate.py; cached in
bench/.data), serves it four ways on loopback — our app under granian (serve.py) with one worker
on SQLite and on PostgreSQL, our app as `make run` deploys it (serve.py), Datasette on a
flat copy — plus a trivial Flask endpoint, measures the queries of issue 6 with a bounded
Python load generator (bench/loadgen.py), times the same SQL run directly (the raw floor), and
writes bench/results.json and bench/RESULTS.md.

Environment / options:
    BENCH_SIZES=1000,10000,100000,1000000   incident counts (default 1000,10000,100000)
    BENCH_QUICK=1                           smoke run: 1,000 incidents, few requests (< 2 min)
    BENCH_NO_PG=1                           skip PostgreSQL
    --sizes, --quick, --no-pg, --rebuild (ignore the cached data), --report-only
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
VENV = BENCH_DIR / ".venv"
VENV_PYTHON = VENV / "bin" / "python"


def ensure_venv() -> None:
    """Create bench/.venv and install both requirement files (again when either changes)."""
    requirements = [REPO / "requirements.txt", BENCH_DIR / "requirements.txt"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in requirements)).hexdigest()
    stamp = VENV / ".installed"
    if stamp.exists() and stamp.read_text() == digest and VENV_PYTHON.exists():
        return
    print("[bench] building bench/.venv (app requirements + Datasette)", file=sys.stderr, flush=True)
    if not VENV_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *(arg for p in requirements for arg in ("-r", str(p)))], check=True)
    stamp.write_text(digest)


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark suite (issue 6).")
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", ""))
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") not in ("", "0")
    )
    parser.add_argument(
        "--no-pg", action="store_true", default=os.environ.get("BENCH_NO_PG", "") not in ("", "0")
    )
    parser.add_argument("--rebuild", action="store_true", help="regenerate and reload every cached database")
    parser.add_argument("--report-only", action="store_true", help="rewrite RESULTS.md from results.json")
    args = parser.parse_args()
    if not in_venv():
        ensure_venv()
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])
    sys.path.insert(0, str(REPO))
    from bench import suite

    suite.main(args)


if __name__ == "__main__":
    main()
