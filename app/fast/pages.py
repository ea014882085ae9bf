"""The incident list's pages and the single incident, read fast: statements built once, a page's
ids first, then the stored documents of those ids.

Plain twins: the list is `SelectPage` (app/http/paging.py) over
`incident_service.list_incidents(args, dialect)` with the incidents dumped by `IncidentSchema`;
the single incident is `session.execute` of STORED_ONE's statement. The tests that prove each
pair equal are in tests/test_fast_paths.py (on SQLite, and on PostgreSQL with TEST_DATABASE_URL).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.db import db
from app.fast.one_row import OneRow
from app.fast.stored import STORED_COLUMNS, WITH_STORED, stored_documents, stored_rows
from app.http import as_of as as_of_http
from app.http.paging import PageCursor, SelectPage, count_rows
from app.models import Incident
from app.models import incident as incident_model
from app.services import aggregates, sorts
from app.services import as_of as as_of_service
from app.services import incidents as incident_service

# Search results by relevance: how many ids of a query's ranking each worker keeps (8 bytes
# each, one list per query in the aggregate cache); a page beyond them is ranked again.
RANKED_DEPTH = 2000

# A page's documents by id, the ids bound as one array (PostgreSQL `= ANY`, SQLite a JSON array
# read by `json_each`): an expanding IN would be rendered anew for every execution.
# Plain twin: `stored_rows(Incident.id.in_(ids))`; tests/test_query_plans.py checks the plan
# and tests/test_fast_paths.py the pages built from it.
STORED_BY_IDS = {
    "postgresql": stored_rows(
        Incident.id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Integer)))
    ),
    "sqlite": stored_rows(
        Incident.id.in_(sa.select(sa.column("value")).select_from(sa.func.json_each(sa.bindparam("ids"))))
    ),
}

# A single incident: its stored copy, and whether it was deleted, read on the DB-API connection
# (the request is this one primary-key lookup). Plain twin: `session.execute(STORED_ONE.statement,
# {"incident_id": …}).first()`; tests/test_fast_paths.py::test_one_row_reads_what_the_session_reads.
STORED_ONE = OneRow(
    sa.select(*STORED_COLUMNS, Incident.deleted_at)
    .select_from(WITH_STORED)
    .where(Incident.id == sa.bindparam("incident_id"))
)


def documents_by_ids(connection: sa.Connection, ids: list[int]) -> dict[int, Any]:
    """STORED_COLUMNS rows of these incidents, by id (in no particular order)."""
    dialect = connection.dialect.name
    bound = ids if dialect == "postgresql" else orjson.dumps(ids).decode()
    return {row.id: row for row in connection.execute(STORED_BY_IDS[dialect], {"ids": bound}).all()}


def frozen(args: dict[str, Any]) -> tuple:
    """Parsed query arguments as a hashable key, whatever their order."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in args.items()))


@dataclass(frozen=True)
class IncidentListQuery:
    """What the list view hands its pager (IncidentPage): the filtered statement, its sort (None:
    by relevance), the position a keyset page starts after, and the filters as a key."""

    statement: sa.Select
    sort: str | None
    after: tuple[Any, int] | None
    filters: tuple

    @classmethod
    def from_args(cls, args: dict[str, Any], dialect: str) -> IncidentListQuery:
        """The query for the list's parsed arguments (`after` already checked by the schema)."""
        filters = {name: value for name, value in args.items() if name != "after"}
        searching = bool(filters.get("q")) and not filters.get("sort")
        sort = None if searching else filters.get("sort") or sorts.DEFAULT_SORT
        after = args.get("after")
        position = sorts.decode_cursor(after, sort) if after is not None else None
        key = frozen(filters)
        # Today's date is in the key: a sort by duration counts ongoing incidents up to today.
        return cls(list_statement(dialect, incident_model.today_utc(), key), sort, position, key)


@dataclass(frozen=True)
class AsOfListQuery:
    """What the list view hands its pager for a list as of a moment: paged by number, in id order."""

    moment: as_of_service.Moment
    countries: tuple[str, ...]


@lru_cache(maxsize=256)
def list_statement(dialect: str, _today: date, args: tuple) -> sa.Select:
    """The list's statement (ids) for these filters, built once: the same filters come back page
    after page and from client to client, and SQLAlchemy memoizes a statement's cache key on the
    statement object."""
    return incident_service.list_incidents(dict(args), dialect, (Incident.id,))


def _page_columns(collection: sa.Select, sort: str | None) -> sa.Select:
    columns = [Incident.id] if sort is None else [Incident.id, sorts.sort_key(sort)]
    return collection.with_only_columns(*columns, maintain_column_froms=True)


