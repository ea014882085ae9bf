"""All mapped models, imported so that Base.metadata knows every table."""

from app.models.incident import (
    Acknowledgement,
    Incident,
    IncidentAsn,
    IncidentNetwork,
    IncidentPlatform,
    IncidentShutdownType,
    LegalCase,
    Source,
)
from app.models.platform import Platform

__all__ = [
    "Acknowledgement",
    "Incident",
    "IncidentAsn",
    "IncidentNetwork",
    "IncidentPlatform",
    "IncidentShutdownType",
    "LegalCase",
    "Platform",
    "Source",
]
