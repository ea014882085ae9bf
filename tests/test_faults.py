"""Faults: the database going away and coming back, and a server killed in the middle of an import.

- PostgreSQL stopped under the running server: `/readyz` and every request answer 503
  problem+json (no traceback, no SQL), and once the cluster is back the same processes serve
  again, without a restart. The test stops the local cluster itself, so it only runs when
  TEST_DATABASE_URL points at a cluster on this machine that `pg_ctlcluster` controls; it always
  starts the cluster again.
- SIGKILL to every server process while a large import is writing: the import is one
  transaction, so no row of it survives, the counts are exactly what they were, and the
  database takes writes at once (on SQLite: no stale lock).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app import create_app
from app.db import db
from tests.conftest import PG_URL, incident_doc
from tests.live_server import LiveServer, Reply, make_key, multipart, row_counts

pytest_plugins = ["tests.live_server"]  # fixtures: live_database, live_server

INCIDENTS = "/api/v1/incidents"
LEAKS = ("Traceback", "SELECT", "INSERT", "psycopg", "sqlalchemy", "OperationalError", 'File "')


# --------------------------------------------------------------------------- PostgreSQL outage


def _local_cluster() -> tuple[str, int] | None:
    """(version, port) of the local cluster TEST_DATABASE_URL points at, if pg_ctlcluster runs it."""
    if not PG_URL or not shutil.which("pg_ctlcluster") or not shutil.which("pg_isready"):
        return None
    url = make_url(PG_URL)
    if url.host not in ("127.0.0.1", "localhost"):
        return None
    versions = sorted(p.name for p in Path("/etc/postgresql").glob("*") if (p / "main").is_dir())
    if not versions:
        return None
    return versions[-1], url.port or 5432


def _pg_ready(port: int) -> bool:
    return (
        subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(port), "-q"], check=False).returncode == 0
    )


def _pg_ctl(version: str, action: str, port: int) -> None:
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
    if action == "stop":
        command += ["-m", "fast"]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    deadline = time.monotonic() + 60
    while _pg_ready(port) != (action == "start"):
        if time.monotonic() > deadline:
            raise AssertionError(f"PostgreSQL did not {action} within 60 s")
        time.sleep(0.2)


def _assert_problem_503(reply: Reply) -> None:
    assert reply.status == 503, (reply.status, reply.text[:500])
    assert reply.header("Content-Type") == "application/problem+json"
    body = reply.json()
    assert body["status"] == 503 and body["title"] == "Service Unavailable"
    assert not [leak for leak in LEAKS if leak in reply.text], reply.text


@pytest.mark.slow
@pytest.mark.parametrize("live_database", ["postgresql"], indirect=True)
def test_postgres_stops_and_comes_back(live_database, live_server):
    cluster = _local_cluster()
    if cluster is None:
        pytest.skip("needs TEST_DATABASE_URL on 127.0.0.1 and a local cluster that pg_ctlcluster runs")
    version, port = cluster
    server: LiveServer = live_server(live_database, workers=2, threads=2)
    key = make_key(live_database)
    workers = sorted(server.worker_pids())
    requests = 8  # enough for both workers to have pooled connections, then to use them again

    with server.client(key) as client:
        for _ in range(requests):
            assert client.get("/readyz").status == 200
            assert client.get(INCIDENTS).status == 200
        assert client.request("POST", INCIDENTS, json_body=incident_doc(title="Before")).status == 201

    try:
        _pg_ctl(version, "stop", port)
        with server.client(key) as client:
            for _ in range(requests):
                _assert_problem_503(client.get("/readyz"))
                _assert_problem_503(client.get(INCIDENTS))
            _assert_problem_503(client.get(f"{INCIDENTS}/1"))
            # a write cannot even check its key: 503, not 401 and not 500
            _assert_problem_503(client.request("POST", INCIDENTS, json_body=incident_doc(title="During")))
    finally:
        if not _pg_ready(port):
            _pg_ctl(version, "start", port)

    with server.client(key) as client:
        for _ in range(requests):
            reply = client.get("/readyz")
            assert reply.status == 200, reply.text
            assert client.get(INCIDENTS).status == 200
        assert client.request("POST", INCIDENTS, json_body=incident_doc(title="After")).status == 201
        titles = [incident["title"] for incident in client.get(INCIDENTS).json()]
    assert sorted(titles) == ["After", "Before"]
    assert sorted(server.worker_pids()) == workers, "the workers were restarted"
    assert server.alive
    stderr = server.stderr_text()
    assert "database unavailable: OperationalError" in stderr
    assert "unhandled error" not in stderr, stderr


# --------------------------------------------------------------------------- SIGKILL mid-import

IMPORT_ROWS = 10_000
# Writing starts after every row is parsed and validated (a few seconds); the kill comes this
# long after the first uncommitted rows reach the disk, while the rest are being written. Short:
# on a fast machine the writing of all 10,000 rows took under 1.5 s (an earlier setting here).
KILL_AFTER_S = 0.2
COUNTRIES = ("PK", "IN", "IR", "ET", "MM", "SD", "IQ", "TR", "RU", "BD", "KE", "CM")


def _native_file(rows: int) -> bytes:
    """A native CSV of `rows` new incidents, each with a statement and a source."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["title", "country", "area", "start_date", "end_date", "shutdown_types", "platforms", "networks"]
        + ["acknowledgements", "sources"]
    )
    for n in range(rows):
        day = f"{2010 + n % 15}-{1 + n % 12:02d}-{1 + n % 28:02d}"
        writer.writerow(
            [
                f"Imported shutdown {n}",
                COUNTRIES[n % len(COUNTRIES)],
                f"District {n}",
                day,
                "",
                "service_based",
                "x; whatsapp",
                "mobile",
                json.dumps([{"actor": "Ministry of Interior", "stance": "acknowledged", "date": day}]),
                json.dumps([{"url": f"https://example.org/report/{n}", "kind": "news"}]),
            ]
        )
    return out.getvalue().encode()


