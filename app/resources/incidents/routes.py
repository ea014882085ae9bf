"""Incident endpoints: list, create, read, replace, patch, delete, restore, history, revert."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, request, url_for
from flask.views import MethodView
from flask_smorest import abort

from app.db import db
from app.document.fields import MAX_ID
from app.fast.pages import STORED_ONE, AsOfListQuery, IncidentListQuery, IncidentPage
from app.fast.stored import is_current, stored_documents, stored_row
from app.http import as_of as as_of_http
from app.http.api import LOCATION_HEADER, Blueprint
from app.http.etags import etag_for
from app.http.paging import SelectPage
from app.models import Incident, IncidentRevision
from app.resources import examples
from app.resources.incidents.schemas import (
    IncidentAsOfArgsSchema,
    IncidentListArgsSchema,
    IncidentPatchSchema,
    IncidentSchema,
    RevisionSchema,
)
from app.services import as_of as as_of_service
from app.services import incidents as incident_service
from app.services import revisions

blp = Blueprint(
    "incidents",
    __name__,
    url_prefix="/api/v1/incidents",
    description="Internet shutdowns and platform blocks, with their official statements, "
    "court cases and sources.",
)


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
    incident_service.replace(db.session, incident, data, before, partial=partial)
    db.session.commit()
    return incident


@blp.route("")
class IncidentsViews(MethodView):
    @blp.etag
    @blp.arguments(IncidentListArgsSchema, location="query")
    @blp.response(200, IncidentSchema(many=True), headers=as_of_http.HEADERS)
    @blp.paginate(IncidentPage, page_size=50, max_page_size=500)
    @blp.documents(400)
    def get(self, args: dict[str, Any]):
        """List incidents

        Filters combine with AND; repeating a filter ORs its values. `X-Pagination` carries
        the totals and `Link` the first/prev/next/last pages. `X-Next-Cursor` is the `after`
        value of the next page, for keyset paging (any depth at the cost of a first page).
        With `as_of`, the incidents as they stood at that moment, by id, paged by number.
        """
        if args.get("as_of") is not None:
            moment = as_of_http.resolve(args["as_of"])
            return AsOfListQuery(moment, tuple(args.get("country", ()))), as_of_http.headers(moment)
        return IncidentListQuery.from_args(args, db.engine.dialect.name)

    @blp.auth("editor")
    @blp.etag
    @blp.arguments(IncidentSchema, example=examples.INCIDENT)
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


@blp.route("/<int:incident_id>", parameters=[examples.INCIDENT_ID])
class IncidentsByIdViews(MethodView):
    @blp.etag
    @blp.arguments(IncidentAsOfArgsSchema, location="query")
    @blp.response(200, IncidentSchema, headers=as_of_http.HEADERS)
    @blp.documents(404, 410)
    def get(self, args: dict[str, Any], incident_id: int):
        """Get an incident

        With its official statements, court cases and sources. The `ETag` header is what a
        write on it (PUT, PATCH, DELETE, or a child record's) sends back in `If-Match`. With
        `as_of`, the incident as it stood at that moment.
        """
        if args.get("as_of") is not None:
            return _as_of(incident_id, args["as_of"])
        values = STORED_ONE.first(db.engine, incident_id=incident_id) if incident_id <= MAX_ID else None
        if values is None:
            abort(404, message=f"Incident {incident_id} does not exist.")
        if values[-1] is not None:  # deleted_at
            _gone(incident_id)
        row = stored_row(values)
        return stored_documents(None if is_current(row) else db.session, [row])[0]

    @blp.auth("editor")
    @blp.etag
    @blp.arguments(IncidentSchema, example=examples.INCIDENT_REPLACEMENT)
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
    @blp.arguments(IncidentPatchSchema, example=examples.INCIDENT_PATCH)
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


@blp.route("/<int:incident_id>/restore", parameters=[examples.INCIDENT_ID])
class IncidentRestoreViews(MethodView):
    @blp.auth("admin")
    @blp.etag
    @blp.response(200, IncidentSchema)
    @blp.documents(404, 409)
    def post(self, incident_id: int):
        """Restore a deleted incident

        Brings it back exactly as it was when deleted (with one more revision), with its new
        `ETag`, ready for the next write.
        """
        incident = find_incident_or_404(incident_id, for_update=True)
        if incident.deleted_at is None:
            abort(409, message=f"Incident {incident_id} is not deleted.")
        incident_service.restore(db.session, incident)
        db.session.commit()
        return incident


@blp.route("/<int:incident_id>/revisions", parameters=[examples.INCIDENT_ID])
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


@blp.route(
    "/<int:incident_id>/revisions/<int:revision>", parameters=[examples.INCIDENT_ID, examples.REVISION]
)
class IncidentRevisionViews(MethodView):
    @blp.response(200, IncidentSchema, headers={"ETag": "ETAG"})
    @blp.documents(304, 404)
    def get(self, incident_id: int, revision: int):
        """Get an incident as it was at one revision

        The stored document, exactly as the API showed it then. A revision never changes, so
        its ETag never does either.
        """
        find_incident_or_404(incident_id)
        stored = _revision_or_404(incident_id, revision)
        # Served as stored, not re-dumped: the schema may have changed since.
        response = current_app.json.response(stored.document)
        response.set_etag(etag_for(stored.document))
        return response.make_conditional(request)


@blp.route(
    "/<int:incident_id>/revisions/<int:revision>/revert",
    parameters=[examples.INCIDENT_ID, examples.REVISION],
)
class IncidentRevertViews(MethodView):
    @blp.auth("editor")
    @blp.etag
    @blp.response(200, IncidentSchema)
    @blp.requires_incident_etag
    @blp.documents(404, 409)
    def post(self, incident_id: int, revision: int):
        """Revert an incident to one of its revisions

        Undo: revision n's content becomes current again, children included, as a new revision
        (its `changes` show what came back, and `revert`: `{"from": the revision replaced,
        "to": n}`). Statements, court cases and sources of revision n that still exist keep
        their ids; the others are written anew. Ids, timestamps, `revision` and the derived
        fields are not taken from revision n. Nothing changes when n's content is current.
        Requires the incident's current ETag in `If-Match` (GET /api/v1/incidents/1 gives the
        demo's). A deleted incident is a 409: an admin restores it first.
        """
        incident = find_incident_or_404(incident_id, for_update=True)
        if incident.deleted_at is not None:
            abort(
                409,
                message=f"Incident {incident_id} is deleted: an admin restores it first "
                f"(POST /api/v1/incidents/{incident_id}/restore), then it can be reverted.",
            )
        stored = _revision_or_404(incident_id, revision)
        before = IncidentSchema().dump(incident)
        blp.check_incident_etag(before)
        try:
            incident_service.revert(db.session, incident, stored, before)
        except revisions.NotRevertible as error:
            abort(
                409,
                message=f"Revision {revision} cannot be made current: today's rules refuse "
                "its content (see `errors`); edit the incident with PUT instead.",
                errors={"revision": error.messages},
            )
        db.session.commit()
        return incident


def _as_of(incident_id: int, at: datetime) -> tuple[Any, int, dict[str, str]]:
    moment = as_of_http.resolve(at)
    state, document = "absent", None
    if incident_id <= MAX_ID:
        with as_of_http.reading() as connection:
            state, document = as_of_service.incident(connection, moment, incident_id)
    if document is None:
        when = as_of_http.rfc3339(moment.at)
        what = "had been deleted" if state == "deleted" else "did not exist yet"
        abort(404, message=f"Incident {incident_id} {what} at {when}.")
    return document, 200, as_of_http.headers(moment)


def _revision_or_404(incident_id: int, revision: int) -> IncidentRevision:
    stored = revisions.at_revision(db.session, incident_id, revision) if revision <= MAX_ID else None
    if stored is None:
        abort(404, message=f"Incident {incident_id} has no revision {revision}.")
    return stored
