"""Creating many incidents at once, for imports: Core INSERTs in batches instead of the ORM's
unit of work, with exactly the rows, derived fields, stored document and revision that
`create_incident` gives (a test compares the two).

Loaded documents have passed the API's schema and its rules; this module only turns them into
rows: defaults, de-duplicated and sorted value lists, child records in the order given, the
derived fields (`derived_fields`, shared with the ORM model) and the document as a GET shows it.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import _json_dumps, utcnow
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
from app.services import revisions
from app.services.documents import build_document, stored_values
from app.services.incidents import default_status

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


def _insert(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys, in the session's transaction."""
    if not rows:
        return
    table = model.__table__
    if session.get_bind().dialect.name != "postgresql":
        # Multi-row VALUES rather than an executemany: SQLite evaluates a CHECK (col IN (...))
        # by building a small lookup table once per statement, which an executemany pays on every
        # row (2-3x the insert time of the incidents table, with its 11 value-list checks).
        _insert_values(session.connection(), table, rows)
        return
    # PostgreSQL: COPY, several times faster than an executemany of INSERTs (the time went into
    # per-row round trips and parameter processing, not into the server's work).
    columns = list(rows[0])
    json_columns = {column.key for column in table.columns if isinstance(column.type, sa.JSON)}
    names = ", ".join(f'"{name}"' for name in columns)
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([_json_dumps(row[c]) if c in json_columns else row[c] for c in columns])


def _insert_values(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """SQLite: multi-row INSERT ... VALUES statements, each value through its column type's
    bind processor (as SQLAlchemy's own executemany does)."""
    dialect = connection.dialect
    columns = list(rows[0])
    processors = [table.c[name].type.bind_processor(dialect) for name in columns]
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    group = f"({', '.join('?' * len(columns))})"
    size = max(1, min(SQLITE_ROWS_PER_INSERT, SQLITE_MAX_PARAMS // len(columns)))
    for offset in range(0, len(rows), size):
        chunk = rows[offset : offset + size]
        values = [
            value if process is None else process(value)
            for row in chunk
            for value, process in zip([row[name] for name in columns], processors, strict=True)
        ]
        sql = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) VALUES "
        connection.exec_driver_sql(sql + ", ".join([group] * len(chunk)), tuple(values))


def bulk_create(session: Session, documents: list[dict[str, Any]]) -> list[int]:
    """Insert incidents (loaded documents), their rows and first revisions; returns their ids."""
    if not documents:
        return []
    now = utcnow()
    actor = session.info.get("actor", "system")
    ids = reserve_ids(session, Incident, len(documents))
    child_ids: dict[str, Iterator[int]] = {
        name: iter(reserve_ids(session, model, sum(len(data.get(name) or ()) for data in documents)))
        for name, model in CHILD_ROWS
    }
    incident_rows: list[dict[str, Any]] = []
    value_rows: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in VALUE_ROWS}
    child_rows: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in CHILD_ROWS}
    revision_rows: list[dict[str, Any]] = []
    stored_rows: list[dict[str, Any]] = []
    for data, incident_id in zip(documents, ids, strict=True):
        lists = {name: sorted(dict.fromkeys(data.get(name) or ())) for name, _, _ in VALUE_ROWS}
        for name, _, column in VALUE_ROWS:
            value_rows[name] += [{"incident_id": incident_id, column: value} for value in lists[name]]
        children: dict[str, list[dict[str, Any]]] = {}
        for name, _ in CHILD_ROWS:
            defaults, columns = CHILD_DEFAULTS[name], CHILD_COLUMNS[name]
            children[name] = [
                {
                    "id": next(child_ids[name]),
                    "incident_id": incident_id,
                    **{key: item.get(key, defaults.get(key)) for key in columns},
                }
                for item in data.get(name) or ()
            ]
            child_rows[name] += children[name]
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
        )
        document = build_document(
            SimpleNamespace(**row),
            **lists,
            **{name: [SimpleNamespace(**child) for child in items] for name, items in children.items()},
        )
        incident_rows.append(row)
        stored_rows.append({"incident_id": incident_id, **stored_values(document)})
        revision_rows.append(
            {
                "incident_id": incident_id,
                "revision": 1,
                "action": "create",
                "at": now,
                "actor": actor,
                "changes": revisions.diff(None, document),
                "document": document,
            }
        )
    _insert(session, Incident, incident_rows)
    for name, model, _ in VALUE_ROWS:
        _insert(session, model, value_rows[name])
    for name, model in CHILD_ROWS:
        _insert(session, model, child_rows[name])
    _insert(session, IncidentRevision, revision_rows)
    _insert(session, StoredDocument, stored_rows)
    revisions.data_changed(session)  # the data version is replaced at commit
    return ids
