"""Provenance: every new incident, statement, court case and source says where it came from.

A record is stamped once, when it is first written: by the import with its sheet and row
(`stop:<file>#<row>`, `native:<file>#<row>`), otherwise by a session hook with the session's
origin: `editor:<key name>` for the API, `cli` for commands, or what a caller set with
`set_origin` (the demo seed: `seed:demo`). Imports recognise their own records by it, and leave
every other record alone (app/services/curation.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import utcnow
from app.models.incident import Provenance

STOP = "stop"
NATIVE = "native"
SEED_DEMO = "seed:demo"


def install() -> None:
    if not sa.event.contains(Session, "before_flush", _stamp_new_records):
        sa.event.listen(Session, "before_flush", _stamp_new_records)


def session_origin(session: Session) -> str:
    """The provenance of what this session writes when no record says otherwise."""
    origin = session.info.get("origin")
    if origin:
        return origin
    actor = session.info.get("actor")
    if actor == "cli":
        return "cli"
    return f"editor:{actor}" if actor else "system"


@contextmanager
def origin(session: Session, value: str) -> Iterator[None]:
    """Write with this origin (e.g. `seed:demo`) for the duration of the block."""
    previous = session.info.get("origin")
    session.info["origin"] = value
    try:
        yield
    finally:
        if previous is None:
            session.info.pop("origin", None)
        else:
            session.info["origin"] = previous


def from_sheet(kind: str, sheet: str, row: int) -> str:
    """`stop:<file>#<row>` or `native:<file>#<row>`."""
    return f"{kind}:{sheet}#{row}"


def is_from(record: Any, kind: str) -> bool:
    """Whether a record (or its document) came from an import of this kind (`stop`, `native`)."""
    value = record.get("provenance") if isinstance(record, dict) else record.provenance
    return bool(value) and value.startswith(f"{kind}:")


def _stamp_new_records(session: Session, _context: Any, _instances: Any) -> None:
    now = None
    for record in session.new:
        if isinstance(record, Provenance) and (record.provenance is None or record.provenance_at is None):
            now = now or utcnow()
            record.provenance = record.provenance or session_origin(session)
            record.provenance_at = record.provenance_at or now
