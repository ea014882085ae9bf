"""Stored copies: each incident's finished JSON document and CSV row, kept beside it.

Code for speed. Plain twin: building the document from the tables on every read
(`app.document.build.documents_for_rows`). Proven equal by tests/test_stored_documents.py
(every write path leaves the copies equal to what the tables build; reads and exports without
a copy, or with a copy of another shape, give the same bytes and ETags).

Reads send the stored JSON as it is (an `orjson.Fragment`), with no child queries and no
per-field Python; the export sends the stored CSV rows. The copy is written by the revision
hook, in the same transaction as the change and its revision, so it cannot drift from the
tables, and it carries the shape it was built with (app/document/shape.py): a copy of another
shape, or a missing one, is built from the tables instead.

One field changes without any write: an ongoing incident's `duration_days` grows every day. An
ongoing incident's copies are read with today's duration put in (a string splice at a known
place, no parsing).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.document.build import JSON_OPTIONS, IncidentDocument, documents_for_rows
from app.document.shape import current_shape
from app.models import Incident, StoredDocument
from app.models import incident as incident_model
from app.models.incident import duration_days
from app.services import csv_format

INCIDENTS = Incident.__table__
STORED = StoredDocument.__table__
# Incidents with their stored copies (an outer join: a row may have none yet).
WITH_STORED = INCIDENTS.outerjoin(STORED, STORED.c.incident_id == INCIDENTS.c.id)
# Columns a read needs to use the stored copy (and to patch an ongoing incident's duration).
STORED_COLUMNS = (
    INCIDENTS.c.id,
    INCIDENTS.c.status,
    INCIDENTS.c.start_date,
    INCIDENTS.c.end_date,
    STORED.c.document,
    STORED.c.shape,
)


class StoredRow(NamedTuple):
    """STORED_COLUMNS of one incident, as `stored_documents` reads them."""

    id: int
    status: str
    start_date: date | None
    end_date: date | None
    document: str | None
    shape: str | None


def is_current(row: Any) -> bool:
    """Whether a row read with STORED_COLUMNS has a stored copy of the shape the code builds now."""
    return row.document is not None and row.shape == current_shape()


def stored_row(values: Sequence[Any]) -> StoredRow:
    """STORED_COLUMNS as a DB-API driver returns them (`OneRow`): SQLite gives dates as text."""
    incident_id, status, start, end, document, shape = values[:6]
    return StoredRow(incident_id, status, _as_date(start), _as_date(end), document, shape)


def _as_date(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def stored_rows(where: sa.ColumnElement[bool]) -> sa.Select:
    """STORED_COLUMNS of the incidents matching `where`."""
    return sa.select(*STORED_COLUMNS).select_from(WITH_STORED).where(where)


def store(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write stored copies (`incident_id` + `stored_values`), replacing those already there."""
    if not rows:
        return
    connection = session.connection()
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(STORED)
    update = {name: insert.excluded[name] for name in ("document", "csv_row", "csv_duration_at", "shape")}
    connection.execute(insert.on_conflict_do_update(index_elements=[STORED.c.incident_id], set_=update), rows)


def revision_values(values: dict[str, Any]) -> dict[str, Any]:
    """The columns of a revision taken from its document's `stored_values`: the CSV row, unless
    it changes with the day (an ongoing incident's duration), and its shape."""
    row = values["csv_row"] if values["csv_duration_at"] is None else None
    return {"csv_row": row, "shape": values["shape"]}


def stored_values(document: dict[str, Any]) -> dict[str, Any]:
    """The stored-copy columns for an incident's current document."""
    line, at = csv_format.line_and_duration_offset(document)
    return {
        "document": orjson.dumps(document, option=JSON_OPTIONS).decode(),
        "csv_row": line,
        # Where the duration cell starts, for the incidents whose duration grows every day.
        "csv_duration_at": at if document["status"] == "ongoing" else None,
        "shape": current_shape(),
    }


_DURATION_KEY = '"duration_days":'


def _with_duration(text: str, days: int | None, at: int) -> str:
    """`text` with the number that starts at `at` (ended by a comma) replaced by `days`."""
    end = text.index(",", at)
    return f"{text[:at]}{'' if days is None else days}{text[end:]}"


def _today(row: Any) -> str:
    """An ongoing incident's stored JSON with today's duration. With sorted keys the first
    `"duration_days":` is the top-level key (a quote inside a string value is escaped)."""
    at = row.document.index(_DURATION_KEY) + len(_DURATION_KEY)
    days = duration_days(row.start_date, row.end_date, row.status)
    return _with_duration(row.document, days, at)


def _built(session: Session, incident_ids: list[int]) -> dict[int, IncidentDocument]:
    """Documents built from the tables, for incidents without a current stored copy."""
    rows = session.execute(sa.select(INCIDENTS).where(INCIDENTS.c.id.in_(incident_ids))).all()
    return {document["id"]: document for document in documents_for_rows(session, rows)}


