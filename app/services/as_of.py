"""The data as it stood at a moment (`as_of`): each incident's revision with the largest `seq`
committed by then, unless that revision is a delete.

A moment is turned into the last change committed by then (`last_change`): every read then asks
for revisions with `seq` at most that number, which never change, so the same moment gives the
same data however often, and however much later, it is asked for. Documents are the revisions'
stored ones, as the API showed them then; only an ongoing incident's duration is counted to the
moment's day (`as_at`), as the live API counts it to today.
"""

from __future__ import annotations

import bisect
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import marshmallow as ma
import orjson
import sqlalchemy as sa

from app.db import read_only
from app.document.build import IncidentDocument
from app.document.schema import IncidentSchema
from app.document.shape import current_shape
from app.fast.stored import INCIDENTS, STORED, export_line
from app.models import DataVersion, IncidentRevision
from app.models.incident import duration_days
from app.services import csv_format
from app.services.stats import NETWORK_SERVICES

REVISIONS = IncidentRevision.__table__
CLOCK = DataVersion.__table__
CLOCK_ROW = sa.select(CLOCK.c.seq).where(CLOCK.c.id == 1)
# The clock, or (its row emptied by hand) the last change numbered, as the next write's will be.
READ_CLOCK = sa.select(
    sa.func.coalesce(
        CLOCK_ROW.scalar_subquery(), sa.select(sa.func.max(REVISIONS.c.seq)).scalar_subquery()
    ).label("seq"),
    sa.func.coalesce(
        sa.select(CLOCK.c.committed_at).where(CLOCK.c.id == 1).scalar_subquery(),
        sa.select(sa.func.max(REVISIONS.c.committed_at)).scalar_subquery(),
        type_=REVISIONS.c.committed_at.type,
    ).label("committed_at"),
)
# The commit time of the first change numbered `seq` or after (seq has no gaps today; this
# does not rely on it).
COMMITTED_FROM = (
    sa.select(REVISIONS.c.committed_at)
    .where(REVISIONS.c.seq >= sa.bindparam("seq", type_=sa.BigInteger))
    .order_by(REVISIONS.c.seq)
    .limit(1)
)
# The filters a request as of a moment combines with (besides paging and output options).
FILTERS = ("country",)


@dataclass(frozen=True)
class Moment:
    """A moment asked for, and the last change committed by then (0: none)."""

    at: datetime
    seq: int

    @property
    def day(self) -> date:
        return self.at.date()


def last_change(connection: sa.Connection, at: datetime) -> Moment:
    """The moment `at` (aware, UTC, not after now) and the `seq` of the last change committed by then.

    A writer gives its changes their `seq` and `committed_at` under the clock row's lock, just
    before it commits: one that stamped a time at or before `at` but has not committed yet would
    be missing now and present in the same request later. Only a writer that read the clock as
    we read it can have stamped a time up to `at`, so when `at` is at or after the clock we wait
    for it to finish; any writer after that stamps a later time than `at` (which is past).
    `connection` must hold no transaction open from before (none of its reads may predate the wait).
    """
    with read_only():
        clock = connection.execute(READ_CLOCK).one()
        connection.rollback()
        if clock.committed_at is None or at >= clock.committed_at:
            _wait_for_writers(connection)
            clock = connection.execute(READ_CLOCK).one()
        if clock.committed_at is None:
            return Moment(at, 0)
        if at >= clock.committed_at:
            return Moment(at, clock.seq)
        # committed_at never decreases as seq grows: a binary search on the unique seq index.
        seqs = range(1, clock.seq + 1)
        first_after = bisect.bisect_right(seqs, at, key=lambda seq: _committed_from(connection, seq))
        return Moment(at, first_after)  # the count of numbers before it is the last one by `at`


def _committed_from(connection: sa.Connection, seq: int) -> datetime:
    committed_at = connection.scalar(COMMITTED_FROM, {"seq": seq})
    return datetime.max.replace(tzinfo=UTC) if committed_at is None else committed_at


