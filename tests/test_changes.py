"""The change feed, GET /api/v1/changes: every change in commit order, on SQLite and PostgreSQL.

Every action appears (child records and imports included) with the document after it, a
tombstone for a delete; paging, the next cursor on an empty page, filters, bad input; commit
order with real parallel transactions; the migration of revisions stored before the feed.
"""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.db import db
from app.fast import feed
from app.http.jsonio import dumps
from app.resources.incidents.schemas import IncidentSchema
from app.services import changes as change_service
from app.services import incidents as incident_service
from app.services import migrations
from app.services import revisions as revision_service
from tests.conftest import create, etag_of, incident_doc

pytest_plugins = ["tests.live_server"]  # fixtures: empty_database

CHANGES = "/api/v1/changes"
INCIDENTS = "/api/v1/incidents"
SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "stop-sample.csv"
TOMBSTONE_KEYS = {"id", "revision", "deleted", "deleted_at"}


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def read_feed(client, **params: Any) -> dict[str, Any]:
    response = client.get(CHANGES, query_string=params)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert response.headers["X-Next-Cursor"] == str(body["next_cursor"])
    assert f"after={body['next_cursor']}" in response.headers["Link"]
    assert response.headers["Cache-Control"] == ("public, max-age=3600" if body["has_more"] else "no-cache")
    return body


