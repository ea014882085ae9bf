"""The incident document as the API shows it, built by hand for speed.

marshmallow's dump and the ORM's object loading cost about a millisecond per incident with
its children; pages of 500, exports of a million rows and the revision snapshot of every
imported row cannot afford that. `IncidentSchema` stays the contract (validation, OpenAPI);
its dump calls `incident_document`, and a test proves both give the same document.

Reads go further still: every write stores the finished document next to the incident, as the
exact JSON bytes the API sends (`incident_documents.document`), and its native CSV row
(`incident_documents.csv_row`). A page, a single incident or an export then reads one column and sends
it as it is (an `orjson.Fragment`), with no child queries and no per-field Python. The stored
copy is written by the revision hook, in the same transaction as the change and its revision,
so it cannot drift from the tables; `documents_for_rows` builds a document from the tables
whenever a row has none (written before migration 0007).

One field changes without any write: an ongoing incident's `duration_days` grows every day.
An ongoing incident's stored copies are read with today's duration put in (a string splice at
a known place, no parsing).
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
import pycountry
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import (
    Acknowledgement,
    Incident,
    IncidentAsn,
    IncidentNetwork,
    IncidentPlatform,
    IncidentShutdownType,
    LegalCase,
    Source,
    StoredDocument,
)
from app.models import incident as incident_model
from app.models.incident import delay_days, duration_days
from app.services import csv_format

# The API's JSON encoding (the Flask JSON provider uses it too): sorted keys, so that equal
# documents are equal bytes and the stored bytes are what a freshly built document gives.
JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_NAIVE_UTC


class IncidentDocument(dict):
    """A finished incident document: the schema passes it through as it is."""


@lru_cache(maxsize=512)
def country_name(code: str | None) -> str | None:
    country = pycountry.countries.get(alpha_2=code) if code else None
    if country is None:
        return None
    # pycountry's common_name is the short form people use ("Iran", not "Iran, Islamic Republic of").
    return getattr(country, "common_name", None) or country.name


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


@lru_cache(maxsize=1024)  # a bulk import gives every new incident the same two timestamps
def timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _acknowledgement(a: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "actor": a.actor,
        "actor_type": a.actor_type,
        "stance": a.stance,
        "date": _day(a.date),
        "channel": a.channel,
        "justification": a.justification,
        "quote": a.quote,
        "source_url": a.source_url,
    }


def _legal_case(c: Any) -> dict[str, Any]:
    return {
        "id": c.id,
        "court": c.court,
        "case_number": c.case_number,
        "filed_on": _day(c.filed_on),
        "petitioners": c.petitioners,
        "respondents": c.respondents,
        "status": c.status,
        "ruling_on": _day(c.ruling_on),
        "ruling_summary": c.ruling_summary,
        "next_hearing_on": _day(c.next_hearing_on),
        "source_url": c.source_url,
    }


def _source(s: Any) -> dict[str, Any]:
    return {
        "id": s.id,
        "url": s.url,
        "title": s.title,
        "publisher": s.publisher,
        "published_on": _day(s.published_on),
        "kind": s.kind,
        "archived_url": s.archived_url,
    }


def build_document(
    incident: Any,
    *,
    shutdown_types: list[str],
    networks: list[str],
    platforms: list[str],
    asns: list[int],
    acknowledgements: Iterable[Any],
    legal_cases: Iterable[Any],
    sources: Iterable[Any],
) -> IncidentDocument:
    """`incident`: anything with the incident's columns as attributes (ORM object or Core row)."""
    return IncidentDocument(
        id=incident.id,
        title=incident.title,
        description=incident.description,
        country=incident.country,
        country_name=country_name(incident.country),
        area=incident.area,
        scope=incident.scope,
        shutdown_types=shutdown_types,
        networks=networks,
        platforms=platforms,
        start_date=_day(incident.start_date),
        start_date_estimated=incident.start_date_estimated,
        end_date=_day(incident.end_date),
        status=incident.status,
        duration_days=duration_days(incident.start_date, incident.end_date, incident.status),
        ordered_by=incident.ordered_by,
        decision_maker=incident.decision_maker,
        actual_cause=incident.actual_cause,
        actual_cause_details=incident.actual_cause_details,
        official_justification=incident.official_justification,
        justification_details=incident.justification_details,
        legal_basis=incident.legal_basis,
        legal_basis_details=incident.legal_basis_details,
        election_related=incident.election_related,
        violence_reported=incident.violence_reported,
        human_rights_abuse_reported=incident.human_rights_abuse_reported,
        asns=asns,
        telcos=list(incident.telcos or ()),
        acknowledgement_status=incident.acknowledgement_status,
        acknowledged_on=_day(incident.acknowledged_on),
        acknowledgement_delay_days=delay_days(incident.start_date, incident.acknowledged_on),
        litigation_status=incident.litigation_status,
        acknowledgements=[_acknowledgement(a) for a in acknowledgements],
        legal_cases=[_legal_case(c) for c in legal_cases],
        sources=[_source(s) for s in sources],
        created_at=timestamp(incident.created_at),
        updated_at=timestamp(incident.updated_at),
        revision=incident.revision,
    )


def incident_document(incident: Incident) -> IncidentDocument:
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


# (document field, table, value column): ordered like the ORM relationships.
VALUE_LISTS = (
    ("shutdown_types", IncidentShutdownType.__table__, "shutdown_type"),
    ("networks", IncidentNetwork.__table__, "network"),
    ("platforms", IncidentPlatform.__table__, "platform_slug"),
    ("asns", IncidentAsn.__table__, "asn"),
)
CHILD_TABLES = (
    ("acknowledgements", Acknowledgement.__table__),
    ("legal_cases", LegalCase.__table__),
    ("sources", Source.__table__),
)


