"""The cells of a STOP row that no field of its document holds as written.

No non-empty cell of the sheet is dropped: a cell is either held by the document the row became
(a field, a statement, a source, the description) or kept as written in the incident's
`stop_rows` record of that row. `held(column, cell, document)` says which, column by column;
`other_cells` lists the cells to keep. `duration` is not kept: the API recomputes it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from .parsing import clean_cell, clip, country_code, extract_urls, parse_date
from .tables import (
    AREA_MAX,
    COUNTRY_SEPARATORS,
    DECISION_MAKER_MAX,
    ENUM_COLUMNS,
    GEO_SCOPES,
    LONG_TEXT_MAX,
    NETWORK_ITEMS,
    PLATFORM_FLAGS,
    START_DATE_TYPES,
    UNINFORMATIVE_TARGETS,
    lookup_key,
)

# Recomputed by the API from the dates; the sheet year is a field of the row's record.
NOT_KEPT = frozenset({"duration", "count_year"})
# Free texts held by a field of their own, as written (unless cut at the field's limit).
TEXT_FIELDS = {
    "decision_maker": ("decision_maker", DECISION_MAKER_MAX),
    "actual_cause_details": ("actual_cause_details", LONG_TEXT_MAX),
    "gov_just_details": ("justification_details", LONG_TEXT_MAX),
    "legal_method": ("legal_basis_details", LONG_TEXT_MAX),
}
# Texts that the description carries.
DESCRIBED = ("event", "users_target_detail", "econ_impact")
SOURCE_CELLS = ("info_source_link", "an_link", "gov_ack_source", "telco_ack_source")
ACK_FLAGS = {"gov_ack": "government", "telco_ack": "telco"}
ACK_QUOTES = {"gov_ack_quote": "government", "telco_ack_quote": "telco"}
FLAG_SLUGS = dict(PLATFORM_FLAGS)
URL_RESIDUE = " \t\n;,|\"'()[]<>"


def other_cells(
    row: dict[str, str], document: dict[str, Any], *, territory: str | None = None
) -> dict[str, str]:
    """The row's non-empty cells (by column) that `document` does not hold as written."""
    kept: dict[str, str] = {}
    for column, raw in row.items():
        if not isinstance(column, str) or not isinstance(raw, str):
            continue
        column = column.strip()
        cell = clean_cell(raw)
        if not cell or column in NOT_KEPT:
            continue
        if held(column, cell, document) and not (column == "country" and territory):
            continue
        kept[column] = cell
    return kept


def all_cells(row: dict[str, str]) -> dict[str, str]:
    """Every non-empty cell of a row (but the recomputed ones): a row whose values the incident
    does not hold (a re-issue superseded by a later sheet, a row whose changes were kept out)."""
    cells = {}
    for column, raw in row.items():
        if isinstance(column, str) and isinstance(raw, str) and column.strip() not in NOT_KEPT:
            cell = clean_cell(raw)
            if cell:
                cells[column.strip()] = cell
    return cells


def held(column: str, cell: str, document: dict[str, Any]) -> bool:
    """Whether the document holds the cell's content (in the API's terms)."""
    check = _HOLDERS.get(column)
    return check is not None and check(cell, document)


def _text_field(field: str, limit: int) -> Callable[[str, dict[str, Any]], bool]:
    return lambda cell, document: document.get(field) == clip(cell, limit)


def _described(cell: str, document: dict[str, Any]) -> bool:
    return cell in (document.get("description") or "")


def _enum(field: str, table: dict[str, Any]) -> Callable[[str, dict[str, Any]], bool]:
    return lambda cell, document: table.get(lookup_key(cell)) == document.get(field)


def _quote(actor_type: str) -> Callable[[str, dict[str, Any]], bool]:
    def check(cell: str, document: dict[str, Any]) -> bool:
        quote = clip(cell, LONG_TEXT_MAX)
        return any(
            s.get("quote") == quote and s.get("actor_type") == actor_type
            for s in document.get("acknowledgements") or ()
        )

    return check