def stored_documents(session: Session | None, rows: Sequence[Any]) -> list[Any]:
    """Documents of rows read with STORED_COLUMNS, in their order: the stored JSON as an
    `orjson.Fragment` (copied as it is into the response), with today's duration for an ongoing
    incident; a row without a current copy is built from the tables (through `session`, which
    only such a row needs)."""
    documents: list[Any] = []
    missing: list[int] = []
    for row in rows:
        if is_current(row):
            documents.append(orjson.Fragment(_today(row) if row.status == "ongoing" else row.document))
        else:
            documents.append(None)
            missing.append(row.id)
    if missing:
        assert session is not None, "a row without a current copy needs a session to build it"
        built = _built(session, missing)
        documents = [
            built[row.id] if document is None else document
            for row, document in zip(rows, documents, strict=True)
        ]
    return documents


def export_line(dialect: str, today: date) -> sa.ColumnElement[str]:
    """An incident's CSV row as the export sends it, finished by the database: the stored row,
    or for an ongoing incident the stored row with today's duration spliced in (from
    csv_duration_at to the next comma, as `_with_duration` does; both databases count
    characters, as Python does). NULL for an incident without a copy of the current shape."""
    row, at = STORED.c.csv_row, STORED.c.csv_duration_at
    if dialect == "postgresql":
        days = sa.func.greatest(sa.cast(sa.literal(today), sa.Date) - INCIDENTS.c.start_date + 1, 0)
        position = sa.func.strpos(sa.func.substr(row, at + 1), ",")
    else:
        elapsed = sa.func.julianday(today.isoformat()) - sa.func.julianday(INCIDENTS.c.start_date)
        days = sa.func.max(sa.cast(elapsed, sa.Integer) + 1, 0)
        position = sa.func.instr(sa.func.substr(row, at + 1), ",")
    spliced = sa.func.substr(row, 1, at) + sa.cast(days, sa.Text) + sa.func.substr(row, at + position)
    current = STORED.c.shape == sa.literal(current_shape(), sa.Text)
    return sa.case((current, sa.case((at.is_(None), row), else_=spliced)), else_=sa.null())


# The first cell of every CSV row is the id: no row starts with this.
_MISSING = b"!"
_FIRST_BYTE = operator.itemgetter(0)


def export_column(dialect: str) -> sa.ColumnElement[bytes]:
    """What the export reads: one column of bytes per incident, its finished CSV row as UTF-8
    (bytes, which the drivers copy as they are, instead of text decoded into a string per row
    only to be encoded again for the response; one column, with no date or enum to convert).
    An incident without a current copy reads as `!` and its id, for `csv_chunk` to build."""
    line = export_line(dialect, incident_model.today_utc())
    text = sa.func.coalesce(line, sa.literal(_MISSING.decode(), sa.Text) + sa.cast(INCIDENTS.c.id, sa.Text))
    return sa.func.convert_to(text, "UTF8") if dialect == "postgresql" else sa.cast(text, sa.LargeBinary)


def csv_chunk(session: Session, lines: Sequence[bytes | memoryview]) -> bytes:
    """CSV bytes of rows read with `export_column`: their stored rows joined, and those of
    incidents without a current copy built from the tables."""
    if _MISSING[0] not in map(_FIRST_BYTE, lines):
        return b"".join(lines)
    missing = [int(bytes(line[1:])) for line in lines if line[0] == _MISSING[0]]
    built = _built(session, missing)
    return b"".join(
        csv_format.line_of(built[int(bytes(line[1:]))]).encode() if line[0] == _MISSING[0] else line
        for line in lines
    )


def rebuild(session: Session, *, every: bool = False, batch: int = 1000) -> int:
    """Build the stored copies that are missing or of another shape (`every`: all of them), a
    batch at a time, each batch committed; returns how many were written."""
    stale = STORED.c.shape.is_(None) | (STORED.c.shape != current_shape())
    written, last = 0, 0
    while True:
        # Locked until the batch's commit (PostgreSQL): a write committed meanwhile would
        # otherwise have its new copy replaced by one built from the rows read before it.
        statement = (
            sa.select(INCIDENTS)
            .select_from(WITH_STORED)
            .where(INCIDENTS.c.id > last)
            .with_for_update(of=INCIDENTS)
        )
        if not every:
            statement = statement.where(stale)
        rows = session.execute(statement.order_by(INCIDENTS.c.id).limit(batch)).all()
        if not rows:
            return written
        documents = documents_for_rows(session, rows)
        store(session, [{"incident_id": document["id"], **stored_values(document)} for document in documents])
        session.commit()
        written, last = written + len(rows), rows[-1].id
