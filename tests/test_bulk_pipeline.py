"""The import's write pipeline (app.fast.bulk_create): it stores what its plain twin
`create_incident` stores; rows are written in a second thread while the next ones are built; a
failure there stops the import and nothing of it stays."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from app.db import db
from app.fast import bulk_create
from app.models import Incident, IncidentRevision, Source, StoredDocument
from app.resources.incidents.schemas import IncidentSchema
from app.services import csv_format, importer
from app.services.incidents import create_incident
from tests import test_bulk
from tests.conftest import create, incident_doc
from tests.test_bulk import _csv_bytes, _export, _table, _wipe_incidents
from tests.test_stored_documents import _without_server_values, assert_stored_copies_current

COUNT = bulk_create.PIPELINE_FIRST_BATCH + bulk_create.PIPELINE_BATCH + 7  # three batches


SERVER_COLUMNS = {"id", "created_at", "updated_at", "provenance_at"}


def _varied_documents(monkeypatch) -> list[dict[str, Any]]:
    """The POST bodies of test_bulk's varied incidents (every kind of content)."""
    bodies: list[dict[str, Any]] = []
    with monkeypatch.context() as patch:
        patch.setattr(
            test_bulk, "create", lambda client, **overrides: bodies.append(incident_doc(**overrides))
        )
        test_bulk._varied_incidents(None)
    return bodies


def _csv_cells(line: str) -> dict[str, Any]:
    """A stored CSV row by column, without the values the server assigns (ids, timestamps)."""
    cells = dict(zip(csv_format.HEADER, next(csv.reader([line])), strict=True))
    for name in ("acknowledgements", "legal_cases", "sources"):
        cells[name] = [
            {k: v for k, v in item.items() if k not in ("id", "provenance_at")}
            for item in json.loads(cells[name] or "[]")
        ]
    return {name: value for name, value in cells.items() if name not in SERVER_COLUMNS}


def _revision_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A revision as the API lists it, its changes without the values the server assigns."""
    changes = entry["changes"]
    return {
        **{key: value for key, value in entry.items() if key not in ("at", "incident_id", "changes")},
        "from": [change["from"] for change in changes.values()],
        "to": _without_server_values({name: change["to"] for name, change in changes.items()}),
    }


def _stored_result(app, client) -> dict[str, tuple]:
    """By title: the API's document, its revisions and its stored copy, without server values."""
    result = {}
    with app.app_context():
        stored = {row.incident_id: row for row in db.session.scalars(sa.select(StoredDocument))}
        history = {row.incident_id: row for row in db.session.scalars(sa.select(IncidentRevision))}
        for document in client.get("/api/v1/incidents?page_size=500").get_json():
            copy, revision = stored[document["id"]], history[document["id"]]
            duration_cell = None
            if copy.csv_duration_at is not None:
                duration_cell = len(next(csv.reader([copy.csv_row[: copy.csv_duration_at]])))
            listed = client.get(f"/api/v1/incidents/{document['id']}/revisions").get_json()
            result[document["title"]] = (
                _without_server_values(document),
                [_revision_entry(entry) for entry in listed],
                (revision.revision, revision.action, revision.actor, revision.stored_changes),
                _without_server_values(revision.document),
                _without_server_values(orjson.loads(copy.document)),
                _csv_cells(copy.csv_row),
                duration_cell,
            )
        db.session.rollback()
    return result


def _created_by(
    app, client, documents, write: Callable[[sa.orm.Session, list[dict]], Any]
) -> dict[str, tuple]:
    _wipe_incidents(app)
    with app.test_request_context():
        schema = IncidentSchema()
        write(db.session, [schema.load(document) for document in documents])
        db.session.commit()
    assert assert_stored_copies_current(app) == len(documents)
    return _stored_result(app, client)


def test_bulk_create_stores_what_create_incident_stores(app, client, monkeypatch):
    """The fast path and its plain twin: the same documents give the same API documents,
    revisions and stored copies (ids and timestamps aside)."""
    documents = _varied_documents(monkeypatch)
    plain = _created_by(app, client, documents, lambda s, loaded: [create_incident(s, d) for d in loaded])
    fast = _created_by(app, client, documents, bulk_create.bulk_create)
    assert len(plain) == len(documents)
    assert fast == plain


def _many_rows(client) -> bytes:
    """COUNT new incidents in the native format (one exported incident, titled 1..COUNT)."""
    create(client, sources=[{"url": "https://example.org/a"}])
    header, row = _table(_export(client).data)[:2]
    cells = dict(zip(header, row, strict=True))
    rows = []
    for number in range(COUNT):
        cells.update(id="", revision="", title=f"Incident {number}")
        rows.append([cells[name] for name in header])
    return _csv_bytes([header, *rows])


def _counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Incident, Source, IncidentRevision, StoredDocument)
    }


def test_an_import_in_several_batches_writes_every_row(app, client):
    content = _many_rows(client)
    with app.app_context():
        before = _counts()
        report = importer.run_import(
            db.session,
            content.decode().splitlines(keepends=True),
            fmt="native",
        )
        assert report.created == COUNT
        after = _counts()
    assert {name: after[name] - before[name] for name in after} == dict.fromkeys(after, COUNT)
    titles = [document["title"] for document in client.get("/api/v1/incidents?page_size=500").get_json()]
    assert sorted(titles) == sorted(
        [f"Incident {n}" for n in range(COUNT)] + ["Mobile internet cut in Manipur"]
    )


def test_a_failed_write_stops_the_import_and_leaves_nothing(app, client, monkeypatch):
    content = _many_rows(client)
    written: list[str] = []
    insert = bulk_create._insert

    def failing(connection, model, rows):
        if model is StoredDocument and written.count("StoredDocument") == 1:
            raise RuntimeError("disk full")  # the second batch's stored copies
        written.append(model.__name__)
        insert(connection, model, rows)

    monkeypatch.setattr(bulk_create, "_insert", failing)
    with app.app_context():
        before = _counts()
        with pytest.raises(RuntimeError, match="disk full"):
            importer.run_import(
                db.session,
                content.decode().splitlines(keepends=True),
                fmt="native",
            )
        db.session.rollback()
        assert _counts() == before
    # Nothing was sent after the failure, and the writer thread is gone.
    assert written == ["Incident", "IncidentRevision", "StoredDocument", "Incident", "IncidentRevision"]
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("bulk-write")]
