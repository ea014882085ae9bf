"""Each fast path of app/fast/ gives what its plain twin gives (on SQLite, and on PostgreSQL with
TEST_DATABASE_URL)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from flask import request
from flask_smorest.pagination import PaginationParameters

from app.db import db
from app.fast.pages import STORED_ONE
from app.fast.stored import stored_documents, stored_row
from app.http.paging import SelectPage
from app.models import Incident
from app.resources.incidents.routes import blp
from app.resources.incidents.schemas import IncidentListArgsSchema, IncidentSchema
from app.services import incidents as incident_service
from tests.conftest import create, etag_of

LIST = "/api/v1/incidents"
QUERIES = [
    {},
    {"sort": "start_date"},
    {"sort": "-duration_days", "country": "PK"},
    {"sort": "end_date", "status": ["ended", "unknown"]},
    {"q": "shutdown"},
    {"q": "shutdown", "sort": "-updated_at"},
]


def _varied(client) -> None:
    """Ties on the sort keys, empty end dates, two countries, words found by a search."""
    start = date(2024, 3, 1)
    for number in range(9):
        day = start + timedelta(days=number // 2)
        ended = number % 3 != 0
        create(
            client,
            title=f"{'Shutdown ' * (number % 4 + 1)}number {number}",
            country="PK" if number % 2 else "IN",
            start_date=day.isoformat(),
            end_date=(day + timedelta(days=number % 5)).isoformat() if ended else None,
            status="ended" if ended else ("ongoing" if number % 2 else "unknown"),
        )


def _plain_page(app, query: dict[str, Any], page: int, size: int) -> tuple[list[Any], dict[str, str]]:
    """The plain twin: SelectPage over list_incidents, incidents dumped by IncidentSchema, and
    the blueprint's headers for that page."""
    with app.test_request_context(LIST, query_string={**query, "page": page, "page_size": size}):
        args = blp.ARGUMENTS_PARSER.parse(IncidentListArgsSchema, request, location="query")
        statement = incident_service.list_incidents(args, db.engine.dialect.name, (Incident.id,))
        params = PaginationParameters(page, size)
        ids = SelectPage(statement, params).items
        documents = IncidentSchema(many=True).dump([db.session.get(Incident, i) for i in ids])
        _, headers = blp._set_pagination_metadata(params, documents, None)  # noqa: SLF001
        return orjson.loads(app.json.dumps(documents)), headers


def _fast_page(client, query: dict[str, Any], **position: Any):
    response = client.get(LIST, query_string={**query, **position})
    assert response.status_code == 200, response.get_json()
    return response


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: json.dumps(query))
def test_fast_list_pages_equal_plain_pages(app, client, query):
    """IncidentPage (ids first, statements built once, stored documents, a kept ranking) gives
    the plain pager's documents and headers, page after page and past the end; its cursors
    lead to the plain pager's next page."""
    _varied(client)
    for size in (2, 4):
        for page in range(1, 7):
            documents, headers = _plain_page(app, query, page, size)
            fast = _fast_page(client, query, page=page, page_size=size)
            assert fast.get_json() == documents, (size, page)
            assert fast.headers["X-Pagination"] == headers["X-Pagination"]
            assert fast.headers["Link"] == headers["Link"]
            cursor = fast.headers.get("X-Next-Cursor")
            if cursor is None:
                continue
            after = _fast_page(client, query, page_size=size, after=cursor)
            following, _ = _plain_page(app, query, page + 1, size)
            assert after.get_json() == following, (size, page)
            total = json.loads(headers["X-Pagination"])["total"]
            assert json.loads(after.headers["X-Pagination"]) == {"total": total}


def test_one_row_reads_what_the_session_reads(app, client, admin_client):
    """STORED_ONE (a OneRow on the DB-API connection) reads the row `session.execute` of the
    same statement reads: a live incident, a deleted one, and none."""
    live = create(client, title="Live", status="ongoing", start_date="2024-01-01")["id"]
    deleted = create(client, title="Deleted")["id"]
    response = admin_client.delete(f"{LIST}/{deleted}", headers={"If-Match": etag_of(client, deleted)})
    assert response.status_code == 204
    with app.app_context():
        for incident_id in (live, deleted, 10**6):
            fast = STORED_ONE.first(db.engine, incident_id=incident_id)
            plain = db.session.execute(STORED_ONE.statement, {"incident_id": incident_id}).first()
            assert (fast is None) == (plain is None)
            if plain is None:
                continue
            assert (fast[-1] is None) == (plain[-1] is None)  # deleted_at (SQLite's driver: text)
            fast_document, plain_document = (
                orjson.dumps(stored_documents(db.session, [stored_row(values)])) for values in (fast, plain)
            )
            assert fast_document == plain_document


def test_binary_copy_reads_what_the_cursor_reads(app, client):
    """app/services/streaming.py: on PostgreSQL the export's bytes come by binary COPY
    (`_copy_values`); its plain twin is the DB-API cursor (`_fetch_values`), which SQLite uses."""
    from app.fast.stored import WITH_STORED, export_column
    from app.services import streaming

    for n in range(7):
        create(client, title=f"Coupure n°{n}, « totale »", description="ligne 1,\nligne 2" * n)
    with app.app_context():
        dialect = db.engine.dialect.name
        statement = sa.select(export_column(dialect)).select_from(WITH_STORED).order_by(Incident.id)
        with db.engine.connect() as connection:
            fetched = [bytes(v) for batch in streaming._fetch_values(connection, statement, 3) for v in batch]
        if dialect == "postgresql":
            with db.engine.connect() as connection:
                copied = [
                    bytes(v) for batch in streaming._copy_values(connection, statement, 3) for v in batch
                ]
            assert copied == fetched
    assert len(fetched) == 7 and all(line.endswith(b"\r\n") for line in fetched)


@pytest.mark.parametrize(
    ("page", "page_size", "item_count"), [(1, 50, 0), (1, 50, 1), (2, 10, 35), (4, 10, 35), (9, 10, 35)]
)
def test_page_metadata_is_flask_smorests(page, page_size, item_count):
    """app/http/paging.py's `page_metadata` gives what flask-smorest's own (a schema dump) gives."""
    from flask_smorest import Blueprint as SmorestBlueprint

    from app.http.paging import page_metadata

    expected = SmorestBlueprint._make_pagination_metadata(page, page_size, item_count)
    assert page_metadata(page, page_size, item_count) == expected