def follow(client, after: int = 0, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every change after `after`, page by page; and the cursor to poll from."""
    changes: list[dict[str, Any]] = []
    while True:
        page = read_feed(client, after=after, **params)
        changes += page["changes"]
        after = page["next_cursor"]
        if not page["has_more"]:
            return changes, after


def upload(client, content: bytes, query: str, filename: str = "incidents.csv"):
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(content), filename=filename, content_type="text/csv")}
    )
    return client.post(
        f"{INCIDENTS}/import?{query}", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def native_edit(client, incident_id: int, title: str) -> None:
    """A native import of the incident's exported row with a new title."""
    exported = client.get(f"{INCIDENTS}.csv?country=IN").get_data(as_text=True)
    rows = [row for row in csv.DictReader(io.StringIO(exported)) if row["id"] == str(incident_id)]
    rows[0]["title"] = title
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    response = upload(client, out.getvalue().encode(), "format=native")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["updated"] == 1


def test_every_action_in_commit_order(client, admin_client, anon_client):
    incident = create(client, title="Created")
    incident_id = incident["id"]
    assert (
        client.patch(
            f"{INCIDENTS}/{incident_id}",
            json={"title": "Edited"},
            headers={"If-Match": etag_of(client, incident_id)},
        ).status_code
        == 200
    )
    added = client.post(
        f"{INCIDENTS}/{incident_id}/sources",
        json={"url": "https://example.org/report", "kind": "news"},
        headers={"If-Match": etag_of(client, incident_id)},
    )
    assert added.status_code == 201, added.get_json()
    deleted = admin_client.delete(
        f"{INCIDENTS}/{incident_id}", headers={"If-Match": etag_of(client, incident_id)}
    )
    assert deleted.status_code == 204
    assert admin_client.post(f"{INCIDENTS}/{incident_id}/restore").status_code == 200
    reverted = client.post(
        f"{INCIDENTS}/{incident_id}/revisions/1/revert", headers={"If-Match": etag_of(client, incident_id)}
    )
    assert reverted.status_code == 200, reverted.get_json()
    stop = upload(client, SAMPLE.read_bytes(), "format=stop", filename="stop-sample.csv")
    assert stop.status_code == 200, stop.get_json()
    native_edit(client, incident_id, "Imported")

    changes, cursor = follow(anon_client, limit=2)
    cursors = [change["cursor"] for change in changes]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    assert cursor == cursors[-1]
    mine = [change for change in changes if change["incident_id"] == incident_id]
    assert [(c["action"], c["revision"]) for c in mine] == [
        ("create", 1),
        ("update", 2),
        ("update", 3),
        ("delete", 4),
        ("restore", 5),
        ("revert", 6),
        ("update", 7),
    ]
    assert [c["document"].get("title") for c in mine] == [
        "Created", "Edited", "Edited", None, "Edited", "Created", "Imported"
    ]  # fmt: skip
    assert [c["actor"] for c in mine[:3]] == ["test-editor"] * 3
    assert mine[3]["actor"] == mine[4]["actor"] == "test-admin"
    assert mine[0]["provenance"] == "editor:test-editor"
    assert mine[2]["document"]["sources"][0]["url"] == "https://example.org/report"
    # A delete carries a tombstone; every other change the document as the API showed it then.
    assert set(mine[3]["document"]) == TOMBSTONE_KEYS
    assert mine[3]["document"]["deleted"] is True and mine[3]["document"]["id"] == incident_id
    for change in changes:
        if change["action"] != "delete":
            number = change["document"]["revision"]
            assert change["revision"] == number
            shown = anon_client.get(f"{INCIDENTS}/{change['incident_id']}/revisions/{number}").get_json()
            assert change["document"] == shown
            assert change["provenance"] == shown["provenance"]
        assert moment(change["committed_at"]) >= moment(change["at"])
    assert anon_client.get(f"{INCIDENTS}/{incident_id}").get_json() == mine[-1]["document"]
    imported = [c for c in changes if c["provenance"] and c["provenance"].startswith("stop:")]
    assert imported and {c["action"] for c in imported} == {"create"}
    committed = [moment(c["committed_at"]) for c in changes]
    assert committed == sorted(committed)
    assert all(c["committed_at"].endswith("Z") and len(c["committed_at"]) == 27 for c in changes)


def test_paging_and_polling(client, anon_client):
    for number in range(5):
        create(client, title=f"Incident {number}")
    first = read_feed(anon_client, limit=2)
    assert len(first["changes"]) == 2 and first["has_more"] is True
    assert first["next_cursor"] == first["changes"][-1]["cursor"]
    second = read_feed(anon_client, limit=2, after=first["next_cursor"])
    third = read_feed(anon_client, limit=2, after=second["next_cursor"])
    assert [len(page["changes"]) for page in (first, second, third)] == [2, 2, 1]
    assert third["has_more"] is False
    # A full last page: nothing follows, and the next cursor is where the feed stands.
    exact = read_feed(anon_client, limit=1, after=second["next_cursor"])
    assert exact["has_more"] is False and exact["next_cursor"] == third["next_cursor"]
    # The end of the feed: an empty page, the same cursor, until a change commits.
    end = read_feed(anon_client, after=third["next_cursor"])
    assert end == {"changes": [], "has_more": False, "next_cursor": third["next_cursor"]}
    created = create(client, title="Later")
    polled = read_feed(anon_client, after=end["next_cursor"])
    assert [c["incident_id"] for c in polled["changes"]] == [created["id"]]
    assert polled["next_cursor"] == polled["changes"][0]["cursor"]
    # A cursor beyond the feed (a database restored to an earlier point): the client must start
    # again, since the numbers after the last change will be given to other changes.
    ahead = anon_client.get(CHANGES, query_string={"after": polled["next_cursor"] + 1000})
    assert ahead.status_code == 409, ahead.get_json()
    assert "after=0" in ahead.get_json()["detail"]


def test_filters(client, admin_client, anon_client):
    india = create(client, title="India", country="IN")
    pakistan = create(client, title="Pakistan", country="PK")
    etag = etag_of(client, pakistan["id"])
    assert admin_client.delete(f"{INCIDENTS}/{pakistan['id']}", headers={"If-Match": etag}).status_code == 204
    everything = read_feed(anon_client)

    by_country = read_feed(anon_client, country="pk")
    assert [(c["incident_id"], c["action"]) for c in by_country["changes"]] == [
        (pakistan["id"], "create"),
        (pakistan["id"], "delete"),
    ]
    both = read_feed(anon_client, country=["PK", "IN"])
    assert both["changes"] == everything["changes"]
    deletes = read_feed(anon_client, action="delete")
    assert [c["incident_id"] for c in deletes["changes"]] == [pakistan["id"]]
    creates_in_india = read_feed(anon_client, action=["create", "revert"], country="IN")
    assert [c["incident_id"] for c in creates_in_india["changes"]] == [india["id"]]
    # A filter that matches nothing still moves the cursor to the end of the feed.
    none = read_feed(anon_client, country="FR")
    assert none == {"changes": [], "has_more": False, "next_cursor": everything["next_cursor"]}
    # A filtered full page goes on from its last change.
    paged = read_feed(anon_client, country="PK", limit=1)
    assert paged["has_more"] is True and paged["next_cursor"] == by_country["changes"][0]["cursor"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("after=-1", "after"),
        ("after=abc", "after"),
        ("after=9223372036854775808", "after"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("action=rename", "action"),
        ("country=ZZ", "country"),
        ("country=Pakistan", "country"),
        ("contry=PK", "contry"),
    ],
)
def test_bad_input_is_a_422_naming_the_parameter(anon_client, query, field):
    response = anon_client.get(f"{CHANGES}?{query}")
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"]["query"]


def test_fast_page_equals_plain_page(app, client, admin_client):
    first = create(
        client,
        title="First",
        status="ongoing",
        shutdown_types=["service_based"],
        platforms=["twitter", "whatsapp"],
        acknowledgements=[{"actor": "Ministry of Interior", "stance": "denied"}],
        sources=[{"url": "https://example.org/report", "kind": "news"}],
    )
    create(client, title="Second", end_date="2023-06-01")
    etag = etag_of(client, first["id"])
    assert admin_client.delete(f"{INCIDENTS}/{first['id']}", headers={"If-Match": etag}).status_code == 204
    with app.app_context(), db.engine.connect() as connection:
        page = change_service.changes_after(connection, 0, 10)
        assert [row.action for row in page.rows] == ["create", "create", "delete"]
        assert feed.body(page) == feed.plain_body(Session(connection), page)
        assert client.get(CHANGES).get_data() == feed.body(page)


def test_provenance_is_the_incidents_not_a_child_records():
    document = {"platforms": ["x"], "provenance": "stop:a.csv#2", "provenance_at": None, "sources": []}
    document["acknowledgements"] = [{"provenance": "editor:someone", "provenance_at": None}]
    text = dumps(document).decode()
    assert feed.provenance_of(text) == "stop:a.csv#2"
    # An older shape, without the incident's own provenance: parsed, not mistaken for a child's.
    del document["provenance"], document["provenance_at"]
    document["sources"] = [{"provenance": "editor:someone", "provenance_at": None}]
    assert feed.provenance_of(dumps(document).decode()) is None
    assert feed.provenance_of(dumps({"provenance": "cli", "title": "x"}).decode()) == "cli"


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "ix_incident_revisions_seq"),
        ({"countries": ["PK"]}, "ix_incident_revisions_country_seq"),
        ({"actions": ["delete"]}, "ix_incident_revisions_action_seq"),
    ],
)
def test_a_page_is_one_index_range_in_feed_order(app, client, backend, filters, index):
    """Read from the query plan (sequential scans off on PostgreSQL: the tables here are tiny):
    the page walks an index in cursor order, with no sort of its own."""
    create(client)
    statement = change_service.feed_statement(backend, "countries" in filters, "actions" in filters)
    bound = statement.params(after=0, until=10**6, limit=501, **filters)
    with app.app_context(), db.engine.connect() as connection:
        sql = bound.compile(connection, compile_kwargs={"literal_binds": True})
        if backend == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
            # A bitmap scan reads the index range then sorts: on tiny tables with stale statistics
            # the planner may pick it; the plan that matters at scale is the ordered index scan.
            connection.exec_driver_sql("SET enable_bitmapscan = off")
            plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
        else:
            plan = "\n".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def _feed(app, after: int) -> change_service.ChangePage:
    with app.app_context(), db.engine.connect() as connection:
        return change_service.changes_after(connection, after, 500)


