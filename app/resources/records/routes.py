"""Child records of an incident — acknowledgements, legal cases, sources — edited one at a time.

The three resources behave identically, so one factory builds their blueprints. Every write
needs the parent incident's current ETag in If-Match and answers with the incident's new ETag
in `Incident-ETag`, so an editor can chain writes without reading the incident again.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import abort

from app.db import db
from app.http.api import LOCATION_HEADER, Blueprint
from app.http.etags import etag_for
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
MAX_ID = 2**31 - 1


def _child_blueprint(
    *,
    name: str,
    path: str,
    collection: str,
    schema: type,
    singular: str,
    plural: str,
    id_name: str,
    description: str,
) -> Blueprint:
    blp = Blueprint(name, __name__, url_prefix="/api/v1/incidents", description=description)

    def load_incident(incident_id: int):
        incident = get_incident_or_404(incident_id, for_update=True)
        before = IncidentSchema().dump(incident)
        blp.check_incident_etag(before)
        return incident, before

    def find(incident, child_id: int):
        child = incident_service.find_child(incident, collection, child_id) if child_id <= MAX_ID else None
        if child is None:
            abort(404, message=f"Incident {incident.id} has no {singular} {child_id}.")
        return child

    def commit(incident) -> dict[str, str]:
        db.session.commit()
        return {"Incident-ETag": f'"{etag_for(IncidentSchema().dump(incident))}"'}

    class CollectionViews(MethodView):
        @blp.auth("editor")
        @blp.arguments(schema)
        @blp.response(201, schema, headers={**LOCATION_HEADER, **INCIDENT_ETAG_HEADER})
        @blp.requires_incident_etag
        @blp.documents(400, 404, 410, 415)
        def post(self, data: dict[str, Any], incident_id: int):
            incident, before = load_incident(incident_id)
            child = incident_service.add_child(db.session, incident, collection, data, before)
            headers = commit(incident)
            headers["Location"] = url_for(
                f"{name}.{item_view.__name__}", incident_id=incident.id, **{id_name: child.id}
            )
            return child, 201, headers

    class ItemViews(MethodView):
        @blp.auth("editor")
        @blp.arguments(schema)
        @blp.response(200, schema, headers=INCIDENT_ETAG_HEADER)
        @blp.requires_incident_etag
        @blp.documents(400, 404, 410, 415)
        def put(self, data: dict[str, Any], incident_id: int, **path: int):
            incident, before = load_incident(incident_id)
            child = find(incident, path[id_name])
            incident_service.update_child(db.session, incident, child, data, before)
            return child, 200, commit(incident)

        @blp.auth("editor")
        @blp.response(204, headers=INCIDENT_ETAG_HEADER)
        @blp.requires_incident_etag
        @blp.documents(404, 410)
        def delete(self, incident_id: int, **path: int):
            incident, before = load_incident(incident_id)
            incident_service.remove_child(
                db.session, incident, collection, find(incident, path[id_name]), before
            )
            return None, 204, commit(incident)

    CollectionViews.post.__doc__ = f"Add {singular} to an incident"
    ItemViews.put.__doc__ = f"Replace {singular} of an incident"
    ItemViews.delete.__doc__ = f"Remove {singular} from an incident"
    collection_view = type(f"{plural}Views", (CollectionViews,), {})
    item_view = type(f"{plural}ByIdViews", (ItemViews,), {})
    blp.route(f"/<int:incident_id>/{path}")(collection_view)
    blp.route(f"/<int:incident_id>/{path}/<int:{id_name}>")(item_view)
    return blp


acknowledgements_blp = _child_blueprint(
    name="acknowledgements",
    path="acknowledgements",
    collection="acknowledgements",
    schema=AcknowledgementSchema,
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
    singular="a source",
    plural="Sources",
    id_name="source_id",
    description="Evidence for an incident.",
)
