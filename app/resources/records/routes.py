"""Child records of an incident — acknowledgements, legal cases, sources — edited one at a time.

The three resources behave identically, so one factory builds their blueprints. Every write
needs the parent incident's current ETag in If-Match and answers with the incident's new ETag
in `Incident-ETag`, so an editor can chain writes without reading the incident again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import abort

from app.db import db
from app.document.fields import MAX_ID
from app.http.api import LOCATION_HEADER, Blueprint
from app.http.etags import etag_for
from app.resources import examples
from app.resources.incidents.routes import get_incident_or_404
from app.resources.incidents.schemas import (
    AcknowledgementSchema,
    IncidentSchema,
    LegalCaseSchema,
    SourceSchema,
)
from app.services import incidents as incident_service

INCIDENT_ETAG_HEADER = {
    "Incident-ETag": {
        "description": "The parent incident's new ETag: send it in If-Match on your next write.",
        "schema": {"type": "string"},
    }
}

WRITE_NOTE = (
    "Needs the incident's current ETag in `If-Match` (from GET /api/v1/incidents/{incident_id}, "
    "or the `Incident-ETag` of your last write on it); bumps the incident's revision and answers "
    "with its new ETag in `Incident-ETag`."
)


@dataclass(frozen=True)
class ChildRecord:
    """How one kind of child record is named, stored and described."""

    name: str
    path: str
    collection: str
    schema: type
    example: dict[str, Any]
    id_parameter: dict[str, Any]
    singular: str
    plural: str
    id_name: str
    description: str


def _child_blueprint(**fields: Any) -> Blueprint:
    child = ChildRecord(**fields)
    blp = Blueprint(child.name, __name__, url_prefix="/api/v1/incidents", description=child.description)
    item_view = type(f"{child.plural}ByIdViews", (_item_views(blp, child),), {})
    collection_view = type(f"{child.plural}Views", (_collection_views(blp, child, item_view.__name__),), {})
    blp.route(f"/<int:incident_id>/{child.path}", parameters=[examples.INCIDENT_ID])(collection_view)
    blp.route(
        f"/<int:incident_id>/{child.path}/<int:{child.id_name}>",
        parameters=[examples.INCIDENT_ID, child.id_parameter],
    )(item_view)
    return blp


def _load_incident(blp: Blueprint, incident_id: int):
    """The live incident, locked, and its document, once If-Match carries its current ETag."""
    incident = get_incident_or_404(incident_id, for_update=True)
    before = IncidentSchema().dump(incident)
    blp.check_incident_etag(before)
    return incident, before


def _find(child: ChildRecord, incident, child_id: int):
    record = incident_service.find_child(incident, child.collection, child_id) if child_id <= MAX_ID else None
    if record is None:
        abort(404, message=f"Incident {incident.id} has no {child.singular} {child_id}.")
    return record


def _commit(incident) -> dict[str, str]:
    db.session.commit()
    return {"Incident-ETag": f'"{etag_for(IncidentSchema().dump(incident))}"'}


def _collection_views(blp: Blueprint, child: ChildRecord, item_endpoint: str) -> type[MethodView]:
    class CollectionViews(MethodView):
        @blp.auth("editor")
        @blp.arguments(child.schema, example=child.example)
        @blp.response(201, child.schema, headers={**LOCATION_HEADER, **INCIDENT_ETAG_HEADER})
        @blp.requires_incident_etag
        @blp.documents(400, 404, 410, 415)
        def post(self, data: dict[str, Any], incident_id: int):
            incident, before = _load_incident(blp, incident_id)
            record = incident_service.add_child(db.session, incident, child.collection, data, before)
            headers = _commit(incident)
            headers["Location"] = url_for(
                f"{child.name}.{item_endpoint}", incident_id=incident.id, **{child.id_name: record.id}
            )
            return record, 201, headers

    CollectionViews.post.__doc__ = f"""Add {child.singular} to an incident

        {WRITE_NOTE}
        """
    return CollectionViews


def _item_views(blp: Blueprint, child: ChildRecord) -> type[MethodView]:
    class ItemViews(MethodView):
        @blp.auth("editor")
        @blp.arguments(child.schema, example=child.example)
        @blp.response(200, child.schema, headers=INCIDENT_ETAG_HEADER)
        @blp.requires_incident_etag
        @blp.documents(400, 404, 410, 415)
        def put(self, data: dict[str, Any], incident_id: int, **path: int):
            incident, before = _load_incident(blp, incident_id)
            record = _find(child, incident, path[child.id_name])
            incident_service.update_child(db.session, incident, record, data, before)
            return record, 200, _commit(incident)

        @blp.auth("editor")
        @blp.response(204, headers=INCIDENT_ETAG_HEADER)
        @blp.requires_incident_etag
        @blp.documents(404, 410)
        def delete(self, incident_id: int, **path: int):
            incident, before = _load_incident(blp, incident_id)
            record = _find(child, incident, path[child.id_name])
            incident_service.remove_child(db.session, incident, child.collection, record, before)
            return None, 204, _commit(incident)

    ItemViews.put.__doc__ = f"""Replace {child.singular} of an incident

        The whole record: a field left out takes its default. {WRITE_NOTE}
        """
    ItemViews.delete.__doc__ = f"""Remove {child.singular} from an incident

        {WRITE_NOTE}
        """
    return ItemViews


acknowledgements_blp = _child_blueprint(
    name="acknowledgements",
    path="acknowledgements",
    collection="acknowledgements",
    schema=AcknowledgementSchema,
    example=examples.ACKNOWLEDGEMENT,
    id_parameter=examples.ACKNOWLEDGEMENT_ID,
    singular="an official statement",
    plural="Acknowledgements",
    id_name="acknowledgement_id",
    description="Official statements about an incident: admissions and denials. Government "
    "statements set the incident's acknowledgement status.",
)
legal_cases_blp = _child_blueprint(
    name="legal-cases",
    path="legal-cases",
    collection="legal_cases",
    schema=LegalCaseSchema,
    example=examples.LEGAL_CASE,
    id_parameter=examples.LEGAL_CASE_ID,
    singular="a court case",
    plural="LegalCases",
    id_name="legal_case_id",
    description="Litigation about an incident; sets its litigation status.",
)
sources_blp = _child_blueprint(
    name="sources",
    path="sources",
    collection="sources",
    schema=SourceSchema,
    example=examples.SOURCE,
    id_parameter=examples.SOURCE_ID,
    singular="a source",
    plural="Sources",
    id_name="source_id",
    description="Evidence for an incident.",
)
