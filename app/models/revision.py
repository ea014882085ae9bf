"""Revision history of incidents: who changed what, when, and the whole document after it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app import vocab
from app.db import Base, UtcDateTime, utcnow

ACTIONS = vocab.REVISION_ACTIONS
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
    """One change to an incident, and the change feed's entry for it.

    `seq` is the change's place in commit order (the feed's cursor) and `committed_at` the
    moment it was committed: both are given at commit, under the `data_version` row's lock
    (`revisions._stamp`), so a change that commits later always gets a larger `seq` and a
    `committed_at` at least as late, whatever order the writers started in. Until its
    transaction commits a revision has neither, and no other transaction can see it.
    """

    __tablename__ = "incident_revisions"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "revision", name="uq_incident_revisions_number"),
        sa.Index("ix_incident_revisions_seq", "seq", unique=True),
        sa.Index("ix_incident_revisions_incident_seq", "incident_id", "seq"),
        sa.Index("ix_incident_revisions_country_seq", "country", "seq"),
        sa.Index("ix_incident_revisions_action_seq", "action", "seq"),
        # The revisions of the transaction being committed, found by `_stamp` in one index read.
        sa.Index(
            "ix_incident_revisions_unstamped",
            "id",
            sqlite_where=sa.text("seq IS NULL"),
            postgresql_where=sa.text("seq IS NULL"),
        ),
    )

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
    # The document's country, for the feed's and as_of's country filter.
    country: Mapped[str | None] = mapped_column(sa.String(2))
    seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    # The document's CSV row, for an export as of a moment (`as_of`), when it does not depend on
    # the day (not ongoing: an ongoing incident's duration grows); `shape` says which columns.
    csv_row: Mapped[str | None] = mapped_column(sa.Text)
    shape: Mapped[str | None] = mapped_column(sa.String(32))
    committed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

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
    # The change feed's clock: the last `seq` given and when (see IncidentRevision).
    seq: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    committed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
