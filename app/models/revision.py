"""Revision history of incidents: who changed what, when, and the whole document after it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime, utcnow

ACTIONS = ("create", "update", "delete", "restore")


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
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    document: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


class DataVersion(Base):
    """One row whose token changes with every write to any incident (in the write's own
    transaction): cached aggregates (list totals, statistics) are keyed by it, so none outlives
    the data it was computed from."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(sa.String(32))
