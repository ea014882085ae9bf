"""A bounded loopback load against the real server (serve.py: granian, production settings), on
PostgreSQL and SQLite.

32 clients, each a thread with its own keep-alive connection, share a fixed budget of requests
(and a time cap): lists, single incidents, searches, statistics and CSV exports, mixed with
creates, PATCHes with If-Match and child records added with the incident's ETag. Each client
writes only to incidents it created, so every write must succeed. Afterwards: no 5xx, no
request failed, and the database holds exactly the seed plus the creates acknowledged with
201, each at the revision its acknowledged writes add up to. Rate limits are off (a load test
from one address would only measure them).

The figures are printed (`pytest -rP tests/test_load.py` shows them).
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from tests.conftest import incident_doc
from tests.live_server import HttpClient, LiveServer, make_key

pytest_plugins = ["tests.live_server"]  # fixtures: live_database, live_server

INCIDENTS = "/api/v1/incidents"
CLIENTS = 32
# PostgreSQL is the production database and gets the full budget; SQLite half, to keep the run short.
REQUESTS = {"postgresql": 2000, "sqlite": 1000}
TIME_CAP_S = 90.0
SEED = 40
COUNTRIES = ("PK", "IN", "IR", "ET", "MM", "SD", "IQ", "TR")

# (kind, weight): about 65 % reads, 35 % writes.
MIX = (
    ("list", 20),
    ("get", 15),
    ("search", 10),
    ("stats", 8),
    ("csv", 2),
    ("filtered", 10),
    ("create", 12),
    ("patch", 15),
    ("child", 8),
)
SCHEDULE = [kind for kind, weight in MIX for _ in range(weight)]
EXPECTED = {"create": 201, "child": 201}  # every other kind: 200


@dataclass
class Own:
    """An incident a client created: its ETag and the writes acknowledged on it."""

    id: int
    etag: str
    writes: int = 1


@dataclass
class ClientResult:
    statuses: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    own: list[Own] = field(default_factory=list)
    created: int = 0


def _schedule_kind(ticket: int) -> str:
    # A fixed shuffle: the mix is the same in every run and spread over the whole run.
    return SCHEDULE[(ticket * 37) % len(SCHEDULE)]


def _one_request(client: HttpClient, kind: str, ticket: int, state: ClientResult, seed_ids: list[int]):
    country = COUNTRIES[ticket % len(COUNTRIES)]
    if kind in ("patch", "child") and not state.own:
        kind = "create"  # a client writes only to its own incidents: make one first
    if kind == "list":
        return kind, client.get(f"{INCIDENTS}?page_size=20&sort=-start_date&page={1 + ticket % 3}")
    if kind == "get":
        incident_id = seed_ids[ticket % len(seed_ids)]
        return kind, client.get(f"{INCIDENTS}/{incident_id}")
    if kind == "search":
        return kind, client.get(f"{INCIDENTS}?q={('mobile', 'shutdown', 'block')[ticket % 3]}&page_size=10")
    if kind == "stats":
        return kind, client.get(f"/api/v1/stats?group_by={('country', 'year', 'platform')[ticket % 3]}")
    if kind == "csv":
        return kind, client.get(f"{INCIDENTS}.csv?country={country}")
    if kind == "filtered":
        return kind, client.get(
            f"{INCIDENTS}?country={country}&status=ongoing&active_from=2020-01-01&sort=-duration_days"
        )
    if kind == "create":
        document = incident_doc(
            title=f"Load shutdown {ticket}",
            country=country,
            start_date=f"{2016 + ticket % 9}-{1 + ticket % 12:02d}-{1 + ticket % 28:02d}",
            platforms=["x"],
            shutdown_types=["service_based"],
            sources=[{"url": f"https://example.org/load/{ticket}"}],
        )
        reply = client.request("POST", INCIDENTS, json_body=document)
        if reply.status == 201:
            state.created += 1
            state.own.append(Own(reply.json()["id"], reply.header("ETag")))
        return kind, reply
    own = state.own[ticket % len(state.own)]
    if kind == "patch":
        reply = client.request(
            "PATCH",
            f"{INCIDENTS}/{own.id}",
            json_body={"description": f"Edited by request {ticket}", "area": f"Area {ticket}"},
            headers={"If-Match": own.etag},
        )
        if reply.status == 200:
            own.etag, own.writes = reply.header("ETag"), own.writes + 1
        return kind, reply
    reply = client.request(
        "POST",
        f"{INCIDENTS}/{own.id}/acknowledgements",
        json_body={"actor": f"Ministry {ticket}", "stance": "acknowledged", "date": "2024-01-02"},
        headers={"If-Match": own.etag},
    )
    if reply.status == 201:
        own.etag, own.writes = reply.header("Incident-ETag"), own.writes + 1
    return kind, reply


def _seed(server: LiveServer, key: str) -> list[int]:
    ids = []
    with server.client(key) as client:
        for n in range(SEED):
            reply = client.request(
                "POST",
                INCIDENTS,
                json_body=incident_doc(
                    title=f"Seed mobile shutdown {n}",
                    country=COUNTRIES[n % len(COUNTRIES)],
                    start_date=f"{2015 + n % 10}-0{1 + n % 9}-1{n % 10}",
                    acknowledgements=[{"actor": "Ministry", "stance": "denied"}],
                    legal_cases=[{"court": "High Court", "status": "pending"}],
                ),
            )
            assert reply.status == 201, reply.text
            ids.append(reply.json()["id"])
    return ids


@pytest.mark.slow
def test_bounded_load_mixed_reads_and_writes(live_database, live_server):
    server = live_server(live_database, workers=2, threads=4)
    key = make_key(live_database)
    backend = "postgresql" if live_database.startswith("postgresql") else "sqlite"
    budget = REQUESTS[backend]
    seed_ids = _seed(server, key)
    tickets = itertools.count()
    lock = threading.Lock()
    deadline = time.monotonic() + TIME_CAP_S

    def run_client(_: int) -> ClientResult:
        state = ClientResult()
        with server.client(key) as client:
            while time.monotonic() < deadline:
                with lock:
                    ticket = next(tickets)
                if ticket >= budget:
                    break
                started = time.monotonic()
                try:
                    kind, reply = _one_request(client, _schedule_kind(ticket), ticket, state, seed_ids)
                except OSError as error:
                    state.failures.append(f"{ticket}: {type(error).__name__}: {error}")
                    client.close()
                    continue
                state.latencies.append(time.monotonic() - started)
                state.kinds[kind] += 1
                state.statuses[reply.status] += 1
                if reply.status != EXPECTED.get(kind, 200):
                    state.failures.append(f"{ticket} {kind}: {reply.status} {reply.text[:300]}")
        return state

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(run_client, range(CLIENTS)))
    elapsed = time.monotonic() - started

    statuses = sum((r.statuses for r in results), Counter())
    kinds = sum((r.kinds for r in results), Counter())
    latencies = sorted(latency for r in results for latency in r.latencies)
    failures = [failure for r in results for failure in r.failures]
    done = sum(statuses.values())
    server_errors = sum(count for status, count in statuses.items() if status >= 500)
    created = sum(r.created for r in results)
    print(
        f"\nload [{backend}]: {done} requests by {CLIENTS} clients in {elapsed:.1f} s "
        f"= {done / elapsed:.0f} req/s; "
        f"5xx: {server_errors}, failed: {len(failures)}; "
        f"median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {latencies[int(0.95 * (len(latencies) - 1))] * 1000:.0f} ms; "
        f"statuses {dict(sorted(statuses.items()))}; kinds {dict(sorted(kinds.items()))}; "
        f"incidents created {created}"
    )

    assert server_errors == 0
    assert failures == [], failures[:10]
    assert done == budget, f"only {done} of {budget} requests in the {TIME_CAP_S} s cap"
    stderr = server.stderr_text()
    assert "Traceback" not in stderr and "database is locked" not in stderr, stderr[-3000:]

    engine = sa.create_engine(live_database, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            revisions = dict(connection.execute(sa.text("SELECT id, revision FROM incidents")).all())
            history = dict(
                connection.execute(
                    sa.text("SELECT incident_id, count(*) FROM incident_revisions GROUP BY incident_id")
                ).all()
            )
    finally:
        engine.dispose()
    assert len(revisions) == SEED + created
    for own in (own for r in results for own in r.own):
        assert revisions[own.id] == history[own.id] == own.writes, own
