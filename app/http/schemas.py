"""The query-string schema base: unknown parameters are errors (bodies: app/document/schema.py's Schema)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma


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
