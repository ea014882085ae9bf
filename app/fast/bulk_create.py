"""Creating many new incidents at once, for the import: Core INSERTs (COPY on PostgreSQL), pipelined.

Plain twin: `app.services.incidents.create_incident`, the API's own path, one incident at a time
through the ORM. Both give the same stored result (API document, revision 1, stored copy):
tests/test_bulk_pipeline.py::test_bulk_create_stores_what_create_incident_stores proves it on
both databases, and tests/test_stored_documents.py::test_import_creates_what_the_api_creates
compares an import with POST /incidents.

Loaded documents have passed the API's schema and its rules; this module only turns them into
rows: defaults, de-duplicated and sorted value lists, child records in the order given, the
derived fields (`derived_fields`, shared with the ORM model) and the document as a GET shows it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from psycopg.types.json import Json
from sqlalchemy.orm import Session

from app.db import json_dumps, utcnow
from app.document.build import build_document
from app.document.rules import default_status
from app.fast.stored import revision_values, stored_values
from app.models import (
    Acknowledgement,
    Incident,
    IncidentAsn,
    IncidentNetwork,
    IncidentPlatform,
    IncidentRevision,
    IncidentShutdownType,
    LegalCase,
    Source,
    StoredDocument,
)
from app.models.incident import derived_fields
from app.services import provenance, revisions

# (document field, model, column); the value lists, each sorted like a GET shows it
VALUE_ROWS = (
    ("platforms", IncidentPlatform, "platform_slug"),
    ("shutdown_types", IncidentShutdownType, "shutdown_type"),
    ("networks", IncidentNetwork, "network"),
    ("asns", IncidentAsn, "asn"),
)
CHILD_ROWS = (("acknowledgements", Acknowledgement), ("legal_cases", LegalCase), ("sources", Source))
SERVER_SET = {"id", "revision", "created_at", "updated_at", "deleted_at"}
SQLITE_MAX_PARAMS = 32766  # SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32
SQLITE_ROWS_PER_INSERT = 500
PIPELINE_BATCH = 250  # incidents built while the previous ones are written
PIPELINE_FIRST_BATCH = 50


def _columns(model: type, *, skip: set[str]) -> list[str]:
    return [column.key for column in model.__table__.columns if column.key not in skip]


def _defaults(model: type) -> dict[str, Any]:
    """The model's plain default values (callable defaults are set here explicitly)."""
    return {
        column.key: column.default.arg
        for column in model.__table__.columns
        if column.default is not None and column.default.is_scalar
    }


INCIDENT_COLUMNS = _columns(Incident, skip=SERVER_SET | {"telcos", "status"})
INCIDENT_DEFAULTS = _defaults(Incident)
CHILD_COLUMNS = {name: _columns(model, skip={"id", "incident_id"}) for name, model in CHILD_ROWS}
CHILD_DEFAULTS = {name: _defaults(model) for name, model in CHILD_ROWS}


def reserve_ids(session: Session, model: type, count: int) -> list[int]:
    """`count` new primary keys for `model`, so rows can be inserted in one executemany without
    RETURNING (which SQLite answers one row per statement when the order must be kept).

    PostgreSQL hands out sequence values (safe under concurrency). SQLite continues after the
    largest id: every write transaction there holds the database's write lock (BEGIN IMMEDIATE),
    so no other writer can take the same ids.
    """
    if count == 0:
        return []
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        statement = sa.text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
        )
        return list(session.scalars(statement, {"table": table.name, "n": count}))
    start = session.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))) + 1
    return list(range(start, start + count))


def _insert(connection: sa.Connection, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys, in the connection's transaction."""
    if not rows:
        return
    table = model.__table__
    if connection.dialect.name != "postgresql":
        _insert_values(connection, table, rows)
        return
    # PostgreSQL: binary COPY, not an executemany of INSERTs (a round trip and parameter processing
    # per row) nor a text COPY (which the server parses character by character).
    columns = list(rows[0])
    types = _pg_types(connection, table.name)
    json_columns = {column.key for column in table.columns if isinstance(column.type, sa.JSON)}
    names = ", ".join(f'"{name}"' for name in columns)
    cursor = connection.connection.driver_connection.cursor()
    with cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT BINARY)') as copy:
        copy.set_types([types[name] for name in columns])
        for row in rows:
            copy.write_row([Json(row[c], dumps=json_dumps) if c in json_columns else row[c] for c in columns])


