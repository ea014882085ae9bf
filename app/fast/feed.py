"""A page of the change feed as JSON bytes: each revision's stored document copied in as it is.

Code for speed. Plain twin: `plain_body`, the same changes read as ORM revisions and dumped by
ChangePageSchema, each document parsed. Proven equal (bytes) by
tests/test_changes.py::test_fast_page_equals_plain_page.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.document.build import JSON_OPTIONS
from app.http.jsonio import dumps
from app.models import IncidentRevision
from app.resources.changes.schemas import ChangePageSchema
from app.services.changes import ChangePage

_PLATFORMS = '"platforms":['
_PROVENANCE = ',"provenance":'
_PROVENANCE_AT = ',"provenance_at":'


def provenance_of(document: str) -> str | None:
    """The top-level `provenance` of a document's JSON text, found without parsing it: with
    sorted keys it follows the `platforms` list (slugs, which hold no `]`) and precedes
    `provenance_at` (a quote inside a string is escaped, so neither key can appear in a value).
    Child records have provenances of their own, hence the anchor. A document of an older
    shape, without them in that place, is parsed."""
    start = document.find(_PLATFORMS)
    close = document.find("]", start) + 1 if start >= 0 else -1
    if close > 0 and document.startswith(_PROVENANCE, close):
        value = close + len(_PROVENANCE)
        end = document.find(_PROVENANCE_AT, value)
        if end > 0:
            return orjson.loads(document[value:end])
    return orjson.loads(document).get("provenance")


def tombstone(incident_id: int, revision: int, deleted_at: str) -> dict[str, Any]:
    """What a delete carries instead of the document: the content leaves the feed (it stays in
    the incident's history)."""
    return {"deleted": True, "deleted_at": deleted_at, "id": incident_id, "revision": revision}


def body(page: ChangePage) -> bytes:
    """The page's JSON: the stored document text spliced in (an orjson.Fragment), not parsed."""
    changes = [
        {
            "action": row.action,
            "actor": row.actor,
            "at": row.at,
            "committed_at": row.committed_at,
            "cursor": row.seq,
            "document": (
                tombstone(row.incident_id, row.revision, row.at)
                if row.action == "delete"
                else orjson.Fragment(row.document)
            ),
            "incident_id": row.incident_id,
            "provenance": provenance_of(row.document),
            "revision": row.revision,
        }
        for row in page.rows
    ]
    return orjson.dumps(
        {"changes": changes, "has_more": page.has_more, "next_cursor": page.next_cursor}, option=JSON_OPTIONS
    )


def plain_body(session: Session, page: ChangePage) -> bytes:
    """The plain twin of `body`: the page's revisions as ORM objects, dumped by the schema."""
    seqs = [row.seq for row in page.rows]
    revisions = session.scalars(
        sa.select(IncidentRevision).where(IncidentRevision.seq.in_(seqs)).order_by(IncidentRevision.seq)
    ).all()
    timestamps = ChangePageSchema().fields["changes"].inner.schema.fields["at"]
    changes = [
        {
            "action": revision.action,
            "actor": revision.actor,
            "at": revision.at,
            "committed_at": revision.committed_at,
            "cursor": revision.seq,
            "document": (
                tombstone(revision.incident_id, revision.revision, timestamps.serialize("at", revision))
                if revision.action == "delete"
                else revision.document
            ),
            "incident_id": revision.incident_id,
            "provenance": revision.document.get("provenance"),
            "revision": revision.revision,
        }
        for revision in revisions
    ]
    data = {"changes": changes, "has_more": page.has_more, "next_cursor": page.next_cursor}
    return dumps(ChangePageSchema().dump(data))
