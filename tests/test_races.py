"""Races closed, against the live server on SQLite and PostgreSQL (issue 15).

- The same STOP file imported by several clients at once creates each incident once; the
  later imports find them `unchanged`.
- Twelve admins adding platforms that claim one alias at the same moment: one platform gets it,
  every other request is a 409 naming that platform, and the alias resolves to it alone.

The bulk slots (an export holds one until its body is sent, read or closed) are tested in
process in tests/test_bulk_slots.py: under granian a stalled reader does not hold its export's
generator (README, Serving: the server buffers the rest of the body).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.live_server import make_key, multipart, row_counts

pytest_plugins = ["tests.live_server"]  # fixtures: live_database, live_server

REPO = Path(__file__).resolve().parent.parent
STOP_SAMPLE = REPO / "examples" / "stop-sample.csv"
IMPORT = "/api/v1/incidents/import?format=stop&on_error=skip"
EXPORT = "/api/v1/incidents.csv"
PLATFORMS = "/api/v1/platforms"


def _run_together(count: int, work) -> list[Any]:
    barrier = threading.Barrier(count, timeout=60)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(work, index, barrier) for index in range(count)]
        return [future.result(timeout=180) for future in futures]


def _no_tracebacks(server) -> None:
    stderr = server.stderr_text()
    assert "Traceback" not in stderr, stderr


def test_parallel_imports_of_one_file_create_each_incident_once(live_database, live_server):
    server = live_server(live_database, workers=2, threads=4, env={"BULK_CONCURRENCY": "4"})
    key = make_key(live_database)
    body, content_type = multipart("stop.csv", STOP_SAMPLE.read_bytes())

    def load(index: int, barrier: threading.Barrier):
        with server.client(key) as client:
            client.get("/healthz")
            barrier.wait()
            return client.request("POST", IMPORT, body=body, headers={"Content-Type": content_type})

    replies = _run_together(4, load)
    assert [reply.status for reply in replies] == [200] * 4, [reply.text for reply in replies]
    reports = [reply.json() for reply in replies]
    created = sorted(report["created"] for report in reports)
    assert created[-1] > 0 and created[:-1] == [0, 0, 0], reports
    incidents = row_counts(live_database, ("incidents",))["incidents"]
    assert incidents == created[-1]
    # the imports that ran after the first found every incident already there
    assert all(r["unchanged"] == created[-1] for r in reports if r["created"] == 0), reports
    _no_tracebacks(server)


def test_parallel_platforms_claiming_one_alias_one_wins(live_database, live_server):
    server = live_server(live_database, workers=2, threads=8)
    key = make_key(live_database, "live-admin", "admin")

    def add(index: int, barrier: threading.Barrier):
        with server.client(key) as client:
            client.get("/healthz")
            barrier.wait()
            return client.request(
                "POST",
                PLATFORMS,
                json_body={
                    "slug": f"chatapp-{index}",
                    "name": f"Chat app {index}",
                    "kind": "messaging",
                    "aliases": ["chatty", f"chatty-{index}"],
                },
            )

    replies = _run_together(12, add)
    statuses = sorted(reply.status for reply in replies)
    assert statuses == [201] + [409] * 11, [(r.status, r.text) for r in replies]
    winner = next(reply.json()["slug"] for reply in replies if reply.status == 201)
    for reply in replies:
        if reply.status == 409:
            assert reply.header("Content-Type") == "application/problem+json"
            assert f"'chatty' is already a slug or alias of the platform '{winner}'" in reply.json()["detail"]
    with server.client() as client:
        listed = client.get(PLATFORMS).json()
    claiming = [platform["slug"] for platform in listed if "chatty" in platform["aliases"]]
    assert claiming == [winner]
    assert not [p for p in listed if p["slug"].startswith("chatapp-") and p["slug"] != winner]
    # the alias resolves to the winner when an incident names it
    with server.client(key) as client:
        created = client.request(
            "POST",
            "/api/v1/incidents",
            json_body={
                "title": "Chat app blocked",
                "country": "PK",
                "shutdown_types": ["service_based"],
                "platforms": ["chatty"],
                "start_date": "2024-01-01",
            },
        )
    assert created.status == 201, created.text
    assert created.json()["platforms"] == [winner]
    _no_tracebacks(server)


def test_migration_0013_resolves_existing_duplicate_claims(empty_database):
    """Two platforms listing one alias, and an alias that is another platform's slug, before
    0013: the earlier platform keeps the alias, a slug keeps naming its own platform, no
    platform is deleted, and the lists show what resolves."""
    from app.services import migrations

    migrations.upgrade(empty_database, "0012")
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    rows = [
        ("chat-a", '["chatty", "shared"]', "2026-12-01 10:00:00"),
        ("chat-b", '["chatty", "own-b", "x"]', "2026-12-02 10:00:00"),
    ]
    try:
        with engine.begin() as connection:
            for slug, aliases, created in rows:
                connection.execute(
                    sa.text(
                        "INSERT INTO platforms (slug, name, kind, aliases, created_at) "
                        "VALUES (:slug, :slug, 'messaging', :aliases, :created)"
                    ),
                    {"slug": slug, "aliases": aliases, "created": created},
                )
        migrations.upgrade(empty_database)
        with engine.connect() as connection:
            names = dict(connection.execute(sa.text("SELECT name, platform_slug FROM platform_names")).all())
            lists = dict(
                connection.execute(
                    sa.text("SELECT slug, aliases FROM platforms WHERE slug LIKE 'chat-%'")
                ).all()
            )
    finally:
        engine.dispose()
    assert (names["chatty"], names["shared"], names["own-b"], names["x"]) == (
        "chat-a",
        "chat-a",
        "chat-b",
        "x",
    )
    assert (names["chat-a"], names["chat-b"], names["twitter"]) == ("chat-a", "chat-b", "x")
    parsed = {
        slug: value if isinstance(value, list) else __import__("json").loads(value)
        for slug, value in lists.items()
    }
    assert parsed == {"chat-a": ["chatty", "shared"], "chat-b": ["own-b"]}
