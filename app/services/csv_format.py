"""The native CSV format: one incident per row, columns in a fixed, documented order.

Export and import share this module so that export → import → export gives the same file.
Multi-valued fields are joined with "; "; inside an item of a text list, `;` is written `\\;` and a
backslash `\\\\`, so that an item holding a `;` (a telco "Jazz; Warid") comes back as one item
while a hand-made `a; b` still reads as two. The child records travel whole as compact JSON in
`acknowledgements`, `legal_cases` and `sources` (so nothing is lost), next to the
spreadsheet-friendly `acknowledgement_count`, `legal_case_count` and `source_urls`.

Formula injection (OWASP): a text cell that a spreadsheet would run — starting with `=`, `+`,
`-`, `@`, tab or carriage return — is written with a `'` in front. So that the prefix can be
removed exactly, a text cell that already starts with `'`s followed by one of those characters
gets one more `'`; the importer removes exactly one.
"""

from __future__ import annotations

import csv
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import marshmallow as ma
import orjson

from app.document.fields import CountryCode, Enum, Str
from app.document.schema import IncidentSchema

LIST_SEPARATOR = "; "
URL_SEPARATOR = " ; "
LIST_ESCAPE = "\\"

# Read-only fields that an import reads back: the id (a row with one updates that incident)
# and the revision it was exported at.
READ_BACK = ("id", "revision")
# Spreadsheet-friendly summaries of the child lists, placed before the lists themselves.
SUMMARIES = (("acknowledgement_count", "derived"), ("legal_case_count", "derived"), ("source_urls", "urls"))
SUMMARIES_BEFORE = "acknowledgements"


def _kind(name: str, field: ma.fields.Field) -> str:
    """How a document field is written as a cell. Kinds: text (escaped), enum, int, bool, date,
    list, intlist, json (child records), urls, derived (computed by the server)."""
    if name in READ_BACK:
        return "int"
    if field.dump_only:
        return "derived"
    if isinstance(field, ma.fields.List):
        inner = field.inner
        if isinstance(inner, ma.fields.Nested):
            return "json"
        return "intlist" if isinstance(inner, ma.fields.Integer) else "list"
    for kind, types in (("enum", (Enum, CountryCode)), ("text", (Str,)), ("date", (ma.fields.Date,))):
        if isinstance(field, types):
            return kind
    if isinstance(field, ma.fields.Boolean):
        return "bool"
    raise TypeError(f"No CSV kind for the field {name} ({type(field).__name__})")


def _columns() -> tuple[tuple[str, str], ...]:
    """The CSV columns: the document's fields in the definition's order, with the summaries."""
    columns: list[tuple[str, str]] = []
    for name, field in IncidentSchema().fields.items():
        if name == SUMMARIES_BEFORE:
            columns.extend(SUMMARIES)
        columns.append((name, _kind(name, field)))
    return tuple(columns)


COLUMNS = _columns()
HEADER = [name for name, _ in COLUMNS]
KINDS = dict(COLUMNS)
CHILD_ID = "id"


def _longest(field: ma.fields.Field) -> int:
    """The most characters a valid value of `field` takes in a cell, written as JSON (a child
    record's text escaped at worst six characters for one, `\\u0001`): a bound for every kind
    of cell, since a plain text cell adds only its `'` and a list item its escapes."""
    if isinstance(field, ma.fields.List):
        return 2 + (_item_limit(field) or 0) * (_longest(field.inner) + 1)
    if isinstance(field, ma.fields.Nested):
        return 2 + sum(len(name) + 4 + _longest(inner) for name, inner in field.schema.fields.items())
    choices = [max(map(len, v.choices)) for v in field.validators if isinstance(v, ma.validate.OneOf)]
    if choices:
        return choices[0] + 2
    if isinstance(field, ma.fields.String):
        return 6 * (_item_limit(field) or 0) + 2
    return 40  # a number, a date, a boolean, null


def _item_limit(field: ma.fields.Field) -> int | None:
    maxima = [v.max for v in field.validators if isinstance(v, ma.validate.Length) and v.max is not None]
    return min(maxima) if maxima else None


# The longest cell a valid document gives (about 39 million characters: 200 statements with
# 20,000-character quotes). The csv module's limit (131,072 by default) is one per process, so it
# is raised once, here, to that fixed bound: an export always imports back, and a cell longer than
# any document allows is still refused by the reader.
CELL_LIMIT = max(_longest(field) for field in IncidentSchema().fields.values() if not field.dump_only)
csv.field_size_limit(max(csv.field_size_limit(), CELL_LIMIT))

_DANGEROUS = re.compile(r"^'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")


_RISKY_FIRST = frozenset("'=+-@\t\r")


def neutralise(text: str) -> str:
    return "'" + text if text and text[0] in _RISKY_FIRST and _DANGEROUS.match(text) else text


def unneutralise(text: str) -> str:
    return text[1:] if _ESCAPED.match(text) else text


