"""deploy/nginx.conf, the README's reverse proxy, in front of the real server: the refusals that
nginx makes itself (a URL or headers past its buffers, bytes that are not HTTP, a body far past
MAX_CONTENT_LENGTH, the API not answering) are problem+json with the security headers, and the
API's own answers pass through untouched.

Runs Debian's nginx (`apt-get install nginx-light`; .ci/run installs it) on a loopback port, with
the file as shipped except for what a test must change: the listening socket (no TLS) and the
upstream's port. SQLite only: the proxy does not depend on the database.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live_server import HOST, REPO, LiveServer, sqlite_url
from tests.test_serving import SECURITY_HEADERS, get, raw_request

pytest_plugins = ["tests.live_server"]  # fixtures: live_server, sqlite_template

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CONFIG = REPO / "deploy" / "nginx.conf"


@dataclass
class Proxy:
    port: int  # nginx's
    api: LiveServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def nginx_config(api_port: int, port: int) -> str:
    text = CONFIG.read_text()
    for shipped, here in (
        ("listen 443 ssl;", f"listen {HOST}:{port};"),
        ("server 127.0.0.1:8000;", f"server {HOST}:{api_port};"),
    ):
        assert shipped in text, f"deploy/nginx.conf no longer says {shipped!r}: update this test"
        text = text.replace(shipped, here)
    return "\n".join(line for line in text.splitlines() if "ssl_certificate" not in line)


@pytest.fixture
def proxy(live_server, sqlite_template: Path, tmp_path: Path):
    """The API behind nginx."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is absent: `apt-get install nginx-light` to run the proxy tests.")
    database = tmp_path / "proxy.db"
    shutil.copyfile(sqlite_template, database)
    server = live_server(sqlite_url(database))
    port = free_port()
    (tmp_path / "tracker.conf").write_text(nginx_config(server.port, port))
    (tmp_path / "nginx.conf").write_text(
        "user root; worker_processes 1; daemon off;\n"
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        "events { worker_connections 64; }\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}/body; "
        f"proxy_temp_path {tmp_path}/proxy; include {tmp_path}/tracker.conf; }}\n"
    )
    output = open(tmp_path / "nginx.out", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=output,
    )
    try:
        for _ in range(100):
            if process.poll() is not None:
                pytest.fail(f"nginx did not start: {(tmp_path / 'nginx.out').read_text()}")
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("nginx did not answer within 5 s")
        yield Proxy(port, server)
    finally:
        process.terminate()
        process.wait(timeout=10)
        output.close()


def assert_problem(answer: tuple[int, dict[str, str], bytes], status: int) -> dict:
    got, headers, body = answer
    assert got == status, (got, body[:200])
    assert headers.get("content-type") == "application/problem+json", headers
    for name in SECURITY_HEADERS:
        assert name.lower() in headers, (name, headers)
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"]
    return problem


def test_nginx_own_refusals_are_problems(proxy):
    port = proxy.port
    # A URL past nginx's 32 KB buffer (the API's own limit is 16 KB)
    problem = assert_problem(get(port, "/api/v1/incidents?q=" + "a" * 40_000), 414)
    assert "16 KB" in problem["detail"]
    # One header line past the buffer, and four of them past nginx's total
    assert_problem(get(port, "/", headers=f"X-Big: {'a' * 40_000}\r\n"), 400)
    assert_problem(get(port, "/", headers="".join(f"X-{n}: {'a' * 30_000}\r\n" for n in range(5))), 400)
    # Bytes that are not HTTP, and a header line without a colon
    assert_problem(raw_request(port, b"\x16\x03\x01 hello\r\n\r\n"), 400)
    assert_problem(get(port, "/", headers="a header without colon\r\n"), 400)
    # A body far past MAX_CONTENT_LENGTH, refused on its Content-Length before it is sent
    too_big = b"POST /api/v1/import HTTP/1.1\r\nHost: t\r\nContent-Length: 50000000\r\n"
    too_big += b"Connection: close\r\n\r\n"
    assert "10 MB" in assert_problem(raw_request(port, too_big), 413)["detail"]


def test_the_apis_answers_pass_through_untouched(proxy):
    port = proxy.port
    # The API's own 414 (past MAX_URL_LENGTH but inside nginx's buffer) with its own detail
    problem = assert_problem(get(port, "/api/v1/incidents?q=" + "a" * 20_000), 414)
    assert "20,0" in problem["detail"]  # the API counts the URL's bytes; nginx's text does not
    # The API's 400 for a key in the URL, and a 404: nginx adds nothing, replaces nothing
    assert "Authorization" in assert_problem(get(port, "/api/v1/incidents?api_key=x"), 400)["detail"]
    assert "999999" in assert_problem(get(port, "/api/v1/incidents/999999"), 404)["detail"]
    status, headers, body = get(port, "/api/v1/incidents?page_size=2")
    assert status == 200 and json.loads(body) == []
    assert headers.get("etag") and json.loads(headers["x-pagination"])["total"] == 0


def test_an_api_that_does_not_answer_is_a_503_problem(proxy):
    proxy.api.kill()
    answer = get(proxy.port, "/api/v1/incidents/1")
    assert_problem(answer, 503)
    assert answer[1].get("retry-after") == "5"
