"""Revision history: every create, update, delete, restore and revert writes one revision, in the
same transaction, from a session hook — so no write path (API, import, CLI) can skip it. A revert
is an update whose content is an earlier revision's (`revert_input`), recorded as `revert`.

The revisions are also the change feed (`GET /changes`): at commit each is given its place in
commit order (`seq`) and its commit time (`_stamp`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import utcnow
from app.document.build import incident_document
from app.document.schema import IncidentSchema
from app.fast.stored import revision_values, store, stored_values
from app.models import DataVersion, Incident, IncidentRevision
from app.models.revision import diff
from app.services import aggregates


def install() -> None:
    """Hook every session: revisions and stored copies are written at commit."""
    if not sa.event.contains(Session, "before_commit", _write_revisions):
        sa.event.listen(Session, "before_commit", _write_revisions)
        sa.event.listen(Session, "after_soft_rollback", _forget_pending)


def _forget_pending(session: Session, _transaction: Any) -> None:
    session.info.pop("revisions", None)
    session.info.pop("revision_notes", None)
    session.info.pop("data_changed", None)


def data_changed(session: Session) -> None:
    """Note a write made outside the ORM (the bulk import's Core inserts): the data version is
    replaced at commit, like for any revision."""
    session.info["data_changed"] = True


def snapshot(incident: Incident) -> dict[str, Any]:
    """The incident's document as the API shows it."""
    return incident_document(incident)


def record(
    session: Session,
    incident: Incident,
    action: str,
    before: dict[str, Any] | None = None,
    *,
    note: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Count a change: one more revision (once per transaction), written at commit.

    `before` is the document as it was; when None, the latest stored revision is used. `note`:
    entries added to the revision's `changes` beside the fields' (a revert's `revert`).
    """
    if note:
        session.info.setdefault("revision_notes", {}).setdefault(incident, {}).update(note)
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
    notes: dict[Incident, dict[str, Any]] = session.info.pop("revision_notes", {})
    changed = session.info.pop("data_changed", False)
    if not pending:
        if changed:
            _stamp(session)
        return
    session.flush()  # ids and derived values are final before the snapshot
    actor = session.info.get("actor", "system")
    stored: list[dict[str, Any]] = []
    for incident, (action, before) in pending.items():
        if before is None and action != "create":
            previous = latest(session, incident.id)
            before = previous.document if previous is not None else None
        document = snapshot(incident)
        values = stored_values(document)
        stored.append({"incident_id": incident.id, **values})
        changes = {} if action == "create" else diff(before, document)  # see IncidentRevision
        if action in ("delete", "restore"):
            changes["deleted"] = {"from": action == "restore", "to": action == "delete"}
        changes.update(notes.get(incident, {}))
        session.add(
            IncidentRevision(
                incident_id=incident.id,
                revision=incident.revision,
                action=action,
                at=incident.updated_at or utcnow(),
                actor=actor,
                stored_changes=changes,
                document=document,
                country=document.get("country"),
                **revision_values(values),
            )
        )
    session.flush()
    store(session, stored)
    _stamp(session)


CLOCK = DataVersion.__table__
REVISIONS = IncidentRevision.__table__
UNSTAMPED = REVISIONS.c.seq.is_(None)


def _stamp(session: Session) -> None:
    """Give this transaction's revisions their places in commit order, and a new data version.

    Last, just before the commit: the `data_version` row is the one row every writer updates,
    so it is locked for as short a time as possible and always after the writer's own rows. The
    lock is held until the commit, so the next writer reads the clock only after this one's
    revisions are visible: `seq` grows in commit order (a feed reader that has read past a
    number never misses a change that commits later), and so does `committed_at`. The
    unstamped revisions are this transaction's own: every committed one is stamped, and no
    other transaction's uncommitted rows are visible here (one writer at a time on SQLite).
    """
    aggregates.bump(session)  # takes the lock
    connection = session.connection()
    count = connection.scalar(sa.select(sa.func.count()).select_from(REVISIONS).where(UNSTAMPED))
    if not count:
        return
    clock = connection.execute(
        CLOCK.update()
        .where(CLOCK.c.id == 1)
        .values(seq=CLOCK.c.seq + count)
        .returning(CLOCK.c.seq, CLOCK.c.committed_at)
    ).one()
    # PostgreSQL's clock, not this host's: writers on several hosts stamp from one clock.
    postgres = connection.dialect.name == "postgresql"
    now = connection.scalar(sa.select(sa.func.clock_timestamp())) if postgres else datetime.now(UTC)
    committed_at = max(now, clock.committed_at) if clock.committed_at is not None else now
    connection.execute(CLOCK.update().where(CLOCK.c.id == 1).values(committed_at=committed_at))
    first = clock.seq - count
    numbered = (
        sa.select(REVISIONS.c.id, sa.func.row_number().over(order_by=REVISIONS.c.id).label("place"))
        .where(UNSTAMPED)
        .subquery()
    )
    connection.execute(
        REVISIONS.update()
        .where(REVISIONS.c.id == numbered.c.id)
        .values(seq=first + numbered.c.place, committed_at=committed_at)
    )


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


def documents_at(session: Session, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], dict[str, Any]]:
    """The stored documents of several (incident id, revision) pairs, by pair (those that exist)."""
    ordered = sorted(wanted)
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for offset in range(0, len(ordered), 500):
        pairs = ordered[offset : offset + 500]
        key = sa.tuple_(IncidentRevision.incident_id, IncidentRevision.revision)
        stmt = sa.select(IncidentRevision.incident_id, IncidentRevision.revision, IncidentRevision.document)
        for row in session.execute(stmt.where(key.in_(pairs))):
            found[(row.incident_id, row.revision)] = row.document
    return found


def latest(session: Session, incident_id: int) -> IncidentRevision | None:
    return session.scalar(
        sa.select(IncidentRevision)
        .where(IncidentRevision.incident_id == incident_id)
        .order_by(IncidentRevision.revision.desc())
        .limit(1)
    )


# --------------------------------------------------------------------------- revert


class NotRevertible(Exception):
    """A revision whose content today's definition of the document refuses (a platform slug
    since renamed, a rule added since); `messages` is keyed by field."""

    def __init__(self, messages: dict[str, Any]):
        super().__init__(messages)
        self.messages = messages


def revert_input(stored: dict[str, Any], current_child_ids: dict[str, set[int]]) -> dict[str, Any]:
    """The document to write so that an incident holds a stored revision's content again.

    Every field the document takes as input comes along (so a field added to the definition
    needs nothing here; one the stored document lacks gets its default). Child records are
    given in the revision's order: those that still exist keep their ids (and are updated) for
    as long as that keeps the order, the others are written anew — a record's place is its id,
    so a record after a new one must be new too.
    """
    schema = IncidentSchema()
    document = {name: stored[name] for name, field in schema.load_fields.items() if name in stored}
    for name, ids in current_child_ids.items():
        document[name] = _in_revision_order(document.get(name) or [], ids)
    try:
        loaded = schema.load(document)
    except ma.ValidationError as error:
        raise NotRevertible(error.normalized_messages()) from error
    # A record written anew keeps the provenance the revision's document gives it: a sheet's
    # statement brought back is still the sheet's (its next import recognises it).
    for name in current_child_ids:
        for item, was in zip(loaded.get(name) or (), document.get(name) or (), strict=False):
            if item.get("id") is None and was.get("provenance"):
                item["provenance"] = was["provenance"]
                if was.get("provenance_at"):
                    item["provenance_at"] = datetime.fromisoformat(was["provenance_at"])
    return loaded


def _in_revision_order(items: list[dict[str, Any]], existing: set[int]) -> list[dict[str, Any]]:
    """Child items with the ids to keep: existing ones in increasing order, up to the first that
    must be written anew; none after it."""
    kept: list[dict[str, Any]] = []
    last = 0
    for position, item in enumerate(items):
        child_id = item.get("id")
        if child_id not in existing or child_id <= last:
            return kept + [{**rest, "id": None} for rest in items[position:]]
        kept.append(item)
        last = child_id
    return kept
