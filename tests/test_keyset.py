"""Keyset paging of the incident list: `after` = the previous page's `X-Next-Cursor`."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import orjson
import pytest
import sqlalchemy as sa

from app import vocab
from app.db import db
from app.models import Incident
from app.services import incidents as incident_service
from app.services import sorts
from tests.conftest import create

LIST = "/api/v1/incidents"


def _varied(client) -> None:
    """Ties on every sort key, empty end dates (ongoing and unknown), two countries."""
    start = date(2024, 1, 10)
    for number in range(13):
        day = start + timedelta(days=number // 3)  # three incidents a day
        ended = number % 4 != 0
        create(
            client,
            title=f"Incident {number}",
            country="PK" if number % 2 else "IN",
            start_date=day.isoformat(),
            end_date=(day + timedelta(days=number % 3)).isoformat() if ended else None,
            status="ended" if ended else ("ongoing" if number % 8 == 0 else "unknown"),
        )


def _walk(client, query: str, size: int) -> tuple[list[int], list[str]]:
    """Every page from the first, following X-Next-Cursor; the ids and each page's Link."""
    ids, links = [], []
    response = client.get(f"{LIST}?{query}&page_size={size}")
    for _ in range(100):  # a cursor that does not move on would loop for ever
        assert response.status_code == 200, response.get_json()
        ids += [document["id"] for document in response.get_json()]
        links.append(response.headers["Link"])
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            return ids, links
        response = client.get(f"{LIST}?{query}&page_size={size}&after={cursor}")
    raise AssertionError(f"still more pages after 100: {ids[:20]}…")


@pytest.mark.parametrize("sort", vocab.INCIDENT_SORTS)
def test_following_cursors_gives_the_same_order_as_pages(client, sort):
    _varied(client)
    everything = [document["id"] for document in client.get(f"{LIST}?sort={sort}&page_size=500").get_json()]
    assert len(everything) == 13
    for size in (1, 2, 5):
        ids, links = _walk(client, f"sort={sort}", size)
        assert ids == everything, size
        assert 'rel="next"' not in links[-1]


def test_cursors_keep_the_filters_and_the_default_sort(client):
    _varied(client)
    expected = [d["id"] for d in client.get(f"{LIST}?country=PK&page_size=500").get_json()]
    ids, _ = _walk(client, "country=PK", 2)
    assert ids == expected and len(ids) == 6
    first = client.get(f"{LIST}?country=PK&page_size=2")
    second = client.get(f"{LIST}?country=PK&page_size=2&after={first.headers['X-Next-Cursor']}")
    assert orjson.loads(second.headers["X-Pagination"]) == {"total": 6}
    link = second.headers["Link"]
    assert f'<http://localhost{LIST}?country=PK&page_size=2>; rel="first"' in link
    assert f'after={second.headers["X-Next-Cursor"]}>; rel="next"' in link
    assert 'rel="prev"' not in link and 'rel="last"' not in link


def test_a_page_by_number_also_gives_the_cursor_of_the_next(client):
    _varied(client)
    second = client.get(f"{LIST}?page_size=4&page=2")
    third = client.get(f"{LIST}?page_size=4&after={second.headers['X-Next-Cursor']}")
    assert [d["id"] for d in third.get_json()] == [
        d["id"] for d in client.get(f"{LIST}?page_size=4&page=3").get_json()
    ]
    assert "X-Next-Cursor" not in client.get(f"{LIST}?page_size=4&page=4").headers  # the last page
    assert "X-Next-Cursor" not in client.get(f"{LIST}?q=incident").headers  # by relevance


