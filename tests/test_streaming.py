"""The export's read-ahead thread: same items in the same order, errors where they happened,
and a stream closed early (a client gone) stops the thread and releases what it read from."""

from __future__ import annotations

import threading

import pytest

from app.services.streaming import read_ahead


def test_items_arrive_in_order_and_all():
    assert list(read_ahead(iter(range(1000)), depth=2)) == list(range(1000))
    assert list(read_ahead(iter([]))) == []


def test_an_error_is_raised_after_the_items_before_it():
    def source():
        yield 1
        yield 2
        raise ValueError("row 3 is bad")

    seen = []
    with pytest.raises(ValueError, match="row 3 is bad"):
        for item in read_ahead(source()):
            seen.append(item)
    assert seen == [1, 2]


def test_closing_early_stops_the_thread_and_closes_the_source():
    closed = threading.Event()
    produced = []

    def source():
        try:
            for n in range(10_000):
                produced.append(n)
                yield n
        finally:
            closed.set()

    before = threading.active_count()
    stream = read_ahead(source(), depth=2)
    assert next(stream) == 0
    stream.close()
    assert closed.is_set()  # the source's `finally` ran (its connection released) before close returned
    assert len(produced) <= 4  # it never ran more than `depth` items ahead
    assert threading.active_count() == before


def test_the_export_of_a_client_that_hangs_up_returns_its_connection(app, client):
    """An export read only in part, then closed: the reading thread ends and the pool gets its
    connection back (checked out connections return to zero)."""
    from tests.conftest import create

    for n in range(5):
        create(client, title=f"Incident {n}")
    from app.db import db
    from app.resources.bulk import routes

    routes_batch = routes.EXPORT_BATCH
    routes.EXPORT_BATCH = 2
    try:
        response = client.get("/api/v1/incidents.csv", buffered=False)
        body = iter(response.response)
        assert next(body).startswith(b"id,title")
        response.close()
    finally:
        routes.EXPORT_BATCH = routes_batch
    with app.app_context():
        assert db.engine.pool.checkedout() == 0
    assert not [t for t in threading.enumerate() if t.name == "csv-export"]


@pytest.fixture
def app_config():
    # A write that waits for the lock fails after this long instead of the default 15 s.
    return {"SQLITE_BUSY_TIMEOUT_MS": 2000}


def test_an_export_in_progress_does_not_hold_off_writes(app, client):
    """The export reads in a thread of its own, outside the request: its transaction must still
    be a read (SQLite: a deferred BEGIN), or every write would wait for the export to end."""
    from app.resources.bulk import routes
    from tests.conftest import create, incident_doc

    for n in range(8):
        create(client, title=f"Incident {n}")
    routes_batch = routes.EXPORT_BATCH
    routes.EXPORT_BATCH = 1  # eight chunks: more than the reading thread may hold ahead
    try:
        response = client.get("/api/v1/incidents.csv", buffered=False)
        body = iter(response.response)
        next(body), next(body)  # the header and the first row: the export's transaction is open
        assert (
            client.post("/api/v1/incidents", json=incident_doc(title="Written meanwhile")).status_code == 201
        )
        rest = b"".join(body)
        response.close()
    finally:
        routes.EXPORT_BATCH = routes_batch
    assert b"Written meanwhile" not in rest  # the export reads its own snapshot


def test_a_cell_holding_the_missing_row_marker_is_exported_as_it_is(client):
    """The export marks an incident without a stored row by `!` at a row's start; a quoted cell
    with a line break before a `!` looks the same to the quick check and must come out whole."""
    import csv
    import io

    from tests.conftest import create

    made = create(client, title="Marker", description="first line\r\n!second line")
    other = create(client, title="Plain")
    rows = list(
        csv.reader(io.StringIO(client.get("/api/v1/incidents.csv").get_data(as_text=True), newline=""))
    )
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {str(made["id"]), str(other["id"])}
    assert by_id[str(made["id"])][rows[0].index("description")] == made["description"]
    assert "!second line" in made["description"]


def test_the_copy_header_is_checked_and_skipped_with_its_extension():
    from app.services.streaming import _past_header

    first_tuple = b"\x00\x01\x00\x00\x00\x02hi"
    header = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x03" + b"ext"
    assert bytes(_past_header(memoryview(header + first_tuple))) == first_tuple
    with pytest.raises(ValueError, match="not a binary COPY stream"):
        _past_header(memoryview(b"PGCOPY\n\xff\r\n\x01" + first_tuple))
