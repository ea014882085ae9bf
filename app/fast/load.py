"""A faster `schema.load` for many plain documents (the bulk import), with marshmallow's results.

Code for speed. Plain twin: marshmallow's `schema.load`. Proven equal by tests/test_fastload.py
(the same documents, valid and invalid, give the same results and errors both ways).

marshmallow spends most of a load in its own machinery (error stores, hooks, partial and unknown
handling, a closure per field), not in the checks. `compile_loader(schema)` reads the schema's
fields once and returns a function that runs the same checks directly:

- a field is deserialized by the field object itself (`field.deserialize`), except the plain
  string fields (`Str`, `Text`, `Enum`), lists and nested schemas, whose few steps are repeated
  here and checked by tests against marshmallow;
- read-only fields are dropped, unknown ones refused, defaults filled, the schema's
  `validates_schema` methods called, as marshmallow does.

Anything unusual (a wrong type, a missing required field, an unknown key, any validation error)
makes the fast path give up and the document is loaded by `schema.load` itself, so errors and
their messages are always marshmallow's. A schema with hooks this module does not know (a
`post_load`, field-level `validates`, another `pre_load`) is always loaded by marshmallow.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import marshmallow as ma
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from marshmallow.utils import missing

from app.document.fields import (
    EARLIEST_DATE,
    MAX_YEARS_AHEAD,
    CountryCode,
    Day,
    Enum,
    HttpUrl,
    IsoDate,
    Str,
    Text,
    url_problem,
)

Loader = Callable[[dict[str, Any]], dict[str, Any]]
FieldLoader = Callable[[Any, dict[str, Any]], Any]
KNOWN_PRE_LOAD = {"_drop_read_only"}  # app.document.schema.Schema's: read-only keys are ignored


class _GiveUp(Exception):
    """The fast path cannot vouch for this document: let marshmallow load it."""


def _validators(field: ma.fields.Field) -> list[Callable[[Any], Any]]:
    """The field's validators; a `OneOf` becomes a set lookup with the same verdict."""
    checks: list[Callable[[Any], Any]] = []
    for validator in field.validators:
        if type(validator) is ma.validate.OneOf:
            choices = frozenset(validator.choices)

            def one_of(value: Any, choices: frozenset = choices) -> None:
                try:
                    if value not in choices:
                        raise _GiveUp
                except TypeError as error:  # unhashable: marshmallow's OneOf would refuse it too
                    raise _GiveUp from error

            checks.append(one_of)
        else:
            checks.append(validator)
    return checks


def _validate(checks: list[Callable[[Any], Any]], value: Any) -> None:
    try:  # as marshmallow's `And`: only a raised error counts, not a returned value
        for check in checks:
            check(value)
    except ma.ValidationError as error:
        raise _GiveUp from error


def _string(field: Str) -> FieldLoader:
    """Str / Text / Enum: a str without NUL characters, trimmed (Text: "" is None), validated."""
    checks, allow_none, empty_is_none = _validators(field), field.allow_none, isinstance(field, Text)

    def load(value: Any, data: dict[str, Any]) -> Any:
        if value is None and allow_none:
            return None
        if type(value) is not str or "\x00" in value:
            raise _GiveUp
        value = value.strip()
        if empty_is_none:
            value = value or None
        _validate(checks, value)
        return value

    return load


def _http_url(field: HttpUrl) -> FieldLoader:
    """HttpUrl: trimmed; "" is None when optional; a str without NUL characters, validated, and
    a URL a reader could open (`url_problem`: the steps of HttpUrl.deserialize)."""
    checks, allow_none = _validators(field), field.allow_none

    def load(value: Any, data: dict[str, Any]) -> Any:
        if value is None and allow_none:
            return None
        if type(value) is not str:
            raise _GiveUp
        value = value.strip()
        if value == "" and allow_none:
            return None
        if "\x00" in value:
            raise _GiveUp
        _validate(checks, value)
        if url_problem(value) is not None:
            raise _GiveUp
        return value

    return load


def _day(field: Day) -> FieldLoader:
    """Day: YYYY-MM-DD (IsoDate's pattern), a real date (`date.fromisoformat`, as marshmallow's
    Date), from 1990 to a few years ahead; parsed dates remembered (at most 4,096)."""
    checks, allow_none, pattern, parsed = _validators(field), field.allow_none, IsoDate._pattern, {}

    def load(value: Any, data: dict[str, Any]) -> Any:
        if value is None and allow_none:
            return None
        day = parsed.get(value) if type(value) is str else None
        if day is None:
            if type(value) is not str or not pattern.match(value):
                raise _GiveUp
            try:
                day = date.fromisoformat(value)
            except ValueError as error:
                raise _GiveUp from error
            if len(parsed) >= 4096:
                parsed.clear()
            parsed[value] = day
        latest = datetime.now(UTC).date() + timedelta(days=365 * MAX_YEARS_AHEAD)
        if day < EARLIEST_DATE or day > latest:
            raise _GiveUp
        _validate(checks, day)
        return day

    return load


def _memoized(field: ma.fields.Field, name: str | None) -> FieldLoader:
    """A field whose result depends on the value alone (CountryCode): each value is
    deserialized by the field once, then remembered (valid values only; at most 4,096)."""
    generic, seen = _generic(field, name), {}

    def load(value: Any, data: dict[str, Any]) -> Any:
        if type(value) is not str:
            return generic(value, data)
        result = seen.get(value)
        if result is None:
            result = generic(value, data)
            if len(seen) >= 4096:  # imports on other threads may clear it too: use `result`
                seen.clear()
            seen[value] = result
        return result

    return load


