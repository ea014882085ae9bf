"""All mapped models, imported so that Base.metadata knows every table."""

from app.models.api_key import ApiKey
from app.models.incident import (
    Acknowledgement,
    Incident,
    IncidentAsn,
    IncidentNetwork,
    IncidentPlatform,
    IncidentShutdownType,
    LegalCase,
    Source,
    StoredDocument,
)
from app.models.platform import Platform, PlatformName
from app.models.revision import DataVersion, IncidentRevision

__all__ = [
    "ApiKey",
    "DataVersion",
    "IncidentRevision",
    "Acknowledgement",
    "Incident",
    "IncidentAsn",
    "IncidentNetwork",
    "IncidentPlatform",
    "IncidentShutdownType",
    "LegalCase",
    "Platform",
    "PlatformName",
    "Source",
    "StoredDocument",
]