def _wait_for_writers(connection: sa.Connection) -> None:
    """Return once no writer holds the clock: PostgreSQL, a share lock on its row (a writer's
    update holds it exclusively until its commit), released at once; SQLite, the write lock,
    which a writer holds from its BEGIN IMMEDIATE to its commit, taken and given back."""
    if connection.dialect.name == "postgresql":
        connection.execute(CLOCK_ROW.with_for_update(read=True))
        connection.commit()
        return
    driver = connection.connection.driver_connection
    try:
        driver.execute("BEGIN IMMEDIATE")
        driver.execute("ROLLBACK")
    except sqlite3.Error as error:  # locked past busy_timeout: a 503, as any write would get
        raise sa.exc.DBAPIError.instance("BEGIN IMMEDIATE", (), error, sqlite3.Error) from error


# --------------------------------------------------------------------------- reading


DOCUMENT = sa.cast(REVISIONS.c.document, sa.Text)


def present(
    seq: int, countries: Iterable[str] = (), columns: tuple = (DOCUMENT.label("document"),)
) -> sa.Select:
    """(incident id, `columns`: the stored document as JSON text) of the incidents present after
    change `seq`, in id order: each incident's last revision up to `seq`, unless a delete.

    Driven by the incidents' primary key (every revision's incident has a row, never removed),
    which gives the id order without a sort; each incident's last revision is one probe of the
    (incident_id, seq) index."""
    earlier = REVISIONS.alias("earlier")
    last = (
        sa.select(sa.func.max(earlier.c.seq))
        .where(earlier.c.incident_id == INCIDENTS.c.id, earlier.c.seq <= seq)
        .correlate(INCIDENTS)
        .scalar_subquery()
    )
    statement = (
        sa.select(INCIDENTS.c.id.label("incident_id"), *columns)
        .select_from(INCIDENTS.join(REVISIONS, REVISIONS.c.seq == last))
        .where(REVISIONS.c.action != "delete")
        .order_by(INCIDENTS.c.id)
    )
    countries = list(countries)
    # The country is read from the revision found, not looked up: an index on it (country, seq)
    # would have SQLite walk every revision of the country and probe each incident from there
    # (minutes at 100,000 incidents). Codes are stored upper-case, so upper() changes nothing.
    return statement.where(sa.func.upper(REVISIONS.c.country).in_(countries)) if countries else statement


def export_rows(moment: Moment, countries: Iterable[str], dialect: str) -> sa.Select:
    """`present`, for the export, each incident's CSV row read by the database where it can be:
    an incident unchanged since the moment (its current revision is the one shown) reads as its
    stored CSV row, duration counted to the moment's day (app/fast/stored.py `export_line`);
    one changed since, as the CSV row its revision kept (not ongoing then, and of today's
    columns). Only the others (an ongoing incident changed since, a revision written before
    revisions kept rows or before the columns changed) are built from their document.

    Code for speed. Plain twin: `line_of(as_at(document))` for every incident; proven equal by
    tests/test_as_of.py::test_each_moment_shows_the_documents_of_then (its exports)."""
    # Unchanged, and its stored row built as the revision's was (the stored copy is rebuilt when
    # the document's shape changes; the revision is not): the same bytes before and after a
    # later write moves this incident to the revision's own row.
    unchanged = sa.and_(INCIDENTS.c.revision == REVISIONS.c.revision, REVISIONS.c.shape == STORED.c.shape)
    current = REVISIONS.c.shape == sa.literal(current_shape(), sa.Text)
    kept = sa.and_(current, REVISIONS.c.csv_row.is_not(None))
    line = sa.func.coalesce(
        sa.case((unchanged, export_line(dialect, moment.day)), else_=sa.null()),
        sa.case((kept, REVISIONS.c.csv_row), else_=sa.null()),
    )
    document = sa.case((line.is_(None), DOCUMENT), else_=sa.null())
    statement = present(moment.seq, countries, (line.label("line"), document.label("document")))
    return statement.outerjoin(STORED, STORED.c.incident_id == INCIDENTS.c.id)


def as_at(document: dict[str, Any], day: date) -> IncidentDocument:
    """A stored document as it reads on `day`: an ongoing incident's duration counted to that
    day (the live API counts it to today; no other field of the document depends on the date)."""
    if document.get("status") == "ongoing" and document.get("end_date") is None:
        start = date.fromisoformat(document["start_date"])
        document["duration_days"] = duration_days(start, day, "ongoing")
    return IncidentDocument(document)