def _day(cell: str, document: dict[str, Any], field: str) -> bool:
    value, _ = parse_date(cell)
    stored = document.get(field)
    return value is not None and value.isoformat() == (
        stored.isoformat() if hasattr(stored, "isoformat") else stored
    )


def _networks(cell: str, document: dict[str, Any]) -> bool:
    items = [NETWORK_ITEMS.get(lookup_key(part)) for part in cell.split(",") if part.strip()]
    return None not in items and sorted(set(items)) == sorted(document.get("networks") or ())


def _users_targeted(cell: str, document: dict[str, Any]) -> bool:
    return lookup_key(cell) not in UNINFORMATIVE_TARGETS and cell.rstrip(".") in (
        document.get("description") or ""
    )


def _country(cell: str, document: dict[str, Any]) -> bool:
    """The document's country is one the cell names (a territory has no code of its own)."""
    return document.get("country") in {country_code(name.strip()) for name in COUNTRY_SEPARATORS.split(cell)}


_CHECKS: dict[str, Callable[[str, dict[str, Any]], bool]] = {
    "country": _country,
    "start_date": lambda cell, document: _day(cell, document, "start_date"),
    "end_date": lambda cell, document: _day(cell, document, "end_date"),
    "start_date_type": lambda cell, document: (
        START_DATE_TYPES.get(lookup_key(cell)) == document.get("start_date_estimated")
    ),
    "geo_scope": lambda cell, document: GEO_SCOPES.get(lookup_key(cell)) == document.get("scope"),
    "area_name": lambda cell, document: document.get("area") == clip(cell, AREA_MAX),
    "affected_network": _networks,
    "users_targeted": _users_targeted,
}


def _sources_hold(cell: str, document: dict[str, Any]) -> bool:
    """Every URL of the cell is a source, and the cell has nothing but URLs."""
    urls = extract_urls(cell)
    residue = cell
    for url in urls:
        residue = residue.replace(url, " ")
    if residue.strip(URL_RESIDUE):
        return False
    sources = {source.get("url") for source in document.get("sources") or ()}
    return bool(urls) and all(url in sources for url in urls)


def _flag_held(column: str, cell: str, document: dict[str, Any]) -> bool:
    """Yes: the platform is listed; No: it is not. Unknown is not No: kept as written."""
    value = lookup_key(cell)
    platforms = document.get("platforms") or ()
    slug = FLAG_SLUGS[column]
    if value == "yes":
        return slug in platforms or (slug == "x" and "twitter" in platforms)
    if value == "no":
        return slug not in platforms
    return False


def _ack_held(actor_type: str, cell: str, document: dict[str, Any]) -> bool:
    """Yes: an admission is recorded; No: a denial or no statement. Unknown is kept as written."""
    value = lookup_key(cell)
    stances = {
        s.get("stance") for s in document.get("acknowledgements") or () if s.get("actor_type") == actor_type
    }
    if value == "yes":
        return "acknowledged" in stances
    if value == "no":
        return "acknowledged" not in stances
    return False


__all__ = ["all_cells", "held", "other_cells"]


# How each column's cell is held, by column (a column without one is always kept as written).
_HOLDERS: dict[str, Callable[[str, dict[str, Any]], bool]] = {
    **{column: _enum(field, table) for column, field, table in ENUM_COLUMNS},
    **{column: _text_field(field, limit) for column, (field, limit) in TEXT_FIELDS.items()},
    **dict.fromkeys(DESCRIBED, _described),
    **dict.fromkeys(SOURCE_CELLS, _sources_hold),
    **{column: partial(_flag_held, column) for column in FLAG_SLUGS},
    **{column: partial(_ack_held, actor_type) for column, actor_type in ACK_FLAGS.items()},
    **{column: _quote(actor_type) for column, actor_type in ACK_QUOTES.items()},
    **_CHECKS,
}
