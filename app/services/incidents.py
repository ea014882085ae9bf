"""Incident queries and writes: filters, sorting, and applying a document to the model."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app import models
from app.db import utcnow
from app.document.rules import default_status, incident_rule_errors
from app.models import Incident
from app.services import revisions
from app.services.sorts import DEFAULT_SORT, NULLABLE_SORTS, SORTS
from app.services.sqlfunc import (
    FTS_TABLE,
    search_tokens,
    search_words,
    text_match,
    text_rank,
)

# Loaded with every incident, one query per relationship whatever the page size.
EAGER = (
    selectinload(Incident.platform_rows),
    selectinload(Incident.shutdown_type_rows),
    selectinload(Incident.network_rows),
    selectinload(Incident.asn_rows),
    selectinload(Incident.acknowledgements),
    selectinload(Incident.legal_cases),
    selectinload(Incident.sources),
)

COLLECTIONS = (
    "platform_rows",
    "shutdown_type_rows",
    "network_rows",
    "asn_rows",
    "acknowledgements",
    "legal_cases",
    "sources",
)

CHILD_MODELS = {
    "acknowledgements": models.Acknowledgement,
    "legal_cases": models.LegalCase,
    "sources": models.Source,
}


class RuleError(Exception):
    """A document that breaks a cross-field rule; `messages` is keyed by field."""

    def __init__(self, messages: dict[str, list[str]]):
        super().__init__(messages)
        self.messages = messages


# --------------------------------------------------------------------------- reads


def get_incident(session: Session, incident_id: int, *, for_update: bool = False) -> Incident | None:
    """One incident with its children. `for_update` locks its row (PostgreSQL) until commit, so two
    writers holding the same ETag are serialised and the second one sees the new revision (412)
    instead of both passing the check; SQLite writers are already serialised by BEGIN IMMEDIATE."""
    statement = sa.select(Incident).where(Incident.id == incident_id).options(*EAGER)
    if for_update:
        statement = statement.with_for_update(of=Incident)
    return session.scalars(statement).first()


SEARCHED_COLUMNS = (Incident.title, Incident.description, Incident.area, Incident.decision_maker)


def _any_of(relationship, column, values: Iterable[Any]) -> sa.ColumnElement[bool]:
    return relationship.any(column.in_(list(values)))


# Filters on a column of the incident: any of the values given.
VALUE_FILTERS = {
    "country": Incident.country,
    "status": Incident.status,
    "scope": Incident.scope,
    "ordered_by": Incident.ordered_by,
    "actual_cause": Incident.actual_cause,
    "official_justification": Incident.official_justification,
    "acknowledgement_status": Incident.acknowledgement_status,
    "litigation_status": Incident.litigation_status,
}

# Filters on a multi-valued field: any of its rows holds any of the values given.
VALUE_LIST_FILTERS = {
    "platform": (Incident.platform_rows, models.IncidentPlatform.platform_slug),
    "shutdown_type": (Incident.shutdown_type_rows, models.IncidentShutdownType.shutdown_type),
    "network": (Incident.network_rows, models.IncidentNetwork.network),
    "asn": (Incident.asn_rows, models.IncidentAsn.asn),
}


def _active_from(day: date) -> sa.ColumnElement[bool]:
    """Incidents still active on or after `day`. Ongoing incidents are open-ended; one that
    ended on an unknown day was at least active on its first day."""
    return sa.or_(
        Incident.end_date >= day,
        sa.and_(Incident.end_date.is_(None), Incident.status == "ongoing"),
        sa.and_(Incident.end_date.is_(None), Incident.start_date >= day),
    )


# Filters on a period: each takes the one day (or moment) given.
PERIOD_FILTERS: dict[str, Callable[[Any], sa.ColumnElement[bool]]] = {
    "active_to": lambda day: Incident.start_date <= day,
    "active_from": _active_from,
    "started_from": lambda day: Incident.start_date >= day,
    "started_to": lambda day: Incident.start_date <= day,
    "updated_since": lambda moment: Incident.updated_at >= moment,
}


def _text_condition(q: str) -> sa.ColumnElement[bool]:
    """Incidents that have every word of `q`, looked up in the full-text index."""
    tokens = search_tokens(q)
    if tokens:
        return text_match(search_words(tokens))
    # Only punctuation (say "%"): no word to look up in the index, so a plain scan.
    return sa.or_(*(column.icontains(q, autoescape=True) for column in SEARCHED_COLUMNS))


def filter_conditions(args: dict[str, Any], *, text: bool = True) -> list[sa.ColumnElement[bool]]:
    """WHERE clauses for the list filters: values OR-ed within a filter, filters AND-ed
    (without `q`'s when `text` is false: a caller that joins the full-text index itself)."""
    conditions = [column.in_(args[name]) for name, column in VALUE_FILTERS.items() if args.get(name)]
    conditions += [
        _any_of(relationship, column, args[name])
        for name, (relationship, column) in VALUE_LIST_FILTERS.items()
        if args.get(name)
    ]
    conditions += [condition(args[name]) for name, condition in PERIOD_FILTERS.items() if args.get(name)]
    if args.get("q") and text:
        conditions.append(_text_condition(args["q"]))
    return conditions


def order_clauses(sort: str | None, q: str | None = None) -> list[sa.ColumnElement[Any]]:
    """The sort asked for; without one, by relevance to `q` when searching, else newest first."""
    if sort is None:
        tokens = search_tokens(q) if q else []
        if tokens:
            return [text_rank(search_words(tokens)).asc(), Incident.start_date.desc(), Incident.id.desc()]
        sort = DEFAULT_SORT
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    key = SORTS[name]()
    ordered = key.desc() if descending else key.asc()
    if name in NULLABLE_SORTS:
        # Empty values last in both directions, on both databases (their defaults differ).
        ordered = ordered.nulls_last()
    return [ordered, Incident.id.desc() if descending else Incident.id.asc()]


def list_incidents(
    args: dict[str, Any], dialect: str, columns: Iterable[Any] | None = None, from_: Any = None
) -> sa.Select:
    """Rows of the incidents table (Core, not ORM objects; all columns or those given, from the
    table or from a join of it), filtered and in a total order."""
    selected = Incident.__table__.c if columns is None else columns
    tokens = search_tokens(args["q"]) if args.get("q") else []
    # By relevance on SQLite: join the FTS5 table once and sort on its rank, rather than look the
    # rank up per matching row (quadratic on a broad search); the join is then the text filter.
    relevance_join = bool(tokens) and not args.get("sort") and dialect == "sqlite"
    statement = (
        sa.select(*selected)
        .select_from(Incident.__table__ if from_ is None else from_)
        .where(Incident.deleted_at.is_(None), *filter_conditions(args, text=not relevance_join))
    )
    if relevance_join:
        fts = sa.table(FTS_TABLE, sa.column("rowid"), sa.column("rank"))
        return (
            statement.join(fts, fts.c.rowid == Incident.id)
            .where(sa.literal_column(FTS_TABLE).op("MATCH")(search_words(tokens)))
            .order_by(fts.c.rank, Incident.start_date.desc(), Incident.id.desc())
        )
    return statement.order_by(*order_clauses(args.get("sort"), args.get("q")))


# --------------------------------------------------------------------------- writes


# The document's multi-valued fields and the model of the rows each is kept in (the column
# holding the value is the field's own: models/incident.py, ValueList).
VALUE_LIST_ROWS = {
    "platforms": models.IncidentPlatform,
    "shutdown_types": models.IncidentShutdownType,
    "networks": models.IncidentNetwork,
    "asns": models.IncidentAsn,
}


def _sync_values(rows: list[Any], wanted: Iterable[Any], attr: str, row_model: type) -> None:
    """Make a collection of value rows hold exactly `wanted` (in `attr`), keeping rows that stay."""
    wanted_set = list(dict.fromkeys(wanted))
    for row in list(rows):
        if getattr(row, attr) not in wanted_set:
            rows.remove(row)
    present = {getattr(row, attr) for row in rows}
    for value in wanted_set:
        if value not in present:
            rows.append(row_model(**{attr: value}))
    # The order a GET shows (the relationship's order_by), so a write's response, its ETag and
    # the revision snapshot equal what a later GET returns.
    rows.sort(key=lambda row: getattr(row, attr))


def _sync_value_lists(incident: Incident, data: dict[str, Any]) -> None:
    """Give each multi-valued field the document names exactly the values it lists."""
    for name, row_model in VALUE_LIST_ROWS.items():
        if name in data:
            field = getattr(Incident, name)
            _sync_values(getattr(incident, field.rows), data[name], field.column, row_model)


def _write_fields(record: Any, values: dict[str, Any]) -> bool:
    """Set the fields that differ (an equal value leaves the record clean); whether any did."""
    changed = False
    for key, value in values.items():
        if getattr(record, key) != value:
            setattr(record, key, value)
            changed = True
    return changed


def _refuse_foreign_ids(name: str, items: list[dict[str, Any]], existing: dict[int, Any]) -> None:
    """An item's `id` must name one of this incident's records."""
    unknown = [item["id"] for item in items if item.get("id") is not None and item["id"] not in existing]
    if unknown:
        raise RuleError({name: [f"No record with id {unknown[0]} belongs to this incident."]})


def _take_identical(spare: list[Any], values: dict[str, Any]) -> Any | None:
    """The first spare record equal to `values` field for field, taken out of `spare`."""
    match = next(
        (child for child in spare if all(getattr(child, key) == value for key, value in values.items())),
        None,
    )
    if match is not None:
        spare.remove(match)
    return match


def _child_for(model: type, item: dict[str, Any], existing: dict[int, Any], spare: list[Any]) -> Any:
    """The record an item becomes: the one its `id` names, else an identical spare one, else a
    new one; with the item's fields written onto it."""
    values = {key: value for key, value in item.items() if key != "id"}
    child = existing[item["id"]] if item.get("id") is not None else _take_identical(spare, values)
    if child is None:
        return model(**values)
    _write_fields(child, values)
    return child


def _sync_children(
    incident: Incident, name: str, items: list[dict[str, Any]], *, reuse_identical: bool = True
) -> None:
    """Replace a child list: items with an `id` of this incident are updated, others added.

    An item without an `id` that equals an existing record field for field keeps that record
    (and its id), so sending the same list twice — a re-import, a PUT of a GET body without
    ids — changes nothing. A revert turns that off: it names the records to keep, and a new
    one must come after them.
    """
    collection = getattr(incident, name)
    existing = {child.id: child for child in collection}
    _refuse_foreign_ids(name, items, existing)
    claimed = {item["id"] for item in items if item.get("id") is not None}
    spare = [child for child in collection if child.id not in claimed] if reuse_identical else []
    keep = [_child_for(CHILD_MODELS[name], item, existing, spare) for item in items]
    # Existing records in id order, new ones after them (they get the next ids): the GET order.
    keep.sort(key=lambda child: (child.id is None, child.id or 0))
    if not collection:
        collection.extend(keep)
    elif keep != list(collection):
        collection[:] = keep


SCALAR_EXCLUDE = {*VALUE_LIST_ROWS, *CHILD_MODELS}


def current_values(incident: Incident) -> dict[str, Any]:
    """The rule-relevant fields of a stored incident, for checking a PATCH on the merged result."""
    return {
        "start_date": incident.start_date,
        "end_date": incident.end_date,
        "status": incident.status,
        "shutdown_types": incident.shutdown_types,
        "platforms": incident.platforms,
    }


def _check_patch(incident: Incident, data: dict[str, Any]) -> None:
    """A PATCH: an end date given without a status ends the incident (`data` says so too), and the
    rules hold on the stored incident merged with the change."""
    merged = {**current_values(incident), **data}
    if "end_date" in data and data["end_date"] is not None and "status" not in data:
        merged["status"] = data["status"] = "ended"
    errors = incident_rule_errors(merged)
    if errors:
        raise RuleError(errors)


def apply_document(
    incident: Incident, data: dict[str, Any], *, partial: bool = False, reuse_identical: bool = True
) -> None:
    """Write loaded, validated fields onto an incident (all of them, or only those given)."""
    if partial:
        _check_patch(incident, data)
    elif not data.get("status"):
        data["status"] = default_status(data.get("end_date"))
    for key, value in data.items():
        if key not in SCALAR_EXCLUDE:
            setattr(incident, key, value)
    _sync_value_lists(incident, data)
    for name in CHILD_MODELS:
        if name in data:
            _sync_children(incident, name, data[name], reuse_identical=reuse_identical)
    incident.refresh_derived()


def create_incident(session: Session, data: dict[str, Any]) -> Incident:
    # Every collection starts loaded and empty: left unset, each would be lazy-loaded (one
    # query and an autoflush per collection) when the revision snapshot reads it at commit.
    incident = Incident(telcos=[])
    for name in COLLECTIONS:
        set_committed_value(incident, name, [])
    apply_document(incident, data)
    session.add(incident)
    revisions.record(session, incident, "create")
    return incident


def replace(
    session: Session,
    incident: Incident,
    data: dict[str, Any],
    before: dict[str, Any],
    *,
    partial: bool = False,
    reverts: int | None = None,
) -> bool:
    """The write of PUT, PATCH and a revert: the document's fields onto the incident, and one
    more revision when its document changed (a write that changes nothing keeps the revision).
    `before` is its document as read; `reverts`, the number of the revision whose content this
    is (the new revision is a `revert`, and its changes note `revert`). Returns whether anything
    changed."""
    apply_document(incident, data, partial=partial, reuse_identical=reverts is None)
    if revisions.snapshot(incident) == before:
        return False
    note = None if reverts is None else {"revert": {"from": incident.revision, "to": reverts}}
    revisions.record(session, incident, "update" if reverts is None else "revert", before, note=note)
    return True


def revert(
    session: Session, incident: Incident, revision: models.IncidentRevision, before: dict[str, Any]
) -> bool:
    """Make a revision's content current again, children included, as a new revision (none when
    it is current already). Raises revisions.NotRevertible when today's definition of the
    document refuses that content."""
    child_ids = {name: {child.id for child in getattr(incident, name)} for name in CHILD_MODELS}
    data = revisions.revert_input(revision.document, child_ids)
    return replace(session, incident, data, before, reverts=revision.revision)


# --------------------------------------------------------------------------- child records


def find_child(incident: Incident, name: str, child_id: int) -> Any | None:
    """A child record of this incident (a child of another incident is not found)."""
    return next((child for child in getattr(incident, name) if child.id == child_id), None)


def add_child(session: Session, incident: Incident, name: str, values: dict[str, Any], before: dict) -> Any:
    child = CHILD_MODELS[name](**values)
    getattr(incident, name).append(child)
    _child_changed(session, incident, before)
    return child


def update_child(
    session: Session, incident: Incident, child: Any, values: dict[str, Any], before: dict
) -> bool:
    """Replace a child's fields; returns whether anything changed."""
    changed = _write_fields(child, values)
    if changed:
        _child_changed(session, incident, before)
    return changed


def remove_child(session: Session, incident: Incident, name: str, child: Any, before: dict) -> None:
    getattr(incident, name).remove(child)
    _child_changed(session, incident, before)


def _child_changed(session: Session, incident: Incident, before: dict) -> None:
    incident.refresh_derived()
    revisions.record(session, incident, "update", before)


# --------------------------------------------------------------------------- soft delete


def soft_delete(session: Session, incident: Incident, before: dict) -> None:
    incident.deleted_at = utcnow()
    revisions.record(session, incident, "delete", before)


def restore(session: Session, incident: Incident) -> None:
    incident.deleted_at = None
    revisions.record(session, incident, "restore")
