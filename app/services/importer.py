"""Bulk import of incidents from CSV: the native format (the export's own columns) and the
Access Now STOP sheet. All or nothing by default; `on_error="skip"` writes the valid rows; a
dry run reports what would happen. Every write goes through the same service functions as the
API, so revisions, derived fields and validation are identical.
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.document.build import incident_document
from app.document.schema import IncidentSchema
from app.fast import bulk_create
from app.fast.load import loader_for
from app.models import Incident
from app.services import csv_format, locks, revisions, stop_format
from app.services import incidents as incident_service
from app.services import platforms as platform_service
from app.services.stop_format import RowError
from app.services.uploads import UnreadableFile

FORMATS = ("native", "stop")
ON_ERROR = ("abort", "skip")
# Columns of the native CSV that the server computes: present in exports, ignored on import.
NATIVE_IGNORED = {name for name, kind in csv_format.COLUMNS if kind == "derived"} | {"source_urls"}
NATIVE_REQUIRED = ("title", "country", "start_date", "shutdown_types")
FLUSH_EVERY = 500
CREATE_BATCH = 5000
# Native rows are read, validated and written this many at a time: memory holds one batch,
# whatever the file's size (a batch of rows as the real sheet has them, with statements and
# sources, is a few tens of megabytes at 5,000; bench/README.md has the figures).
READ_BATCH = 1000


class TooManyRows(Exception):
    """The file has more data rows than the caller allows; nothing was written."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} rows")
        self.limit = limit


@dataclass
class ImportReport:
    format: str
    dry_run: bool
    on_error: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0  # STOP rows folded into a later sheet's row of the same incident
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """Nothing written for the errors: any bad row under `abort`, a bad header always."""
        return bool(self.errors) and (self.on_error == "abort" or any(e.row == 1 for e in self.errors))

    @property
    def written(self) -> bool:
        return not self.dry_run and not self.refused

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["errors"] = [asdict(error) for error in self.errors]
        return body


@dataclass
class Candidate:
    """One incident document from one row, ready to create or apply."""

    row: int
    document: dict[str, Any]
    incident_id: int | None = None  # native: the row's id
    expected_revision: int | None = None  # native: the revision the row was exported at
    count_year: int = 0  # STOP: the sheet year; later sheets win


# --------------------------------------------------------------------------- reading rows


