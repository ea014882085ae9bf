"""Creating many incidents at once, for imports: Core INSERTs in batches instead of the ORM's
unit of work, with exactly the rows, derived fields and revisions that `create_incident` gives.

Each incident is still built as an (unsaved) ORM object by `apply_document`, so validation
rules and derived fields have one implementation; only the writing differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.db import utcnow
from app.models import (
    Acknowledgement,
    Incident,
    IncidentAsn,
    IncidentNetwork,
    IncidentPlatform,
    IncidentRevision,
    IncidentShutdownType,
    LegalCase,
    Source,
)
from app.services import revisions
from app.services.incidents import COLLECTIONS, apply_document

# Value rows: (collection, model, column)
VALUE_ROWS = (
    ("platform_rows", IncidentPlatform, "platform_slug"),
    ("shutdown_type_rows", IncidentShutdownType, "shutdown_type"),
    ("network_rows", IncidentNetwork, "network"),
    ("asn_rows", IncidentAsn, "asn"),
)
CHILD_ROWS = (("acknowledgements", Acknowledgement), ("legal_cases", LegalCase), ("sources", Source))


def _columns(model: type, *, skip: tuple[str, ...] = ("id",)) -> list[str]:
    return [column.key for column in model.__table__.columns if column.key not in skip]


def _insert_returning_ids(session: Session, model: type, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    table = model.__table__
    statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.execute(statement, rows).scalars())


def bulk_create(
    session: Session, documents: list[dict[str, Any]], snapshot: Callable[[Incident], dict]
) -> None:
    """Insert incidents (loaded documents), their rows and their first revisions."""
    if not documents:
        return
    now = utcnow()
    actor = session.info.get("actor", "system")
    incidents = []
    for data in documents:
        incident = Incident(telcos=[])
        for name in COLLECTIONS:
            set_committed_value(incident, name, [])
        apply_document(incident, data)
        incident.revision, incident.created_at, incident.updated_at = 1, now, now
        incidents.append(incident)

    incident_columns = _columns(Incident)
    ids = _insert_returning_ids(
        session,
        Incident,
        [{key: getattr(incident, key) for key in incident_columns} for incident in incidents],
    )
    for incident, incident_id in zip(incidents, ids, strict=True):
        incident.id = incident_id

    for collection, model, column in VALUE_ROWS:
        rows = [
            {"incident_id": incident.id, column: getattr(row, column)}
            for incident in incidents
            for row in getattr(incident, collection)
        ]
        if rows:
            session.execute(sa.insert(model.__table__), rows)

    for collection, model in CHILD_ROWS:
        columns = _columns(model, skip=("id", "incident_id"))
        children = [(incident, child) for incident in incidents for child in getattr(incident, collection)]
        child_ids = _insert_returning_ids(
            session,
            model,
            [
                {"incident_id": incident.id, **{key: getattr(child, key) for key in columns}}
                for incident, child in children
            ],
        )
        for (_, child), child_id in zip(children, child_ids, strict=True):
            child.id = child_id

    session.execute(
        sa.insert(IncidentRevision.__table__),
        [
            {
                "incident_id": incident.id,
                "revision": 1,
                "action": "create",
                "at": now,
                "actor": actor,
                "changes": revisions.diff(None, document),
                "document": document,
            }
            for incident in incidents
            for document in [snapshot(incident)]
        ],
    )
