"""A page of the change feed as JSON bytes: each revision's stored document copied in as it is.

Code for speed. Plain twin: `plain_body`, marshmallow's dump of ChangePageSchema with each
document parsed. Proven equal (bytes) by tests/test_changes.py::test_fast_page_equals_plain_page.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa

from app.document.build import JSON_OPTIONS, timestamp
from app.http.jsonio import dumps
from app.resources.changes.schemas import ChangePageSchema
from app.services.changes import ChangePage


def tombstone(row: sa.Row) -> dict[str, Any]:
    """What a delete carries instead of the document: the content is gone from the feed (it
    stays in the incident's history)."""
    return {"deleted": True, "deleted_at": timestamp(row.at), "id": row.incident_id, "revision": row.revision}


def _entry(row: sa.Row, document: Any) -> dict[str, Any]:
    return {
        "action": row.action,
        "actor": row.actor,
        "at": timestamp(row.at),
        "committed_at": timestamp(row.committed_at),
        "cursor": row.seq,
        "document": document,
        "incident_id": row.incident_id,
        "provenance": row.provenance,
        "revision": row.revision,
    }


def body(page: ChangePage) -> bytes:
    """The page's JSON: the stored document text spliced in (an orjson.Fragment), not parsed."""
    changes = [
        _entry(row, tombstone(row) if row.action == "delete" else orjson.Fragment(row.document))
        for row in page.rows
    ]
    return orjson.dumps(
        {"changes": changes, "has_more": page.has_more, "next_cursor": page.next_cursor}, option=JSON_OPTIONS
    )


def plain_body(page: ChangePage) -> bytes:
    """The plain twin of `body`: each document parsed and dumped by the page's schema."""
    changes = [
        {
            **row._asdict(),
            "cursor": row.seq,
            "document": tombstone(row) if row.action == "delete" else orjson.loads(row.document),
        }
        for row in page.rows
    ]
    data = {"changes": changes, "has_more": page.has_more, "next_cursor": page.next_cursor}
    return dumps(ChangePageSchema().dump(data))