def documents_for_rows(session: Session, rows: Sequence[Any]) -> list[IncidentDocument]:
    """Documents of incident rows (Core rows of the incidents table), in their order: one query
    per child table for all of them, no ORM objects."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    lists: dict[str, dict[int, list[Any]]] = {}
    for field, table, column in VALUE_LISTS:
        grouped: dict[int, list[Any]] = defaultdict(list)
        statement = (
            sa.select(table.c.incident_id, table.c[column])
            .where(table.c.incident_id.in_(ids))
            .order_by(table.c.incident_id, table.c[column])
        )
        for incident_id, value in session.execute(statement):
            grouped[incident_id].append(value)
        lists[field] = grouped
    for field, table in CHILD_TABLES:
        grouped = defaultdict(list)
        statement = sa.select(table).where(table.c.incident_id.in_(ids)).order_by(table.c.id)
        for child in session.execute(statement):
            grouped[child.incident_id].append(child)
        lists[field] = grouped
    empty: list[Any] = []
    return [
        build_document(row, **{field: lists[field].get(row.id, empty) for field in lists}) for row in rows
    ]


# --------------------------------------------------------------------------- the stored copy

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
)


class StoredRow(NamedTuple):
    """STORED_COLUMNS of one incident, as `stored_documents` reads them."""

    id: int
    status: str
    start_date: date | None
    end_date: date | None
    document: str | None


def stored_row(values: Sequence[Any]) -> StoredRow:
    """STORED_COLUMNS as a DB-API driver returns them (`db.OneRow`): SQLite gives dates as text."""
    incident_id, status, start, end, document = values[:5]
    return StoredRow(incident_id, status, _as_date(start), _as_date(end), document)


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
    update = {name: insert.excluded[name] for name in ("document", "csv_row", "csv_duration_at")}
    connection.execute(insert.on_conflict_do_update(index_elements=[STORED.c.incident_id], set_=update), rows)


def stored_values(document: dict[str, Any]) -> dict[str, Any]:
    """The stored-copy columns for an incident's current document."""
    line, at = csv_format.line_and_duration_offset(document)
    return {
        "document": orjson.dumps(document, option=JSON_OPTIONS).decode(),
        "csv_row": line,
        # Where the duration cell starts, for the incidents whose duration grows every day.
        "csv_duration_at": at if document["status"] == "ongoing" else None,
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
    """Documents built from the tables, for incidents without a stored copy."""
    rows = session.execute(sa.select(INCIDENTS).where(INCIDENTS.c.id.in_(incident_ids))).all()
    return {document["id"]: document for document in documents_for_rows(session, rows)}


def stored_documents(session: Session | None, rows: Sequence[Any]) -> list[Any]:
    """Documents of rows read with STORED_COLUMNS, in their order: the stored JSON as an
    `orjson.Fragment` (copied as it is into the response), with today's duration for an ongoing
    incident; a row without a stored copy is built from the tables (through `session`, which
    only such a row needs)."""
    documents: list[Any] = []
    missing: list[int] = []
    for row in rows:
        if row.document is None:
            documents.append(None)
            missing.append(row.id)
        else:
            documents.append(orjson.Fragment(_today(row) if row.status == "ongoing" else row.document))
    if missing:
        assert session is not None, "a row without a stored copy needs a session to build it"
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
    characters, as Python does). NULL for an incident without a stored copy."""
    row, at = STORED.c.csv_row, STORED.c.csv_duration_at
    if dialect == "postgresql":
        days = sa.func.greatest(sa.cast(sa.literal(today), sa.Date) - INCIDENTS.c.start_date + 1, 0)
        position = sa.func.strpos(sa.func.substr(row, at + 1), ",")
    else:
        elapsed = sa.func.julianday(today.isoformat()) - sa.func.julianday(INCIDENTS.c.start_date)
        days = sa.func.max(sa.cast(elapsed, sa.Integer) + 1, 0)
        position = sa.func.instr(sa.func.substr(row, at + 1), ",")
    spliced = sa.func.substr(row, 1, at) + sa.cast(days, sa.Text) + sa.func.substr(row, at + position)
    return sa.case((at.is_(None), row), else_=spliced)


# The first cell of every CSV row is the id: no row starts with this.
_MISSING = b"!"
_FIRST_BYTE = operator.itemgetter(0)


def export_column(dialect: str) -> sa.ColumnElement[bytes]:
    """What the export reads: one column of bytes per incident, its finished CSV row as UTF-8
    (bytes, which the drivers copy as they are, instead of text decoded into a string per row
    only to be encoded again for the response; one column, with no date or enum to convert).
    An incident without a stored copy reads as `!` and its id, for `csv_chunk` to build."""
    line = export_line(dialect, incident_model.today_utc())
    text = sa.func.coalesce(line, sa.literal(_MISSING.decode(), sa.Text) + sa.cast(INCIDENTS.c.id, sa.Text))
    return sa.func.convert_to(text, "UTF8") if dialect == "postgresql" else sa.cast(text, sa.LargeBinary)


def csv_chunk(session: Session, lines: Sequence[bytes | memoryview]) -> bytes:
    """CSV bytes of rows read with `export_column`: their stored rows joined, and those of
    incidents without a stored copy built from the tables."""
    if _MISSING[0] not in map(_FIRST_BYTE, lines):
        return b"".join(lines)
    missing = [int(bytes(line[1:])) for line in lines if line[0] == _MISSING[0]]
    built = _built(session, missing)
    return b"".join(
        csv_format.line_of(built[int(bytes(line[1:]))]).encode() if line[0] == _MISSING[0] else line
        for line in lines
    )
