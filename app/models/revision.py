"""Revision history of incidents: who changed what, when, and the whole document after it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime, utcnow

ACTIONS = ("create", "update", "delete", "restore")
# Fields that change without anyone changing the incident (duration grows daily while ongoing)
# or that every revision changes; they are in the stored document but not in `changes`.
NOT_CHANGES = {"revision", "updated_at", "duration_days"}


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`{"field": {"from": old, "to": new}}` for every field that differs."""
    before = before or {}
    return {
        field: {"from": before.get(field), "to": value}
        for field, value in after.items()
        if field not in NOT_CHANGES and before.get(field) != value
    }


class IncidentRevision(Base):
    __tablename__ = "incident_revisions"
    __table_args__ = (sa.UniqueConstraint("incident_id", "revision", name="uq_incident_revisions_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No cascade: incidents are only ever soft-deleted, and their history outlives them.
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    revision: Mapped[int]
    action: Mapped[str] = mapped_column(
        sa.Enum(*ACTIONS, name="revision_action", native_enum=False, create_constraint=True, length=16)
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(100))
    # A create's changes are every field of its document, from null: stored as {} and derived
    # on read rather than stored twice (half of a bulk import's revision bytes).
    stored_changes: Mapped[dict[str, Any]] = mapped_column("changes", sa.JSON)
    document: Mapped[dict[str, Any]] = mapped_column(sa.JSON)

    @property
    def changes(self) -> dict[str, Any]:
        if self.action == "create" and not self.stored_changes:
            return diff(None, self.document)
        return self.stored_changes


class DataVersion(Base):
    """One row whose token changes with every write to any incident (in the write's own
    transaction): cached aggregates (list totals, statistics) are keyed by it, so none outlives
    the data it was computed from."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(sa.String(32))
