"""`as_of`: the list, a single incident, the CSV export and /stats as they stood at a moment."""

from __future__ import annotations

import csv
import io
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.db import UtcDateTime, db
from app.http.as_of import rfc3339
from app.models import IncidentRevision
from app.services import csv_format
from app.services.stats import GROUPS
from tests.conftest import create, etag_of

INCIDENTS = "/api/v1/incidents"
AT = sa.bindparam("at", type_=UtcDateTime)
ENDED = {"end_date": "2023-05-20"}  # a duration that does not grow: documents compare whole


def clock(app) -> tuple[int, datetime]:
    """The last change's seq and commit time (the moment just after it)."""
    with app.app_context():
        row = db.session.execute(sa.text("SELECT seq, committed_at FROM data_version WHERE id = 1")).one()
    at = row.committed_at
    if isinstance(at, str):  # SQLite through a text query
        at = datetime.fromisoformat(at)
    return row.seq, at.replace(tzinfo=UTC) if at.tzinfo is None else at


def as_of(moment: datetime) -> str:
    return rfc3339(moment)


def listed(client, moment: datetime, **params) -> list[dict]:
    response = client.get(INCIDENTS, query_string={"as_of": as_of(moment), "page_size": 500, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def revision(client, incident_id: int, number: int) -> dict:
    response = client.get(f"{INCIDENTS}/{incident_id}/revisions/{number}")
    assert response.status_code == 200
    return response.get_json()


def test_each_moment_shows_the_documents_of_then(client, admin_client, app):
    moments: list[tuple[datetime, dict[int, int]]] = []  # moment → {incident id: revision shown}

    def moment(shown: dict[int, int]) -> None:
        moments.append((clock(app)[1], dict(shown)))

    first = create(client, title="Before the election", **ENDED)["id"]
    moment({first: 1})
    client.patch(
        f"{INCIDENTS}/{first}", json={"title": "Renamed"}, headers={"If-Match": etag_of(client, first)}
    )
    moment({first: 2})
    second = create(client, title="Second", country="PK", **ENDED)["id"]
    moment({first: 2, second: 1})
    statement = {"actor": "PTA", "stance": "denied"}
    posted = client.post(
        f"{INCIDENTS}/{first}/acknowledgements", json=statement, headers={"If-Match": etag_of(client, first)}
    )
    assert posted.status_code == 201
    moment({first: 3, second: 1})
    admin_client.delete(f"{INCIDENTS}/{second}", headers={"If-Match": etag_of(client, second)})
    moment({first: 3})
    assert admin_client.post(f"{INCIDENTS}/{second}/restore").status_code == 200
    moment({first: 3, second: 3})
    reverted = client.post(
        f"{INCIDENTS}/{first}/revisions/1/revert", headers={"If-Match": etag_of(client, first)}
    )
    assert reverted.status_code == 200
    moment({first: 4, second: 3})

    assert len({at for at, _ in moments}) == len(moments)  # distinct moments
    second_created = moments[2][0]
    for at, shown in moments:
        expected = [revision(client, incident_id, number) for incident_id, number in sorted(shown.items())]
        assert listed(client, at) == expected
        # The export: stored rows of the incidents unchanged since, the others built from their
        # revision's document; all as the rows of the documents shown.
        exported = client.get(f"{INCIDENTS}.csv", query_string={"as_of": as_of(at)}).get_data(as_text=True)
        assert exported == csv_format.header_line() + "".join(map(csv_format.line_of, expected))
        for incident_id in (first, second):
            single = client.get(f"{INCIDENTS}/{incident_id}", query_string={"as_of": as_of(at)})
            if incident_id in shown:
                assert single.status_code == 200
                assert single.get_json() == revision(client, incident_id, shown[incident_id])
            else:
                assert single.status_code == 404
                said = "had been deleted" if at >= second_created else "did not exist yet"
                assert said in single.get_json()["detail"]
    # Just before the first change: nothing yet.
    before = moments[0][0] - timedelta(microseconds=1)
    assert listed(client, before) == []
    missing = client.get(f"{INCIDENTS}/{first}", query_string={"as_of": as_of(before)})
    assert missing.status_code == 404
    assert "did not exist yet" in missing.get_json()["detail"]


def test_the_response_says_which_moment_and_change(client, app):
    incident_id = create(client, **ENDED)["id"]
    seq, at = clock(app)
    for url in (INCIDENTS, f"{INCIDENTS}/{incident_id}", f"{INCIDENTS}.csv", "/api/v1/stats?group_by=year"):
        response = client.get(
            f"{url}{'&' if '?' in url else '?'}as_of={as_of(at)}", headers={"Origin": "https://x.org"}
        )
        assert (response.headers["As-Of"], response.headers["As-Of-Cursor"]) == (as_of(at), str(seq))
        assert {"As-Of", "As-Of-Cursor"} <= set(response.headers["Access-Control-Expose-Headers"].split(", "))
    # Any offset is read as the same moment in UTC; before the first change, no change is included.
    response = client.get(INCIDENTS, query_string={"as_of": "2026-01-01T01:00:00+01:00"})
    assert (response.headers["As-Of"], response.headers["As-Of-Cursor"]) == ("2026-01-01T00:00:00Z", "0")


def test_same_request_same_bytes_and_etag_after_later_writes(client, app):
    first = create(client, **ENDED)["id"]
    create(client, country="PK")  # ongoing
    _, at = clock(app)
    urls = [
        INCIDENTS,
        f"{INCIDENTS}/{first}",
        f"{INCIDENTS}.csv",
        *(f"/api/v1/stats?group_by={group}&" for group in GROUPS),
    ]

    def read_all() -> list[tuple[bytes, str]]:
        responses = [client.get(f"{url}{'' if '?' in url else '?'}as_of={as_of(at)}") for url in urls]
        return [(response.get_data(), response.headers["ETag"]) for response in responses]

    before = read_all()
    assert before == read_all()
    client.patch(
        f"{INCIDENTS}/{first}", json={"title": "Later"}, headers={"If-Match": etag_of(client, first)}
    )
    create(client, country="IR")
    assert read_all() == before
    # A validator held is answered 304.
    for url, (_, etag) in zip(urls, before, strict=True):
        response = client.get(
            f"{url}{'' if '?' in url else '?'}as_of={as_of(at)}", headers={"If-None-Match": etag}
        )
        assert response.status_code == 304, url


def test_ongoing_duration_is_counted_to_the_moment(client, app):
    incident = create(client, start_date="2024-01-01")  # ongoing
    # As if recorded on 2024-01-31: its revision's and the clock's commit time moved back.
    written = datetime(2024, 1, 31, 12, tzinfo=UTC)
    with app.app_context():
        for table in ("incident_revisions", "data_version"):
            update = sa.text(f"UPDATE {table} SET committed_at = :at").bindparams(AT)
            db.session.execute(update, {"at": written})
        db.session.commit()
    for day, days in ((date(2024, 1, 31), 31), (date(2024, 3, 1), 61)):
        at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=13)
        (document,) = listed(client, at)
        assert document["duration_days"] == days
        single = client.get(f"{INCIDENTS}/{incident['id']}", query_string={"as_of": as_of(at)}).get_json()
        assert single["duration_days"] == days
        rows = list(
            csv.DictReader(
                io.StringIO(client.get(f"{INCIDENTS}.csv?as_of={as_of(at)}").get_data(as_text=True))
            )
        )
        assert rows[0]["duration_days"] == str(days)
        stats = client.get("/api/v1/stats", query_string={"group_by": "year", "as_of": as_of(at)}).get_json()
        assert stats["groups"][0]["incident_days"] == days
    assert listed(client, written - timedelta(seconds=1)) == []


def _varied(client) -> None:
    """Incidents that spread over every group, with statements and court cases."""
    create(
        client, country="PK", shutdown_types=["service_based"], platforms=["x", "sms"], end_date="2024-03-01"
    )
    create(client, country="PK", shutdown_types=["full_network"], platforms=["sms", "voice-calls"])
    create(
        client,
        country="IN",
        shutdown_types=["full_network", "service_based"],
        platforms=["whatsapp", "sms"],
        actual_cause="exam_cheating",
        official_justification="school_exams",
        start_date="2022-06-01",
        acknowledgements=[{"actor": "Ministry", "stance": "acknowledged", "date": "2022-06-02"}],
        legal_cases=[{"court": "High Court", "status": "pending"}],
    )
    create(client, country="IR", start_date="2019-11-16", end_date="2019-11-21", actual_cause="protests")
    create(client, country="ET", legal_cases=[{"court": "Supreme Court", "status": "decided"}])


def test_stats_as_of_now_equal_live_stats(client, app):
    _varied(client)
    _, at = clock(app)
    for group_by in GROUPS:
        for country in ((), ("PK",)):
            query = {"group_by": group_by, "country": list(country)}
            live = client.get("/api/v1/stats", query_string=query).get_json()
            then = client.get("/api/v1/stats", query_string={**query, "as_of": as_of(at)}).get_json()
            assert then == live, group_by


def test_as_of_now_equals_the_live_documents_and_export(client, admin_client, app):
    _varied(client)
    gone = client.get(INCIDENTS, query_string={"country": "IR"}).get_json()[0]["id"]
    admin_client.delete(f"{INCIDENTS}/{gone}", headers={"If-Match": etag_of(client, gone)})
    _, at = clock(app)
    live = sorted(client.get(INCIDENTS, query_string={"page_size": 500}).get_json(), key=lambda d: d["id"])
    assert listed(client, at) == live
    assert listed(client, at, country="PK") == [d for d in live if d["country"] == "PK"]
    for document in live:
        assert (
            client.get(f"{INCIDENTS}/{document['id']}", query_string={"as_of": as_of(at)}).get_json()
            == document
        )
    live_csv = client.get(f"{INCIDENTS}.csv").get_data(as_text=True).splitlines()
    then_csv = (
        client.get(f"{INCIDENTS}.csv", query_string={"as_of": as_of(at)}).get_data(as_text=True).splitlines()
    )
    assert then_csv[0] == live_csv[0]
    assert then_csv[1:] == sorted(live_csv[1:], key=lambda line: int(line.split(",")[0]))


def test_pages_by_number_in_id_order(client, app):
    ids = [create(client, country=country, **ENDED)["id"] for country in ("PK", "IN", "PK", "IR", "PK")]
    _, at = clock(app)
    response = client.get(
        INCIDENTS, query_string={"as_of": as_of(at), "country": "PK", "page_size": 2, "page": 2}
    )
    assert [d["id"] for d in response.get_json()] == [ids[4]]
    assert '"total": 3' in response.headers["X-Pagination"]
    assert "as_of=" in response.headers["Link"]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("as_of=2999-01-01T00:00:00Z", "future"),
        ("as_of=2025-01-01", "time zone"),
        ("as_of=2025-01-01T00:00:00", "time zone"),
        ("as_of=yesterday", "Not a valid"),
        ("as_of=2025-01-01T00:00:00Z&sort=-start_date", "remove `sort`"),
        ("as_of=2025-01-01T00:00:00Z&status=ongoing&q=x", "remove `q`, `status`"),
        ("as_of=2025-01-01T00:00:00Z&after=abc", "remove `after`"),
    ],
)
def test_refused_values_and_combinations(client, query, says):
    for url in (INCIDENTS, f"{INCIDENTS}.csv", "/api/v1/stats?group_by=country", f"{INCIDENTS}/1"):
        not_there = ("after" in query and url != INCIDENTS) or ("sort" in query and "stats" in url)
        if not_there or ("&" in query and url.endswith("/1")):
            continue
        response = client.get(f"{url}{'&' if '?' in url else '?'}{query}")
        assert response.status_code == 422, url
        assert response.headers["Content-Type"] == "application/problem+json"
        assert says in str(response.get_json()["errors"]["query"]), url


