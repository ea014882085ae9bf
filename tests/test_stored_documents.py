"""The stored copy of each incident (its finished JSON document and CSV row, migration 0007):
every write path keeps it equal to what the tables say, reads serve it, and a row without one is
still served correctly."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from app.db import db
from app.document import shape
from app.document.build import JSON_OPTIONS, documents_for_rows
from app.fast.one_row import OneRow
from app.models import Incident, IncidentRevision, StoredDocument
from app.services import csv_format
from tests.conftest import create, etag_of
from tests.test_bulk import _export, _import, _varied_incidents, _wipe_incidents

LIST = "/api/v1/incidents"


def assert_stored_copies_current(app) -> int:
    """Every incident's stored document and CSV row equal what is built from its tables now."""
    with app.app_context():
        table = Incident.__table__
        rows = db.session.execute(sa.select(table).order_by(table.c.id)).all()
        stored = {row.incident_id: row for row in db.session.execute(sa.select(StoredDocument.__table__))}
        assert set(stored) == {row.id for row in rows}
        built = documents_for_rows(db.session, rows)
        for row, document in zip(rows, built, strict=True):
            copy = stored[row.id]
            assert copy.shape == shape.current_shape(), row.id
            assert copy.document == orjson.dumps(document, option=JSON_OPTIONS).decode(), row.id
            assert copy.csv_row == csv_format.line_of(document), row.id
            if document["status"] == "ongoing":
                at = copy.csv_duration_at
                assert copy.csv_row[at:].startswith(f"{document['duration_days']},"), row.id
                cells_before = next(csv.reader(io.StringIO(copy.csv_row[:at], newline="")))
                assert cells_before[-1] == "" and len(cells_before) == csv_format.DURATION_INDEX + 1
                assert cells_before[csv_format.HEADER.index("status")] == "ongoing", row.id
            else:
                assert copy.csv_duration_at is None, row.id
        db.session.rollback()
    return len(rows)


def _null_stored_copies(app) -> None:
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.delete(StoredDocument.__table__))


def test_every_write_keeps_the_stored_copy_current(app, client, admin_client):
    made = _varied_incidents(client)
    assert assert_stored_copies_current(app) == len(made)
    first = made[0]["id"]

    response = client.patch(
        f"{LIST}/{first}", json={"title": "Renamed"}, headers={"If-Match": etag_of(client, first)}
    )
    assert response.status_code == 200, response.get_json()
    body = {k: v for k, v in client.get(f"{LIST}/{first}").get_json().items()}
    body["area"] = "Punjab"
    response = client.put(f"{LIST}/{first}", json=body, headers={"If-Match": etag_of(client, first)})
    assert response.status_code == 200, response.get_json()
    assert_stored_copies_current(app)

    # child records: add, change, remove
    response = client.post(
        f"{LIST}/{first}/sources",
        json={"url": "https://example.org/report", "kind": "ngo_report"},
        headers={"If-Match": etag_of(client, first)},
    )
    assert response.status_code == 201, response.get_json()
    source_id = response.get_json()["id"]
    response = client.put(
        f"{LIST}/{first}/sources/{source_id}",
        json={"url": "https://example.org/report-2", "kind": "news"},
        headers={"If-Match": etag_of(client, first)},
    )
    assert response.status_code == 200, response.get_json()
    assert_stored_copies_current(app)
    response = client.delete(
        f"{LIST}/{first}/sources/{source_id}", headers={"If-Match": etag_of(client, first)}
    )
    assert response.status_code == 204
    assert_stored_copies_current(app)

    # soft delete and restore
    response = admin_client.delete(f"{LIST}/{first}", headers={"If-Match": etag_of(client, first)})
    assert response.status_code == 204
    response = admin_client.post(f"{LIST}/{first}/restore")
    assert response.status_code == 200, response.get_json()
    assert_stored_copies_current(app)

    # a revert to the first revision (title, area and children as created)
    response = client.post(f"{LIST}/{first}/revisions/1/revert", headers={"If-Match": etag_of(client, first)})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["title"] == made[0]["title"]
    assert_stored_copies_current(app)

    # a native import that updates one incident and creates another
    exported = _table(_export(client).data)
    header = exported[0]
    row = exported[1]
    row[header.index("title")] = "Changed by import"
    new = list(exported[2])
    new[header.index("id")] = ""
    new[header.index("revision")] = ""
    response = _import(client, _csv([header, row, new]))
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["created"], response.get_json()["updated"]) == (1, 1)
    assert assert_stored_copies_current(app) == len(made) + 1


