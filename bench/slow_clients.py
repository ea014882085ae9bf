"""gunicorn gthread against granian (serve.py): slow clients, and server CPU per request.

    .venv/bin/pip install -r bench/requirements.txt   # gunicorn, the comparison
    .venv/bin/python bench/slow_clients.py            # about 2 minutes
    .venv/bin/python bench/slow_clients.py --sockets 50 --seconds 60   # the long soak

Two servers, started one after the other on loopback with the same app:
- gunicorn gthread with the settings `make run` used until December 2026 (2 workers × 4 threads,
  its access log on stdout);
- granian as `make run` serves now (`python serve.py`: one worker, WEB_THREADS threads).

Slow-client probe: SOCKETS sockets each send a request line and then one header byte every
3 s (never finishing their headers) for SECONDS seconds; meanwhile one client opens a new
connection every 50 ms and asks for /ping (5 s timeout). Reported: how many of its requests
were answered, and their median / p95 / max latency.

CPU per request: the server's processes' user + system CPU (from /proc) over REQUESTS requests
on 4 keep-alive connections after a warm-up, divided by the count: for the trivial Flask
endpoint (bench/trivial_app.py, no access log on either server), for our app's `/healthz`
(which runs every hook of the app) and for a single incident (the demo's, on SQLite), both with
each server's access log as deployed (gunicorn's; the app's own under granian); then the
median latency of 300 requests sent one at a time.

Standard library only besides the servers. The figures are in bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
HOST = "127.0.0.1"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_command(target: str, port: int, access_log: bool) -> list[str]:
    return [
        str(BIN / "gunicorn"),
        "-k",
        "gthread",
        "-w",
        "2",
        "--threads",
        "4",
        "--timeout",
        "120",
        "--no-control-socket",
        "-b",
        f"{HOST}:{port}",
        *(["--access-logfile", "-"] if access_log else []),
        target,
    ]


def granian_command(target: str, port: int, access_log: bool) -> list[str]:
    return [sys.executable, str(REPO / "serve.py"), target]


def start(kind: str, target: str, cwd: Path, env: dict[str, str], access_log: bool, log: Path):
    port = free_port()
    build = gunicorn_command if kind == "gunicorn" else granian_command
    environment = {
        **os.environ,
        **env,
        "BIND": f"{HOST}:{port}",
        "ACCESS_LOG": "true" if access_log else "false",
        "PYTHONPATH": str(cwd),
    }
    out = open(log, "ab")  # noqa: SIM115 - closed in stop()
    process = subprocess.Popen(
        build(target, port, access_log),
        cwd=cwd,
        env=environment,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _ = get(port, "/ping" if "trivial" in target else "/healthz", timeout=2)
            if status == 200:
                return process, port, out
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{kind} did not start; see {log}")


def stop(process: subprocess.Popen, out) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    out.close()


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, float]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


def slow_sockets(port: int, count: int, stop_event: threading.Event) -> list[socket.socket]:
    """`count` connections that send a request line, then a header byte every 3 s."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((HOST, port), timeout=10)
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: bench\r\nX-Slow: ")
        sockets.append(sock)

    def drip() -> None:
        while not stop_event.wait(3.0):
            for sock in sockets:
                try:
                    sock.sendall(b"a")
                except OSError:
                    pass

    threading.Thread(target=drip, daemon=True).start()
    return sockets


def slow_probe(port: int, sockets: int, seconds: float) -> dict[str, float]:
    stop_event = threading.Event()
    held = slow_sockets(port, sockets, stop_event)
    time.sleep(1.0)  # every slow socket has reached the server
    latencies, failures = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status, elapsed = get(port, "/ping", timeout=5.0)
            if status == 200:
                latencies.append(elapsed)
            else:
                failures += 1
        except OSError:
            failures += 1
        time.sleep(0.05)
    stop_event.set()
    for sock in held:
        sock.close()
    ordered = sorted(latencies) or [float("nan")]
    return {
        "answered": len(latencies),
        "failed": failures,
        "median_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))],
        "max_ms": 1000 * ordered[-1],
    }