def _text(value: Any) -> str:
    return "" if value is None else neutralise(str(value))


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _derived(value: Any) -> str:
    """A read-only cell: text escaped, a list of records (`stop_rows`) as JSON ("" when empty)."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, list):
        return neutralise(orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()) if value else ""
    return _plain(value)


def _list_item(item: str) -> str:
    """One item of a text list, its `\\` and `;` escaped (see the module's docstring)."""
    if LIST_ESCAPE in item or ";" in item:
        return item.replace(LIST_ESCAPE, LIST_ESCAPE * 2).replace(";", LIST_ESCAPE + ";")
    return item


def _children(items: list[dict[str, Any]]) -> str:
    """Child records without their ids (they belong to this database only)."""
    if not items:
        return ""
    stripped = [{k: v for k, v in item.items() if k != CHILD_ID} for item in items]
    return neutralise(orjson.dumps(stripped, option=orjson.OPT_SORT_KEYS).decode())


def _cell(name: str, kind: str) -> Callable[[dict[str, Any]], str]:
    """How a column's cell is written from a document."""
    if name == "acknowledgement_count":
        return lambda document: str(len(document["acknowledgements"]))
    if name == "legal_case_count":
        return lambda document: str(len(document["legal_cases"]))
    if name == "source_urls":
        return lambda document: _text(URL_SEPARATOR.join(source["url"] for source in document["sources"]))
    if kind == "json":
        return lambda document: _children(document[name])
    if kind == "list":
        return lambda document: _text(LIST_SEPARATOR.join(map(_list_item, document[name])))
    if kind == "intlist":
        return lambda document: _text(LIST_SEPARATOR.join(map(str, document[name])))
    if kind == "text":
        return lambda document: _text(document[name])
    if kind == "derived":
        return lambda document: _derived(document[name])
    return lambda document: _plain(document[name])


_CELLS = [_cell(name, kind) for name, kind in COLUMNS]


def row_of(document: dict[str, Any]) -> list[str]:
    """An incident document (as the API shows it) → the cells of its CSV row."""
    return [cell(document) for cell in _CELLS]


class _Line:
    """A sink for csv.writer that hands back what was written (a list, not a StringIO: half the
    cost per row)."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


class _Writers(threading.local):
    """A CSV writer per thread (a server worker serves requests on several)."""

    def __init__(self) -> None:
        self.sink = _Line()
        self.writer = csv.writer(self.sink, lineterminator="\r\n")

    def line(self, cells: list[str]) -> str:
        self.writer.writerow(cells)
        return self.sink.take()


_writers = _Writers()


def line_of(document: dict[str, Any]) -> str:
    """An incident document → its CSV row as text (RFC 4180, CRLF-terminated)."""
    return _writers.line(row_of(document))


DURATION_INDEX = HEADER.index("duration_days")


def line_and_duration_offset(document: dict[str, Any]) -> tuple[str, int]:
    """`line_of(document)`, and where its duration cell starts: cells are quoted one by one, so
    the cell follows the cells before it and their commas."""
    cells = row_of(document)
    before = _writers.line(cells[:DURATION_INDEX])
    # Each cell is quoted on its own, so the row is the two halves joined by a comma.
    return f"{before[:-2]},{_writers.line(cells[DURATION_INDEX:])}", len(before) - 2 + 1


def header_line() -> str:
    return _writers.line(HEADER)


def stream_csv(chunks: Iterable[bytes], *, bom: bool = False) -> Iterator[bytes]:
    """The header, then each chunk of rows (see `line_of`, UTF-8 already)."""
    yield (("\ufeff" if bom else "") + header_line()).encode()
    for chunk in chunks:
        if chunk:
            yield chunk


# --------------------------------------------------------------------------- reading


class CellError(ValueError):
    """A cell that cannot be read; the message is shown to the user."""


def _json_cell(raw: str) -> list[dict[str, Any]]:
    text = unneutralise(raw).strip()
    if not text:
        return []
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise CellError(f"Not valid JSON: {error}.") from error
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise CellError("Expected a JSON list of objects.")
    return value


def _list_cell(separator: str) -> Callable[[str], list[str]]:
    def parse(raw: str) -> list[str]:
        text = unneutralise(raw).strip()
        return [item.strip() for item in text.split(separator) if item.strip()] if text else []

    return parse


def _escaped_list_cell(raw: str) -> list[str]:
    """A text list: items split on `;` but not on `\\;`; `\\\\` is one backslash, any other
    backslash is kept as written (a hand-made sheet may have one)."""
    text = unneutralise(raw).strip()
    if LIST_ESCAPE not in text:
        return [item.strip() for item in text.split(";") if item.strip()] if text else []
    items, current, characters = [], [], iter(text)
    for character in characters:
        if character == LIST_ESCAPE:
            following = next(characters, "")
            current.append(following if following in (LIST_ESCAPE, ";") else character + following)
        elif character == ";":
            items.append("".join(current))
            current = []
        else:
            current.append(character)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


_TRUE, _FALSE = ("true", "yes", "1"), ("", "false", "no", "0")


def _bool_cell(raw: str) -> bool:
    text = raw.strip().lower()
    if text in _FALSE:
        return False
    if text in _TRUE:
        return True
    raise CellError("Expected true or false.")


def whole_number(text: str) -> int | None:
    """A cell of ASCII digits (at most 10) as a number; None for anything else (str.isdigit
    accepts "²", which int() refuses, and int() accepts fullwidth "１")."""
    return int(text) if re.fullmatch(r"[0-9]{1,10}", text) else None


def _int_cell(raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    number = whole_number(text)
    if number is None:
        raise CellError("Expected a whole number (the digits 0-9, at most 10 of them).")
    return number


def _text_cell(raw: str) -> str | None:
    return unneutralise(raw) or None


def _plain_cell(raw: str) -> str | None:
    return raw.strip() or None


_PARSERS: dict[str, Callable[[str], Any]] = {
    "json": _json_cell,
    "list": _escaped_list_cell,
    "intlist": _list_cell(LIST_SEPARATOR.strip()),
    "urls": _list_cell(URL_SEPARATOR.strip()),
    "bool": _bool_cell,
    "int": _int_cell,
    "text": _text_cell,
}


def parse_cell(name: str, raw: str) -> Any:
    """A native CSV cell → the value the incident schema loads."""
    return _PARSERS.get(KINDS[name], _plain_cell)(raw)
