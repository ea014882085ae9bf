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
from app.document.fields import MAX_ID
from app.document.rules import default_status
from app.document.schema import IncidentSchema, max_items
from app.fast import bulk_create
from app.fast.load import loader_for
from app.models import Incident
from app.services import csv_format, curation, locks, provenance, revisions, stop_format, stop_matching
from app.services import incidents as incident_service
from app.services import platforms as platform_service
from app.services.stop_format import RowError
from app.services.uploads import UnreadableFile

FORMATS = ("native", "stop")
ON_ERROR = ("abort", "skip")
ON_CONFLICT = curation.ON_CONFLICT
# Columns of the native CSV that the server computes: present in exports, ignored on import.
NATIVE_IGNORED = {name for name, kind in csv_format.COLUMNS if kind == "derived"} | {"source_urls"}
NATIVE_REQUIRED = ("title", "country", "start_date", "shutdown_types")
FLUSH_EVERY = 500
SOURCES_PER_INCIDENT = max_items(IncidentSchema, "sources")
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
class Merge:
    """STOP rows that are one shutdown (re-issued in later yearly sheets): one incident."""

    incident: int
    rows: list[int]


@dataclass
class ImportReport:
    format: str
    dry_run: bool
    on_error: str
    on_conflict: str = "keep"
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0  # STOP rows folded into a later sheet's row of the same incident
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    conflicts: list[curation.Conflict] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    notes: list[RowError] = field(default_factory=list)  # rows recorded, with something to check

    @property
    def refused(self) -> bool:
        """Nothing written for the errors: any bad row under `abort`, a bad header always."""
        return bool(self.errors) and (self.on_error == "abort" or any(e.row == 1 for e in self.errors))

    @property
    def written(self) -> bool:
        return not self.dry_run and not self.refused

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        for name in ("errors", "conflicts", "merges", "notes"):
            body[name] = [asdict(item) for item in getattr(self, name)]
        return body


@dataclass
class Candidate:
    """One incident document from one row, ready to create or apply."""

    row: int
    document: dict[str, Any]
    incident_id: int | None = None  # native: the row's id
    expected_revision: int | None = None  # native: the revision the row was exported at
    fields: frozenset[str] = frozenset()  # native: the fields the file's columns give
    urls_only: bool = False  # native: the sources are the row's source_urls (no sources cell)
    count_year: int = 0  # STOP: the sheet year; later sheets win
    cells: dict[str, str] = field(default_factory=dict)  # STOP: cells no field holds as written
    row_cells: dict[str, str] = field(default_factory=dict)  # STOP: every non-empty cell
    territory: str | None = None  # STOP: a territory without an ISO code, recorded in its country


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
    fields = _native_fields(header)
    while chunk := list(itertools.islice(records, READ_BATCH)):
        batch = []
        for number, cells in chunk:
            candidate, row_errors = _native_row(number, _by_column(header, cells))
            if candidate is None:
                reading.errors += row_errors
            else:
                candidate.fields = fields
                batch.append(candidate)
        yield batch


def _native_fields(header: list[str]) -> frozenset[str]:
    """The document fields a native file's columns give (a merged row changes no other)."""
    given = {name for name in header if name not in NATIVE_IGNORED}
    return frozenset(given | ({"sources"} if "source_urls" in header else set()))


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
    urls_only = "source_urls" in row and not (row.get("sources") or "").strip()
    return Candidate(number, document, incident_id, revision, urls_only=urls_only), []


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
        converted, row_errors = stop_format.convert_row_fully(row, number, aliases)
        reading.errors += row_errors
        year_cell = (row.get("count_year") or "").strip()
        year = csv_format.whole_number(year_cell) if year_cell else 0
        if year is None:
            reading.errors.append(
                RowError(number, "count_year", "Expected a year (the digits 0-9, at most 10 of them).")
            )
            continue
        row_cells = stop_format.all_cells(row) if converted else {}
        candidates += [
            Candidate(
                number,
                item.document,
                count_year=year,
                cells=item.cells,
                row_cells=row_cells,
                territory=item.territory,
            )
            for item in converted
        ]
    return candidates, reading.errors, reading.rows


