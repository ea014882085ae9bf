"""Liveness and readiness probes (outside the versioned API)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import abort

from app.db import db
from app.http.api import Blueprint
from app.services.migrations import migration_state

blp = Blueprint("health", __name__, url_prefix="", description="Probes for load balancers and orchestrators.")


class HealthSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "`ok` or `ready`."})
    database = ma.fields.String(metadata={"description": "Database backend name."})
    migration = ma.fields.String(metadata={"description": "Applied alembic revision."})


@blp.route("/healthz")
class HealthzViews(MethodView):
    @blp.response(200, HealthSchema)
    @blp.documents(400)
    @blp.doc(operationId="getHealth")
    def get(self):
        """Report that the process is up

        For load balancers: 200 while the process serves requests, whatever the database's state.
        """
        return {"status": "ok"}


@blp.route("/readyz")
class ReadyzViews(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, description="Database unreachable or not migrated to the code's revision.")
    @blp.documents(400)
    @blp.doc(operationId="getReadiness")
    def get(self):
        """Report whether the database is reachable and migrated

        For orchestrators: 200 with the database backend and its migration when this process can
        serve, else 503 saying why (unreachable, or `flask --app wsgi db upgrade` not yet run).
        """
        try:
            current, head = migration_state(db.engine)
        except Exception:  # noqa: BLE001  (any failure to reach the database means not ready)
            abort(503, message="The database is unreachable.")
        if current != head:
            abort(
                503,
                message=f"The database is at migration {current or 'none'}, the code expects {head}: "
                "run `flask --app wsgi db upgrade`.",
            )
        return {"status": "ready", "database": db.engine.dialect.name, "migration": current}