def _cursor(payload) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("after=zzz", "This cursor is not valid"),
        ("after=" + _cursor(["-start_date"]), "This cursor is not valid"),
        ("after=" + _cursor(["-title", "x", 1]), "This cursor is not valid"),
        ("after=" + _cursor(["-start_date", "yesterday", 1]), "cannot be read"),
        ("after=" + _cursor(["-start_date", None, 1]), "has no value"),
        ("after=" + _cursor(["-start_date", "2024-01-01", -1]), "cannot be read"),
        ("after=" + _cursor(["-start_date", "2024-01-01", True]), "cannot be read"),
        ("sort=-duration_days&after=" + _cursor(["-duration_days", "7", 1]), "cannot be read"),
        ("sort=-updated_at&after=" + _cursor(["-updated_at", "2024-01-01T00:00:00", 1]), "cannot be read"),
        ("sort=end_date&after=" + _cursor(["-start_date", "2024-01-01", 1]), "belongs to sort=-start_date"),
        ("page=2&after=" + _cursor(["-start_date", "2024-01-01", 1]), "either `page` or `after`"),
        ("sort=country&after=" + _cursor(["country", "P\u0000", 1]), "cannot be read"),
        ("sort=country&after=" + _cursor(["country", "P" * 300, 1]), "cannot be read"),
        ("sort=-duration_days&after=" + _cursor(["-duration_days", 2**63 + 5, 1]), "cannot be read"),
        ("q=cut&after=" + _cursor(["-start_date", "2024-01-01", 1]), "needs a `sort`"),
    ],
)
def test_a_bad_cursor_is_a_clear_422(client, query, message):
    create(client)
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 422, response.get_json()
    [said] = response.get_json()["errors"]["query"]["after"]
    assert message in said


def test_an_empty_value_is_a_position_on_nullable_sorts(client):
    _varied(client)
    nulls_after = client.get(f"{LIST}?sort=end_date&page_size=500").get_json()
    empty = [d["id"] for d in nulls_after if d["end_date"] is None]
    response = client.get(f"{LIST}?sort=end_date&after={_cursor(['end_date', None, empty[0]])}")
    assert [d["id"] for d in response.get_json()] == empty[1:]


def test_a_deep_cursor_page_reads_the_index_from_the_position(app, client, backend):
    """No OFFSET and no sort step: the (country, start_date, id) index from the cursor on."""
    create(client)
    condition = sorts.after_condition("-start_date", date(2024, 1, 1), 10)
    statement = (
        incident_service.list_incidents({"country": ["PK"]}, backend, (Incident.id, Incident.start_date))
        .where(condition)
        .limit(51)
    )
    with app.app_context(), db.engine.connect() as connection:
        compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
        if backend == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
            assert "Index Only Scan Backward using ix_incidents_country_start_date" in plan, plan
            assert "Sort" not in plan, plan
        else:
            plan = "\n".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
            assert "ix_incidents_country_start_date" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
    assert "OFFSET" not in str(statement).upper()


def test_imported_incidents_walk_by_update_time_without_repeats(client):
    """A bulk import stamps every incident with the same time, stored as every write stores it:
    the cursor of a tie is exact, so pages neither repeat nor skip."""
    from tests.test_bulk import _export, _import, _table

    _varied(client)
    table = _table(_export(client).data)
    rows = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    for row in rows:
        row.update(id="", revision="", title="Imported " + row["title"])
    lines = [table[0], *([row[name] for name in table[0]] for row in rows)]
    from tests.test_bulk import _csv_bytes

    assert _import(client, _csv_bytes(lines)).get_json()["created"] == 13
    for sort in ("-updated_at", "updated_at"):
        everything = [d["id"] for d in client.get(f"{LIST}?sort={sort}&page_size=500").get_json()]
        ids, _ = _walk(client, f"sort={sort}", 3)
        assert ids == everything and len(set(ids)) == 26


def test_a_cursor_page_is_as_many_statements_as_a_numbered_page(app, client):
    _varied(client)
    cursor = client.get(f"{LIST}?page_size=2").headers["X-Next-Cursor"]  # the total is cached now
    statements: list[str] = []

    def count(conn, cursor_, statement, *args):
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(f"{LIST}?page_size=2&after={cursor}").status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len([s for s in statements if not s.startswith(("BEGIN", "PRAGMA"))]) <= 3, statements


def test_a_cursor_past_the_last_incident_is_an_empty_page(client):
    _varied(client)
    response = client.get(f"{LIST}?page_size=5&after={_cursor(['-start_date', '1990-01-01', 1])}")
    assert response.status_code == 200
    assert response.get_json() == []
    assert "X-Next-Cursor" not in response.headers
    assert orjson.loads(response.headers["X-Pagination"]) == {"total": 13}
    assert 'rel="next"' not in response.headers["Link"]
    filtered = client.get(f"{LIST}?country=ZA&after={_cursor(['-start_date', '2024-01-11', 5])}")
    assert filtered.status_code == 200 and filtered.get_json() == []
    assert orjson.loads(filtered.headers["X-Pagination"]) == {"total": 0}
