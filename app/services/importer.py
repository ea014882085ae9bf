"""Bulk import of incidents from CSV: the native format (the export's own columns) and the
Access Now STOP sheet. All or nothing by default; `on_error="skip"` writes the valid rows; a
dry run reports what would happen. Every write goes through the same service functions as the
API, so revisions, derived fields and validation are identical.
"""

from __future__ import annotations

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
from app.services import curation, locks, provenance, revisions, stop_matching
from app.services import incidents as incident_service
from app.services import platforms as platform_service
from app.services.import_rows import (
    Candidate,
    Reading,
    TooManyRows,
    native_batches,
    row_messages,
    stop_candidates,
)
from app.services.stop_format import RowError
from app.services.uploads import UnreadableFile

FORMATS = ("native", "stop")
ON_ERROR = ("abort", "skip")
ON_CONFLICT = curation.ON_CONFLICT
FLUSH_EVERY = 500
SOURCES_PER_INCIDENT = max_items(IncidentSchema, "sources")
CREATE_BATCH = 5000


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
                RowError(candidate.row, column, message) for column, message in row_messages(error.messages)
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
            RowError(candidate.row, column, message) for column, message in row_messages(error.messages)
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
