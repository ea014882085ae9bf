"""Incident endpoints: list, create, read, replace, patch, delete, restore, history."""

from __future__ import annotations

from array import array
from datetime import date
from functools import lru_cache
from typing import Any

import orjson
import sqlalchemy as sa
from flask import current_app, g, request, url_for
from flask.views import MethodView
from flask_smorest import abort
from sqlalchemy.dialects import postgresql

from app.db import OneRow, db
from app.extensions import LOCATION_HEADER, Blueprint, SelectPage
from app.fast.stored import STORED_COLUMNS, WITH_STORED, is_current, stored_documents, stored_row, stored_rows
from app.models import Incident
from app.models import incident as incident_model
from app.resources.incidents.schemas import (
    IncidentListArgsSchema,
    IncidentPatchSchema,
    IncidentSchema,
    RevisionSchema,
)
from app.services import aggregates, revisions
from app.services import incidents as incident_service

blp = Blueprint(
    "incidents",
    __name__,
    url_prefix="/api/v1/incidents",
    description="Internet shutdowns and platform blocks, with their official statements, "
    "court cases and sources.",
)

MAX_ID = 2**31 - 1


# Built once: a page's documents by id, the ids bound as one array (PostgreSQL `= ANY`, SQLite a
# JSON array read by `json_each`): an expanding IN is rendered anew for every execution, a
# fourteenth of a deep page's time on PostgreSQL.
STORED_BY_IDS = {
    "postgresql": stored_rows(
        Incident.id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Integer)))
    ),
    "sqlite": stored_rows(
        Incident.id.in_(sa.select(sa.column("value")).select_from(sa.func.json_each(sa.bindparam("ids"))))
    ),
}


def documents_by_ids(connection: sa.Connection, ids: list[int]) -> dict[int, Any]:
    """STORED_COLUMNS rows of these incidents, by id (in no particular order)."""
    dialect = connection.dialect.name
    bound = ids if dialect == "postgresql" else orjson.dumps(ids).decode()
    return {row.id: row for row in connection.execute(STORED_BY_IDS[dialect], {"ids": bound}).all()}


# A single incident: its stored copy, and whether it was deleted. Run on the DB-API connection
# (db.OneRow): the request is this one primary-key lookup.
STORED_ONE = OneRow(
    sa.select(*STORED_COLUMNS, Incident.deleted_at)
    .select_from(WITH_STORED)
    .where(Incident.id == sa.bindparam("incident_id"))
)


# Search results by relevance: how many ids of a query's ranking each worker keeps (8 bytes
# each, one list per query in the aggregate cache); a page beyond them is ranked again.
RANKED_DEPTH = 2000


class IncidentPage(SelectPage):
    """A page of incident documents: the page's ids, then their stored copies.

    Ids first ("deferred join"): the filter, the sort and the OFFSET walk an index alone, and
    only the rows of the page are read from the table. Offsetting over whole rows made a deep
    PostgreSQL page read every skipped row (six times the first page at 100,000 incidents).
    """

    @property
    def item_count(self) -> int:
        # The total grows with the data: cached until the data changes (services/aggregates.py).
        key = aggregates.request_key("incidents", skip=("page", "page_size", "after"))
        return aggregates.cached(db.session, key, lambda: SelectPage.item_count.fget(self))

    def _ranked(self, connection: sa.Connection) -> array:
        page = self.collection.with_only_columns(Incident.id, maintain_column_froms=True)
        return array("q", (row[0] for row in connection.execute(page.limit(RANKED_DEPTH))))

    @property
    def items(self) -> list[Any]:
        params = self.page_params
        if params.first_item >= (params.item_count or 0):
            return []
        connection = db.session.connection()
        sort, after = g.get("page_sort"), g.get("page_after")
        if sort is None and params.first_item + params.page_size <= RANKED_DEPTH:
            # By relevance: ranking scores every match, so the first RANKED_DEPTH ids in rank
            # order are kept like the total (until the data changes), and pages are slices.
            key = aggregates.request_key("ranked", skip=("page", "page_size", "after"))
            ranked = aggregates.cached(db.session, key, lambda: self._ranked(connection))
            return self._documents(
                connection, list(ranked[params.first_item : params.first_item + params.page_size])
            )
        if after is not None:  # keyset: from the cursor's position, one row more to see if any follow
            value, after_id = after
            statement = _page_after(self.collection, sort, value is None)
            bound = {"after_value": value, "after_id": after_id, "page_limit": params.page_size + 1}
            rows = connection.execute(statement, bound).all()
            more, rows = len(rows) > params.page_size, rows[: params.page_size]
        else:
            bound = {"page_offset": params.first_item, "page_limit": params.page_size}
            rows = connection.execute(_page_at(self.collection, sort), bound).all()
            more = params.first_item + len(rows) < params.item_count
        if sort is not None and rows and more:
            g.next_cursor = incident_service.encode_cursor(sort, rows[-1][1], rows[-1][0])
        ids = [row[0] for row in rows]
        return self._documents(connection, ids)

    def _documents(self, connection: sa.Connection, ids: list[int]) -> list[Any]:
        stored = documents_by_ids(connection, ids)
        return stored_documents(db.session, [stored[i] for i in ids if i in stored])