def test_a_request_waits_for_a_writer_that_stamped_its_moment(client, app, backend):
    """A writer that has given its change a commit time but not committed yet: a request as of
    a moment after that time waits for its commit and shows the change, as every later identical
    request will."""
    incident = create(client, **ENDED)
    seq, _ = clock(app)
    with app.app_context():
        writer = db.engine.connect()  # a writer's transaction (BEGIN IMMEDIATE on SQLite)
    stamped = datetime.now(UTC)
    document = {**incident, "title": "Written by a slow writer", "revision": 2}
    revision = sa.text(
        "INSERT INTO incident_revisions (incident_id, revision, action, at, actor, changes, document, "
        "country, seq, committed_at) VALUES (:id, 2, 'update', :at, 'test', '{}', :document, 'IN', :seq, :at)"
    ).bindparams(AT, sa.bindparam("document", type_=sa.JSON))
    writer.execute(revision, {"id": incident["id"], "at": stamped, "document": document, "seq": seq + 1})
    stamp = sa.text("UPDATE data_version SET seq = :seq, committed_at = :at WHERE id = 1").bindparams(AT)
    writer.execute(stamp, {"seq": seq + 1, "at": stamped})
    moment = as_of(datetime.now(UTC))
    answers: list = []
    reader = threading.Thread(
        target=lambda: answers.append(client.get(INCIDENTS, query_string={"as_of": moment}))
    )
    reader.start()
    time.sleep(0.5)
    assert answers == []  # waiting for the writer
    writer.commit()
    writer.close()
    reader.join(10)
    (response,) = answers
    assert response.headers["As-Of-Cursor"] == str(seq + 1)
    assert [d["title"] for d in response.get_json()] == ["Written by a slow writer"]
    assert client.get(INCIDENTS, query_string={"as_of": moment}).get_data() == response.get_data()


