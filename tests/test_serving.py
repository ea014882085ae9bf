"""The server as `make run` and production start it (`python serve.py`: granian, WSGI), through
real sockets: slow clients do not starve it, the rate limit is the one the headers state, the
access log holds no secret, over-long URLs get the app's problem+json, a long export streams
through a graceful reload.

Bounded: 50 slow sockets for about three seconds (the minute-long soak is bench/slow_clients.py).
The server-level tests run on SQLite only (the server does not depend on the database); the
export through a reload runs on both, since each streams its own way.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import serve
from tests.conftest import incident_doc
from tests.live_server import HOST, REPO, LiveServer, make_key, sqlite_url

pytest_plugins = ["tests.live_server"]  # fixtures: live_database, live_server, sqlite_template

REDIS_URL = os.environ.get("TEST_REDIS_URL")
SECURITY_HEADERS = ("X-Content-Type-Options", "Content-Security-Policy", "Referrer-Policy")


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "serving.db"
    shutil.copyfile(sqlite_template, path)
    return sqlite_url(path)


def raw_request(port: int, data: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are, read the answer to the end (the request says Connection: close)."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return int(lines[0].split()[1]), headers, body


def _unchunk(data: bytes) -> bytes:
    body = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        body, data = body + data[:size], data[size + 2 :]
    return body


def get(port: int, target: str, headers: str = "") -> tuple[int, dict[str, str], bytes]:
    return raw_request(
        port, f"GET {target} HTTP/1.1\r\nHost: t\r\n{headers}Connection: close\r\n\r\n".encode()
    )


class SlowClients:
    """Connections that never finish: some send a request's headers a byte at a time (`waiting`),
    others (anonymous writes) complete their headers and then a body a byte at a time (`bodies`)."""

    def __init__(self, port: int, headers: int, bodies: int = 0, every: float = 1.0) -> None:
        self.waiting = [
            self._open(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ") for _ in range(headers)
        ]
        self.bodies = [
            self._open(
                port,
                b"POST /api/v1/incidents HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n{",
            )
            for _ in range(bodies)
        ]
        self.sockets = self.waiting + self.bodies
        self.stopped = threading.Event()
        self.every = every
        self.thread = threading.Thread(target=self._drip, daemon=True)
        self.thread.start()

    @staticmethod
    def _open(port: int, first: bytes) -> socket.socket:
        sock = socket.create_connection((HOST, port), timeout=5)
        sock.setblocking(True)
        sock.sendall(first)
        return sock

    def _drip(self) -> None:
        while not self.stopped.wait(self.every):
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(b"a")

    @staticmethod
    def state(sock: socket.socket) -> str:
        """`open` (nothing received yet), `answered` or `closed`."""
        try:
            return "answered" if sock.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) else "closed"
        except BlockingIOError:
            return "open"
        except OSError:
            return "closed"

    def still_open(self) -> int:
        """How many of those still sending headers the server has neither answered nor closed."""
        return sum(self.state(sock) == "open" for sock in self.waiting)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


# --------------------------------------------------------------------------- slow clients


def test_slow_clients_do_not_starve_the_server(sqlite_database, live_server):
    """gunicorn gthread (until December 2026) answered nothing while 8 such sockets were open."""
    server: LiveServer = live_server(sqlite_database, workers=None, threads=None)  # make run's defaults
    slow = SlowClients(server.port, headers=50, bodies=20)
    try:
        time.sleep(1.2)  # every slow socket has sent something more
        timings = []
        for path in ["/healthz", "/api/v1/incidents", "/api/v1/platforms"] * 5:
            started = time.monotonic()
            status, headers, _ = get(server.port, path)
            timings.append(time.monotonic() - started)
            assert status == 200, path
        assert max(timings) < 1.0, timings
        assert slow.still_open() == 50, "the slow clients were dropped: the test proves nothing"
        # An anonymous write is refused before its body is read: it holds no thread either.
        assert {slow.state(sock) for sock in slow.bodies} == {"answered"}
        assert slow.bodies[0].recv(200).startswith(b"HTTP/1.1 401")
    finally:
        slow.close()


def test_a_client_that_never_finishes_its_headers_is_closed(sqlite_database, live_server):
    server = live_server(sqlite_database, workers=1, threads=2, env={"WEB_HEADER_TIMEOUT": "1"})
    slow = SlowClients(server.port, headers=3, every=0.3)
    try:
        deadline = time.monotonic() + 5
        while slow.still_open() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert slow.still_open() == 0
    finally:
        slow.close()


# --------------------------------------------------------------------------- rate limits


def _bulk_calls(server: LiveServer, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    # A new connection each time: with several workers, the kernel spreads them over the workers.
    return [get(server.port, "/api/v1/incidents.csv") for _ in range(count)]


def _assert_limit_kept(replies: list[tuple[int, dict[str, str], bytes]], limit: int) -> None:
    assert [status for status, _, _ in replies] == [200] * limit + [429]
    assert {headers["x-ratelimit-limit"] for _, headers, _ in replies} == {str(limit)}
    remaining = [int(headers["x-ratelimit-remaining"]) for _, headers, _ in replies]
    assert remaining == [*range(limit - 1, -1, -1), 0]
    status, headers, body = replies[-1]
    assert headers["content-type"] == "application/problem+json"
    assert 1 <= int(headers["retry-after"]) <= 60
    assert f"the limit is {limit} per 1 minute" in body.decode()


def test_the_limit_is_the_one_the_headers_state_under_make_run_defaults(sqlite_database, live_server):
    """`make run`: one worker, in-memory counters, RATELIMIT_BULK=10 per minute."""
    server = live_server(sqlite_database, workers=None, threads=None, env={"RATELIMIT_ENABLED": "true"})
    _assert_limit_kept(_bulk_calls(server, 11), 10)


@pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL to test several workers sharing Redis")
def test_several_workers_share_one_count_in_redis(sqlite_database, live_server):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    server = live_server(
        sqlite_database,
        workers=2,
        threads=2,
        env={
            "RATELIMIT_ENABLED": "true",
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            "RATELIMIT_BULK": "6 per minute",
        },
    )
    assert len(server.worker_pids()) == 2
    _assert_limit_kept(_bulk_calls(server, 7), 6)


def test_several_workers_with_in_memory_counters_refuse_to_start(tmp_path):
    """Each worker would count on its own: a client would get the limit once per worker."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RATELIMIT", "WEB_", "BIND"))},
        "WEB_CONCURRENCY": "2",
        "DATABASE_URL": sqlite_url(tmp_path / "never.db"),
    }
    result = subprocess.run(
        [sys.executable, "serve.py"], cwd=REPO, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "refusing to start" in result.stderr and "RATELIMIT_STORAGE_URI=redis://" in result.stderr
    assert not (tmp_path / "never.db").exists()
    # Shared counters, or no limits at all, are fine.
    assert "--workers" in serve.command({"WEB_CONCURRENCY": "2", "RATELIMIT_STORAGE_URI": "redis://r:6379/0"})
    assert "--workers" in serve.command({"WEB_CONCURRENCY": "2", "RATELIMIT_ENABLED": "false"})


def test_serve_builds_granian_options_from_the_settings():
    args = serve.command({"BIND": "[::1]:9000", "WEB_THREADS": "3", "WEB_HEADER_TIMEOUT": "7"})
    assert args[args.index("--host") + 1] == "::1" and args[args.index("--port") + 1] == "9000"
    assert args[args.index("--blocking-threads") + 1] == "3"
    assert args[args.index("--http1-header-read-timeout") + 1] == "7000"
    assert args[args.index("--workers") + 1] == "1"
    assert "--no-access-log" in args and args[-1] == "wsgi:app"
    assert serve.command({"BIND": "unix:/run/tracker.sock"})[6:8] == ["--uds", "/run/tracker.sock"]
    for bad in ({"BIND": "localhost"}, {"WEB_THREADS": "0"}, {"WEB_CONCURRENCY": "two"}):
        with pytest.raises(SystemExit):
            serve.command(bad)
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY"):  # the check above cannot be bypassed
        serve.command({}, extra=["--workers", "4"])
    assert serve.command({}, extra=["--respawn-interval", "1"])[-3:] == [
        "--respawn-interval",
        "1",
        "wsgi:app",
    ]


# --------------------------------------------------------------------------- access log


def test_the_access_log_has_one_line_per_request_and_no_secret(sqlite_database, live_server):
    server = live_server(sqlite_database, workers=1, threads=2)
    key = make_key(sqlite_database)
    secret = key.rsplit("_", 1)[1]
    prefix = key.rsplit("_", 1)[0]
    requests = [
        (f"/api/v1/incidents?api_key={key}", "", 400),
        ("/api/v1/incidents?country=PK&password=hunter2-secret&client_secret=s3cr3t-value", "", 422),
        (f"/api/v1/incidents?q={key.replace('_', '%5F')}", "", 200),
        (f"/api/v1/nothing/{key}", "", 404),
        (
            "/api/v1/platforms?session_token=tok-secret-value",
            "Referer: https://x.example/?token=ref-secret\r\n",
            422,
        ),
        ("/api/v1/incidents", f"Authorization: Bearer {key}\r\nUser-Agent: probe/1\r\n", 200),
    ]
    for target, headers, expected in requests:
        assert get(server.port, target, headers)[0] == expected, target

    def logged_lines() -> list[str]:  # the readiness probe's /healthz aside
        return [
            line
            for line in server.stdout_text().splitlines()
            if ' HTTP/1.1" ' in line and '"GET /healthz ' not in line
        ]

    deadline = time.monotonic() + 5
    while len(logged_lines()) < len(requests) and time.monotonic() < deadline:
        time.sleep(0.1)  # a line is written once its response has been sent
    lines = logged_lines()
    logged = "\n".join(lines) + server.stdout_text() + server.stderr_text()
    for leaked in (secret, "hunter2", "s3cr3t", "tok-secret", "ref-secret"):
        assert leaked not in logged
    assert len(lines) == len(requests)
    for line, (_, _, expected) in zip(lines, requests, strict=True):
        assert line.startswith("127.0.0.1 - - [")
        assert re.search(rf'" {expected} \d+ "', line), line
    assert '"GET /api/v1/incidents?api_key=[REDACTED] HTTP/1.1" 400' in lines[0]
    assert "?country=PK&password=[REDACTED]&client_secret=[REDACTED] " in lines[1]
    assert "?q=[REDACTED] " in lines[2]
    assert f"/api/v1/nothing/{prefix}_[REDACTED] " in lines[3]
    assert '"https://x.example/?token=[REDACTED]"' in lines[4]
    assert '"GET /api/v1/incidents HTTP/1.1" 200 ' in lines[5] and '"probe/1" ' in lines[5]
    assert "Bearer" not in logged


# --------------------------------------------------------------------------- the server's limits


def test_long_urls_get_the_apps_answer_with_its_headers(sqlite_database, live_server):
    """gunicorn answered a request line over 4 KB itself, in HTML, without the security headers."""
    server = live_server(sqlite_database, workers=1, threads=2)
    eight_kb = "/api/v1/incidents?" + "&".join(["country=PK"] * 750)
    status, headers, body = get(server.port, eight_kb)
    assert status == 200 and body.startswith(b"[")
    assert all(name.lower() in headers for name in SECURITY_HEADERS)

    for size in (20_000, 60_000):  # past MAX_URL_LENGTH (16 KB), below the server's own limit (64 KB)
        target = "/api/v1/incidents?" + "&".join(["country=PK"] * (size // 11))
        status, headers, body = get(server.port, target)
        assert status == 414, size
        assert headers["content-type"] == "application/problem+json"
        assert all(name.lower() in headers for name in SECURITY_HEADERS)
        assert b"this server accepts at most 16,384" in body
    # Past hyper's own limit (65,534 bytes) the server answers alone: a bare status, no body.
    status, headers, body = get(server.port, "/api/v1/incidents?" + "&".join(["country=PK"] * 7000))
    assert status == 414 and body == b"" and "content-type" not in headers


def test_odd_headers_reach_the_app_and_broken_ones_get_no_html(sqlite_database, live_server):
    server = live_server(sqlite_database, workers=1, threads=2)
    # Latin-1 bytes in a header value: legal (obs-text), answered by the app.
    status, headers, _ = raw_request(
        server.port,
        b"GET /api/v1/incidents/1 HTTP/1.1\r\nHost: t\r\n"
        b'If-None-Match: "caf\xe9"\r\nConnection: close\r\n\r\n',
    )
    assert status == 404 and headers["content-type"] == "application/problem+json"
    assert all(name.lower() in headers for name in SECURITY_HEADERS)
    # Bytes that do not make an HTTP request never reach the app; granian answers with a bare
    # status: no body, so nothing a browser could render (README: server limits).
    for broken in (
        b"X-Bad\x01: v\r\n",
        b"No colon here\r\n",
        b"".join(b"X-%d: v\r\n" % n for n in range(120)),
    ):
        status, headers, body = raw_request(
            server.port, b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + broken + b"Connection: close\r\n\r\n"
        )
        assert status in (400, 431) and body == b"" and "content-type" not in headers


# --------------------------------------------------------------------------- streaming and reload


def _seed_large(server: LiveServer, database_url: str, count: int) -> None:
    key = make_key(database_url)
    with server.client(key) as client:
        for n in range(count):
            document = incident_doc(title=f"Long narrative {n}", description=f"{n} " + "x" * 49_000)
            assert client.request("POST", "/api/v1/incidents", json_body=document).status == 201


def _read_export_slowly(port: int, started: threading.Event, result: dict) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # before connect: a small window
        sock.settimeout(60)
        sock.connect((HOST, port))
        sock.sendall(b"GET /api/v1/incidents.csv HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(8192):
            answer += chunk
            started.set()
            time.sleep(0.03)  # 2 MB in about 8 s: longer than a reload of two workers takes
    result["finished"] = time.monotonic()
    head, _, body = answer.partition(b"\r\n\r\n")
    result["head"], result["body"] = head.decode("latin-1"), _unchunk(body)


def test_a_long_export_streams_through_a_graceful_reload(live_database, live_server):
    """SIGHUP starts new workers one at a time, each before the old one stops, and an old worker
    finishes what it is sending. Two workers: while one is replaced, the other listens (README:
    with one worker, a reload relies on the new worker starting within the respawn interval)."""
    server = live_server(live_database, workers=2, threads=4)
    _seed_large(server, live_database, 40)
    old_workers = set(server.worker_pids())
    started, result = threading.Event(), {}
    reader = threading.Thread(target=_read_export_slowly, args=(server.port, started, result))
    reader.start()
    assert started.wait(30)
    os.kill(server.pid, signal.SIGHUP)
    answered, first_stopped = [], None
    deadline = time.monotonic() + 40
    while (reader.is_alive() or set(server.worker_pids()) & old_workers) and time.monotonic() < deadline:
        answered.append(get(server.port, "/healthz")[0])
        if first_stopped is None and len(set(server.worker_pids()) & old_workers) < 2:
            first_stopped = time.monotonic()
        time.sleep(0.05)
    reader.join(10)
    assert answered and set(answered) == {200}
    assert first_stopped is not None and result["finished"] > first_stopped, "no reload during the export"
    assert "transfer-encoding: chunked" in result["head"].lower()  # streamed, not buffered
    text = result["body"].decode()
    assert text.count("\r\n") == 1 + 40 and text.endswith("\r\n")
    assert all(f"Long narrative {n}" in text for n in range(40))
    new_workers = set(server.worker_pids())
    assert len(new_workers) == 2 and not new_workers & old_workers
    assert get(server.port, "/healthz")[0] == 200


# --------------------------------------------------------------------------- redaction, in process


@pytest.mark.parametrize(
    ("query", "logged"),
    [
        ("api_key=abc&country=PK", "api_key=[REDACTED]&country=PK"),
        ("Access_Token=abc&key=1&apikey=2", "Access_Token=[REDACTED]&key=[REDACTED]&apikey=[REDACTED]"),
        (
            "password=a%20b&client_secret=x&sessionid=y",
            "password=[REDACTED]&client_secret=[REDACTED]&sessionid=[REDACTED]",
        ),
        (
            "X-Amz-Signature=abc&sig=def&jwt=ghi&auth=jkl",
            "X-Amz-Signature=[REDACTED]&sig=[REDACTED]&jwt=[REDACTED]&auth=[REDACTED]",
        ),
        ("q=sit_Abc-1234_s3cr3tValue-x&page=2", "q=[REDACTED]&page=2"),
        ("q=sit%5FAbc-1234%5Fs3cr3t", "q=[REDACTED]"),
        ("country=PK&country=IN&q=protest", "country=PK&country=IN&q=protest"),
        ("flag&token", "flag&token"),  # no value, nothing to hide
        ("", ""),
    ],
)
def test_secrets_in_a_query_are_redacted_whatever_the_parameter_is_called(query, logged):
    from app.http.accesslog import redact_query

    assert redact_query(query) == logged


def test_a_key_anywhere_in_the_url_is_redacted_and_its_public_prefix_kept():
    from app.http.accesslog import redact_url

    assert redact_url("/api/v1/x/sit_Abc-1234_s3cr3t?p=1") == "/api/v1/x/sit_Abc-1234_[REDACTED]?p=1"
    assert redact_url("/a?sit_Abc-1234_s3cr3t=1") == "/a?sit_Abc-1234_[REDACTED]=1"


def test_a_long_url_is_a_414_problem_in_process(anon_client):
    response = anon_client.get("/api/v1/incidents?" + "&".join(["country=PK"] * 1500))
    assert response.status_code == 414
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["title"] == "Request-URI Too Long"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    ok = anon_client.get("/api/v1/incidents?" + "&".join(["country=PK"] * 1400))
    assert ok.status_code == 200


def test_an_unhandled_error_is_logged_without_the_key_in_its_path(app, anon_client, caplog):
    import logging

    @app.get("/boom/<path:rest>")
    def boom(rest):
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="app.http.problems"):
        response = anon_client.get("/boom/sit_Abc-1234_s3cr3tValue")
    assert response.status_code == 500
    assert "unhandled error on GET /boom/sit_Abc-1234_[REDACTED]" in caplog.text
    assert "s3cr3tValue" not in caplog.text