def find_incident_or_404(incident_id: int, *, for_update: bool = False) -> Incident:
    """The incident, deleted or not (locked for the transaction when about to be written)."""
    incident = (
        incident_service.get_incident(db.session, incident_id, for_update=for_update)
        if incident_id <= MAX_ID
        else None
    )
    if incident is None:
        abort(404, message=f"Incident {incident_id} does not exist.")
    return incident


def get_incident_or_404(incident_id: int, *, for_update: bool = False) -> Incident:
    """A live incident: 404 when it never existed, 410 when it was deleted."""
    incident = find_incident_or_404(incident_id, for_update=for_update)
    if incident.deleted_at is not None:
        _gone(incident_id)
    return incident


def _gone(incident_id: int) -> None:
    abort(
        410,
        message=f"Incident {incident_id} was deleted; its history is at "
        f"/api/v1/incidents/{incident_id}/revisions and an admin can restore it.",
    )


def load_for_write(incident_id: int) -> tuple[Incident, dict[str, Any]]:
    """A live incident and its current document, after checking If-Match against it."""
    incident = get_incident_or_404(incident_id, for_update=True)
    before = IncidentSchema().dump(incident)
    blp.check_etag(before)
    return incident, before


def _replace(incident_id: int, data: dict[str, Any], *, partial: bool) -> Incident:
    incident, before = load_for_write(incident_id)
    incident_service.apply_document(incident, data, partial=partial)
    if IncidentSchema().dump(incident) != before:
        revisions.record(db.session, incident, "update", before)
    db.session.commit()
    return incident


def _frozen(args: dict[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in args.items()))


@lru_cache(maxsize=256)
def _list_statement(dialect: str, _today: date, args: tuple) -> sa.Select:
    """The list's statement for these filters, built once: the same filters come back page
    after page and from client to client (building it was a fifteenth of a page's time, and
    SQLAlchemy memoizes a statement's cache key on the statement object)."""
    return incident_service.list_incidents(dict(args), dialect, (Incident.id,))


def _page_columns(collection: sa.Select, sort: str | None) -> sa.Select:
    columns = [Incident.id] if sort is None else [Incident.id, incident_service.sort_key(sort)]
    return collection.with_only_columns(*columns, maintain_column_froms=True)


# A page's statement, with its position bound per request: built once for a list statement
# (itself kept per set of filters), so a page builds no SQL expression and SQLAlchemy finds
# its compiled form by the key memoized on the statement.
@lru_cache(maxsize=256)
def _page_at(collection: sa.Select, sort: str | None) -> sa.Select:
    """The ids (and sort keys) of a page by offset: `page_offset`, `page_limit`."""
    page = _page_columns(collection, sort)
    return page.offset(sa.bindparam("page_offset", type_=sa.Integer)).limit(
        sa.bindparam("page_limit", type_=sa.Integer)
    )


@lru_cache(maxsize=256)
def _page_after(collection: sa.Select, sort: str, at_empty_value: bool) -> sa.Select:
    """The ids and sort keys after a cursor's position: `after_value`, `after_id`, `page_limit`
    (a position among the incidents without a sort value is a condition of its own)."""
    value = (
        None if at_empty_value else sa.bindparam("after_value", type_=incident_service.sort_key(sort).type)
    )
    after = incident_service.after_condition(sort, value, sa.bindparam("after_id", type_=sa.Integer))
    return _page_columns(collection, sort).where(after).limit(sa.bindparam("page_limit", type_=sa.Integer))


@blp.route("")
class IncidentsViews(MethodView):
    @blp.etag
    @blp.arguments(IncidentListArgsSchema, location="query")
    @blp.response(200, IncidentSchema(many=True))
    @blp.paginate(IncidentPage, page_size=50, max_page_size=500)
    @blp.documents(400)
    def get(self, args: dict[str, Any]):
        """List incidents

        Filters combine with AND; repeating a filter ORs its values. `X-Pagination` carries
        the totals and `Link` the first/prev/next/last pages. `X-Next-Cursor` is the `after`
        value of the next page, for keyset paging (any depth at the cost of a first page).
        """
        after = args.pop("after", None)  # checked by the schema (a bad cursor is a 422)
        searching = bool(args.get("q")) and not args.get("sort")
        g.page_sort = None if searching else args.get("sort") or incident_service.DEFAULT_SORT
        g.page_after = g.next_cursor = None
        if after is not None:  # the position (sort value, id) the next page starts after
            g.page_after = incident_service.decode_cursor(after, g.page_sort)
        # Today's date is in the key: a sort by duration counts ongoing incidents up to today.
        return _list_statement(db.engine.dialect.name, incident_model.today_utc(), _frozen(args))

    @blp.auth("editor")
    @blp.etag
    @blp.arguments(IncidentSchema)
    @blp.response(201, IncidentSchema, headers=LOCATION_HEADER)
    @blp.documents(400, 415)
    def post(self, data: dict[str, Any]):
        """Create an incident

        Acknowledgements, legal cases and sources may be given inline.
        """
        incident = incident_service.create_incident(db.session, data)
        db.session.commit()
        location = url_for("incidents.IncidentsByIdViews", incident_id=incident.id)
        return incident, 201, {"Location": location}