def _messages(errors: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """marshmallow's nested messages → (column, message) pairs."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            if prefix:
                yield from ((column, f"{key}: {message}") for column, message in _messages(value, prefix))
            else:
                yield from _messages(value, str(key))
    elif isinstance(errors, list):
        for message in errors:
            if isinstance(message, (dict, list)):
                yield from _messages(message, prefix)
            else:
                yield prefix or "row", str(message)
    else:
        yield prefix or "row", str(errors)


def native_candidates(lines: Iterable[str]) -> tuple[list[Candidate], list[RowError], int]:
    """The native file's rows as candidates; the errors of the header or of rows; the row count."""
    reading = Reading()
    candidates = [candidate for batch in native_batches(lines, reading) for candidate in batch]
    return candidates, reading.errors, reading.rows


@dataclass
class Reading:
    """What reading a file found so far: its row errors and its data rows (at most `max_rows`)."""

    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    max_rows: int | None = None

    def records(self, reader: Any) -> Iterator[tuple[int, list[str]]]:
        """(row number as a spreadsheet shows it, cells) of each data record, counted as read."""
        while (cells := _next_record(reader)) is not None:
            if not cells:
                continue  # a blank line, as csv.DictReader skips it
            self.rows += 1
            if self.max_rows is not None and self.rows > self.max_rows:
                raise TooManyRows(self.max_rows)
            yield self.rows + 1, cells


def count_rows(lines: Iterable[str], max_rows: int) -> int:
    """The data rows of a CSV file, counted as the import counts them (blank lines aside), read
    with the csv module alone; TooManyRows as soon as there are more than `max_rows`. A file
    over the cap is refused for the cost of reading it, not of importing its first rows."""
    reader = csv.reader(_without_bom(lines))
    _next_record(reader)  # the header
    reading = Reading(max_rows=max_rows)
    for _ in reading.records(reader):
        pass
    return reading.rows


def native_batches(lines: Iterable[str], reading: Reading) -> Iterator[list[Candidate]]:
    """The native file's rows as candidates, READ_BATCH rows at a time, read from `lines` as
    they come (nothing holds the whole file); the errors of the header or of rows go to
    `reading.errors`."""
    reader = csv.reader(_without_bom(lines))
    header = [name.strip() for name in _next_record(reader) or []]
    reading.errors += _native_header_errors(header)
    if reading.errors:
        return
    records = reading.records(reader)
    while chunk := list(itertools.islice(records, READ_BATCH)):
        batch = []
        for number, cells in chunk:
            candidate, row_errors = _native_row(number, _by_column(header, cells))
            if candidate is None:
                reading.errors += row_errors
            else:
                batch.append(candidate)
        yield batch


def _by_column(header: list[str], cells: list[str]) -> dict[str | None, Any]:
    """A record as csv.DictReader gives it: missing cells None, extra cells under None."""
    row: dict[str | None, Any] = dict(itertools.zip_longest(header, cells[: len(header)]))
    if len(cells) > len(header):
        row[None] = cells[len(header) :]
    return row


def _next_record(reader: Any) -> list[str] | None:
    """The next record of a csv reader, None at the end; a record the csv module cannot read
    (an unterminated quote, a cell past the limit) is an UnreadableFile naming its line."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as error:
        raise UnreadableFile(
            f"Line {reader.line_num} is not valid CSV: {error}.", "Not valid CSV."
        ) from error


def _native_header_errors(header: list[str]) -> list[RowError]:
    """Columns the native format does not know, columns given twice, and required columns it lacks."""
    return (
        [RowError(1, name, f"Unknown column '{name}'.") for name in header if name not in csv_format.KINDS]
        + _duplicate_columns(header)
        + [RowError(1, name, f"Missing column '{name}'.") for name in NATIVE_REQUIRED if name not in header]
    )


def _duplicate_columns(header: list[str]) -> list[RowError]:
    """Each column named more than once: which of its cells counts would be a guess."""
    counts = Counter(name for name in header if name)
    return [
        RowError(1, name, f"Column '{name}' appears {count} times: keep one and delete the others.")
        for name, count in counts.items()
        if count > 1
    ]


def _native_row(number: int, row: dict[str | None, Any]) -> tuple[Candidate | None, list[RowError]]:
    """One row of the native format as a candidate, or the errors of its cells."""
    if None in row:
        return None, [RowError(number, "row", "More cells than columns in the header.")]
    document, errors = _native_cells(number, row)
    if errors:
        return None, errors
    incident_id = document.pop("id", None)
    revision = document.pop("revision", None)
    for key in [k for k, v in document.items() if v is None and k != "end_date"]:
        del document[key]  # an empty cell takes the field's default, as in a POST
    return Candidate(number, document, incident_id, revision), []


def _native_cells(number: int, row: dict[str, Any]) -> tuple[dict[str, Any], list[RowError]]:
    """The row's imported cells, parsed into a document; the errors of those that do not parse."""
    document: dict[str, Any] = {}
    errors = []
    for name, raw in _imported_cells(row):
        try:
            value = csv_format.parse_cell(name, raw or "")
        except csv_format.CellError as error:
            errors.append(RowError(number, name, str(error)))
        else:
            _set_field(document, name, value)
    return document, errors


def _imported_cells(row: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(column, cell) of the columns an import reads: not the computed ones, and the source URLs
    only when the row's sources cell is empty."""
    with_sources = bool((row.get("sources") or "").strip())
    for name, raw in row.items():
        name = name.strip()
        if name not in NATIVE_IGNORED or (name == "source_urls" and not with_sources):
            yield name, raw


def _set_field(document: dict[str, Any], column: str, value: Any) -> None:
    """A parsed cell into its field of the document (the source URLs into the sources)."""
    if column == "source_urls":
        document["sources"] = [{"url": url} for url in value]
    elif csv_format.KINDS[column] == "json":
        # Child records are matched by content, never by an id from another database.
        document[column] = [{k: v for k, v in item.items() if k != "id"} for item in value]
    else:
        document[column] = value


def stop_candidates(
    lines: Iterable[str], aliases: dict[str, str], reading: Reading | None = None
) -> tuple[list[Candidate], list[RowError], int]:
    """The STOP sheet's rows as candidates (all of them: a row re-issued in a later yearly sheet
    joins its earlier one wherever it is in the file), read from `lines` as they come."""
    reading = reading or Reading()
    reader = csv.reader(_without_bom(lines))
    header = _next_record(reader) or []
    reading.errors += stop_format.header_errors(header) + _duplicate_columns(
        [(name or "").strip() for name in header]
    )
    if reading.errors:
        return [], reading.errors, 0
    candidates = []
    for number, cells in reading.records(reader):
        row = _by_column(header, cells)
        documents, row_errors = stop_format.convert_row(row, number, aliases)
        reading.errors += row_errors
        year = int(row.get("count_year") or 0) if (row.get("count_year") or "").isdigit() else 0
        candidates += [Candidate(number, document, count_year=year) for document in documents]
    return candidates, reading.errors, reading.rows


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    first = True
    for line in lines:
        if first and line.startswith("\ufeff"):
            line = line[1:]
        first = False
        yield line


# --------------------------------------------------------------------------- matching


def _key(document: dict[str, Any]) -> tuple:
    start = document["start_date"]
    return (
        document["country"],
        start.isoformat() if isinstance(start, date) else start,
        tuple(sorted(document.get("shutdown_types") or ())),
        tuple(sorted(document.get("platforms") or ())),
    )


def _area(value: str | None) -> str:
    return " ".join((value or "").lower().split())


def _stop_existing(session: Session, loaded: list[tuple[Candidate, dict]]) -> dict[tuple, list[Incident]]:
    """Live incidents that share a country and start date with the file's rows, by key."""
    pairs = {(data["country"], data["start_date"]) for _, data in loaded}
    found: dict[tuple, list[Incident]] = {}
    countries = sorted({country for country, _ in pairs})
    for offset in range(0, len(countries), 200):
        chunk = countries[offset : offset + 200]
        stmt = (
            sa.select(Incident)
            .where(Incident.deleted_at.is_(None), Incident.country.in_(chunk))
            .where(Incident.start_date.in_(sorted({start for country, start in pairs if country in chunk})))
            .options(*incident_service.EAGER)
            .order_by(Incident.id)
        )
        for incident in session.scalars(stmt):
            if (incident.country, incident.start_date) in pairs:
                key = (
                    incident.country,
                    incident.start_date.isoformat(),
                    tuple(incident.shutdown_types),
                    tuple(incident.platforms),
                )
                found.setdefault(key, []).append(incident)
    return found


# --------------------------------------------------------------------------- the import


def run_import(
    session: Session,
    lines: Iterable[str],
    *,
    fmt: str,
    dry_run: bool = False,
    on_error: str = "abort",
    progress: Callable[[int], None] | None = None,
    max_rows: int | None = None,
) -> ImportReport:
    """Import a CSV in one transaction; commits only when something should be written.

    Each row's document is validated exactly as POST /incidents validates it (the document's
    definition, loaded by app/fast/load.py), and compared with the document the API shows to
    tell an update from an unchanged row. `lines` is read as it comes: a native file is read,
    validated and written a batch at a time, so memory holds one batch, not the file.

    Imports into one database run one at a time (`locks.one_import_at_a_time`): two imports of
    the same file create each incident once. Raises TooManyRows past `max_rows` data rows and
    UnreadableFile for a file that is not CSV text, after rolling back.
    """
    report = ImportReport(format=fmt, dry_run=dry_run, on_error=on_error)
    locks.one_import_at_a_time(session)
    reading = Reading(max_rows=max_rows)
    apply = _apply_native if fmt == "native" else _apply_stop
    try:
        for candidates in _read_batches(session, lines, fmt, reading):
            loaded = _load_candidates(candidates, reading.errors)
            if (reading.errors or report.errors) and on_error == "abort":
                continue  # the rest is still read, to list every bad row; nothing more is written
            # Loaded documents already passed every rule, and child records carry no ids, so
            # applying them cannot fail half-way.
            apply(session, loaded, report, progress)
    except (TooManyRows, UnreadableFile):
        session.rollback()
        raise
    report.rows = reading.rows
    report.errors.extend(reading.errors)
    report.rejected = len({e.row for e in report.errors})
    report.errors.sort(key=lambda e: (e.row, e.column))
    if report.errors and on_error == "abort":
        # Nothing is written, and the rows after the first bad one were only checked.
        report.created = report.updated = report.unchanged = report.merged = 0
    if report.written:
        session.commit()
    else:
        session.rollback()
    return report


def _read_batches(
    session: Session, lines: Iterable[str], fmt: str, reading: Reading
) -> Iterator[list[Candidate]]:
    """The file's rows as candidates, in its format: a native file in batches, a STOP sheet whole
    (its rows are grouped across the file)."""
    if fmt == "native":
        yield from native_batches(lines, reading)
    else:
        yield stop_candidates(lines, platform_service.alias_map(session), reading)[0]


def _load_candidates(candidates: list[Candidate], errors: list[RowError]) -> list[tuple[Candidate, dict]]:
    """Each candidate with its document as the API's schema loads it; the others' errors."""
    load = loader_for(IncidentSchema)
    loaded: list[tuple[Candidate, dict]] = []
    for candidate in candidates:
        try:
            data = load(candidate.document)
        except ma.ValidationError as error:
            errors += [
                RowError(candidate.row, column, message) for column, message in _messages(error.messages)
            ]
            continue
        loaded.append((candidate, data))
    return loaded


class _Creates:
    """New incidents, written in batches by `bulk_create.bulk_create` (Core INSERTs)."""

    def __init__(self, session: Session) -> None:
        self.session, self.pending = session, []

    def add(self, data: dict) -> None:
        self.pending.append(data)
        if len(self.pending) >= CREATE_BATCH:
            self.flush()

    def flush(self) -> None:
        bulk_create.bulk_create(self.session, self.pending)
        self.pending = []


def _write(
    session: Session,
    incident: Incident | None,
    data: dict,
    report: ImportReport,
    creates: _Creates,
) -> None:
    if incident is None:
        creates.add(data)
        report.created += 1
        return
    before = incident_document(incident)
    incident_service.apply_document(incident, data)
    if incident_document(incident) == before:
        report.unchanged += 1
    else:
        revisions.record(session, incident, "update", before)
        report.updated += 1


def _tick(session: Session, done: int, progress: Callable[[int], None] | None) -> None:
    if done % FLUSH_EVERY == 0:
        session.flush()
    if progress is not None:
        progress(1)


def _apply_native(session, loaded, report, progress) -> None:
    creates = _Creates(session)
    existing = _native_existing(session, {c.incident_id for c, _ in loaded if c.incident_id is not None})
    for done, (candidate, data) in enumerate(loaded, start=1):
        incident = existing.get(candidate.incident_id) if candidate.incident_id is not None else None
        refusal = _native_refusal(candidate, incident)
        if refusal is not None:
            report.errors.append(refusal)
        else:
            # An id this database does not know (a file from another instance, or an empty
            # database) creates a new incident: ids are assigned by the server.
            _write(session, incident, data, report, creates)
        _tick(session, done, progress)
    creates.flush()


def _native_existing(session: Session, ids: set[int]) -> dict[int, Incident]:
    """The incidents (deleted ones too) that the rows name by id."""
    ordered = sorted(ids)
    existing: dict[int, Incident] = {}
    for offset in range(0, len(ordered), 500):
        stmt = (
            sa.select(Incident)
            .where(Incident.id.in_(ordered[offset : offset + 500]))
            .options(*incident_service.EAGER)
        )
        existing.update({incident.id: incident for incident in session.scalars(stmt)})
    return existing


def _native_refusal(candidate: Candidate, incident: Incident | None) -> RowError | None:
    """Why a row may not update its incident: the incident is deleted, or changed since the export."""
    if incident is None:
        return None
    if incident.deleted_at is not None:
        return RowError(candidate.row, "id", f"Incident {incident.id} was deleted; restore it first.")
    if candidate.expected_revision is not None and candidate.expected_revision != incident.revision:
        return RowError(
            candidate.row,
            "revision",
            f"Incident {incident.id} is at revision {incident.revision}, this row was exported at "
            f"revision {candidate.expected_revision}: export it again so that no newer change "
            "is overwritten.",
        )
    return None


def _stop_chains(loaded: list[tuple[Candidate, dict]]) -> list[list[tuple[Candidate, dict]]]:
    """Group the rows that are one incident re-issued in later yearly sheets.

    Rows are taken in count_year order; a row joins the chain of an earlier-year row with the
    same key (preferring the same area, else the only such chain). Rows of the same year that
    share a key stay separate: different districts cut off the same day.
    """
    chains: list[list[tuple[Candidate, dict]]] = []
    by_key: dict[tuple, list[list[tuple[Candidate, dict]]]] = {}
    for candidate, data in sorted(loaded, key=lambda item: (item[0].count_year, item[0].row)):
        key, area = _key(data), _area(data.get("area"))
        open_chains = [c for c in by_key.get(key, []) if c[-1][0].count_year < candidate.count_year]
        same_area = [c for c in open_chains if _area(c[-1][1].get("area")) == area]
        chain = same_area[0] if same_area else (open_chains[0] if len(open_chains) == 1 else None)
        if chain is None:
            chain = []
            chains.append(chain)
            by_key.setdefault(key, []).append(chain)
        chain.append((candidate, data))
    return chains


def _apply_stop(session, loaded, report, progress) -> None:
    """Each incident once, with its latest sheet's row (later sheets win); matched to the
    database by key and area, so importing the same file again changes nothing."""
    existing = _stop_existing(session, loaded)
    creates = _Creates(session)
    chains = _stop_chains(loaded)
    chains_per_key = Counter(_key(chain[-1][1]) for chain in chains)
    claimed: set[int] = set()
    for done, chain in enumerate(chains, start=1):
        data = chain[-1][1]
        target = _stop_target(chain, existing.get(_key(data), []), claimed, chains_per_key[_key(data)])
        if target is not None:
            claimed.add(target.id)
        _write(session, target, data, report, creates)
        report.merged += len(chain) - 1
        _tick(session, done, progress)
    creates.flush()


def _stop_target(
    chain: list[tuple[Candidate, dict]], same_key: list[Incident], claimed: set[int], chains_of_key: int
) -> Incident | None:
    """The stored incident a chain of rows updates, or None for a new one: an unclaimed incident
    with the chain's key in one of its areas; else the only incident with that key, when the
    file has only this chain for it."""
    areas = {_area(member.get("area")) for _, member in chain}
    pool = [incident for incident in same_key if incident.id not in claimed]
    same_area = [incident for incident in pool if _area(incident.area) in areas]
    if same_area:
        return same_area[0]
    return pool[0] if len(pool) == 1 and len(same_key) == 1 and chains_of_key == 1 else None