def _list(field: ma.fields.List) -> FieldLoader:
    inner, checks = _field_loader(field.inner, None), _validators(field)

    def load(value: Any, data: dict[str, Any]) -> Any:
        if type(value) is not list:
            raise _GiveUp
        items = [inner(item, data) for item in value]
        _validate(checks, items)
        return items

    return load


def _nested(field: ma.fields.Nested) -> FieldLoader | None:
    schema = field.schema
    if field.many or field.unknown not in (None, schema.unknown) or field.validators:
        return None
    document = _document_loader(schema)
    if document is None:
        return None

    def load(value: Any, data: dict[str, Any]) -> Any:
        if value is None and field.allow_none:
            return None
        return document(value)

    return load


def _generic(field: ma.fields.Field, name: str | None) -> FieldLoader:
    """Any other field: its own deserialize, exactly as marshmallow calls it (a list's items
    without the key and the document, `name` None)."""

    def load(value: Any, data: dict[str, Any]) -> Any:
        try:
            if name is None:
                return field.deserialize(value)
            return field.deserialize(value, name, data)
        except ma.ValidationError as error:
            raise _GiveUp from error

    return load


# Fields of exactly these types have a loader of their own here; any other is deserialized by
# the field itself. A builder may decline (None) a field whose options it does not repeat.
_LOADERS: dict[type, Callable[[Any, str | None], FieldLoader | None]] = {
    Str: lambda field, name: _string(field),
    Text: lambda field, name: _string(field),
    Enum: lambda field, name: _string(field),
    HttpUrl: lambda field, name: _http_url(field),
    Day: lambda field, name: _day(field) if field.format in (None, "iso") else None,
    CountryCode: lambda field, name: None if field.validators else _memoized(field, name),
    ma.fields.List: lambda field, name: _list(field),
    ma.fields.Nested: lambda field, name: _nested(field),
}


def _field_loader(field: ma.fields.Field, name: str | None) -> FieldLoader:
    if getattr(field, "pre_load", None) or getattr(field, "post_load", None):
        return _generic(field, name)  # field-level processors: marshmallow's own order
    build = _LOADERS.get(type(field))
    loader = build(field, name) if build is not None else None
    return loader if loader is not None else _generic(field, name)


def _has_unknown_hooks(schema: ma.Schema) -> bool:
    """Whether the schema does anything this module does not repeat (then marshmallow loads)."""
    hooks = schema._hooks  # noqa: SLF001 - marshmallow's registry of decorated methods, read only
    return bool(
        schema.many
        or schema.partial
        or schema.unknown != ma.RAISE
        or hooks[POST_LOAD]
        or hooks[VALIDATES]
        or {name for name, _, _ in hooks[PRE_LOAD]} - KNOWN_PRE_LOAD
        or any(many or kwargs.get("pass_original") for _, many, kwargs in hooks[VALIDATES_SCHEMA])
    )


def _load_fields(data: dict[str, Any], fields: list[tuple]) -> dict[str, Any]:
    """The fields of one document: required ones present, defaults filled, each one loaded."""
    result: dict[str, Any] = {}
    for key, attribute, field_loader, required, default in fields:
        value = data.get(key, missing)
        if value is not missing:
            result[attribute] = field_loader(value, data)
        elif required:
            raise _GiveUp
        elif default is not missing:
            result[attribute] = default() if callable(default) else default
    return result


def _document_loader(schema: ma.Schema) -> Callable[[Any], dict[str, Any]] | None:
    """One document of `schema`, or None when the schema has hooks this module does not know."""
    if _has_unknown_hooks(schema):
        return None
    # As Schema._drop_read_only drops them: by field name.
    read_only = frozenset(name for name, field in schema.fields.items() if field.dump_only)
    fields = [  # (input key, output key, loader, required, default)
        (key, field.attribute or name, _field_loader(field, key), field.required, field.load_default)
        for name, field in schema.load_fields.items()
        for key in (field.data_key or name,)
    ]
    known = frozenset(key for key, *_ in fields) | read_only
    schema_checks = [getattr(schema, name) for name, _, _ in schema._hooks[VALIDATES_SCHEMA]]  # noqa: SLF001

    def load(data: Any) -> dict[str, Any]:
        if type(data) is not dict or not known.issuperset(data):
            raise _GiveUp
        result = _load_fields(data, fields)
        try:
            for check in schema_checks:
                check(result, partial=None, many=False, unknown=ma.RAISE)
        except ma.ValidationError as error:
            raise _GiveUp from error
        return result

    return load


def compile_loader(schema: ma.Schema) -> Loader:
    """A function loading one document as `schema.load` does (same result, same errors)."""
    fast = _document_loader(schema)
    if fast is None:
        return schema.load

    def load(data: dict[str, Any]) -> dict[str, Any]:
        try:
            return fast(data)
        except _GiveUp:
            return schema.load(data)

    return load


@functools.cache
def loader_for(schema_class: type[ma.Schema]) -> Loader:
    """`compile_loader` of one instance of the class, compiled once per process."""
    return compile_loader(schema_class())
