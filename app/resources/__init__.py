"""API resources: one package per resource, registered in MODULES order."""

from __future__ import annotations

from flask import Flask

from app.http.api import Api
from app.resources import docs
from app.resources.bulk import routes as bulk
from app.resources.changes import routes as changes
from app.resources.changes.schemas import TombstoneSchema
from app.resources.health import routes as health
from app.resources.incidents import routes as incidents
from app.resources.platforms import routes as platforms
from app.resources.records import routes as records
from app.resources.root import routes as root

MODULES = (incidents, bulk, changes, platforms, health, root)
# One blueprint per child resource, so each has its own tag in Swagger UI.
RECORD_BLUEPRINTS = (records.acknowledgements_blp, records.legal_cases_blp, records.sources_blp)


def register_blueprints(app: Flask, api: Api) -> None:
    for module in MODULES:
        api.register_blueprint(module.blp)
    for blueprint in RECORD_BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.blp)
    # Named by the change feed's `document` (a `oneOf`), which no field nests.
    api.spec.components.schema("Tombstone", schema=TombstoneSchema)
