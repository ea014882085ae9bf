"""The list's sort keys and keyset cursors: the total order (sort key, then id) a page follows."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from app import vocab
from app.models import Incident
from app.models.incident import today_utc
from app.services.sqlfunc import days_between


def duration_expr() -> sa.ColumnElement[int]:
    """SQL twin of Incident.duration_days, for sorting."""
    end = sa.case(
        (Incident.end_date.is_not(None), Incident.end_date),
        (Incident.status == "ongoing", sa.literal(today_utc(), sa.Date)),
        else_=sa.null(),
    )
    return days_between(Incident.start_date, end) + 1


# Only these can be empty; NULLS LAST on a NOT NULL key would stop PostgreSQL walking its index.
NULLABLE_SORTS = ("end_date", "duration_days")
DEFAULT_SORT = "-start_date"

SORTS: dict[str, Callable[[], sa.ColumnElement[Any]]] = {
    "start_date": lambda: Incident.start_date,
    "end_date": lambda: Incident.end_date,
    "duration_days": duration_expr,
    "updated_at": lambda: Incident.updated_at,
    "country": lambda: Incident.country,
}


# --------------------------------------------------------------------------- keyset paging
#
# A cursor names the last incident of a page by its sort value and id; the next page is what
# comes after that position in the same total order (sort key, then id), read from the index
# at once however deep: no OFFSET walking the rows before it. Opaque to clients (base64url of
# JSON), checked on the way back in.


class CursorError(ValueError):
    """A cursor that cannot be used; the message is shown to the client."""


def _cursor_date(value: Any) -> date:
    return date.fromisoformat(value)


def _cursor_moment(value: Any) -> datetime:
    """A timestamp with its offset: a naive one cannot be placed among stored ones."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(value)
    return parsed


def _cursor_days(value: Any) -> int:
    """A duration that fits the database's integer (a JSON number may not)."""
    if type(value) is not int or abs(value) >= 2**31:
        raise ValueError(value)
    return value


def _cursor_text(value: Any) -> str:
    """A country code as a cursor may carry it: a short string the database can bind."""
    if type(value) is not str or len(value) > 200 or "\x00" in value:
        raise ValueError(value)
    return value


# How each sort's value is read back from a cursor (TypeError or ValueError: it cannot be).
CURSOR_READERS: dict[str, Callable[[Any], Any]] = {
    "start_date": _cursor_date,
    "end_date": _cursor_date,
    "updated_at": _cursor_moment,
    "duration_days": _cursor_days,
}


def _cursor_value(name: str, value: Any) -> Any:
    """A sort value as the cursor carries it (JSON) → as the database compares it."""
    if value is None:
        if name not in NULLABLE_SORTS:
            raise CursorError("This cursor is not valid: its position has no value.")
        return None
    try:
        return CURSOR_READERS.get(name, _cursor_text)(value)
    except (TypeError, ValueError) as error:
        raise CursorError("This cursor is not valid: its position cannot be read.") from error


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def encode_cursor(sort: str, value: Any, incident_id: int) -> str:
    """The cursor of the position (`value`, `incident_id`) in `sort` order."""
    payload = orjson.dumps([sort, _json_value(value), incident_id])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    """(sort value, id) of a cursor made for `sort`; CursorError when it is not one."""
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError) as error:
        raise CursorError("This cursor is not valid: pass on the `after` value a response gave.") from error
    if not (isinstance(payload, list) and len(payload) == 3 and payload[0] in vocab.INCIDENT_SORTS):
        raise CursorError("This cursor is not valid: pass on the `after` value a response gave.")
    made_for, value, incident_id = payload
    if made_for != sort:
        raise CursorError(f"This cursor belongs to sort={made_for}; ask with that sort, or start over.")
    if type(incident_id) is not int or not 0 < incident_id < 2**31:
        raise CursorError("This cursor is not valid: its position cannot be read.")
    return _cursor_value(sort.lstrip("-"), value), incident_id


def sort_key(sort: str) -> sa.ColumnElement[Any]:
    """The expression a sort orders by (without the id that breaks ties)."""
    return SORTS[sort.lstrip("-")]()


def after_condition(sort: str, value: Any, incident_id: int) -> sa.ColumnElement[bool]:
    """Incidents after the position (`value`, `incident_id`) in `order_clauses(sort)` order:
    (key, id) beyond the position, empty keys last in both directions."""
    descending, name = sort.startswith("-"), sort.lstrip("-")
    key = sort_key(sort)
    if value is None:  # already among the empty values, ordered by id
        return sa.and_(key.is_(None), Incident.id < incident_id if descending else Incident.id > incident_id)
    position = sa.tuple_(key, Incident.id)
    beyond = (
        position < sa.tuple_(value, incident_id) if descending else position > sa.tuple_(value, incident_id)
    )
    return sa.or_(beyond, key.is_(None)) if name in NULLABLE_SORTS else beyond
