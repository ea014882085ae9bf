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
from functools import lru_cache

import sqlalchemy as sa

from app.models import DataVersion, IncidentRevision

REVISIONS = IncidentRevision.__table__
CLOCK = DataVersion.__table__


def rfc3339(column: sa.ColumnElement, dialect: str) -> sa.ColumnElement[str]:
    """A timestamp as the API writes it (`2024-04-17T09:30:00Z`), by the database: no datetime
    per row in Python."""
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    return sa.func.strftime("%Y-%m-%dT%H:%M:%SZ", column)


def rfc3339_precise(column: sa.ColumnElement, dialect: str) -> sa.ColumnElement[str]:
    """A commit time to the microsecond (`2024-04-17T09:30:00.123456Z`), as `as_of` compares
    it: a change committed at 09:30:00.4 is not in the data as of 09:30:00Z."""
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    # SQLite keeps SQLAlchemy's text, `2024-04-17 09:30:00.123456` (always six digits).
    return sa.func.replace(column, " ", "T") + "Z"


@lru_cache(maxsize=16)
def feed_statement(dialect: str, by_country: bool, by_action: bool) -> sa.Select:
    """Changes after `after` up to `until` in commit order, `limit` of them, filtered by the
    `countries` and `actions` bound (built once: a page builds no SQL expression). The document
    is read as its stored JSON text, to be sent as it is."""
    statement = (
        sa.select(
            REVISIONS.c.seq,
            REVISIONS.c.incident_id,
            REVISIONS.c.revision,
            REVISIONS.c.action,
            rfc3339(REVISIONS.c.at, dialect).label("at"),
            rfc3339_precise(REVISIONS.c.committed_at, dialect).label("committed_at"),
            REVISIONS.c.actor,
            sa.cast(REVISIONS.c.document, sa.Text).label("document"),
        )
        .where(REVISIONS.c.seq > sa.bindparam("after"), REVISIONS.c.seq <= sa.bindparam("until"))
        .order_by(REVISIONS.c.seq)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
    if by_country:
        statement = statement.where(REVISIONS.c.country.in_(sa.bindparam("countries", expanding=True)))
    if by_action:
        statement = statement.where(REVISIONS.c.action.in_(sa.bindparam("actions", expanding=True)))
    return statement


@dataclass(frozen=True)
class ChangePage:
    """Changes after a cursor: their rows (`feed_statement`), the cursor that goes on from them, and
    whether more changes were already committed after that cursor."""

    rows: list[sa.Row]
    next_cursor: int
    has_more: bool


class CursorAhead(Exception):
    """A cursor past the last change: the database was restored to an earlier point, and the
    changes numbered from here on are not the ones the client read under those numbers."""

    def __init__(self, after: int, until: int):
        super().__init__(after, until)
        self.after, self.until = after, until


# The clock row, or (emptied by hand) the last number given, as the next write's clock will be.
CLOCK_SEQ = sa.select(
    sa.func.coalesce(
        sa.select(CLOCK.c.seq).where(CLOCK.c.id == 1).scalar_subquery(),
        sa.select(sa.func.max(REVISIONS.c.seq)).scalar_subquery(),
        0,
    )
)


def clock(connection: sa.Connection) -> int:
    """The last place in commit order given: every change up to it is committed and visible."""
    return connection.scalar(CLOCK_SEQ)


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
    if after > until:
        raise CursorAhead(after, until)
    statement = feed_statement(connection.dialect.name, bool(countries), bool(actions))
    # One more than asked for, to know whether more follow.
    bound = {"after": after, "until": until, "limit": limit + 1, "countries": countries, "actions": actions}
    rows = connection.execute(statement, bound).all()
    if len(rows) > limit:
        return ChangePage(rows[:limit], rows[limit - 1].seq, True)
    # Read up to the clock: the next page starts there.
    return ChangePage(rows, until, False)
