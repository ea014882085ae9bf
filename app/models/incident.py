"""Incident aggregate: the incident row, its multi-valued fields and its child records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import vocab
from app.db import Base, UtcDateTime, utcnow


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    # VARCHAR + CHECK on every backend: adding a value is a plain migration, no native type.
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def today_utc() -> date:
    return datetime.now(UTC).date()


def duration_days(start: date, end: date | None, status: str) -> int | None:
    """Inclusive days from start to end (to today while ongoing); None when the end is unknown."""
    if end is None:
        if status != "ongoing":
            return None
        end = today_utc()
    return max((end - start).days + 1, 0)


def delay_days(start: date, acknowledged_on: date | None) -> int | None:
    return None if acknowledged_on is None else (acknowledged_on - start).days


def _field(record: Any, key: str) -> Any:
    return record.get(key) if isinstance(record, dict) else getattr(record, key)


def government_stance(stances: set[str]) -> str:
    """What the government's statements amount to: an admission outweighs a denial."""
    if "acknowledged" in stances:
        return "acknowledged"
    return "denied" if "denied" in stances else "none"


def acknowledgement_summary(acknowledgements: Iterable[Any]) -> tuple[str, date | None]:
    """The government's stance and the day it first admitted the incident."""
    government = [a for a in acknowledgements if _field(a, "actor_type") == "government"]
    admitted = [a for a in government if _field(a, "stance") == "acknowledged"]
    dates = [_field(a, "date") for a in admitted if _field(a, "date") is not None]
    return government_stance({_field(a, "stance") for a in government}), min(dates, default=None)


def litigation_status(legal_cases: Iterable[Any]) -> str:
    """Pending while any case is open, concluded once all are, none without cases."""
    cases = list(legal_cases)
    if not cases:
        return "none"
    if any(_field(c, "status") in vocab.OPEN_CASE_STATUSES for c in cases):
        return "pending"
    return "concluded"


def derived_fields(acknowledgements: Iterable[Any], legal_cases: Iterable[Any]) -> dict[str, Any]:
    """acknowledgement_status, acknowledged_on and litigation_status from the child records
    (objects with attributes, or dicts)."""
    status, acknowledged_on = acknowledgement_summary(acknowledgements)
    return {
        "acknowledgement_status": status,
        "acknowledged_on": acknowledged_on,
        "litigation_status": litigation_status(legal_cases),
    }


class ValueList:
    """A multi-valued field read as a list of plain values: one value (in `column`) per row of
    the `rows` relationship, in that relationship's order."""

    def __init__(self, rows: str, column: str) -> None:
        self.rows = rows
        self.column = column

    def __get__(self, incident: Any, owner: type | None = None) -> Any:
        if incident is None:
            return self
        return [getattr(row, self.column) for row in getattr(incident, self.rows)]

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __set__(self, incident: Any, values: Any) -> None:
        # Read-only, as a property without a setter: the rows are what is written.
        raise AttributeError(f"{type(incident).__name__}.{self.name} is read from {self.rows}; write those")


# What a /stats query reads from an incident (country first: the usual grouping).
STATS_COLUMNS = (
    "country",
    "start_date",
    "status",
    "end_date",
    "acknowledgement_status",
    "litigation_status",
    "actual_cause",
    "official_justification",
)


class Provenance:
    """Where a record came from and when (a mixin of the incident and its child records).

    `provenance` is `kind:detail`: `editor:<key name>`, `stop:<file name>#<row>`,
    `native:<file name>#<row>`, `cli`, `seed:demo`, or `legacy:<actor>` for records made before
    provenance was kept (migration 0012). Set once, when the record is created
    (app/services/provenance.py); an import recognises its own records by it.
    """

    provenance: Mapped[str | None] = mapped_column(sa.String(300))
    provenance_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def _live_index(name: str, *columns: str) -> sa.Index:
    """An index of live incidents only (partial: not soft-deleted), which is what every list reads."""
    live = "deleted_at IS NULL"
    return sa.Index(name, *columns, sqlite_where=sa.text(live), postgresql_where=sa.text(live))