def count(connection: sa.Connection, moment: Moment, countries: Iterable[str] = ()) -> int:
    statement = present(moment.seq, countries).order_by(None)
    return connection.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))


def page(
    connection: sa.Connection, moment: Moment, countries: Iterable[str], offset: int, limit: int
) -> list[IncidentDocument]:
    """Documents of the incidents present at the moment, in id order, `limit` from `offset`."""
    rows = connection.execute(present(moment.seq, countries).offset(offset).limit(limit))
    return [as_at(orjson.loads(row.document), moment.day) for row in rows]


def documents(
    connection: sa.Connection, moment: Moment, countries: Iterable[str] = ()
) -> Iterator[IncidentDocument]:
    """Every document present at the moment, in id order, read as a stream."""
    result = connection.execution_options(stream_results=True, yield_per=2000).execute(
        present(moment.seq, countries)
    )
    with result:
        for row in result:
            yield as_at(orjson.loads(row.document), moment.day)


# Every field of today's document, empty: a revision written before a field existed has no value
# for it, and its CSV row an empty cell.
BLANK = {
    name: [] if isinstance(field, ma.fields.List) else None for name, field in IncidentSchema().fields.items()
}


def csv_chunks(
    connection: sa.Connection, moment: Moment, countries: Iterable[str], batch: int
) -> Iterator[bytes]:
    """The export's CSV rows (UTF-8) as of the moment, `batch` incidents a chunk: the columns of
    the live export (`csv_format.line_of`), from the revisions' documents (`export_rows`)."""
    statement = export_rows(moment, countries, connection.dialect.name)
    result = connection.execution_options(stream_results=True, yield_per=batch).execute(statement)
    with result:
        for rows in result.partitions():
            yield "".join(
                row.line
                if row.document is None
                else csv_format.line_of(as_at({**BLANK, **orjson.loads(row.document)}, moment.day))
                for row in rows
            ).encode()


def incident(
    connection: sa.Connection, moment: Moment, incident_id: int
) -> tuple[str, IncidentDocument | None]:
    """Whether the incident `existed`, was `deleted` or was `absent` (not yet created) at the
    moment, and its document when it existed."""
    row = connection.execute(
        sa.select(REVISIONS.c.action, sa.cast(REVISIONS.c.document, sa.Text).label("document"))
        .where(REVISIONS.c.incident_id == incident_id, REVISIONS.c.seq <= moment.seq)
        .order_by(REVISIONS.c.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return "absent", None
    if row.action == "delete":
        return "deleted", None
    return "existed", as_at(orjson.loads(row.document), moment.day)


# --------------------------------------------------------------------------- statistics


def _groups(document: dict[str, Any], group_by: str) -> Iterable[Any]:
    """The groups an incident counts in, as app/services/stats.py groups the live tables."""
    if group_by == "year":
        return (int(document["start_date"][:4]),)
    if group_by == "platform":
        types = document["shutdown_types"]
        cut_by_network = "full_network" in types and "service_based" not in types
        return [p for p in document["platforms"] if not (cut_by_network and p in NETWORK_SERVICES)]
    if group_by == "shutdown_type":
        return document["shutdown_types"]
    return (document[group_by],)


FIGURES = ("incidents", "ongoing", "incident_days", "acknowledged", "in_court", "in_court_pending")


def stats(documents: Iterable[dict[str, Any]], group_by: str) -> list[dict[str, Any]]:
    """`stats.stats`'s figures over documents (as of a moment): per group the incidents, ongoing
    ones, incident-days, acknowledged ones, ones in court and with a case pending; largest
    first, then by group. tests/test_as_of.py proves them equal to the live ones at now."""
    figures: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    for document in documents:
        for group in _groups(document, group_by):
            counted = figures[group]
            counted["incidents"] += 1
            counted["ongoing"] += document["status"] == "ongoing"
            counted["incident_days"] += document["duration_days"] or 0
            counted["acknowledged"] += document["acknowledgement_status"] == "acknowledged"
            counted["in_court"] += document["litigation_status"] != "none"
            counted["in_court_pending"] += document["litigation_status"] == "pending"
    ranked = sorted(figures.items(), key=lambda item: (-item[1]["incidents"], item[0]))
    return [{"group": group, **counted} for group, counted in ranked]
