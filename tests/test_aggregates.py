"""List totals and statistics are cached per worker until the data changes (app/services/
aggregates.py): a cached figure is never served after any write, however it was made."""

from __future__ import annotations

import csv
import io
import json

import sqlalchemy as sa

from app.db import db
from tests.conftest import create, etag_of

LIST = "/api/v1/incidents"
STATS = "/api/v1/stats?group_by=country"


def _total(client, query: str = "") -> int:
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    return json.loads(response.headers["X-Pagination"])["total"]


def _pk(client) -> dict:
    groups = client.get(STATS).get_json()["groups"]
    return next((g for g in groups if g["group"] == "PK"), {"incidents": 0})


def _statements(app, call) -> list[str]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if not statement.startswith("BEGIN"):
            seen.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", count)
    return seen


def test_a_repeated_total_is_not_counted_again(app, client):
    create(client, country="PK")
    assert _total(client, "country=PK") == 1
    again = _statements(app, lambda: _total(client, "country=PK"))
    assert not any("count(" in s for s in again), again
    # another filter is another total
    assert _total(client, "country=IN") == 0


def test_every_kind_of_write_changes_totals_and_stats(app, client, admin_client):
    first = create(client, country="PK")
    assert (_total(client, "country=PK"), _pk(client)["incidents"]) == (1, 1)

    create(client, country="PK")  # create
    assert (_total(client, "country=PK"), _pk(client)["incidents"]) == (2, 2)

    response = client.patch(  # update moves it out of the filter
        f"{LIST}/{first['id']}", json={"country": "IN"}, headers={"If-Match": etag_of(client, first["id"])}
    )
    assert response.status_code == 200
    assert (_total(client, "country=PK"), _pk(client)["incidents"]) == (1, 1)

    second = client.get(f"{LIST}?country=PK").get_json()[0]
    response = admin_client.delete(
        f"{LIST}/{second['id']}", headers={"If-Match": etag_of(client, second["id"])}
    )
    assert response.status_code == 204  # soft delete
    assert (_total(client, "country=PK"), _pk(client)["incidents"]) == (0, 0)
    assert admin_client.post(f"{LIST}/{second['id']}/restore").status_code == 200
    assert (_total(client, "country=PK"), _pk(client)["incidents"]) == (1, 1)

    # a child record changes the acknowledged figure of the stats
    assert _pk(client).get("acknowledged") == 0
    response = client.post(
        f"{LIST}/{second['id']}/acknowledgements",
        json={"actor": "PTA", "stance": "acknowledged", "date": "2024-01-02"},
        headers={"If-Match": etag_of(client, second["id"])},
    )
    assert response.status_code == 201, response.get_json()
    assert _pk(client)["acknowledged"] == 1

    # a revert to the first revision (the statement gone again, then the country)
    response = client.post(
        f"{LIST}/{second['id']}/revisions/1/revert", headers={"If-Match": etag_of(client, second["id"])}
    )
    assert response.status_code == 200, response.get_json()
    assert _pk(client)["acknowledged"] == 0
    response = client.post(
        f"{LIST}/{first['id']}/revisions/1/revert", headers={"If-Match": etag_of(client, first["id"])}
    )
    assert response.status_code == 200, response.get_json()
    assert (_total(client, "country=PK"), _pk(client)["incidents"]) == (2, 2)
    response = client.post(
        f"{LIST}/{first['id']}/revisions/2/revert", headers={"If-Match": etag_of(client, first["id"])}
    )
    assert (_total(client, "country=PK"), _pk(client)["incidents"]) == (1, 1)

    # the bulk import (Core inserts, not the ORM)
    body = client.get(f"{LIST}.csv?country=PK").data.decode()
    header, row = body.splitlines()[:2]
    cells = next(csv.reader(io.StringIO(row)))
    cells[0] = cells[-1] = ""  # a new incident: no id, no revision
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header.split(","), cells])
    from tests.test_bulk import _import

    response = _import(client, out.getvalue().encode())
    assert response.status_code == 200 and response.get_json()["created"] == 1, response.get_json()
    assert (_total(client, "country=PK"), _pk(client)["incidents"]) == (2, 2)


def test_a_version_row_removed_by_hand_means_no_cache(app, client):
    create(client, country="PK")
    assert _total(client, "country=PK") == 1
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM data_version"))
        connection.execute(sa.text("UPDATE incidents SET country = 'IN'"))
    assert _total(client, "country=PK") == 0
    create(client, country="PK")  # the next write brings the version back
    assert _total(client, "country=PK") == 1


def test_the_cache_can_be_turned_off(app, client):
    app.config["AGGREGATE_CACHE_SECONDS"] = 0
    from app.services import aggregates

    aggregates.init_app(app)
    create(client, country="PK")
    _total(client, "country=PK")
    again = _statements(app, lambda: _total(client, "country=PK"))
    assert any("count(" in s for s in again) and not any("data_version" in s for s in again)
