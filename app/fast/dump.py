"""The incident schema's dump for finished documents and ORM incidents, without marshmallow.

Code for speed. Plain twin: marshmallow's own `Schema.dump` of app/document/schema.py's
IncidentSchema (kept as `marshmallow_dump`). Proven equal by tests/test_documents.py.
"""

from __future__ import annotations

from typing import Any

import orjson

from app.document.build import IncidentDocument, incident_document
from app.models import Incident

# A finished document: built (IncidentDocument) or stored JSON passed through (orjson.Fragment).
FINISHED = (IncidentDocument, orjson.Fragment)


class FinishedDocuments:
    """Mixin for the incident schema: finished documents pass as they are, ORM incidents are
    built by app/document/build.py; anything else (a partial dump) goes to marshmallow."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        many = self.many if many is None else many
        if not self.only and not self.exclude:
            if many and all(isinstance(item, (Incident, *FINISHED)) for item in obj):
                return [item if isinstance(item, FINISHED) else incident_document(item) for item in obj]
            if isinstance(obj, FINISHED):
                return obj
            if not many and isinstance(obj, Incident):
                return incident_document(obj)
        return super().dump(obj, many=many)

    def marshmallow_dump(self, obj: Any) -> Any:
        """The plain twin: marshmallow's dump, which tests compare with this one."""
        return super().dump(obj)
