"""The demo incident: the block of X in Pakistan, 2024–2025, from a seed file in app/seed/."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from app.db import db
from app.models import Incident
from app.services import provenance

DEMO_FILE = Path(__file__).resolve().parent.parent / "seed" / "demo_incident.json"


def demo_document() -> dict:
    return json.loads(DEMO_FILE.read_text(encoding="utf-8"))


def load_demo(*, only_if_empty: bool = False) -> Incident | None:
    """Load the demo through the same schema and service as POST /incidents."""
    from app.resources.incidents.schemas import IncidentSchema
    from app.services.incidents import create_incident

    session = db.session
    if only_if_empty and session.scalar(sa.select(sa.func.count()).select_from(Incident)):
        return None
    data = IncidentSchema().load(demo_document())
    with provenance.origin(session, provenance.SEED_DEMO):
        incident = create_incident(session, data)
        session.commit()
    return incident
