"""What a STOP re-import may change on a stored incident: only what the sheet owns.

The sheet owns the fields its rows fill (not `asns`, not court cases) and the statements it
brought (provenance `stop:…`). For each owned field the import keeps, in the incident's
`import_state`, the value it last wrote. At the next import a field is written only when its
stored value is still that one (nobody changed it since); a field an editor changed (or that the
import never wrote: an incident an editor made) is left alone and reported as a conflict, unless
the caller lets the sheet win (`on_conflict="sheet"`). The sheet's statements are handled as one
such field. Records the import did not bring (an editor's statements, court cases) are never
removed or replaced; sources are only ever added (every merged row's links are kept), except
one an editor removed after the sheet wrote it: the import remembers the URLs it wrote, and
such a one is a conflict (`sources`). Country and start date are kept there too: the import
finds the incident by them, so an editor's correction of either is a conflict as well.

A native row (the API's own export, edited and sent back) says which revision it was exported
at: where the incident has changed since, the row is merged field by field with that revision's
stored document as the base (`native_writes`): what only the file changed is taken, what only an
editor changed stays, and a field both changed is a conflict of the same kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from app.document.build import incident_document
from app.document.rules import default_status, incident_rule_errors
from app.models import Acknowledgement, Incident, Source
from app.services import incidents as incident_service
from app.services import provenance

ON_CONFLICT = ("keep", "sheet")
# The fields that identify a shutdown: the import finds an incident by the values it last wrote
# there (an editor may have corrected them since: then a conflict, not a new incident).
KEY_FIELDS = ("country", "start_date")
# Fields a STOP row fills.
OWNED_FIELDS = (
    "title",
    "description",
    "area",
    "scope",
    "shutdown_types",
    "networks",
    "platforms",
    "start_date_estimated",
    "end_date",
    "status",
    "ordered_by",
    "decision_maker",
    "actual_cause",
    "actual_cause_details",
    "official_justification",
    "justification_details",
    "legal_basis",
    "legal_basis_details",
    "election_related",
    "violence_reported",
    "human_rights_abuse_reported",
    "telcos",
)
STATEMENTS = "acknowledgements"
# Fields that the cross-field rules tie together: kept or written as one.
RULE_FIELDS = ("start_date", "end_date", "status", "shutdown_types", "platforms")
# A statement's content, as compared between the sheet, the database and the last import.
STATEMENT_FIELDS = (
    "actor",
    "actor_type",
    "stance",
    "date",
    "channel",
    "justification",
    "quote",
    "source_url",
)
SORTED_LISTS = ("shutdown_types", "networks", "platforms")
# The import state's list of the source URLs the sheet wrote (an editor may remove one since).
SOURCES = "sources"


@dataclass
class Conflict:
    """A field an editor changed since the sheet last wrote it: left as stored."""

    row: int
    incident: int
    field: str
    stored: Any
    sheet: Any


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def field_value(name: str, value: Any) -> Any:
    """A loaded value as the document shows it (dates as text, value lists sorted)."""
    if name in SORTED_LISTS:
        return sorted(value or ())
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return _plain(value)


def statement_content(statement: Any) -> dict[str, Any]:
    get = statement.get if isinstance(statement, dict) else lambda key: getattr(statement, key)
    return {key: _plain(get(key)) for key in STATEMENT_FIELDS}


def _sorted_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(statements, key=lambda item: sorted((k, str(v)) for k, v in item.items()))


def new_state(data: dict[str, Any], source_urls: list[str]) -> dict[str, Any]:
    """The import state of an incident the import creates from `data` (a loaded document) with
    these sources."""
    return {
        "values": {name: field_value(name, data.get(name)) for name in (*KEY_FIELDS, *OWNED_FIELDS)},
        STATEMENTS: _sorted_statements([statement_content(item) for item in data.get(STATEMENTS) or ()]),
        SOURCES: sorted(set(source_urls)),
    }


def sheet_key(incident: Incident) -> tuple[Any, Any] | None:
    """(country, start date) as the sheet last wrote them on the incident (None: not known)."""
    values = (incident.import_state or {}).get("values") or {}
    return (values.get("country"), values.get("start_date")) if "start_date" in values else None


def without_rule_breaks(incident: Incident, writes: dict[str, Any]) -> list[str]:
    """A sheet's dates, status, types and platforms only make sense together: when writing only
    some of them would break a cross-field rule on the stored incident, none is written (they
    are removed from `writes`, and returned to be reported as conflicts)."""
    if not writes or not incident_rule_errors({**incident_service.current_values(incident), **writes}):
        return []
    kept = [name for name in RULE_FIELDS if name in writes]
    for name in kept:
        del writes[name]
    return kept


def stamp(items: list[dict[str, Any]], origin: str) -> list[dict[str, Any]]:
    """Child items with their provenance."""
    return [{**item, "provenance": origin} for item in items]


_NEVER = object()  # the import never wrote this field


def verdict(stored: Any, sheet: Any, last: Any, on_conflict: str) -> str:
    """`agree` (already the sheet's), `write` (nobody changed what the import last wrote, or the
    sheet wins) or `conflict` (an editor's value: left as stored)."""
    if stored == sheet:
        return "agree"
    if on_conflict == "sheet" or (last is not _NEVER and last == stored):
        return "write"
    return "conflict"


class SheetUpdate:
    """One chain of rows (the latest sheet's row last) applied to a stored incident."""

    def __init__(self, incident: Incident, data: dict[str, Any], row: int, on_conflict: str) -> None:
        self.incident, self.data, self.row, self.on_conflict = incident, data, row, on_conflict
        self.state = incident.import_state or {}
        self.conflicts: list[Conflict] = []

    def apply(self, origin: str, sources: list[tuple[dict[str, Any], str]]) -> list[Conflict]:
        """Write what the sheet may write; returns the conflicts (fields left as stored)."""
        stored = incident_document(self.incident)
        writes, written = self._field_writes(stored)
        statements_state = self._statements(origin)
        if writes:
            incident_service.apply_document(self.incident, writes, partial=True)
        sources_state = self._add_sources(sources)
        values = dict(self.state.get("values") or {})
        values.update({name: field_value(name, self.data.get(name)) for name in written})
        self.incident.import_state = {"values": values, STATEMENTS: statements_state, SOURCES: sources_state}
        self.incident.refresh_derived()
        return self.conflicts

    def _conflict(self, name: str, stored: Any, sheet: Any) -> None:
        self.conflicts.append(Conflict(self.row, self.incident.id, name, stored, sheet))

    def _field_writes(self, stored: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The owned fields to write, and those whose stored value is now the sheet's."""
        last = self.state.get("values")
        writes: dict[str, Any] = {}
        agreed: list[str] = []
        for name in (*KEY_FIELDS, *OWNED_FIELDS):
            sheet = field_value(name, self.data.get(name))
            outcome = verdict(stored[name], sheet, (last or {}).get(name, _NEVER), self.on_conflict)
            if outcome == "agree":
                agreed.append(name)
            elif outcome == "write":
                writes[name] = self.data.get(name)
            else:
                self._conflict(name, stored[name], sheet)
        for name in without_rule_breaks(self.incident, writes):
            self._conflict(name, stored[name], field_value(name, self.data.get(name)))
        return writes, [*agreed, *writes]

    def _statements(self, origin: str) -> list[dict[str, Any]] | None:
        """Replace the sheet's own statements when nobody changed them; returns the new state
        (None while the import has never written them: an editor's incident)."""
        owned = [s for s in self.incident.acknowledgements if provenance.is_from(s, provenance.STOP)]
        current = _sorted_statements([statement_content(s) for s in owned])
        items = self.data.get(STATEMENTS) or []
        sheet = _sorted_statements([statement_content(item) for item in items])
        last = self.state.get(STATEMENTS)
        outcome = verdict(current, sheet, _NEVER if last is None else last, self.on_conflict)
        if outcome == "conflict":
            self._conflict(STATEMENTS, current, sheet)
            return last
        if outcome == "write":
            self._replace_statements(owned, items, origin)
        return sheet

    def _replace_statements(
        self, owned: list[Acknowledgement], items: list[dict[str, Any]], origin: str
    ) -> None:
        for statement in owned:
            self.incident.acknowledgements.remove(statement)
        for item in items:
            values = {key: value for key, value in item.items() if key != "id"}
            self.incident.acknowledgements.append(Acknowledgement(**values, provenance=origin))

    def _add_sources(self, sources: list[tuple[dict[str, Any], str]]) -> list[str]:
        """Add the sheet's sources new to the sheet (by URL); never remove one. A URL the sheet
        wrote before that the incident no longer has (an editor removed it) is a conflict: added
        back only when the sheet wins. Returns the URLs the sheet has written."""
        known = {source.url for source in self.incident.sources}
        written = self.state.get(SOURCES)
        if written is None:  # an import before this was kept: the sheet's sources still there
            written = [s.url for s in self.incident.sources if provenance.is_from(s, provenance.STOP)]
        removed = [item["url"] for item, _ in sources if item["url"] not in known and item["url"] in written]
        if removed and self.on_conflict != "sheet":
            self._conflict(SOURCES, sorted(known), sorted(removed))
        for item, origin in sources:
            if item["url"] not in known and (item["url"] not in removed or self.on_conflict == "sheet"):
                known.add(item["url"])
                values = {key: value for key, value in item.items() if key not in ("id", "provenance")}
                self.incident.sources.append(Source(**values, provenance=origin))
        return sorted({*written, *(item["url"] for item, _ in sources)})


# --------------------------------------------------------------------------- native rows

VALUE_LISTS = (*SORTED_LISTS, "asns")
CHILD_LISTS = ("acknowledgements", "legal_cases", "sources")
# What the server sets on a child record: not part of what a row can change.
CHILD_SERVER_KEYS = ("id", "provenance", "provenance_at")


def _record_content(record: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(value) for key, value in record.items() if key not in CHILD_SERVER_KEYS}


def compared(name: str, value: Any) -> Any:
    """A field's value as a row (loaded), the stored document and a revision's document are
    compared: dates as text, value lists sorted, a child list as its records' contents (ids
    and provenance aside) in a stable order."""
    if name in CHILD_LISTS:
        return _sorted_statements([_record_content(record) for record in value or ()])
    if name in VALUE_LISTS:
        return sorted(value or ())
    return field_value(name, value)


def native_writes(
    incident: Incident,
    stored: dict[str, Any],
    base: dict[str, Any],
    data: dict[str, Any],
    row: int,
    on_conflict: str,
) -> tuple[dict[str, Any], list[Conflict]]:
    """A native row (`data`: the fields its file's columns give) exported at an earlier
    revision (whose stored document is `base`), merged with the incident as it is now
    (`stored`: its document), field by field: the fields to write (a partial document), and
    the conflicts.

    A field the row leaves as it was exported keeps its stored value; a field nobody changed
    since the export takes the row's; a field both changed, differently, is a conflict: kept
    as stored unless `on_conflict="sheet"`. A child list (statements, court cases, sources)
    counts as one field: an editor's court case added since the export stays."""
    if "status" in data:  # an empty cell: the status its end date gives, as in a whole write
        data = {**data, "status": data["status"] or default_status(data.get("end_date"))}
    writes: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    for name, value in data.items():
        sheet, was, now = compared(name, value), compared(name, base.get(name)), compared(name, stored[name])
        if sheet in (was, now):
            continue  # the file did not change it, or it already holds the file's value
        if now == was or on_conflict == "sheet":
            writes[name] = value
        else:
            conflicts.append(Conflict(row, incident.id, name, now, sheet))
    for name in without_rule_breaks(incident, writes):
        now, sheet = compared(name, stored[name]), compared(name, data[name])
        conflicts.append(Conflict(row, incident.id, name, now, sheet))
    return writes, conflicts
