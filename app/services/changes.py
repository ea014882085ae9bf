"""The change feed: every revision across incidents in commit order, read after a cursor.

A revision's `seq` is its place in commit order, given at commit (services/revisions.py
`_stamp`), and `data_version.seq` is the clock: the last place given. Every change numbered at
or below a clock value read from the database is committed and visible, so a page read up to
the clock never skips a change that commits later: that change gets a larger number. A page
that reached the clock ends there, and its next cursor is the clock itself, so that an empty or
filtered page still moves the reader on.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from app.models import DataVersion, IncidentRevision

REVISIONS = IncidentRevision.__table__
CLOCK = DataVersion.__table__


def provenance(dialect: str) -> sa.ColumnElement[str]:
    """The document's `provenance`, read by the database (the document itself is not parsed)."""
    document = REVISIONS.c.document
    if dialect == "postgresql":
        return sa.func.json_extract_path_text(document, "provenance")
    return sa.func.json_extract(document, "$.provenance")


def columns(dialect: str) -> tuple[sa.ColumnElement, ...]:
    """What a change is read with; the document as its stored JSON text, sent as it is."""
    return (
        REVISIONS.c.seq,
        REVISIONS.c.incident_id,
        REVISIONS.c.revision,
        REVISIONS.c.action,
        REVISIONS.c.at,
        REVISIONS.c.committed_at,
        REVISIONS.c.actor,
        provenance(dialect).label("provenance"),
        sa.cast(REVISIONS.c.document, sa.Text).label("document"),
    )


@dataclass(frozen=True)
class ChangePage:
    """Changes after a cursor: their rows (`columns`), the cursor that goes on from them, and
    whether more changes were already committed after that cursor."""

    rows: list[sa.Row]
    next_cursor: int
    has_more: bool


def clock(connection: sa.Connection) -> int:
    """The last place in commit order given: every change up to it is committed and visible."""
    return connection.scalar(sa.select(CLOCK.c.seq).where(CLOCK.c.id == 1)) or 0


def changes_after(
    connection: sa.Connection,
    after: int,
    limit: int,
    countries: list[str] | None = None,
    actions: list[str] | None = None,
) -> ChangePage:
    """Up to `limit` changes after cursor `after`, in commit order, optionally of these countries
    and actions. The clock is read first: what is numbered up to it is all there is to read."""
    until = clock(connection)
    statement = (
        sa.select(*columns(connection.dialect.name))
        .where(REVISIONS.c.seq > after, REVISIONS.c.seq <= until)
        .order_by(REVISIONS.c.seq)
        .limit(limit + 1)  # one more, to know whether more follow
    )
    if countries:
        statement = statement.where(REVISIONS.c.country.in_(countries))
    if actions:
        statement = statement.where(REVISIONS.c.action.in_(actions))
    rows = connection.execute(statement).all()
    if len(rows) > limit:
        return ChangePage(rows[:limit], rows[limit - 1].seq, True)
    # Read up to the clock: the next page starts there, never behind the cursor given (a cursor
    # from a database restored to an earlier point stays where it was).
    return ChangePage(rows, max(after, until), False)