# Separators that spreadsheets write instead of commas (Excel in locales with a decimal comma
# saves "CSV" with semicolons; "Text (Tab delimited)" uses tabs), and how to say them.
FOREIGN_SEPARATORS = {";": "semicolons", "\t": "tabs"}


def separator_problem(header_line: str) -> str | None:
    """Why a file whose first line is `header_line` is not comma-separated CSV, or None.

    Read on the header alone: a file whose header splits into more columns on `;` (or a tab)
    than on commas was saved with another separator, and every column name would be wrong."""
    header = header_line.removeprefix("\ufeff")
    commas = len(next(csv.reader([header]), []))
    for separator, name in FOREIGN_SEPARATORS.items():
        if len(next(csv.reader([header], delimiter=separator), [])) > commas:
            return (
                f"The file is separated by {name}, not commas (spreadsheets save CSV that way in "
                "many locales). Save it as comma-separated CSV (UTF-8) and import it again: in "
                "LibreOffice Calc choose ',' as the field delimiter; Excel takes the list separator "
                "of the computer's region settings; Google Sheets' File > Download > CSV always "
                "uses commas."
            )
    return None


def sheet_name(filename: str | None) -> str:
    """The name a file is recorded by in provenance: its base name, without control characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable()).strip()
    return name[:200] or "upload.csv"


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    first = True
    for line in lines:
        if first and line.startswith("\ufeff"):
            line = line[1:]
        first = False
        yield line


# --------------------------------------------------------------------------- matching


def _stop_existing(
    session: Session, loaded: list[tuple[Candidate, dict]]
) -> tuple[dict[tuple, list[Incident]], dict[tuple, list[Incident]]]:
    """Incidents (deleted ones too) that may be the file's shutdowns, by (country, start date):
    first by the country and start date the sheet last wrote on them (kept in `import_state`:
    an editor may have corrected either since), then by their current ones."""
    pairs = {stop_matching.shutdown_key(data) for _, data in loaded}
    by_sheet: dict[tuple, list[Incident]] = {}
    by_current: dict[tuple, list[Incident]] = {}
    countries = sorted({country for country, _ in pairs})
    sheet_country = Incident.import_state[("values", "country")].as_string()
    sheet_start = Incident.import_state[("values", "start_date")].as_string()
    for offset in range(0, len(countries), 200):
        chunk = countries[offset : offset + 200]
        starts = sorted({start for country, start in pairs if country in chunk})
        days = [date.fromisoformat(start) for start in starts]
        current = (Incident.country.in_(chunk), Incident.start_date.in_(days))
        lookups = (
            (by_sheet, (sheet_country.in_(chunk), sheet_start.in_(starts)), curation.sheet_key),
            (by_current, current, lambda incident: (incident.country, incident.start_date.isoformat())),
        )
        for found, where, key_of in lookups:
            stmt = sa.select(Incident).where(*where).options(*incident_service.EAGER).order_by(Incident.id)
            for incident in session.scalars(stmt):
                key = key_of(incident)
                if key in pairs:
                    found.setdefault(key, []).append(incident)
    return by_sheet, by_current


def _known_areas(incident: Incident) -> list[str | None]:
    """The areas an incident is known by: its own, and the ones the sheets gave it."""
    areas = [incident.area, ((incident.import_state or {}).get("values") or {}).get("area")]
    areas += [record.get("cells", {}).get("area_name") for record in incident.stop_rows or ()]
    return [area for area in areas if area] or [None]


def _stop_targets(
    chains: list[list[tuple[Candidate, dict]]], lookups: tuple[dict[tuple, list[Incident]], ...]
) -> dict[int, Incident]:
    """The stored incident each chain of rows updates (by chain index); the others are new.

    A chain and an incident with its country and start date match when their areas are the
    same or overlap; the best matches are paired first, each incident with one chain at most.
    Live incidents first; a chain that matches none may match one an editor deleted (which the
    import then leaves deleted, rather than record the shutdown again). Within each, incidents
    by the country and start date the sheet last wrote first, then by their current ones
    (`lookups`, from _stop_existing)."""
    by_key: dict[tuple, list[int]] = {}
    for index, chain in enumerate(chains):
        by_key.setdefault(stop_matching.shutdown_key(chain[-1][1]), []).append(index)
    targets: dict[int, Incident] = {}
    taken: set[int] = set()
    for live in (True, False):
        for existing in lookups:
            for key, indexes in by_key.items():
                pool = [
                    incident
                    for incident in existing.get(key, [])
                    if (incident.deleted_at is None) == live and incident.id not in taken
                ]
                left = [index for index in indexes if index not in targets]
                if not pool or not left:
                    continue
                paired = stop_matching.assign(left, pool, _chain_score(chains))
                for position, incident_index in paired.items():
                    targets[left[position]] = pool[incident_index]
                    taken.add(pool[incident_index].id)
    return targets


def _chain_score(chains: list[list[tuple[Candidate, dict]]]) -> Callable[[int, Incident], int]:
    def score(index: int, incident: Incident) -> int:
        kind = {"shutdown_types": incident.shutdown_types, "platforms": incident.platforms}
        return stop_matching.match_score(
            [data.get("area") for _, data in chains[index]],
            _known_areas(incident),
            stop_matching.same_kind(chains[index][-1][1], kind),
        )

    return score


# --------------------------------------------------------------------------- the import


def run_import(
    session: Session,
    lines: Iterable[str],
    *,
    fmt: str,
    dry_run: bool = False,
    on_error: str = "abort",
    on_conflict: str = "keep",
    sheet: str = "upload.csv",
    progress: Callable[[int], None] | None = None,
    max_rows: int | None = None,
) -> ImportReport:
    """Import a CSV in one transaction; commits only when something should be written.

    Each row's document is validated exactly as POST /incidents validates it (the document's
    definition, loaded by app/fast/load.py), and compared with the document the API shows to
    tell an update from an unchanged row. `lines` is read as it comes: a native file is read,
    validated and written a batch at a time, so memory holds one batch, not the file.

    `sheet` is the file's name, recorded in the provenance of what the import writes
    (`stop:<sheet>#<row>`); `on_conflict="sheet"` lets a STOP sheet overwrite the fields editors
    changed since it last wrote them (by default they are kept and reported: app/services/curation.py).

    Imports into one database run one at a time (`locks.one_import_at_a_time`): two imports of
    the same file create each incident once. Raises TooManyRows past `max_rows` data rows and
    UnreadableFile for a file that is not CSV text, after rolling back.
    """
    report = ImportReport(format=fmt, dry_run=dry_run, on_error=on_error, on_conflict=on_conflict)
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
            apply(session, loaded, report, progress, sheet)
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
        self.ids: list[int] = []  # of the incidents created so far, in the order added

    def add(self, data: dict) -> int:
        """Queue a new incident; returns its position (its id is `ids[position]` after `flush`)."""
        self.pending.append(data)
        position = len(self.ids) + len(self.pending) - 1
        if len(self.pending) >= CREATE_BATCH:
            self.flush()
        return position

    def flush(self) -> None:
        self.ids += bulk_create.bulk_create(self.session, self.pending)
        self.pending = []


def _write(
    session: Session,
    incident: Incident | None,
    candidate: Candidate,
    data: dict,
    report: ImportReport,
    creates: _Creates,
    origin: str,
) -> None:
    """A new incident, or a row at its incident's revision (or with no revision) applied to it:
    only the fields the file has columns for (a column the file leaves out keeps its value)."""
    if incident is None:
        creates.add({**data, "provenance": origin})
        report.created += 1
        return
    given = {name: value for name, value in data.items() if name in candidate.fields}
    if "status" in candidate.fields and not given.get("status"):  # an empty cell: its end date's
        given["status"] = default_status(given.get("end_date", incident.end_date))
    before = incident_document(incident)
    try:
        incident_service.apply_document(incident, _keeping_others_records(incident, given), partial=True)
    except incident_service.RuleError as error:
        report.errors += [
            RowError(candidate.row, column, message) for column, message in _messages(error.messages)
        ]
        return
    _stamp_new_children(incident, origin)
    _count_change(session, incident, before, report)


def _sources_by_url(incident: Incident, data: dict) -> dict:
    """A row whose sources are its source_urls (items with a URL alone), matched by URL with
    the incident's sources: a stored source whose URL is listed stays as it is (by id), and so
    does one that no native import brought (an editor's); a URL it has no source for is added
    once."""
    if "sources" not in data:
        return data
    urls = [item["url"] for item in data["sources"]]
    kept = [
        {"id": record.id, **{key: getattr(record, key) for key in _CHILD_CONTENT["sources"]}}
        for record in incident.sources
        if record.url in urls or not provenance.is_from(record, provenance.NATIVE)
    ]
    known = {record.url for record in incident.sources}
    added, seen = [], set()
    for item in data["sources"]:
        if item["url"] not in known and item["url"] not in seen:
            seen.add(item["url"])
            added.append(item)
    return {**data, "sources": kept + added}


def _merge(
    session: Session,
    incident: Incident,
    candidate: Candidate,
    data: dict,
    base: dict,
    report: ImportReport,
    origin: str,
) -> None:
    """A row exported before the incident's latest change, merged with it (app/services/curation.py)."""
    before = incident_document(incident)
    given = {name: value for name, value in data.items() if name in candidate.fields}
    writes, conflicts = curation.native_writes(
        incident, before, base, given, candidate.row, report.on_conflict
    )
    report.conflicts += conflicts
    if writes:
        incident_service.apply_document(incident, _keeping_others_records(incident, writes), partial=True)
        _stamp_new_children(incident, origin)
    _count_change(session, incident, before, report)


def _keeping_others_records(incident: Incident, data: dict) -> dict:
    """A native row's document, with the child records it leaves out that no native import
    brought (an editor's statements, court cases, sources) listed by id: they stay."""
    data = dict(data)
    for name in incident_service.CHILD_MODELS:
        if name in data:
            data[name] = [*data[name], *_left_out(getattr(incident, name), data[name], _CHILD_CONTENT[name])]
    return data


def _left_out(records: list[Any], items: list[dict], columns: list[str]) -> list[dict]:
    """The records (as items with their ids) that the items neither name nor repeat, and that no
    native import brought."""
    named = {item.get("id") for item in items}
    listed = [{key: item.get(key) for key in columns} for item in items]
    kept = []
    for record in records:
        content = {key: getattr(record, key) for key in columns}
        if (
            record.id not in named
            and content not in listed
            and not provenance.is_from(record, provenance.NATIVE)
        ):
            kept.append({"id": record.id, **content})
    return kept


# A child record's own fields (what a row can give), by child list.
_CHILD_CONTENT = {
    name: [
        column.key
        for column in model.__table__.columns
        if column.key not in ("id", "incident_id", "provenance", "provenance_at")
    ]
    for name, model in incident_service.CHILD_MODELS.items()
}


def _count_change(session: Session, incident: Incident, before: dict, report: ImportReport) -> None:
    """An update or an unchanged incident, by its document before and after."""
    if incident_document(incident) == before:
        report.unchanged += 1
    else:
        revisions.record(session, incident, "update", before)
        report.updated += 1


def _stamp_new_children(incident: Incident, origin: str) -> None:
    """The provenance of the child records a row added (the others keep theirs)."""
    for name in incident_service.CHILD_MODELS:
        for child in getattr(incident, name):
            if child.provenance is None:
                child.provenance = origin


def _tick(session: Session, done: int, progress: Callable[[int], None] | None) -> None:
    if done % FLUSH_EVERY == 0:
        session.flush()
    if progress is not None:
        progress(1)


def _apply_native(session, loaded, report, progress, sheet: str) -> None:
    creates = _Creates(session)
    existing = _native_existing(session, {c.incident_id for c, _ in loaded if c.incident_id is not None})
    bases = _native_bases(session, loaded, existing)
    for done, (candidate, data) in enumerate(loaded, start=1):
        incident = existing.get(candidate.incident_id) if candidate.incident_id is not None else None
        base = bases.get((candidate.incident_id, candidate.expected_revision))
        refusal = _native_refusal(candidate, incident, base)
        origin = provenance.from_sheet(provenance.NATIVE, sheet, candidate.row)
        if incident is not None and candidate.urls_only:
            data = _sources_by_url(incident, data)
        if refusal is not None:
            report.errors.append(refusal)
        elif base is not None:
            _merge(session, incident, candidate, data, base, report, origin)
        else:
            # An id this database does not know (a file from another instance, an empty
            # database, or above any id it can hold) creates a new incident: ids are assigned
            # by the server.
            _write(session, incident, candidate, data, report, creates, origin)
        _tick(session, done, progress)
    creates.flush()


def _native_bases(
    session: Session, loaded: list[tuple[Candidate, dict]], existing: dict[int, Incident]
) -> dict[tuple[int, int], dict]:
    """The stored documents of the revisions that rows were exported at, for the rows whose
    incident has changed since (by incident id and revision)."""
    wanted = set()
    for candidate, _ in loaded:
        incident = existing.get(candidate.incident_id) if candidate.incident_id is not None else None
        if incident is not None and (candidate.expected_revision or incident.revision) < incident.revision:
            wanted.add((incident.id, candidate.expected_revision))
    return revisions.documents_at(session, wanted) if wanted else {}


def _native_existing(session: Session, ids: set[int]) -> dict[int, Incident]:
    """The incidents (deleted ones too) that the rows name by id (an id above MAX_ID names none)."""
    ordered = sorted(id_ for id_ in ids if id_ <= MAX_ID)
    existing: dict[int, Incident] = {}
    for offset in range(0, len(ordered), 500):
        stmt = (
            sa.select(Incident)
            .where(Incident.id.in_(ordered[offset : offset + 500]))
            .options(*incident_service.EAGER)
        )
        existing.update({incident.id: incident for incident in session.scalars(stmt)})
    return existing


def _native_refusal(candidate: Candidate, incident: Incident | None, base: dict | None) -> RowError | None:
    """Why a row may not update its incident: the incident is deleted, or it has no revision
    of the row's number to merge the row with."""
    if incident is None:
        return None
    if incident.deleted_at is not None:
        return RowError(candidate.row, "id", f"Incident {incident.id} was deleted; restore it first.")
    revision = candidate.expected_revision
    if revision is not None and revision != incident.revision and base is None:
        return RowError(
            candidate.row,
            "revision",
            f"Incident {incident.id} has no revision {revision} (it is at revision "
            f"{incident.revision}): this row was not exported from it. Export it again, or empty "
            "the row's revision cell to let the row's values win.",
        )
    return None


def _stop_chains(loaded: list[tuple[Candidate, dict]]) -> list[list[tuple[Candidate, dict]]]:
    """The rows that are one shutdown re-issued in later yearly sheets (app/services/stop_matching.py),
    each chain in sheet-year order."""
    grouped = stop_matching.chains([(candidate.count_year, data) for candidate, data in loaded])
    return [[loaded[index] for index in chain] for chain in grouped]


def _stop_record(sheet: str, candidate: Candidate, *, whole: bool) -> dict[str, Any]:
    """A row's record in the incident's `stop_rows`: its cells that no field holds (every
    cell when the incident does not hold the row's values: `whole`)."""
    return {
        "sheet": sheet,
        "row": candidate.row,
        "count_year": candidate.count_year or None,
        "cells": dict(candidate.row_cells if whole else candidate.cells),
    }


def _record_content(record: dict) -> tuple:
    return record["row"], record["count_year"], tuple(sorted(record["cells"].items()))


def _merged_records(stored: list[dict] | None, new: list[dict]) -> list[dict]:
    """The incident's row records with the new ones: a record of the same sheet and row is
    replaced; a stored record of the same content (the same sheet under another name, as a
    browser names a re-download: `stop (1).csv`) is kept instead of the new one, so importing
    the same sheet again changes nothing."""
    by_content = {_record_content(record): record for record in stored or ()}
    chosen = [by_content.get(_record_content(record), record) for record in new]
    keys = {(record["sheet"], record["row"]) for record in new}
    contents = {_record_content(record) for record in new}
    kept = [
        record
        for record in stored or ()
        if (record["sheet"], record["row"]) not in keys and _record_content(record) not in contents
    ]
    return sorted(
        [*kept, *chosen], key=lambda record: (record["count_year"] or 0, record["sheet"], record["row"])
    )


def _chain_sources(chain: list[tuple[Candidate, dict]], sheet: str) -> list[tuple[dict, str]]:
    """Every source of the chain's rows (the latest row's first), each URL once, with the
    provenance of the row that brought it."""
    sources: dict[str, tuple[dict, str]] = {}
    for candidate, data in reversed(chain):
        origin = provenance.from_sheet(provenance.STOP, sheet, candidate.row)
        for item in data.get("sources") or ():
            sources.setdefault(item["url"], (item, origin))
    return list(sources.values())[:SOURCES_PER_INCIDENT]


def _flag_territories(chain: list[tuple[Candidate, dict]], report: ImportReport) -> None:
    for candidate, data in chain:
        if candidate.territory:
            report.notes.append(
                RowError(
                    candidate.row,
                    "country",
                    f"'{candidate.territory}' has no ISO 3166-1 code: recorded under {data['country']}, "
                    f"the country that contains it, with the territory named in the area.",
                )
            )


def _apply_stop(session, loaded, report, progress, sheet: str) -> None:
    """Each shutdown once: its rows of every yearly sheet merged (the latest sheet's values, the
    links of all), matched to the stored incident of the same shutdown, which is updated only
    where the sheet owns it (app/services/curation.py)."""
    chains = _stop_chains(loaded)
    targets = _stop_targets(chains, _stop_existing(session, loaded))
    creates = _Creates(session)
    new_merges: list[tuple[int, list[int]]] = []
    for done, chain in enumerate(chains, start=1):
        target = targets.get(done - 1)
        rows = [candidate.row for candidate, _ in chain]
        if target is None:
            position = _create_from_chain(chain, sheet, creates)
            report.created += 1
            if len(chain) > 1:
                new_merges.append((position, rows))
        elif target.deleted_at is not None:
            report.unchanged += 1
            report.notes.append(
                RowError(
                    chain[-1][0].row,
                    "row",
                    f"The same shutdown as incident {target.id}, which was deleted: left out (restore "
                    "the incident to let the sheet update it).",
                )
            )
        else:
            _update_from_chain(session, target, chain, sheet, report)
            if len(chain) > 1:
                report.merges.append(Merge(target.id, rows))
        _flag_territories(chain, report)
        report.merged += len(chain) - 1
        _tick(session, done, progress)
    creates.flush()
    report.merges += [Merge(creates.ids[position], rows) for position, rows in new_merges]
    report.merges.sort(key=lambda merge: merge.rows)
    report.notes.sort(key=lambda note: (note.row, note.column))


def _create_from_chain(chain: list[tuple[Candidate, dict]], sheet: str, creates: _Creates) -> int:
    latest, data = chain[-1]
    origin = provenance.from_sheet(provenance.STOP, sheet, latest.row)
    sources = _chain_sources(chain, sheet)
    document = {
        **data,
        "acknowledgements": curation.stamp(data.get("acknowledgements") or [], origin),
        "sources": [{**item, "provenance": item_origin} for item, item_origin in sources],
        "stop_rows": _merged_records(
            None, [_stop_record(sheet, candidate, whole=candidate is not latest) for candidate, _ in chain]
        ),
        "import_state": curation.new_state(data, [item["url"] for item, _ in sources]),
        "provenance": provenance.from_sheet(provenance.STOP, sheet, chain[0][0].row),
    }
    return creates.add(document)


def _update_from_chain(
    session: Session,
    incident: Incident,
    chain: list[tuple[Candidate, dict]],
    sheet: str,
    report: ImportReport,
) -> None:
    latest, data = chain[-1]
    before = incident_document(incident)
    update = curation.SheetUpdate(incident, data, latest.row, report.on_conflict)
    conflicts = update.apply(
        provenance.from_sheet(provenance.STOP, sheet, latest.row), _chain_sources(chain, sheet)
    )
    records = [
        _stop_record(sheet, candidate, whole=candidate is not latest or bool(conflicts))
        for candidate, _ in chain
    ]
    incident.stop_rows = _merged_records(incident.stop_rows, records)
    report.conflicts += conflicts
    _count_change(session, incident, before, report)
