"""API resources: one package per resource, registered in MODULES order."""

from __future__ import annotations

from flask import Flask

from app.extensions import Api
from app.resources import docs
from app.resources.health import routes as health
from app.resources.incidents import routes as incidents
from app.resources.platforms import routes as platforms

MODULES = (incidents, platforms, health)


def register_blueprints(app: Flask, api: Api) -> None:
    for module in MODULES:
        api.register_blueprint(module.blp)
    app.register_blueprint(docs.blp)
