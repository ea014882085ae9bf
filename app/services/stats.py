"""Aggregates over incidents, computed by the database in one grouped query."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from app.models import Incident, IncidentPlatform, IncidentShutdownType
from app.services import sqlfunc  # noqa: F401  (renders the SQLite index hint)
from app.services.incidents import filter_conditions
from app.services.sorts import duration_expr

GROUPS = ("country", "year", "platform", "shutdown_type", "actual_cause", "official_justification")

# Services that a full-network shutdown cuts by itself. The STOP sheet flags them on such
# shutdowns (its sms_affected and phonecall_affected columns) to say how far the shutdown went:
# the incident keeps them, but they are not blocks of a service.
NETWORK_SERVICES = ("sms", "voice-calls")


def explained_by_the_network() -> sa.Exists:
    """Whether a platform row of an incident is SMS or voice calls cut by a full-network
    shutdown (an incident that is not also service-based): not a blocked service.

    One NOT EXISTS, which PostgreSQL runs as a hash anti-join inside its parallel plan (an OR of
    EXISTS made it a subplan, which runs in one process), and SQLite as a primary-key lookup."""
    full, service = aliased(IncidentShutdownType), aliased(IncidentShutdownType)
    return sa.exists().where(
        full.incident_id == IncidentPlatform.incident_id,
        full.shutdown_type == "full_network",
        IncidentPlatform.platform_slug.in_(NETWORK_SERVICES),
        ~sa.exists().where(service.incident_id == full.incident_id, service.shutdown_type == "service_based"),
    )


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def stats(session: Session, group_by: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    """Per group: incidents, ongoing ones, incident-days, acknowledged ones, ones in court.

    An incident naming two platforms (or two shutdown types) counts in both groups. Grouped by
    platform, an incident counts for the services it blocked (not for SMS and voice calls that
    its full-network shutdown cut: `explained_by_the_network`); the filters,
    `platform` among them, match the incident's fields as stored, as on the list.
    """
    return [
        {**row._asdict(), "group": int(row.group) if group_by == "year" else row.group}
        for row in session.execute(statement(group_by, args))
    ]


def statement(group_by: str, args: dict[str, Any]) -> sa.Select:
    """The one grouped query of `stats`."""
    if group_by == "year":
        group = sa.extract("year", Incident.start_date)
    elif group_by == "platform":
        group = IncidentPlatform.platform_slug
    elif group_by == "shutdown_type":
        group = IncidentShutdownType.shutdown_type
    else:
        group = getattr(Incident, group_by)
    group = group.label("group")
    stmt = sa.select(
        group,
        sa.func.count(Incident.id).label("incidents"),
        _count_if(Incident.status == "ongoing").label("ongoing"),
        sa.func.coalesce(sa.func.sum(duration_expr()), 0).label("incident_days"),
        _count_if(Incident.acknowledgement_status == "acknowledged").label("acknowledged"),
        _count_if(Incident.litigation_status != "none").label("in_court"),
        _count_if(Incident.litigation_status == "pending").label("in_court_pending"),
    )
    if group_by == "platform":
        stmt = stmt.select_from(Incident).join(IncidentPlatform).where(~explained_by_the_network())
    elif group_by == "shutdown_type":
        stmt = stmt.select_from(Incident).join(IncidentShutdownType)
    # SQLite's planner, without statistics, walks an index in GROUP BY order and reads every
    # wide incident row (and goes wrong for a platform grouping); the covering index answers
    # from the index alone. PostgreSQL finds the index by itself.
    stmt = stmt.with_hint(Incident.__table__, "INDEXED BY ix_incidents_stats", "sqlite")
    return (
        stmt.where(Incident.deleted_at.is_(None), *filter_conditions(args))
        .group_by(group)
        .order_by(sa.desc("incidents"), group)
    )
