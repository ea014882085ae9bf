"""The app under its real server in a subprocess, for tests that need real processes, sockets and threads.

`LiveServer` starts `python serve.py` (granian, WSGI, the settings `make run` and production use)
on a loopback port this process reserved (a socket bound with SO_REUSEPORT, as granian binds
its own, held until the server answers: no other program can take the port meanwhile; never
listening, so no connection lands on it), waits for `/healthz`, and stops it with SIGKILL to its
whole process group (main process and workers), then checks that no process of the group is
left. Output goes to files in the test's tmp_path, never to pipes that could fill up (the
access log is the stdout file). Rate limits are off unless a test's `env` turns them on.
Every server still running when the test process exits is killed.

The fixtures give each test a migrated database of its own, on SQLite (a file in `tmp_path`)
and on PostgreSQL (a schema of its own in TEST_DATABASE_URL's database, dropped afterwards),
so that a server in another process never sees another test's rows. The session-wide
`database_url` of conftest is not used: its tables are emptied under a live server's feet.

Test modules load the fixtures with `pytest_plugins = ["tests.live_server"]` after importing
helpers from here, so pytest must not try to rewrite this module's asserts: PYTEST_DONT_REWRITE.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.config import normalize_database_url
from app.services import migrations
from tests.conftest import PG_URL, REQUIRE_ALL

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
# Settings of the app and of the server that the server must not inherit from the test's environment.
INHERITED_SETTINGS = (
    "DATABASE_URL",
    "SQLITE_BUSY_TIMEOUT_MS",
    "MAX_CONTENT_LENGTH",
    "MAX_URL_LENGTH",
    "LOG_LEVEL",
    "ACCESS_LOG",
    "BIND",
    "WEB_",
    "GRANIAN",
    "RATELIMIT",
    "FLASK_",
)

_running: set[LiveServer] = set()
# Shared by every PostgresSchemas: a module that imports the fixtures gets its own instance.
_schema_numbers = itertools.count()


# --------------------------------------------------------------------------- HTTP


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class HttpClient:
    """One keep-alive connection (not thread-safe: one client per thread)."""

    IDEMPOTENT = ("GET", "HEAD", "OPTIONS")

    def __init__(self, port: int, *, api_key: str | None = None, timeout: float = 60.0) -> None:
        self.port = port
        self.api_key = api_key
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if self.api_key and method not in self.IDEMPOTENT:
            sent.setdefault("Authorization", f"Bearer {self.api_key}")
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        sent.setdefault("Accept-Encoding", "identity")
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self._conn.request(method, path, body=body, headers=sent)
                response = self._conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                # A keep-alive connection the server closed while idle: the request never reached
                # the app, but only a read is safe to send again.
                if attempt == 2 or method not in self.IDEMPOTENT:
                    raise
                continue
            if response.will_close:
                self.close()
            return Reply(response.status, response.headers, data)
        raise AssertionError("unreachable")

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def multipart(filename: str, content: bytes, field_name: str = "file") -> tuple[bytes, str]:
    """A multipart/form-data body with one file, and its Content-Type."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


# --------------------------------------------------------------------------- the server