# A page's statement, with its position bound per request: built once for a list statement
# (itself kept per set of filters), so a page builds no SQL expression and SQLAlchemy finds
# its compiled form by the key memoized on the statement.
@lru_cache(maxsize=256)
def page_at(collection: sa.Select, sort: str | None) -> sa.Select:
    """The ids (and sort keys) of a page by offset: `page_offset`, `page_limit`."""
    page = _page_columns(collection, sort)
    return page.offset(sa.bindparam("page_offset", type_=sa.Integer)).limit(
        sa.bindparam("page_limit", type_=sa.Integer)
    )


@lru_cache(maxsize=256)
def page_after(collection: sa.Select, sort: str, at_empty_value: bool) -> sa.Select:
    """The ids and sort keys after a cursor's position: `after_value`, `after_id`, `page_limit`
    (a position among the incidents without a sort value is a condition of its own)."""
    value = None if at_empty_value else sa.bindparam("after_value", type_=sorts.sort_key(sort).type)
    after = sorts.after_condition(sort, value, sa.bindparam("after_id", type_=sa.Integer))
    return _page_columns(collection, sort).where(after).limit(sa.bindparam("page_limit", type_=sa.Integer))


class IncidentPage(SelectPage):
    """A page of incident documents for an IncidentListQuery: the page's ids, then their stored
    copies; the next page's cursor goes to the headers on `page_params.cursor`.

    Ids first ("deferred join"): the filter, the sort and the OFFSET walk an index alone, and
    only the rows of the page are read from the table, where offsetting over whole rows would
    read every skipped row of a deep page.

    Plain twin: `SelectPage` over `incident_service.list_incidents(args, dialect)` with the
    incidents dumped by `IncidentSchema`; tests/test_fast_paths.py::
    test_fast_list_pages_equal_plain_pages proves them equal (documents and headers).
    """

    collection: IncidentListQuery | AsOfListQuery

    @property
    def item_count(self) -> int:
        query = self.collection
        if isinstance(query, AsOfListQuery):
            with as_of_http.reading() as connection:
                return as_of_service.count(connection, query.moment, query.countries)
        # The total grows with the data: cached until the data changes (services/aggregates.py).
        return aggregates.cached(
            db.session, ("incidents", query.filters), lambda: count_rows(query.statement)
        )

    @property
    def items(self) -> list[Any]:
        query, params = self.collection, self.page_params
        if isinstance(query, AsOfListQuery):
            return self._as_of(query)
        params.cursor = PageCursor(keyset=query.after is not None)
        if params.first_item >= (params.item_count or 0):
            return []
        connection = db.session.connection()
        if query.sort is None and params.first_item + params.page_size <= RANKED_DEPTH:
            # By relevance: ranking scores every match, so the first RANKED_DEPTH ids in rank
            # order are kept like the total (until the data changes), and pages are slices.
            ranked = aggregates.cached(
                db.session, ("ranked", query.filters), lambda: _ranked(connection, query.statement)
            )
            return self._documents(connection, list(ranked[params.first_item : params.last_item + 1]))
        rows, more = self._rows(connection)
        if query.sort is not None and rows and more:
            params.cursor.next_cursor = sorts.encode_cursor(query.sort, rows[-1][1], rows[-1][0])
        return self._documents(connection, [row[0] for row in rows])

    def _as_of(self, query: AsOfListQuery) -> list[Any]:
        params = self.page_params
        if params.first_item >= (params.item_count or 0):
            return []
        with as_of_http.reading() as connection:
            return as_of_service.page(
                connection, query.moment, query.countries, params.first_item, params.page_size
            )

    def _rows(self, connection: sa.Connection) -> tuple[list[sa.Row], bool]:
        """The page's (id, sort key) rows, and whether more follow."""
        query, params = self.collection, self.page_params
        if query.after is None:
            bound = {"page_offset": params.first_item, "page_limit": params.page_size}
            rows = connection.execute(page_at(query.statement, query.sort), bound).all()
            return rows, params.first_item + len(rows) < params.item_count
        # Keyset: from the cursor's position, one row more to see whether any follow.
        value, after_id = query.after
        statement = page_after(query.statement, query.sort, value is None)
        bound = {"after_value": value, "after_id": after_id, "page_limit": params.page_size + 1}
        rows = connection.execute(statement, bound).all()
        return rows[: params.page_size], len(rows) > params.page_size

    def _documents(self, connection: sa.Connection, ids: list[int]) -> list[Any]:
        stored = documents_by_ids(connection, ids)
        return stored_documents(db.session, [stored[i] for i in ids if i in stored])


def _ranked(connection: sa.Connection, statement: sa.Select) -> array:
    page = statement.with_only_columns(Incident.id, maintain_column_froms=True)
    return array("q", (row[0] for row in connection.execute(page.limit(RANKED_DEPTH))))
