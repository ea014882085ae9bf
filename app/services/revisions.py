"""Revision history: every create, update, delete and restore writes one revision, in the same
transaction, from a session hook — so no write path (API, import, CLI) can skip it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import utcnow
from app.document.build import incident_document
from app.fast.stored import store, stored_values
from app.models import Incident, IncidentRevision
from app.models.revision import diff
from app.services import aggregates


def install() -> None:
    """Hook every session: revisions and stored copies are written at commit."""
    if not sa.event.contains(Session, "before_commit", _write_revisions):
        sa.event.listen(Session, "before_commit", _write_revisions)
        sa.event.listen(Session, "after_soft_rollback", _forget_pending)


def _forget_pending(session: Session, _transaction: Any) -> None:
    session.info.pop("revisions", None)
    session.info.pop("data_changed", None)


def data_changed(session: Session) -> None:
    """Note a write made outside the ORM (the bulk import's Core inserts): the data version is
    replaced at commit, like for any revision."""
    session.info["data_changed"] = True


def snapshot(incident: Incident) -> dict[str, Any]:
    """The incident's document as the API shows it."""
    return incident_document(incident)


def record(session: Session, incident: Incident, action: str, before: dict[str, Any] | None = None) -> None:
    """Count a change: one more revision (once per transaction), written at commit.

    `before` is the document as it was; when None, the latest stored revision is used.
    """
    now = utcnow()
    incident.updated_at = now
    pending = session.info.setdefault("revisions", {})
    if incident in pending:  # several changes in one transaction are one revision
        first_action, first_before = pending[incident]
        pending[incident] = (first_action if first_action == "create" else action, first_before)
        return
    if action == "create":
        incident.revision = 1
        incident.created_at = now
    else:
        incident.revision = (incident.revision or 0) + 1
    pending[incident] = (action, before)


def set_actor(session: Session, actor: str) -> None:
    session.info["actor"] = actor


def _write_revisions(session: Session) -> None:
    pending: dict[Incident, tuple[str, dict | None]] = session.info.pop("revisions", {})
    changed = session.info.pop("data_changed", False)
    if not pending:
        if changed:
            aggregates.bump(session)
        return
    session.flush()  # ids and derived values are final before the snapshot
    actor = session.info.get("actor", "system")
    stored: list[dict[str, Any]] = []
    for incident, (action, before) in pending.items():
        if before is None and action != "create":
            previous = latest(session, incident.id)
            before = previous.document if previous is not None else None
        document = snapshot(incident)
        stored.append({"incident_id": incident.id, **stored_values(document)})
        changes = {} if action == "create" else diff(before, document)  # see IncidentRevision
        if action in ("delete", "restore"):
            changes["deleted"] = {"from": action == "restore", "to": action == "delete"}
        session.add(
            IncidentRevision(
                incident_id=incident.id,
                revision=incident.revision,
                action=action,
                at=incident.updated_at or utcnow(),
                actor=actor,
                stored_changes=changes,
                document=document,
            )
        )
    session.flush()
    store(session, stored)
    # Last, just before the commit: the version row is the one row every writer updates, so it
    # is locked for as short a time as possible and always after the writer's own rows.
    aggregates.bump(session)


def history(incident_id: int) -> sa.Select:
    return (
        sa.select(IncidentRevision)
        .where(IncidentRevision.incident_id == incident_id)
        .order_by(IncidentRevision.revision)
    )


def at_revision(session: Session, incident_id: int, number: int) -> IncidentRevision | None:
    return session.scalar(
        sa.select(IncidentRevision).where(
            IncidentRevision.incident_id == incident_id, IncidentRevision.revision == number
        )
    )


def latest(session: Session, incident_id: int) -> IncidentRevision | None:
    return session.scalar(
        sa.select(IncidentRevision)
        .where(IncidentRevision.incident_id == incident_id)
        .order_by(IncidentRevision.revision.desc())
        .limit(1)
    )