class WriteProgress:
    """A number that grows while the import writes rows it has not committed yet."""

    def __init__(self, database_url: str) -> None:
        self.engine = None
        if database_url.startswith("sqlite"):
            # Uncommitted pages spill from the page cache into the WAL long before the commit.
            self.wal = Path(make_url(database_url).database + "-wal")
            self.started = 512 * 1024  # growth that says rows are being written
        else:
            self.engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
            self.started = 64 * 1024

    def __call__(self) -> int:
        if self.engine is None:
            return self.wal.stat().st_size if self.wal.exists() else 0
        # A table's heap grows with inserted tuples whether or not they are committed.
        query = sa.text("SELECT pg_relation_size('incidents') + pg_relation_size('sources')")
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one()

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


@pytest.mark.slow
def test_sigkill_in_the_middle_of_an_import_leaves_no_partial_rows(live_database, live_server):
    busy_timeout_ms = 3000
    server: LiveServer = live_server(live_database, env={"SQLITE_BUSY_TIMEOUT_MS": str(busy_timeout_ms)})
    key = make_key(live_database)
    with server.client(key) as client:
        for n in range(3):
            created = client.request(
                "POST",
                INCIDENTS,
                json_body=incident_doc(
                    title=f"Kept {n}",
                    sources=[{"url": f"https://example.org/kept/{n}"}],
                    acknowledgements=[{"actor": "Ministry", "stance": "denied"}],
                ),
            )
            assert created.status == 201, created.text
        patched = client.request(
            "PATCH",
            f"{INCIDENTS}/{created.json()['id']}",
            json_body={"end_date": "2023-06-01"},
            headers={"If-Match": created.header("ETag")},
        )
        assert patched.status == 200, patched.text
    before = row_counts(live_database)
    assert before["incidents"] == 3 and before["incident_revisions"] == 4 and before["sources"] == 3

    body, content_type = multipart("big.csv", _native_file(IMPORT_ROWS))
    outcome: dict[str, object] = {}

    def upload() -> None:
        try:
            with server.client(key, timeout=300) as client:
                outcome["reply"] = client.request(
                    "POST",
                    f"{INCIDENTS}/import?format=native",
                    body=body,
                    headers={"Content-Type": content_type},
                )
        except OSError as error:  # the connection dies with the server
            outcome["error"] = error

    progress = WriteProgress(live_database)
    try:
        baseline = progress()
        uploader = threading.Thread(target=upload, name="import-upload")
        uploader.start()
        deadline = time.monotonic() + 120
        while progress() < baseline + progress.started:
            assert uploader.is_alive(), f"the import ended before writing: {outcome}"
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.05)
        time.sleep(KILL_AFTER_S)
        assert uploader.is_alive(), f"the import finished before the kill (make the file bigger): {outcome}"
        server.kill()  # SIGKILL to the master and every worker, mid-transaction
        uploader.join(30)
        assert not uploader.is_alive()
        assert "reply" not in outcome, outcome
    finally:
        progress.close()

    assert row_counts(live_database) == before

    # The database takes a write at once: no stale lock, no half-written transaction in the way.
    app = create_app(
        {
            "DATABASE_URL": live_database,
            "TESTING": True,
            "RATELIMIT_ENABLED": False,
            "SQLITE_BUSY_TIMEOUT_MS": busy_timeout_ms,
        }
    )
    try:
        started = time.monotonic()
        response = app.test_client().post(
            INCIDENTS, json=incident_doc(title="After the crash"), headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 201, response.get_json()
        assert time.monotonic() - started < busy_timeout_ms / 1000
        listed = app.test_client().get(f"{INCIDENTS}?page_size=500").get_json()
        assert sorted(i["title"] for i in listed) == ["After the crash", "Kept 0", "Kept 1", "Kept 2"]
        with app.app_context(), db.engine.connect() as connection:
            if db.engine.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
                # the full-text index matches its table (raises if not)
                connection.exec_driver_sql(
                    "INSERT INTO incidents_fts(incidents_fts) VALUES ('integrity-check')"
                )
            found = connection.execute(
                sa.text("SELECT count(*) FROM incidents WHERE title LIKE 'Imported shutdown%'")
            ).scalar_one()
            assert found == 0
    finally:
        with app.app_context():
            db.engine.dispose()
    after = row_counts(live_database)
    assert after["incidents"] == before["incidents"] + 1
    assert after["incident_revisions"] == before["incident_revisions"] + 1
