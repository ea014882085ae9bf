"""The site's root: where a person who opens the server's address finds the documentation and the API."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, url_for
from flask.views import MethodView

from app.http.api import Blueprint

blp = Blueprint("root", __name__, url_prefix="", description="Where to start: the documentation and the API.")


def _url(description: str) -> ma.fields.String:
    return ma.fields.String(metadata={"description": description})


class RootSchema(ma.Schema):
    name = ma.fields.String(metadata={"description": "What this server is."})
    api_version = ma.fields.String(metadata={"description": "Version of the API under `api`."})
    docs = _url("Swagger UI: every operation, tried in the browser.")
    openapi = _url("The OpenAPI 3.1 document.")
    incidents = _url("The incidents, filtered, sorted and paged (every operation is under /api/v1).")
    incidents_csv = _url("The same list as a CSV file.")
    platforms = _url("The platform vocabulary.")
    stats = _url("Incidents counted by country (`group_by` also takes year, platform …).")
    health = _url("Liveness probe.")
    ready = _url("Readiness probe (database reachable and migrated).")


@blp.route("/")
class RootViews(MethodView):
    @blp.response(200, RootSchema)
    @blp.documents(400)
    @blp.doc(operationId="getRoot")
    def get(self):
        """Point to the documentation and the API

        Absolute URLs, built from the address the request was sent to.
        """
        config = current_app.config
        return {
            "name": config["API_TITLE"],
            "api_version": config["API_VERSION"],
            "docs": url_for("docs.page", _external=True),
            "openapi": url_for("api-docs.openapi_json", _external=True),
            "incidents": url_for("incidents.IncidentsViews", _external=True),
            "incidents_csv": url_for("bulk.IncidentsCsvViews", _external=True),
            "platforms": url_for("platforms.PlatformsViews", _external=True),
            "stats": url_for("bulk.StatsViews", group_by="country", _external=True),
            "health": url_for("health.HealthzViews", _external=True),
            "ready": url_for("health.ReadyzViews", _external=True),
        }