def test_commit_order_with_parallel_transactions(app, monkeypatch, backend):
    """Transaction A writes its incident and its revision, then pauses before its commit stamps
    them; transaction B writes another and commits. On PostgreSQL B commits while A waits (they
    overlap): a reader then reads past B, and still gets A once A commits, with a larger cursor.
    On SQLite the writers take turns (A holds the write lock): B waits for A, and the cursors
    follow that order. With cursors given at insert rather than at commit, A's would be smaller
    than B's and the reader, already past B, would never see A."""
    stamp = revision_service._stamp  # noqa: SLF001
    paused, resume = threading.Event(), threading.Event()

    committed: list[str] = []  # in the order of the stamps, taken one at a time until the commit

    def pausing_stamp(session) -> None:
        if session.info.get("pause"):
            paused.set()
            resume.wait(timeout=30)
        stamp(session)
        committed.append(session.info["title"])

    monkeypatch.setattr(revision_service, "_stamp", pausing_stamp)

    def write(title: str, pause: bool) -> None:
        with app.app_context():
            session = db.new_session()
            try:
                session.info.update(pause=pause, title=title)
                data = IncidentSchema().load(incident_doc(title=title))
                incident_service.create_incident(session, data)
                session.commit()
            finally:
                session.close()

    start = _feed(app, 0).next_cursor
    writer_a = threading.Thread(target=write, args=("A", True))
    writer_a.start()
    assert paused.wait(timeout=30)  # A's revision is written, not yet committed
    writer_b = threading.Thread(target=write, args=("B", False))
    writer_b.start()
    if backend == "postgresql":
        writer_b.join(timeout=30)
        assert committed == ["B"]  # B committed while A was open
        seen = _feed(app, start)
        assert [row.document.count('"title":"B"') for row in seen.rows] == [1]
        reader_cursor = seen.next_cursor
        assert reader_cursor == seen.rows[0].seq  # the reader is past B
    else:
        reader_cursor = start
    resume.set()
    writer_a.join(timeout=30)
    writer_b.join(timeout=30)
    assert not writer_a.is_alive() and not writer_b.is_alive()
    later = _feed(app, reader_cursor)
    titles = [("A" if '"title":"A"' in row.document else "B") for row in later.rows]
    if backend == "postgresql":
        assert committed == ["B", "A"] and titles == ["A"]
    else:
        assert committed == titles == ["A", "B"]  # B waited for A's write lock
    every = _feed(app, start).rows
    by_title = {("A" if '"title":"A"' in row.document else "B"): row.seq for row in every}
    first, second = committed
    assert by_title[first] < by_title[second]  # cursor order is commit order
    assert [row.committed_at for row in every] == sorted(row.committed_at for row in every)