def _table(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(), newline="")))


def _csv(table: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(table)
    return out.getvalue().encode()


def _without_server_values(document: dict[str, Any], also: tuple[str, ...] = ()) -> dict[str, Any]:
    """A document without what the server assigns (ids, timestamps; `also`: more fields, of
    the incident and of its child records)."""
    skip = {"id", "created_at", "updated_at", "provenance_at", *also}
    return {
        key: [{k: v for k, v in item.items() if k not in skip} for item in value]
        if key in ("acknowledgements", "legal_cases", "sources")
        else value
        for key, value in document.items()
        if key not in skip
    }


def test_import_creates_what_the_api_creates(app, client):
    """The import's bulk path (Core inserts) gives the same document, rows and first revision as
    POST /incidents."""
    made = _varied_incidents(client)
    with app.app_context():
        posted = {
            r.incident_id: (r.changes, r.document) for r in db.session.scalars(sa.select(IncidentRevision))
        }
    exported = _export(client).data
    _wipe_incidents(app)
    response = _import(client, exported)
    assert response.status_code == 200 and response.get_json()["created"] == len(made)
    assert_stored_copies_current(app)

    imported = client.get(f"{LIST}?page_size=500").get_json()

    def by_title(documents):
        # where each came from differs: the editor's key, then the import's file and row
        return {
            document["title"]: _without_server_values(document, ("provenance",)) for document in documents
        }

    assert len(by_title(made)) == len(made)
    assert by_title(imported) == by_title(made)
    with app.app_context():
        revisions = list(db.session.scalars(sa.select(IncidentRevision)))
    assert len(revisions) == len(made)
    posted_by_title = {document["title"]: (changes, document) for changes, document in posted.values()}
    for revision in revisions:
        changes, document = posted_by_title[revision.document["title"]]
        assert revision.revision == 1 and revision.action == "create"
        assert _without_server_values(revision.document, ("provenance",)) == _without_server_values(
            document, ("provenance",)
        )
        # rows are created in file order: row 2 (the first) gets the first id
        row = revision.document["id"] - min(r.document["id"] for r in revisions) + 2
        assert revision.document["provenance"] == f"native:incidents.csv#{row}"
        assert set(revision.changes) == set(changes)


def test_a_creates_changes_are_its_document_stored_once(app, client):
    """Revision 1 shows every field from null, for POST and for the import alike, while its row
    stores the document only (the changes are derived from it, not stored twice)."""
    posted = create(client, title="Posted")
    table = _table(_export(client).data)
    row = dict(zip(table[0], table[1], strict=True))
    row.update(id="", revision="", title="Imported")  # a new incident, not an update of this one
    assert _import(client, _csv([table[0], [row[name] for name in table[0]]])).get_json()["created"] == 1
    listed = client.get(f"{LIST}?page_size=10").get_json()
    assert sorted(document["title"] for document in listed) == ["Imported", "Posted"]
    for document in listed:
        first = client.get(f"{LIST}/{document['id']}/revisions").get_json()[0]
        assert first["action"] == "create"
        assert first["changes"]["title"] == {"from": None, "to": document["title"]}
        assert first["changes"]["country"] == {"from": None, "to": "IN"}
        given = {name for name, value in document.items() if value is not None}
        assert set(first["changes"]) == given - {"revision", "updated_at", "duration_days"}
    with app.app_context():
        stored = db.session.execute(sa.select(IncidentRevision.__table__.c.changes)).scalars().all()
    assert stored == [{}, {}]
    assert posted["revision"] == 1


def test_reads_without_a_stored_copy_are_built_from_the_tables(app, client):
    """Rows written before migration 0007 (or by hand) have no stored copy: served all the same."""
    made = _varied_incidents(client)
    listed, single = client.get(f"{LIST}?page_size=500"), client.get(f"{LIST}/{made[0]['id']}")
    exported = _export(client).data
    _null_stored_copies(app)
    again = client.get(f"{LIST}?page_size=500")
    assert again.get_json() == listed.get_json()
    assert again.headers["ETag"] == listed.headers["ETag"]
    one = client.get(f"{LIST}/{made[0]['id']}")
    assert (one.get_json(), one.headers["ETag"]) == (single.get_json(), single.headers["ETag"])
    assert _export(client).data == exported
    # and the ETag of a copy-less incident is the one a write checks
    response = client.patch(
        f"{LIST}/{made[0]['id']}", json={"title": "New"}, headers={"If-Match": one.headers["ETag"]}
    )
    assert response.status_code == 200, response.get_json()


def test_an_ongoing_incident_is_read_with_todays_duration(app, client, monkeypatch):
    # Characters of several UTF-8 lengths, commas and quotes before the duration cell: the
    # export splices today's duration in by character position, in the database.
    ongoing = create(
        client,
        title='Coupure « totale », région d\'Oromia — ☃ "𝔘"',
        description="Ligne 1,\nligne 2 — ünïcødé, 𝔘𝔫𝔦",
        area="Dire Dawa, Harar",
        start_date="2024-01-01",
        status="ongoing",
    )
    ended = create(client, start_date="2024-01-01", end_date="2024-01-10")
    today = date.today()
    assert ongoing["duration_days"] == (today - date(2024, 1, 1)).days + 1
    later = today + timedelta(days=30)
    monkeypatch.setattr("app.models.incident.today_utc", lambda: later)

    expected = (later - date(2024, 1, 1)).days + 1
    assert client.get(f"{LIST}/{ongoing['id']}").get_json()["duration_days"] == expected
    listed = {d["id"]: d for d in client.get(LIST).get_json()}
    assert listed[ongoing["id"]]["duration_days"] == expected
    assert listed[ended["id"]]["duration_days"] == 10
    rows = {row[0]: row for row in _table(_export(client).data)[1:]}
    column = csv_format.HEADER.index("duration_days")
    assert rows[str(ongoing["id"])][column] == str(expected)
    assert rows[str(ended["id"])][column] == "10"
    # every other cell is the stored row's, untouched by the splice
    stored = _table(csv_format.line_of(client.get(f"{LIST}/{ongoing['id']}").get_json()).encode())[0]
    assert rows[str(ongoing["id"])] == stored
    assert stored[csv_format.HEADER.index("title")] == 'Coupure « totale », région d\'Oromia — ☃ "𝔘"'

    # a clock before the start (an ongoing incident may be entered ahead): 0 days, not negative
    monkeypatch.setattr("app.models.incident.today_utc", lambda: date(2023, 12, 1))
    rows = {row[0]: row for row in _table(_export(client).data)[1:]}
    assert rows[str(ongoing["id"])][column] == "0"
    assert client.get(f"{LIST}/{ongoing['id']}").get_json()["duration_days"] == 0


@pytest.mark.parametrize("path", ["", "/1"])
def test_reads_are_a_fixed_number_of_statements(app, client, path, monkeypatch):
    """A page is the data version and its count (cached aggregates), its ids (from an index) and
    their stored documents; an incident is one select."""
    _varied_incidents(client)
    first_id = client.get(LIST).get_json()[-1]["id"]
    url = f"{LIST}/{first_id}" if path else f"{LIST}?page_size=500&sort=country"  # a query not seen yet
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not statement.startswith("BEGIN"):
            statements.append(statement)

    # A single incident is read on the DB-API connection (app.fast.one_row.OneRow): no SQLAlchemy event.
    one_row_first = OneRow.first

    def first(self, engine, **parameters):
        statements.append(self.sql(engine.dialect, parameters)[0])
        return one_row_first(self, engine, **parameters)

    monkeypatch.setattr(OneRow, "first", first)
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == (1 if path else 4), statements


def test_the_upgrade_builds_the_copies_of_existing_incidents(app, client, runner, database_url):
    """Migration 0007 makes the table only (a migration never imports the app); `db upgrade`
    ends by building the copies of the incidents already there."""
    from app.services import migrations

    made = _varied_incidents(client)
    listed = client.get(f"{LIST}?page_size=500").get_json()
    with app.app_context():
        db.engine.dispose()
    migrations.downgrade(database_url, "0006")
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"Stored documents rebuilt: {len(made)}." in result.output
    assert assert_stored_copies_current(app) == len(made)
    # Going below 0012 drops provenance; 0012 gives it back as `legacy` (the first revision's
    # actor for an incident, at its creation time; no time for a child record).
    for incident in listed:
        incident["provenance"] = "legacy:test-editor"
        for name in ("acknowledgements", "legal_cases", "sources"):
            for record in incident[name]:
                record.update(provenance="legacy", provenance_at=None)
    assert client.get(f"{LIST}?page_size=500").get_json() == listed


@pytest.fixture
def reshaped():
    """Lets a test change the document's shape; the shape is computed afresh afterwards."""
    yield shape
    shape.forget()


def _mark_stored_copies(app, text: str) -> None:
    """Overwrite every stored copy with a marker, keeping its shape: a served copy shows it."""
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.update(StoredDocument.__table__).values(document=f'"{text}"', csv_row=text))


