"""Schema bases: unknown fields are errors, in bodies and in query strings."""

from __future__ import annotations

from typing import Any

import marshmallow as ma


class Schema(ma.Schema):
    """Base schema: unknown fields are errors, read-only fields sent back from a GET are ignored."""

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def _drop_read_only(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        read_only = self.__dict__.get("_read_only")
        if read_only is None:  # once per instance (the parser keeps one per schema class)
            read_only = self._read_only = frozenset(n for n, f in self.fields.items() if f.dump_only)
        if not read_only.intersection(data):
            return data
        return {key: value for key, value in data.items() if key not in read_only}


class QueryArgsSchema(ma.Schema):
    """Query-string schema: a typo such as `contry=PK` is a 422, never a silently unfiltered list."""

    # Parsed by the pagination decorator, documented there.
    PAGINATION_KEYS = ("page", "page_size")

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def _skip_pagination(self, data: Any, **kwargs: Any) -> Any:
        # webargs hands over a MultiDictProxy whose get() already returns lists for List fields.
        if any(key in data for key in self.PAGINATION_KEYS):
            return {key: data.get(key) for key in data if key not in self.PAGINATION_KEYS}
        return data
