"""Building an incident's document from its rows, field by field as app/document/schema.py declares it.

The result equals marshmallow's dump of the schema (tests/test_documents.py), without
marshmallow's per-field machinery: each field has a reader made once from its declaration.
Fields backed by a column of the same name need nothing here; a field computed from others
(a derived value, a list from its own table) names how in `COMPUTED` or `LISTS`.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Any

import marshmallow as ma
import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import models
from app.document.fields import Timestamp, country_name
from app.document.schema import IncidentSchema
from app.models.incident import delay_days, duration_days

# The API's JSON encoding (the Flask JSON provider uses it too): sorted keys, so that equal
# documents are equal bytes and the stored bytes are what a freshly built document gives.
JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_NAIVE_UTC

Reader = Callable[[Any], Any]


class IncidentDocument(dict):
    """A finished incident document: the API's schema passes it through as it is."""


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


@lru_cache(maxsize=1024)  # a bulk import gives every new incident the same two timestamps
def timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _column_reader(name: str, field: ma.fields.Field) -> Reader:
    """A field backed by the column of its name: dates as ISO text, timestamps as RFC 3339."""
    get = operator.attrgetter(name)
    if isinstance(field, Timestamp):
        return lambda row: timestamp(get(row))
    if isinstance(field, ma.fields.Date):
        return lambda row: _day(get(row))
    return get


def _record_builder(schema: ma.Schema) -> Reader:
    """A child record (statement, court case, source) → its document."""
    readers = [(name, _column_reader(name, field)) for name, field in schema.fields.items()]
    return lambda record: {name: read(record) for name, read in readers}


# Incident fields computed from other columns.
COMPUTED: dict[str, Reader] = {
    "country_name": lambda row: country_name(row.country),
    "duration_days": lambda row: duration_days(row.start_date, row.end_date, row.status),
    "acknowledgement_delay_days": lambda row: delay_days(row.start_date, row.acknowledged_on),
    "telcos": lambda row: list(row.telcos or ()),
    "stop_rows": lambda row: list(row.stop_rows or ()),
}
# Incident fields read from tables of their own, given to `build_document` by name: values
# (table, value column) and child records (table).
VALUE_LISTS = {
    "shutdown_types": (models.IncidentShutdownType.__table__, "shutdown_type"),
    "networks": (models.IncidentNetwork.__table__, "network"),
    "platforms": (models.IncidentPlatform.__table__, "platform_slug"),
    "asns": (models.IncidentAsn.__table__, "asn"),
}
CHILD_TABLES = {
    "acknowledgements": models.Acknowledgement.__table__,
    "legal_cases": models.LegalCase.__table__,
    "sources": models.Source.__table__,
}


@cache
def _plan() -> tuple[list[tuple[str, Reader | None]], dict[str, Reader]]:
    """The incident schema's fields in order, each with its reader (None for a given list), and
    each child list's record builder."""
    fields = IncidentSchema().fields
    records = {name: _record_builder(fields[name].inner.schema) for name in CHILD_TABLES}
    readers: list[tuple[str, Reader | None]] = []
    for name, field in fields.items():
        if name in VALUE_LISTS or name in CHILD_TABLES:
            readers.append((name, None))
        else:
            readers.append((name, COMPUTED.get(name) or _column_reader(name, field)))
    return readers, records


def build_document(incident: Any, **lists: Iterable[Any]) -> IncidentDocument:
    """`incident`: anything with the incident's columns as attributes (ORM object or Core row);
    `lists`: each value list (`platforms` …) and child list (`acknowledgements` …) by name."""
    readers, records = _plan()
    document = IncidentDocument()
    for name, read in readers:
        if read is not None:
            document[name] = read(incident)
        elif name in records:
            document[name] = [records[name](record) for record in lists[name]]
        else:
            document[name] = lists[name]
    return document


def incident_document(incident: models.Incident) -> IncidentDocument:
    """The document of a loaded ORM incident."""
    return build_document(
        incident,
        shutdown_types=[row.shutdown_type for row in incident.shutdown_type_rows],
        networks=[row.network for row in incident.network_rows],
        platforms=[row.platform_slug for row in incident.platform_rows],
        asns=[row.asn for row in incident.asn_rows],
        acknowledgements=incident.acknowledgements,
        legal_cases=incident.legal_cases,
        sources=incident.sources,
    )


def _grouped(session: Session, statement: sa.Select, value: Callable[[Any], Any]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(statement):
        grouped[row.incident_id].append(value(row))
    return grouped


def documents_for_rows(session: Session, rows: Sequence[Any]) -> list[IncidentDocument]:
    """Documents of incident rows (Core rows of the incidents table), in their order: one query
    per child table for all of them, no ORM objects."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    lists: dict[str, dict[int, list[Any]]] = {}
    for name, (table, column) in VALUE_LISTS.items():
        statement = (
            sa.select(table.c.incident_id, table.c[column])
            .where(table.c.incident_id.in_(ids))
            .order_by(table.c.incident_id, table.c[column])
        )
        lists[name] = _grouped(session, statement, operator.itemgetter(1))
    for name, table in CHILD_TABLES.items():
        statement = sa.select(table).where(table.c.incident_id.in_(ids)).order_by(table.c.id)
        lists[name] = _grouped(session, statement, lambda child: child)
    empty: list[Any] = []
    return [build_document(row, **{name: lists[name].get(row.id, empty) for name in lists}) for row in rows]