def test_a_copy_of_another_shape_is_never_served_and_the_rebuild_renews_every_copy(
    app, client, runner, reshaped, monkeypatch
):
    made = _varied_incidents(client)
    listed = client.get(f"{LIST}?page_size=500")
    single = client.get(f"{LIST}/{made[0]['id']}")
    exported = _export(client).data
    _mark_stored_copies(app, "old shape")
    monkeypatch.setattr(reshaped, "BUILDER_REVISION", reshaped.BUILDER_REVISION + 1)
    reshaped.forget()

    # Before the rebuild, every read is built from the tables: no copy of the old shape is served.
    again = client.get(f"{LIST}?page_size=500")
    assert (again.get_json(), again.headers["ETag"]) == (listed.get_json(), listed.headers["ETag"])
    one = client.get(f"{LIST}/{made[0]['id']}")
    assert (one.get_json(), one.headers["ETag"]) == (single.get_json(), single.headers["ETag"])
    assert _export(client).data == exported

    result = runner.invoke(args=["incidents", "rebuild-documents"])
    assert result.exit_code == 0, result.output
    assert f"Stored documents rebuilt: {len(made)}." in result.output
    assert assert_stored_copies_current(app) == len(made)
    assert runner.invoke(args=["incidents", "rebuild-documents"]).output.endswith("rebuilt: 0.\n")
    assert _export(client).data == exported


