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
DUMPABLE = (Incident, *FINISHED)


class FinishedDocuments:
    """Mixin for the incident schema: finished documents pass as they are, ORM incidents are
    built by app/document/build.py; anything else (a partial dump) goes to marshmallow."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        many = self.many if many is None else many
        items = obj if many else [obj]
        if self.only or self.exclude or not all(isinstance(item, DUMPABLE) for item in items):
            return super().dump(obj, many=many)
        documents = [item if isinstance(item, FINISHED) else incident_document(item) for item in items]
        return documents if many else documents[0]

    def marshmallow_dump(self, obj: Any) -> Any:
        """The plain twin: marshmallow's dump, which tests compare with this one."""
        return super().dump(obj)
