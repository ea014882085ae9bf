"""Transitional re-export: the document builder moved to app/document/build.py, the stored
copies to app/fast/stored.py. Removed once every importer names the new modules."""

from app.document.build import (  # noqa: F401
    JSON_OPTIONS,
    IncidentDocument,
    build_document,
    documents_for_rows,
    incident_document,
    timestamp,
)
from app.document.fields import country_name  # noqa: F401
from app.fast.stored import (  # noqa: F401
    STORED_COLUMNS,
    WITH_STORED,
    csv_chunk,
    export_column,
    store,
    stored_documents,
    stored_row,
    stored_rows,
    stored_values,
)