def group_cpu_seconds(pgid: int) -> float:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields[2] is pgrp (after state, ppid)
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def cpu_per_request(pgid: int, port: int, path: str, requests: int, concurrency: int = 4) -> float:
    def client(count: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        for _ in range(count):
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
        connection.close()

    def run(count: int) -> None:
        threads = [threading.Thread(target=client, args=(count // concurrency,)) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    run(400)  # warm-up
    before = group_cpu_seconds(pgid)
    run(requests)
    return 1e6 * (group_cpu_seconds(pgid) - before) / requests


def latency_ms(port: int, path: str, requests: int = 300) -> float:
    """Median latency one request at a time on one keep-alive connection (after 50 warm-ups)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    timings = []
    for _ in range(requests + 50):
        started = time.perf_counter()
        connection.request("GET", path)
        connection.getresponse().read()
        timings.append(time.perf_counter() - started)
    connection.close()
    return 1000 * statistics.median(timings[50:])


def app_environment(directory: Path) -> dict[str, str]:
    """Our app on a fresh, migrated SQLite database with the demo incident, rate limits out of the way."""
    url = f"sqlite:///{directory / 'bench.db'}"
    env = {"DATABASE_URL": url, "RATELIMIT_ENABLED": "false", "LOG_LEVEL": "WARNING"}
    for command in (["db", "upgrade"], ["demo", "load"]):
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *command],
            cwd=REPO,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=2, help="CPU measurements per server, alternated")
    parser.add_argument("--no-probe", action="store_true", help="only the CPU per request")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        app_env = app_environment(directory)
        log = directory / "server.log"
        if not options.no_probe:
            print(f"slow-client probe: {options.sockets} sockets, {options.seconds:.0f} s, trivial endpoint")
        for kind in () if options.no_probe else ("gunicorn", "granian"):
            process, port, out = start(kind, "trivial_app:app", BENCH_DIR, {}, False, log)
            try:
                result = slow_probe(port, options.sockets, options.seconds)
            finally:
                stop(process, out)
            print(
                f"  {kind:9} answered {result['answered']:4}, failed {result['failed']:3}; "
                f"median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, "
                f"max {result['max_ms']:.1f} ms"
            )
        print(f"server CPU per request (µs), {options.requests} requests on 4 keep-alive connections:")
        cases = [
            ("trivial /ping", "trivial_app:app", BENCH_DIR, {}, False, "/ping"),
            ("our /healthz", "wsgi:app", REPO, app_env, True, "/healthz"),
            ("our incident", "wsgi:app", REPO, app_env, True, "/api/v1/incidents/1"),
        ]
        for label, target, cwd, env, access_log, path in cases:
            figures: dict[str, list[float]] = {"gunicorn": [], "granian": []}
            latencies: dict[str, list[float]] = {"gunicorn": [], "granian": []}
            for _ in range(options.rounds):
                for kind in figures:
                    process, port, out = start(kind, target, cwd, env, access_log, log)
                    try:
                        figures[kind].append(cpu_per_request(process.pid, port, path, options.requests))
                        latencies[kind].append(latency_ms(port, path))
                    finally:
                        stop(process, out)
            gunicorn, granian = (statistics.median(figures[k]) for k in ("gunicorn", "granian"))
            runs = {kind: ", ".join(f"{value:.0f}" for value in values) for kind, values in figures.items()}
            print(
                f"  {label:14} gunicorn {gunicorn:6.0f} ({runs['gunicorn']})"
                f"   granian {granian:6.0f} ({runs['granian']})   ratio {gunicorn / granian:.1f}×"
            )
            one = {kind: statistics.median(values) for kind, values in latencies.items()}
            print(
                f"  {'':14} one at a time: gunicorn {one['gunicorn']:.3f} ms, granian {one['granian']:.3f} ms"
            )


if __name__ == "__main__":
    main()
