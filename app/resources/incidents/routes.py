"""Incident endpoints: list, create, read, replace, patch."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import abort

from app.db import db
from app.extensions import LOCATION_HEADER, Blueprint, SelectPage
from app.models import Incident
from app.resources.incidents.schemas import IncidentPatchSchema, IncidentQueryArgsSchema, IncidentSchema
from app.services import incidents as incident_service

blp = Blueprint(
    "incidents",
    __name__,
    url_prefix="/api/v1/incidents",
    description="Internet shutdowns and platform blocks, with their official statements, "
    "court cases and sources.",
)

MAX_ID = 2**31 - 1


def get_incident_or_404(incident_id: int) -> Incident:
    incident = incident_service.get_incident(db.session, incident_id) if incident_id <= MAX_ID else None
    if incident is None:
        abort(404, message=f"Incident {incident_id} does not exist.")
    return incident


def _replace(incident_id: int, data: dict[str, Any], *, partial: bool) -> Incident:
    incident = get_incident_or_404(incident_id)
    before = IncidentSchema().dump(incident)
    blp.check_etag(before)
    incident_service.apply_document(incident, data, partial=partial)
    if IncidentSchema().dump(incident) != before:
        incident_service.touch(incident)
    db.session.commit()
    return incident


@blp.route("")
class IncidentsViews(MethodView):
    @blp.etag
    @blp.arguments(IncidentQueryArgsSchema, location="query")
    @blp.response(200, IncidentSchema(many=True))
    @blp.paginate(SelectPage, page_size=50, max_page_size=500)
    @blp.documents(400)
    def get(self, args: dict[str, Any]):
        """List incidents

        Filters combine with AND; repeating a filter ORs its values. `X-Pagination` carries
        the totals and `Link` the first/prev/next/last pages.
        """
        return incident_service.list_incidents(args)

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
    @blp.documents(404)
    def get(self, incident_id: int):
        """Get an incident with its statements, court cases and sources"""
        return get_incident_or_404(incident_id)

    @blp.etag
    @blp.arguments(IncidentSchema)
    @blp.response(200, IncidentSchema)
    @blp.documents(400, 404, 415)
    def put(self, data: dict[str, Any], incident_id: int):
        """Replace an incident

        The whole document, children included: a child listed with its `id` is kept and
        updated, one without an `id` is added, and one not listed is removed. Requires the
        incident's current ETag in `If-Match`.
        """
        return _replace(incident_id, data, partial=False)

    @blp.etag
    @blp.arguments(IncidentPatchSchema)
    @blp.response(200, IncidentSchema)
    @blp.documents(400, 404, 415)
    def patch(self, data: dict[str, Any], incident_id: int):
        """Update some fields of an incident

        Only the fields given change; a list given replaces that list. Setting `end_date`
        without `status` marks the incident `ended`. Requires the current ETag in `If-Match`.
        """
        return _replace(incident_id, data, partial=True)