def test_the_export_reads_the_rows_the_database_keeps(client, app):
    """The export's fast paths are taken (rows marked here): an incident unchanged since the
    moment is its stored CSV row; one changed since, the CSV row its revision kept; an ongoing
    one changed since (its duration is the moment's) is built from its revision's document."""
    create(client, title="Unchanged", **ENDED)
    changed = create(client, title="Changed later", **ENDED)["id"]
    ongoing = create(client, title="Ongoing then")["id"]
    _, at = clock(app)
    for incident_id in (changed, ongoing):
        patched = client.patch(
            f"{INCIDENTS}/{incident_id}",
            json={"title": "Changed"},
            headers={"If-Match": etag_of(client, incident_id)},
        )
        assert patched.status_code == 200
    with app.app_context():
        kept = db.session.scalars(
            sa.select(IncidentRevision).filter_by(revision=1).order_by("incident_id")
        ).all()
        assert [revision.csv_row is None for revision in kept] == [False, False, True]
        for revision in kept[:2]:
            revision.csv_row = f"kept row {revision.incident_id}\r\n"
        marked = sa.text("UPDATE incident_documents SET csv_row = 'stored row\r\n'")
        db.session.execute(marked)
        db.session.commit()
    exported = client.get(f"{INCIDENTS}.csv", query_string={"as_of": as_of(at)}).get_data(as_text=True)
    lines = exported.splitlines()[1:]
    assert lines[:2] == ["stored row", f"kept row {changed}"]
    assert lines[2].split(",")[:2] == [str(ongoing), "Ongoing then"]
    # A revision of an older shape than the stored copy (rebuilt since, the revision not): neither
    # row is read, since the stored one is not what that moment showed; built from the document.
    with app.app_context():
        db.session.execute(sa.text("UPDATE incident_revisions SET shape = 'older'"))
        db.session.commit()
    exported = client.get(f"{INCIDENTS}.csv", query_string={"as_of": as_of(at)}).get_data(as_text=True)
    assert [line.split(",")[1] for line in exported.splitlines()[1:]] == [
        "Unchanged",
        "Changed later",
        "Ongoing then",
    ]


def test_a_revision_older_than_a_field_exports_an_empty_cell(client, app):
    incident = create(client, telcos=["Jazz"], **ENDED)
    client.patch(
        f"{INCIDENTS}/{incident['id']}",
        json={"title": "Later"},
        headers={"If-Match": etag_of(client, incident["id"])},
    )
    first_commit = _first_commit(app, incident["id"])
    with app.app_context():  # as if revision 1 was written before `telcos` existed
        first = db.session.scalar(
            sa.select(IncidentRevision).filter_by(incident_id=incident["id"], revision=1)
        )
        first.document = {name: value for name, value in first.document.items() if name != "telcos"}
        first.csv_row = first.shape = None  # revisions of then kept no CSV row (migration 0015)
        db.session.commit()
    exported = client.get(f"{INCIDENTS}.csv", query_string={"as_of": as_of(first_commit)}).get_data(
        as_text=True
    )
    (row,) = csv.DictReader(io.StringIO(exported))
    assert (row["title"], row["telcos"]) == (incident["title"], "")


def _first_commit(app, incident_id: int) -> datetime:
    with app.app_context():
        return db.session.scalar(
            sa.select(IncidentRevision.committed_at).filter_by(incident_id=incident_id, revision=1)
        )