@blp.route("/<int:incident_id>")
class IncidentsByIdViews(MethodView):
    @blp.etag
    @blp.response(200, IncidentSchema)
    @blp.documents(404, 410)
    def get(self, incident_id: int):
        """Get an incident with its statements, court cases and sources"""
        values = STORED_ONE.first(db.engine, incident_id=incident_id) if incident_id <= MAX_ID else None
        if values is None:
            abort(404, message=f"Incident {incident_id} does not exist.")
        if values[-1] is not None:  # deleted_at
            _gone(incident_id)
        row = stored_row(values)
        return stored_documents(None if is_current(row) else db.session, [row])[0]

    @blp.auth("editor")
    @blp.etag
    @blp.arguments(IncidentSchema)
    @blp.response(200, IncidentSchema)
    @blp.documents(400, 404, 410, 415)
    def put(self, data: dict[str, Any], incident_id: int):
        """Replace an incident

        The whole document, children included: a child listed with its `id` is kept and
        updated, one without an `id` is added, and one not listed is removed. Requires the
        incident's current ETag in `If-Match`.
        """
        return _replace(incident_id, data, partial=False)

    @blp.auth("editor")
    @blp.etag
    @blp.arguments(IncidentPatchSchema)
    @blp.response(200, IncidentSchema)
    @blp.documents(400, 404, 410, 415)
    def patch(self, data: dict[str, Any], incident_id: int):
        """Update some fields of an incident

        Only the fields given change; a list given replaces that list. Setting `end_date`
        without `status` marks the incident `ended`. Requires the current ETag in `If-Match`.
        """
        return _replace(incident_id, data, partial=True)

    @blp.auth("admin")
    @blp.etag
    @blp.response(204)
    @blp.documents(404, 410)
    def delete(self, incident_id: int):
        """Delete an incident (soft)

        It leaves lists, exports and statistics and its URL answers 410; its history stays
        readable and an admin can restore it. Requires the current ETag in `If-Match`.
        """
        incident, before = load_for_write(incident_id)
        incident_service.soft_delete(db.session, incident, before)
        db.session.commit()


@blp.route("/<int:incident_id>/restore")
class IncidentRestoreViews(MethodView):
    @blp.auth("admin")
    @blp.response(200, IncidentSchema)
    @blp.documents(404, 409)
    def post(self, incident_id: int):
        """Restore a deleted incident

        Brings it back exactly as it was when deleted (with one more revision).
        """
        incident = find_incident_or_404(incident_id, for_update=True)
        if incident.deleted_at is None:
            abort(409, message=f"Incident {incident_id} is not deleted.")
        incident_service.restore(db.session, incident)
        db.session.commit()
        return incident


@blp.route("/<int:incident_id>/revisions")
class IncidentRevisionsViews(MethodView):
    @blp.etag
    @blp.response(200, RevisionSchema(many=True))
    @blp.paginate(SelectPage, page_size=50, max_page_size=500)
    @blp.documents(404)
    def get(self, incident_id: int):
        """List the change history of an incident

        Every create, update (children included), delete and restore, oldest first, with who
        made it and what changed. Readable after a delete.
        """
        find_incident_or_404(incident_id)
        return revisions.history(incident_id)


@blp.route("/<int:incident_id>/revisions/<int:revision>")
class IncidentRevisionViews(MethodView):
    @blp.response(200, IncidentSchema, headers={"ETag": "ETAG"})
    @blp.documents(304, 404)
    def get(self, incident_id: int, revision: int):
        """Get an incident as it was at one revision

        The stored document, exactly as the API showed it then. A revision never changes, so
        its ETag never does either.
        """
        find_incident_or_404(incident_id)
        stored = revisions.at_revision(db.session, incident_id, revision) if revision <= MAX_ID else None
        if stored is None:
            abort(404, message=f"Incident {incident_id} has no revision {revision}.")
        # Served as stored, not re-dumped: the schema may have changed since.
        response = current_app.json.response(stored.document)
        response.set_etag(blp._generate_etag(stored.document))
        return response.make_conditional(request)