class Incident(Provenance, Base):
    __tablename__ = "incidents"
    __table_args__ = (
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        sa.CheckConstraint("end_date IS NULL OR status = 'ended'", name="end_date_means_ended"),
        # Ending in id, so a filtered page and its count are read from the index alone, in the
        # list's total order.
        _live_index("ix_incidents_start_date_id", "start_date", "id"),
        _live_index("ix_incidents_country_start_date", "country", "start_date", "id"),
        # Covers the statistics (migration 0009): a filtered /stats reads this index alone, not
        # the wide incident rows.
        _live_index("ix_incidents_stats", *STATS_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    country: Mapped[str] = mapped_column(sa.String(2))
    area: Mapped[str | None] = mapped_column(sa.String(500))
    scope: Mapped[str] = mapped_column(_enum(vocab.SCOPES, "scope"), default="unknown", index=True)
    start_date: Mapped[date] = mapped_column(sa.Date)
    start_date_estimated: Mapped[bool] = mapped_column(default=False)
    end_date: Mapped[date | None] = mapped_column(sa.Date, index=True)
    status: Mapped[str] = mapped_column(_enum(vocab.STATUSES, "status"), index=True)
    ordered_by: Mapped[str] = mapped_column(
        _enum(vocab.ORDERED_BY, "ordered_by"), default="unknown", index=True
    )
    decision_maker: Mapped[str | None] = mapped_column(sa.String(500))
    actual_cause: Mapped[str] = mapped_column(
        _enum(vocab.ACTUAL_CAUSES, "actual_cause"), default="unknown", index=True
    )
    actual_cause_details: Mapped[str | None] = mapped_column(sa.Text)
    official_justification: Mapped[str] = mapped_column(
        _enum(vocab.JUSTIFICATIONS, "official_justification"), default="unknown", index=True
    )
    justification_details: Mapped[str | None] = mapped_column(sa.Text)
    legal_basis: Mapped[str] = mapped_column(_enum(vocab.TRI_STATE, "legal_basis"), default="unknown")
    legal_basis_details: Mapped[str | None] = mapped_column(sa.Text)
    election_related: Mapped[str] = mapped_column(
        _enum(vocab.TRI_STATE, "election_related"), default="unknown"
    )
    violence_reported: Mapped[str] = mapped_column(
        _enum(vocab.TRI_STATE, "violence_reported"), default="unknown"
    )
    human_rights_abuse_reported: Mapped[str] = mapped_column(
        _enum(vocab.TRI_STATE, "human_rights_abuse_reported"), default="unknown"
    )
    telcos: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    # Derived from the child records, stored so that lists can filter and index on them;
    # recomputed by refresh_derived() on every write.
    acknowledgement_status: Mapped[str] = mapped_column(
        _enum(vocab.ACKNOWLEDGEMENT_STATUSES, "acknowledgement_status"), default="none", index=True
    )
    acknowledged_on: Mapped[date | None] = mapped_column(sa.Date)
    litigation_status: Mapped[str] = mapped_column(
        _enum(vocab.LITIGATION_STATUSES, "litigation_status"), default="none", index=True
    )

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    revision: Mapped[int] = mapped_column(default=1)
    # Soft delete: a deleted incident leaves lists, exports and stats but keeps its history.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The STOP sheet rows merged into this incident, each with the cells no field holds as written
    # (app/services/stop_format/extras.py); shown as `stop_rows`.
    stop_rows: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    # Not shown: what the STOP import last wrote (field values and its statements), so that a
    # re-import can tell an editor's change from its own (app/services/curation.py).
    import_state: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    # Multi-valued fields as rows (indexable filters on both backends); ordered so output is stable.
    platform_rows: Mapped[list[IncidentPlatform]] = relationship(
        cascade="all, delete-orphan", order_by="IncidentPlatform.platform_slug"
    )
    shutdown_type_rows: Mapped[list[IncidentShutdownType]] = relationship(
        cascade="all, delete-orphan", order_by="IncidentShutdownType.shutdown_type"
    )
    network_rows: Mapped[list[IncidentNetwork]] = relationship(
        cascade="all, delete-orphan", order_by="IncidentNetwork.network"
    )
    asn_rows: Mapped[list[IncidentAsn]] = relationship(
        cascade="all, delete-orphan", order_by="IncidentAsn.asn"
    )
    acknowledgements: Mapped[list[Acknowledgement]] = relationship(
        cascade="all, delete-orphan", order_by="Acknowledgement.id"
    )
    legal_cases: Mapped[list[LegalCase]] = relationship(cascade="all, delete-orphan", order_by="LegalCase.id")
    sources: Mapped[list[Source]] = relationship(cascade="all, delete-orphan", order_by="Source.id")

    platforms = ValueList("platform_rows", "platform_slug")
    shutdown_types = ValueList("shutdown_type_rows", "shutdown_type")
    networks = ValueList("network_rows", "network")
    asns = ValueList("asn_rows", "asn")

    @property
    def duration_days(self) -> int | None:
        return duration_days(self.start_date, self.end_date, self.status)

    @property
    def acknowledgement_delay_days(self) -> int | None:
        return delay_days(self.start_date, self.acknowledged_on)

    def refresh_derived(self) -> None:
        """Recompute the fields that summarise the child records."""
        for key, value in derived_fields(self.acknowledgements, self.legal_cases).items():
            setattr(self, key, value)


def _incident_fk() -> sa.ForeignKey:
    return sa.ForeignKey("incidents.id", ondelete="CASCADE")


class IncidentPlatform(Base):
    __tablename__ = "incident_platforms"
    incident_id: Mapped[int] = mapped_column(_incident_fk(), primary_key=True)
    platform_slug: Mapped[str] = mapped_column(
        sa.ForeignKey("platforms.slug", onupdate="CASCADE"), primary_key=True, index=True
    )


class IncidentShutdownType(Base):
    __tablename__ = "incident_shutdown_types"
    incident_id: Mapped[int] = mapped_column(_incident_fk(), primary_key=True)
    shutdown_type: Mapped[str] = mapped_column(
        _enum(vocab.SHUTDOWN_TYPES, "shutdown_type"), primary_key=True, index=True
    )


class IncidentNetwork(Base):
    __tablename__ = "incident_networks"
    incident_id: Mapped[int] = mapped_column(_incident_fk(), primary_key=True)
    network: Mapped[str] = mapped_column(_enum(vocab.NETWORKS, "network"), primary_key=True, index=True)


class IncidentAsn(Base):
    __tablename__ = "incident_asns"
    incident_id: Mapped[int] = mapped_column(_incident_fk(), primary_key=True)
    asn: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, index=True)


class Acknowledgement(Provenance, Base):
    """An official statement about an incident: an admission or a denial."""

    __tablename__ = "acknowledgements"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(_incident_fk(), index=True)
    actor: Mapped[str] = mapped_column(sa.String(300))
    actor_type: Mapped[str] = mapped_column(_enum(vocab.ACTOR_TYPES, "actor_type"), default="government")
    stance: Mapped[str] = mapped_column(_enum(vocab.STANCES, "stance"))
    date: Mapped[dt.date | None] = mapped_column(sa.Date)
    channel: Mapped[str | None] = mapped_column(_enum(vocab.CHANNELS, "channel"))
    justification: Mapped[str | None] = mapped_column(_enum(vocab.JUSTIFICATIONS, "justification"))
    quote: Mapped[str | None] = mapped_column(sa.Text)
    source_url: Mapped[str | None] = mapped_column(sa.String(2000))


class LegalCase(Provenance, Base):
    """Litigation about an incident, in one court."""

    __tablename__ = "legal_cases"
    __table_args__ = (
        sa.CheckConstraint(
            "ruling_on IS NULL OR filed_on IS NULL OR ruling_on >= filed_on", name="ruling_after_filing"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(_incident_fk(), index=True)
    court: Mapped[str] = mapped_column(sa.String(300))
    case_number: Mapped[str | None] = mapped_column(sa.String(200))
    filed_on: Mapped[date | None] = mapped_column(sa.Date)
    petitioners: Mapped[str | None] = mapped_column(sa.Text)
    respondents: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(_enum(vocab.CASE_STATUSES, "case_status"), default="pending")
    ruling_on: Mapped[date | None] = mapped_column(sa.Date)
    ruling_summary: Mapped[str | None] = mapped_column(sa.Text)
    next_hearing_on: Mapped[date | None] = mapped_column(sa.Date)
    source_url: Mapped[str | None] = mapped_column(sa.String(2000))


class Source(Provenance, Base):
    """A piece of evidence: a news story, a measurement, a court document …"""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(_incident_fk(), index=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    title: Mapped[str | None] = mapped_column(sa.String(500))
    publisher: Mapped[str | None] = mapped_column(sa.String(200))
    published_on: Mapped[date | None] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(_enum(vocab.SOURCE_KINDS, "source_kind"), default="other")
    archived_url: Mapped[str | None] = mapped_column(sa.String(2000))


class StoredDocument(Base):
    """An incident's finished API document (the JSON exactly as sent) and native CSV row, written
    with every change by the revision hook, so that reads and exports need no child queries
    (app/fast/stored.py). A table of its own keeps the incidents table narrow: scans for
    counts and statistics read small rows."""

    __tablename__ = "incident_documents"
    incident_id: Mapped[int] = mapped_column(_incident_fk(), primary_key=True, autoincrement=False)
    document: Mapped[str] = mapped_column(sa.Text)
    csv_row: Mapped[str] = mapped_column(sa.Text)
    # Ongoing incidents only: where the duration cell starts in csv_row (it grows every day).
    csv_duration_at: Mapped[int | None]
    # The shape of the document this copy was built with (app/document/shape.py): a copy of
    # another shape is never served.
    shape: Mapped[str | None] = mapped_column(sa.String(32))