# --------------------------------------------------------------------------- the migration


def test_migration_numbers_old_revisions_and_turns_noted_reverts_into_revert(empty_database):
    """A database with revisions written before the feed (0013: no cursor, a revert stored as
    an `update` noting `revert`) comes out of 0014 with every revision numbered in id order,
    commit times that never go back, the revert a `revert`, and a feed that goes on from there."""
    from app import create_app
    from tests.conftest import KeyedClient, make_key

    url = empty_database
    migrations.upgrade(url)
    application = create_app({"DATABASE_URL": url, "TESTING": True, "RATELIMIT_ENABLED": False})
    application.test_client_class = KeyedClient
    client = application.test_client(api_key=make_key(application, "old-editor", "editor"))
    first = create(client, title="One", country="PK")
    second = create(client, title="Two")
    for title in ("One edited", "One edited again"):
        etag = etag_of(client, first["id"])
        assert (
            client.patch(
                f"{INCIDENTS}/{first['id']}", json={"title": title}, headers={"If-Match": etag}
            ).status_code
            == 200
        )
    etag = etag_of(client, first["id"])
    assert (
        client.post(f"{INCIDENTS}/{first['id']}/revisions/1/revert", headers={"If-Match": etag}).status_code
        == 200
    )
    with application.app_context():
        db.engine.dispose()

    migrations.downgrade(url, "0013")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            old = connection.execute(
                sa.text("SELECT id, action, at FROM incident_revisions ORDER BY id")
            ).all()
            assert [row.action for row in old] == ["create", "create", "update", "update", "update"]
            # A clock that went back between two writes: commit times must not follow it.
            connection.execute(
                sa.text("UPDATE incident_revisions SET at = '2020-01-01 00:00:00' WHERE id = :id"),
                {"id": old[3].id},
            )
        migrations.upgrade(url)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT id, seq, action, country, committed_at FROM incident_revisions ORDER BY id")
            ).all()
            clock = connection.execute(sa.text("SELECT seq FROM data_version")).scalar_one()
    finally:
        engine.dispose()
    assert [row.action for row in rows] == ["create", "create", "update", "update", "revert"]
    seqs = [row.seq for row in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and clock == seqs[-1]
    assert [row.country for row in rows] == ["PK", "IN", "PK", "PK", "PK"]
    times = [str(row.committed_at) for row in rows]
    assert times == sorted(times)

    application = create_app({"DATABASE_URL": url, "TESTING": True, "RATELIMIT_ENABLED": False})
    application.test_client_class = KeyedClient
    try:
        client = application.test_client(api_key=make_key(application, "new-editor", "editor"))
        changes, cursor = follow(client)
        assert [(c["incident_id"], c["action"]) for c in changes] == [
            (first["id"], "create"),
            (second["id"], "create"),
            (first["id"], "update"),
            (first["id"], "update"),
            (first["id"], "revert"),
        ]
        assert [c["cursor"] for c in changes] == seqs and cursor == clock
        third = create(client, title="Three")
        after, _ = follow(client, after=cursor)
        assert [(c["incident_id"], c["cursor"]) for c in after] == [(third["id"], clock + 1)]
    finally:
        with application.app_context():
            db.engine.dispose()


def test_a_changes_commit_time_is_the_moment_as_of_which_it_shows(client):
    """A change's `committed_at` read from the feed, given back as `as_of`, shows the data with
    that change; a microsecond earlier, without it (a citation taken from the feed is exact)."""
    incident = create(client, title="Before")
    patched = client.patch(
        f"{INCIDENTS}/{incident['id']}",
        json={"title": "After"},
        headers={"If-Match": etag_of(client, incident["id"])},
    )
    assert patched.status_code == 200, patched.get_json()
    update = follow(client)[0][-1]
    assert (update["action"], update["revision"]) == ("update", 2)
    at = moment(update["committed_at"])
    shown = client.get(f"{INCIDENTS}/{incident['id']}", query_string={"as_of": update["committed_at"]})
    assert shown.status_code == 200 and shown.get_json()["title"] == "After"
    before = (at - timedelta(microseconds=1)).isoformat()
    shown = client.get(f"{INCIDENTS}/{incident['id']}", query_string={"as_of": before})
    assert shown.status_code == 200 and shown.get_json()["title"] == "Before"


def test_without_its_clock_row_the_feed_and_as_of_go_on_from_the_revisions(client, app):
    """The clock row emptied by hand: the feed's end and an as_of moment are read from the
    revisions, and the next write numbers on from the last change."""
    incident = create(client, title="Kept")
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM data_version"))
        db.session.commit()
    changes, cursor = follow(client)
    assert changes[-1]["incident_id"] == incident["id"] and cursor == changes[-1]["cursor"]
    now = datetime.now(UTC).isoformat()
    listed = client.get(INCIDENTS, query_string={"as_of": now})
    assert listed.status_code == 200 and [i["id"] for i in listed.get_json()] == [incident["id"]]
    later = create(client, title="Later")
    polled = read_feed(client, after=cursor)
    assert [(c["incident_id"], c["cursor"]) for c in polled["changes"]] == [(later["id"], cursor + 1)]