def test_a_country_renamed_in_the_country_data_reaches_every_stored_copy(
    app, client, runner, reshaped, monkeypatch
):
    import pycountry

    made = [create(client, country="PK", title=f"Block {n}") for n in range(3)]
    other = create(client, country="IN")
    # pycountry keeps a country's names in its `_fields`: renamed there, as a new release would.
    monkeypatch.setitem(pycountry.countries.get(alpha_2="PK")._fields, "common_name", "Islamic Republic")
    reshaped.forget()  # the country data is part of the shape: every copy is now stale

    assert client.get(f"{LIST}/{made[0]['id']}").get_json()["country_name"] == "Islamic Republic"
    result = runner.invoke(args=["incidents", "rebuild-documents"])
    assert f"Stored documents rebuilt: {len(made) + 1}." in result.output, result.output
    assert assert_stored_copies_current(app) == len(made) + 1
    with app.app_context():
        copies = db.session.execute(sa.select(StoredDocument.__table__)).all()
    names = {
        orjson.loads(copy.document)["id"]: orjson.loads(copy.document)["country_name"] for copy in copies
    }
    assert names == {**{incident["id"]: "Islamic Republic" for incident in made}, other["id"]: "India"}
    rows = _table(_export(client).data)
    column = rows[0].index("country_name")
    assert sorted(row[column] for row in rows[1:]) == ["India", *["Islamic Republic"] * 3]


def test_a_one_row_read_gives_the_drivers_row_and_sqlalchemys_errors(app, client):
    """OneRow runs on the DB-API connection; a database error still arrives as SQLAlchemy's
    (so the app's handlers apply), and the connection goes back to the pool usable."""
    made = create(client, start_date="2024-02-03")
    read = OneRow(sa.select(Incident.id, Incident.title).where(Incident.id == sa.bindparam("incident_id")))
    broken = OneRow(sa.select(sa.text("no_such_column")).select_from(Incident.__table__))
    with app.app_context():
        assert read.first(db.engine, incident_id=made["id"]) == (made["id"], made["title"])
        assert read.first(db.engine, incident_id=made["id"] + 1000) is None
        with pytest.raises(sa.exc.DBAPIError) as caught:
            broken.first(db.engine)
        assert "no_such_column" in str(caught.value.orig)
        assert db.engine.pool.checkedout() == 0
        # A value written into the statement is bound with the caller's parameters …
        with_value = OneRow(
            sa.select(Incident.id).where(
                Incident.country == made["country"], Incident.id == sa.bindparam("incident_id")
            )
        )
        assert with_value.first(db.engine, incident_id=made["id"]) == (made["id"],)
        # … and one SQLAlchemy would convert on the way (an enum's check) is refused, not sent raw.
        with pytest.raises(ValueError, match="status"):
            OneRow(sa.select(Incident.id).where(Incident.status == "ongoing")).first(db.engine)
    # the same pooled connections serve a write in a transaction of its own afterwards
    response = client.patch(
        f"{LIST}/{made['id']}", json={"title": "Renamed"}, headers={"If-Match": etag_of(client, made["id"])}
    )
    assert response.status_code == 200
    assert client.get(f"{LIST}/{made['id']}").get_json()["title"] == "Renamed"
