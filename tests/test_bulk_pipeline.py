"""The import's write pipeline (app.fast.bulk_create): rows are written in a second thread while
the next ones are built; a failure there stops the import and nothing of it stays."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app.db import db
from app.fast import bulk_create
from app.models import Incident, IncidentRevision, Source, StoredDocument
from app.resources import fastload
from app.resources.incidents.schemas import IncidentSchema
from app.services import importer
from tests.conftest import create
from tests.test_bulk import _csv_bytes, _export, _table

COUNT = bulk_create.PIPELINE_FIRST_BATCH + bulk_create.PIPELINE_BATCH + 7  # three batches


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
            load=fastload.loader_for(IncidentSchema),
            dump=IncidentSchema().dump,
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
                load=fastload.loader_for(IncidentSchema),
                dump=IncidentSchema().dump,
            )
        db.session.rollback()
        assert _counts() == before
    # Nothing was sent after the failure, and the writer thread is gone.
    assert written == ["Incident", "IncidentRevision", "StoredDocument", "Incident", "IncidentRevision"]
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("bulk-write")]