_PG_TYPES: dict[str, dict[str, str]] = {}


def _pg_types(connection: sa.Connection, table: str) -> dict[str, str]:
    """The table's column types as the server names them (a binary COPY sends each value in its
    column's own binary format); read once per process."""
    if table not in _PG_TYPES:
        result = connection.exec_driver_sql(
            "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = to_regclass(%(table)s) AND a.attnum > 0 AND NOT a.attisdropped",
            {"table": table},
        )
        _PG_TYPES[table] = dict(result.all())
    return _PG_TYPES[table]


def _insert_values(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """SQLite: multi-row INSERT ... VALUES statements, each value through its column type's
    bind processor (as SQLAlchemy's own executemany does)."""
    dialect = connection.dialect
    columns = list(rows[0])
    processors = [
        (index, process)
        for index, name in enumerate(columns)
        # The dialect's own type (SQLite's DateTime writes microseconds, as every other write does).
        if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    cells = operator.itemgetter(*columns)
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    group = f"({', '.join('?' * len(columns))})"
    size = max(1, min(SQLITE_ROWS_PER_INSERT, SQLITE_MAX_PARAMS // len(columns)))
    for offset in range(0, len(rows), size):
        chunk = rows[offset : offset + size]
        values: list[Any] = []
        for row in chunk:
            row_values = list(cells(row)) if len(columns) > 1 else [row[columns[0]]]
            for index, process in processors:
                row_values[index] = process(row_values[index])
            values += row_values
        sql = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) VALUES "
        connection.exec_driver_sql(sql + ", ".join([group] * len(chunk)), tuple(values))


def _value_lists(data: dict[str, Any]) -> dict[str, list]:
    """The document's value lists, de-duplicated and sorted as a GET shows them."""
    return {name: sorted(dict.fromkeys(data.get(name) or ())) for name, _, _ in VALUE_ROWS}


def _child_rows(
    data: dict[str, Any], incident_id: int, child_ids: dict[str, Iterator[int]], stamp: tuple[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """The document's child records as rows, in the order given, with their reserved ids (and
    the incident's provenance when an item names none)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    origin = (data.get("provenance") or stamp[0], data.get("provenance_at") or stamp[1])
    for name, _ in CHILD_ROWS:
        defaults, columns, ids = CHILD_DEFAULTS[name], CHILD_COLUMNS[name], child_ids[name]
        rows[name] = [
            {
                "id": next(ids),
                "incident_id": incident_id,
                **{key: item.get(key, defaults.get(key)) for key in columns},
                **_stamped(item, origin),
            }
            for item in data.get(name) or ()
        ]
    return rows


def _stamped(record: dict[str, Any], stamp: tuple[str, Any]) -> dict[str, Any]:
    """A new record's provenance: its own, else the stamp (app/services/provenance.py)."""
    return {
        "provenance": record.get("provenance") or stamp[0],
        "provenance_at": record.get("provenance_at") or stamp[1],
    }


def _incident_row(
    data: dict[str, Any], incident_id: int, children: dict[str, list[dict[str, Any]]], now, origin: str
) -> dict[str, Any]:
    """The incident's own row at revision 1: the document's columns, defaults, derived fields."""
    row = {key: data.get(key, INCIDENT_DEFAULTS.get(key)) for key in INCIDENT_COLUMNS}
    row.update(
        id=incident_id,
        status=data.get("status") or default_status(data.get("end_date")),
        telcos=list(data.get("telcos") or ()),
        revision=1,
        created_at=now,
        updated_at=now,
        deleted_at=None,
        **derived_fields(children["acknowledgements"], children["legal_cases"]),
        **_stamped(data, (origin, now)),
    )
    return row


class _Batch:
    """The rows of some new incidents, table by table, in insertion order (parents first)."""

    def __init__(self) -> None:
        self.incidents: list[dict[str, Any]] = []
        self.values: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in VALUE_ROWS}
        self.children: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in CHILD_ROWS}
        self.revisions: list[dict[str, Any]] = []
        self.stored: list[dict[str, Any]] = []

    def add(
        self,
        data: dict[str, Any],
        incident_id: int,
        child_ids: dict[str, Iterator[int]],
        now,
        actor: str,
        origin: str,
    ) -> None:
        """One loaded document's rows."""
        lists = _value_lists(data)
        for name, _, column in VALUE_ROWS:
            self.values[name] += [{"incident_id": incident_id, column: value} for value in lists[name]]
        children = _child_rows(data, incident_id, child_ids, (origin, now))
        for name, rows in children.items():
            self.children[name] += rows
        row = _incident_row(data, incident_id, children, now, origin)
        document = build_document(
            SimpleNamespace(**row),
            **lists,
            **{name: [SimpleNamespace(**child) for child in rows] for name, rows in children.items()},
        )
        self.incidents.append(row)
        values = stored_values(document)
        self.stored.append({"incident_id": incident_id, **values})
        self.revisions.append(
            {
                "incident_id": incident_id,
                "revision": 1,
                "action": "create",
                "at": now,
                "actor": actor,
                "changes": {},  # derived from the document on read (IncidentRevision.changes)
                "document": document,
                "country": document.get("country"),
                **revision_values(values),
            }
        )

    def write_incidents(self, connection: sa.Connection) -> None:
        _insert(connection, Incident, self.incidents)
        _insert(connection, IncidentRevision, self.revisions)
        _insert(connection, StoredDocument, self.stored)

    def write_rows(self, connection: sa.Connection) -> None:
        """The value rows and child records (after their incidents)."""
        for name, model, _ in VALUE_ROWS:
            _insert(connection, model, self.values[name])
        for name, model in CHILD_ROWS:
            _insert(connection, model, self.children[name])

    def take_rows(self, other: _Batch) -> None:
        for name in self.values:
            self.values[name] += other.values[name]
        for name in self.children:
            self.children[name] += other.children[name]


def bulk_create(session: Session, documents: list[dict[str, Any]]) -> list[int]:
    """Insert incidents (loaded documents), their rows and first revisions; returns their ids.

    Pipelined: while one batch's rows are written (in a second thread, on the session's
    connection, which this thread leaves alone until the end), the next batch's rows are built.
    The database works (PostgreSQL's server, SQLite's C code) without holding the GIL, so the
    two overlap; the writes keep their order, and the first error stops the rest and is raised.
    """
    if not documents:
        return []
    now = utcnow()
    actor = session.info.get("actor", "system")
    origin = provenance.session_origin(session)
    ids = reserve_ids(session, Incident, len(documents))
    child_ids: dict[str, Iterator[int]] = {
        name: iter(reserve_ids(session, model, sum(len(data.get(name) or ()) for data in documents)))
        for name, model in CHILD_ROWS
    }
    connection = session.connection()
    failed: list[BaseException] = []
    rows = _Batch()

    def write(step: Callable[[sa.Connection], None]) -> None:
        if failed:
            return  # the transaction is lost already: nothing more to send
        try:
            step(connection)
        except BaseException as error:
            failed.append(error)
            raise

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-write") as writer:
        # A small first batch, so that the writer starts early; then PIPELINE_BATCH at a time.
        starts = [0, *range(PIPELINE_FIRST_BATCH, len(documents), PIPELINE_BATCH)]
        for start, end in zip(starts, [*starts[1:], len(documents)], strict=True):
            if failed:
                break
            batch = _Batch()
            for index in range(start, end):
                batch.add(documents[index], ids[index], child_ids, now, actor, origin)
            writer.submit(write, batch.write_incidents)
            rows.take_rows(batch)
        # The small rows (a few per incident) last, one statement or COPY per table rather than
        # seven more round trips per batch.
        writer.submit(write, rows.write_rows)
    if failed:
        raise failed[0]
    revisions.data_changed(session)  # the data version is replaced at commit
    return ids
