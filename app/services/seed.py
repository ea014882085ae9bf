"""The demo incident: the block of X in Pakistan, 2024–2025, from a seed file in app/seed/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import db
from app.models import Incident
from app.services import provenance, revisions

DEMO_FILE = Path(__file__).resolve().parent.parent / "seed" / "demo_incident.json"


class DemoLoad(NamedTuple):
    """What `load_demo` did: `loaded`, `present` (the demo was there already, perhaps deleted) or
    `not_empty` (asked to load only into an empty database)."""

    outcome: str
    incident: Incident | None = None


def demo_document() -> dict:
    return json.loads(DEMO_FILE.read_text(encoding="utf-8"))


def load_demo(*, only_if_empty: bool = False) -> DemoLoad:
    """Load the demo through the same schema and service as POST /incidents, unless it is there.

    The demo is known by a stable key: the seed's country, start date and title — the title it
    has now or had when it was created, so a demo overwritten by an import (its history keeps
    the seed) is still the demo. Loading twice leaves one demo."""
    from app.resources.incidents.schemas import IncidentSchema
    from app.services.incidents import create_incident

    session = db.session
    if only_if_empty and session.scalar(sa.select(sa.func.count()).select_from(Incident)):
        return DemoLoad("not_empty")
    data = IncidentSchema().load(demo_document())
    present = find_demo(session, data)
    if present is not None:
        return DemoLoad("present", present)
    with provenance.origin(session, provenance.SEED_DEMO):
        incident = create_incident(session, data)
        session.commit()
    return DemoLoad("loaded", incident)


def find_demo(session: Session, demo: dict[str, Any]) -> Incident | None:
    """The incident (deleted or not) that is the demo, if any: of the demo's country and start
    date (an indexed lookup, a handful of rows), titled as the demo now or at its revision 1."""
    candidates = session.scalars(
        sa.select(Incident)
        .where(Incident.country == demo["country"], Incident.start_date == demo["start_date"])
        .order_by(Incident.id)
    ).all()
    for incident in candidates:
        if incident.title == demo["title"]:
            return incident
    for incident in candidates:
        first = revisions.at_revision(session, incident.id, 1)
        if first is not None and first.document.get("title") == demo["title"]:
            return incident
    return None
