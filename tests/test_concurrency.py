"""Concurrency against the live server (several workers and threads), on SQLite and PostgreSQL.

Two editors who read the same version of an incident and save at the same moment: one wins,
the other gets 412 and the history shows one change (no lost update). Twenty writers at once:
every acknowledged write is in the database, none is a 5xx, and SQLite never answers
"database is locked" (writes take the lock with BEGIN IMMEDIATE and wait for busy_timeout).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa

from tests.conftest import incident_doc
from tests.live_server import LiveServer, Reply, make_key

pytest_plugins = ["tests.live_server"]  # fixtures: live_database, live_server

INCIDENTS = "/api/v1/incidents"
LOCKED = "database is locked"
WRITERS = 20
RACE_ROUNDS = 5
PATCHES_PER_WRITER = 3


def _run_together(count: int, work) -> list[Any]:
    """Run work(index, barrier) in `count` threads released at the same instant."""
    barrier = threading.Barrier(count, timeout=60)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(work, index, barrier) for index in range(count)]
        return [future.result(timeout=180) for future in futures]


def _no_server_errors(server: LiveServer, replies: list[Reply]) -> None:
    assert [r.status for r in replies if r.status >= 500] == [], [r.text for r in replies if r.status >= 500]
    assert not [r for r in replies if LOCKED in r.text]
    stderr = server.stderr_text()
    assert LOCKED not in stderr, stderr
    assert "Traceback" not in stderr, stderr


def test_same_etag_two_editors_one_wins(live_database, live_server):
    """Several rounds, since a race is a matter of timing: in each, both editors send the ETag
    they read; one PATCH is applied, the other gets 412, and the history grows by one update."""
    server = live_server(live_database, workers=2, threads=4)
    key = make_key(live_database)
    with server.client(key) as client:
        created = client.request("POST", INCIDENTS, json_body=incident_doc(title="Original"))
        assert created.status == 201, created.text
        incident_id = created.json()["id"]

    titles = ["Original"]
    for round_number in range(RACE_ROUNDS):
        with server.client() as client:
            etag = client.get(f"{INCIDENTS}/{incident_id}").header("ETag")
        assert etag

        def edit(index: int, barrier: threading.Barrier, etag: str = etag, round_number: int = round_number):
            with server.client(key) as client:
                client.get("/healthz")  # connect before the barrier: both requests leave together
                barrier.wait()
                return client.request(
                    "PATCH",
                    f"{INCIDENTS}/{incident_id}",
                    json_body={"title": f"Round {round_number}, editor {index}"},
                    headers={"If-Match": etag},
                )

        replies = _run_together(2, edit)
        _no_server_errors(server, replies)
        statuses = sorted(r.status for r in replies)
        # 409 here means both requests passed the If-Match check on the same old version and
        # the second ran into the unique revision number at commit: the If-Match check must
        # read the incident under a row lock (SELECT … FOR UPDATE) to answer 412.
        assert statuses == [200, 412], (round_number, [(r.status, r.text[:200]) for r in replies])
        loser = next(r for r in replies if r.status == 412)
        assert loser.header("Content-Type") == "application/problem+json"
        titles.append(next(r for r in replies if r.status == 200).json()["title"])

    with server.client() as client:
        current = client.get(f"{INCIDENTS}/{incident_id}").json()
        history = client.get(f"{INCIDENTS}/{incident_id}/revisions").json()
    # No lost update: one change per round, and it is the one that was acknowledged.
    assert [r["action"] for r in history] == ["create"] + ["update"] * RACE_ROUNDS
    assert [r["changes"]["title"] for r in history[1:]] == [
        {"from": before, "to": after} for before, after in zip(titles, titles[1:], strict=False)
    ]
    assert (current["title"], current["revision"]) == (titles[-1], RACE_ROUNDS + 1)


def test_twenty_parallel_writers_lose_nothing(live_database, live_server):
    """Each writer creates an incident, then PATCHes it and adds a source, chaining ETags."""
    server = live_server(live_database, workers=2, threads=8)
    key = make_key(live_database)

    def write(index: int, barrier: threading.Barrier) -> dict[str, Any]:
        replies: list[Reply] = []
        acknowledged: dict[str, Any] = {"id": None, "writes": 0, "title": None, "sources": 0}
        with server.client(key) as client:
            client.get("/healthz")
            barrier.wait()
            reply = client.request(
                "POST",
                INCIDENTS,
                json_body=incident_doc(
                    title=f"Writer {index}",
                    sources=[{"url": f"https://example.org/{index}/0"}],
                    acknowledgements=[{"actor": "Ministry", "stance": "denied"}],
                ),
            )
            replies.append(reply)
            if reply.status != 201:
                return {"replies": replies, **acknowledged}
            incident_id = reply.json()["id"]
            acknowledged.update(id=incident_id, writes=1, title=f"Writer {index}", sources=1)
            etag = reply.header("ETag")
            for step in range(PATCHES_PER_WRITER):
                title = f"Writer {index} edit {step}"
                reply = client.request(
                    "PATCH",
                    f"{INCIDENTS}/{incident_id}",
                    json_body={"title": title},
                    headers={"If-Match": etag},
                )
                replies.append(reply)
                if reply.status != 200:
                    break
                acknowledged.update(writes=acknowledged["writes"] + 1, title=title)
                etag = reply.header("ETag")
                reply = client.request(
                    "POST",
                    f"{INCIDENTS}/{incident_id}/sources",
                    json_body={"url": f"https://example.org/{index}/{step + 1}"},
                    headers={"If-Match": etag},
                )
                replies.append(reply)
                if reply.status != 201:
                    break
                acknowledged.update(writes=acknowledged["writes"] + 1, sources=acknowledged["sources"] + 1)
                etag = reply.header("Incident-ETag")
        return {"replies": replies, **acknowledged}

    results = _run_together(WRITERS, write)
    replies = [reply for result in results for reply in result["replies"]]
    _no_server_errors(server, replies)
    # Every writer works on its own incident, so nothing may be refused either.
    assert {r.status for r in replies} <= {200, 201}, [(r.status, r.text) for r in replies if r.status > 201]
    assert len(replies) == WRITERS * (1 + 2 * PATCHES_PER_WRITER)

    engine = sa.create_engine(live_database, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            incidents = {
                row.id: row
                for row in connection.execute(sa.text("SELECT id, title, revision FROM incidents"))
            }
            sources = dict(
                connection.execute(
                    sa.text("SELECT incident_id, count(*) FROM sources GROUP BY incident_id")
                ).all()
            )
            revisions = dict(
                connection.execute(
                    sa.text("SELECT incident_id, count(*) FROM incident_revisions GROUP BY incident_id")
                ).all()
            )
    finally:
        engine.dispose()
    assert sorted(incidents) == sorted(result["id"] for result in results)
    for result in results:
        stored = incidents[result["id"]]
        assert stored.title == result["title"]
        assert stored.revision == result["writes"] == revisions[result["id"]]
        assert sources[result["id"]] == result["sources"]
