"""Reading an import's file: its header checked, its rows as candidate documents, counted and
capped, read as they come (app/services/importer.py matches and writes them)."""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from app.services import csv_format, stop_format
from app.services.stop_format import RowError
from app.services.uploads import UnreadableFile

# Columns of the native CSV that the server computes: present in exports, ignored on import.
NATIVE_IGNORED = {name for name, kind in csv_format.COLUMNS if kind == "derived"} | {"source_urls"}
NATIVE_REQUIRED = ("title", "country", "start_date", "shutdown_types")

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


def row_messages(errors: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """marshmallow's nested messages → (column, message) pairs."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            if prefix:
                yield from ((column, f"{key}: {message}") for column, message in row_messages(value, prefix))
            else:
                yield from row_messages(value, str(key))
    elif isinstance(errors, list):
        for message in errors:
            if isinstance(message, (dict, list)):
                yield from row_messages(message, prefix)
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