@dataclass(eq=False)
class LiveServer:
    database_url: str
    log_dir: Path
    workers: int | None = 2  # None: serve.py's default, as `make run` serves
    threads: int | None = 4
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()  # extra granian options, e.g. ("--workers-kill-timeout", "5")
    port: int = 0
    process: subprocess.Popen | None = None
    _logs: list[Any] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"server-{self.port}.out"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"server-{self.port}.err"

    def stderr_text(self) -> str:
        return (
            self.stderr_path.read_text(encoding="utf-8", errors="replace")
            if self.stderr_path.exists()
            else ""
        )

    def stdout_text(self) -> str:
        """What the server wrote to standard output: the access log."""
        return (
            self.stdout_path.read_text(encoding="utf-8", errors="replace")
            if self.stdout_path.exists()
            else ""
        )

    def client(self, api_key: str | None = None, *, timeout: float = 60.0) -> HttpClient:
        return HttpClient(self.port, api_key=api_key, timeout=timeout)

    def start(self) -> LiveServer:
        assert self.process is None, "already running"
        reservation = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            reservation.bind((HOST, 0))
            self.port = reservation.getsockname()[1]
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.stdout_path, "ab")  # closed by kill()
            err = open(self.stderr_path, "ab")
            self._logs = [out, err]
            environment = {
                **{k: v for k, v in os.environ.items() if not k.startswith(INHERITED_SETTINGS)},
                "DATABASE_URL": self.database_url,
                "LOG_LEVEL": "INFO",
                "BIND": f"{HOST}:{self.port}",
                **({"WEB_CONCURRENCY": str(self.workers)} if self.workers else {}),
                **({"WEB_THREADS": str(self.threads)} if self.threads else {}),
                "RATELIMIT_ENABLED": "false",
                "PYTHONUNBUFFERED": "1",
                **self.env,
            }
            self.process = subprocess.Popen(
                [sys.executable, "serve.py", "wsgi:app", *(("--", *self.args) if self.args else ())],
                cwd=REPO,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group: main process and workers die together
            )
            _running.add(self)
            try:
                self._wait_ready()
            except BaseException:
                self.kill()
                raise
        except BaseException:
            self._close_logs()
            raise
        finally:
            reservation.close()  # the server holds the port now
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.stderr_text()}")
            try:
                with self.client(timeout=5) as probe:
                    if probe.get("/healthz").status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer /healthz in {STARTUP_TIMEOUT_S} s")
            time.sleep(0.1)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def worker_pids(self) -> list[int]:
        return [pid for pid in group_members(self.pid) if pid != self.pid] if self.process else []

    def stop(self) -> None:
        """Stop the server: SIGKILL to the group, like kill().

        No request is in flight when a test stops its server, and a graceful stop costs time
        per server, which adds up over a test run. Nothing is lost: logs are unbuffered, and
        every database write the tests look at was committed (and acknowledged) before.
        """
        self.kill()

    def kill(self) -> None:
        """SIGKILL the main process and every worker at once (what the OOM killer or `kill -9` does)."""
        if self.process is None:
            return
        pgid = self.process.pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)  # orphaned workers are reaped by init
        left = group_members(pgid)
        self.process = None
        _running.discard(self)
        self._close_logs()
        assert not left, f"server processes left behind: {left}"

    def _close_logs(self) -> None:
        for handle in self._logs:
            handle.close()
        self._logs = []

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, read from /proc."""
    members = []
    proc = Path("/proc")
    if not proc.is_dir():  # pragma: no cover - not Linux
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, 0)
            return [pgid]
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp …; comm may contain spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_running):
        with contextlib.suppress(Exception):
            server.kill()


# --------------------------------------------------------------------------- databases


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def postgres_url_or_skip() -> str:
    if not PG_URL:
        if REQUIRE_ALL:
            pytest.fail("PostgreSQL is required (REQUIRE_ALL_DATABASES=1) but TEST_DATABASE_URL is unset.")
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL to run these tests on it too.")
    return normalize_database_url(PG_URL)


class PostgresSchemas:
    """Schemas `live_<pid>_<n>` in TEST_DATABASE_URL's database, one per test, dropped afterwards.

    A URL names its schema through `options=-csearch_path=…`, so the app, alembic and the
    server all work in it unchanged. Schemas, not databases: DROP DATABASE forces a checkpoint
    (seconds on a busy machine), DROP SCHEMA does not.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = make_url(base_url)
        self.prefix = f"live_{os.getpid()}_"
        self._admin = sa.create_engine(self.base_url, poolclass=sa.pool.NullPool)
        self.created: list[str] = []

    def url_of(self, schema: str) -> str:
        url = self.base_url.update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    def _execute(self, sql: str, **params: Any) -> list[Any]:
        with self._admin.begin() as connection:
            result = connection.execute(sa.text(sql), params)
            return list(result) if result.returns_rows else []

    def drop_stale(self) -> None:
        """Drop the schemas of test runs that died before their teardown."""
        for (schema,) in self._execute(r"SELECT nspname FROM pg_namespace WHERE nspname LIKE 'live\_%'"):
            pid = schema.split("_")[1]
            if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
                self._execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def create(self, *, migrated: bool) -> str:
        """A new schema: empty, or migrated to head."""
        schema = f"{self.prefix}{next(_schema_numbers)}"
        self._execute(f'CREATE SCHEMA "{schema}"')
        self.created.append(schema)
        url = self.url_of(schema)
        if migrated:
            migrations.upgrade(url)
        return url

    def drop(self, url: str) -> None:
        schema = make_url(url).query["options"].removeprefix("-csearch_path=")
        self._execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if schema in self.created:
            self.created.remove(schema)

    def close(self) -> None:
        for schema in self.created:
            with contextlib.suppress(sa.exc.OperationalError):
                self._execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self.created.clear()
        self._admin.dispose()


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[PostgresSchemas]:
    schemas = PostgresSchemas(postgres_url_or_skip())
    try:
        schemas.drop_stale()
    except sa.exc.OperationalError as error:
        schemas.close()
        if REQUIRE_ALL:
            pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable: {error}")
    yield schemas
    schemas.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("live-template") / "template.db"
    migrations.upgrade(sqlite_url(path))
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def live_database(request, tmp_path) -> Iterator[str]:
    """A migrated database of its own for one test (a SQLite file or a new PostgreSQL schema)."""
    if request.param == "sqlite":
        path = tmp_path / "live.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield sqlite_url(path)
        return
    schemas: PostgresSchemas = request.getfixturevalue("postgres_schemas")
    url = schemas.create(migrated=True)
    try:
        yield url
    finally:
        schemas.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> Iterator[str]:
    """An empty, unmigrated database of its own for one test."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "empty.db")
        return
    schemas: PostgresSchemas = request.getfixturevalue("postgres_schemas")
    url = schemas.create(migrated=False)
    try:
        yield url
    finally:
        schemas.drop(url)


@pytest.fixture
def live_server(tmp_path) -> Iterator[Any]:
    """`live_server(database_url, **options)` starts a LiveServer; all are stopped at teardown."""
    servers: list[LiveServer] = []

    def start(database_url: str, **options: Any) -> LiveServer:
        server = LiveServer(database_url, tmp_path / "logs", **options)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


# --------------------------------------------------------------------------- data helpers


def make_key(database_url: str, name: str = "live-editor", role: str = "editor") -> str:
    """An API key written straight into the database the server uses."""
    from app import create_app
    from tests.conftest import make_key as conftest_make_key

    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "RATELIMIT_ENABLED": False})
    try:
        return conftest_make_key(app, name, role)
    finally:
        from app.db import db

        with app.app_context():
            db.engine.dispose()


COUNTED_TABLES = (
    "incidents",
    "acknowledgements",
    "legal_cases",
    "sources",
    "incident_platforms",
    "incident_shutdown_types",
    "incident_networks",
    "incident_asns",
    "incident_revisions",
)


def row_counts(database_url: str, tables: tuple[str, ...] = COUNTED_TABLES) -> dict[str, int]:
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return {
                table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in tables
            }
    finally:
        engine.dispose()
