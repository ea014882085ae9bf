"""Examples of the OpenAPI document: what Swagger UI's "Try it out" fills in and sends.

Every one tells the demo incident's story (app/seed/demo_incident.json: X blocked in Pakistan
after the 2024 election, the interior ministry's admission in a court filing, the Islamabad High
Court case) and succeeds as it stands against `make run`'s database, where the demo is incident
1 with its records numbered in the seed's order; a write needs an API key and, where it says so,
the incident's ETag. tests/test_spec_examples.py runs each of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.services.seed import demo_document

SEED = Path(__file__).resolve().parent.parent / "seed"

REUTERS = (
    "https://www.reuters.com/world/asia-pacific/"
    "pakistan-blocked-social-media-platform-x-over-national-security-ministry-says-2024-04-17/"
)

# --------------------------------------------------------------------------- path parameters


def _path(name: str, example: Any, description: str) -> dict[str, Any]:
    return {"in": "path", "name": name, "example": example, "description": description}


INCIDENT_ID = _path("incident_id", 1, "Id of the incident (the demo incident is 1).")
REVISION = _path("revision", 1, "Revision number: 1 is the incident as first recorded.")
PLATFORM_SLUG = _path("slug", "x", "Platform slug, e.g. `x`.")
ACKNOWLEDGEMENT_ID = _path(
    "acknowledgement_id", 3, "Id of the statement (the demo's 3 is the interior ministry's court filing)."
)
LEGAL_CASE_ID = _path(
    "legal_case_id", 1, "Id of the court case (the demo's 1 is at the Islamabad High Court)."
)
SOURCE_ID = _path("source_id", 4, "Id of the source (the demo's 4 is Reuters' report of the court filing).")

# --------------------------------------------------------------------------- bodies

ACKNOWLEDGEMENT = {
    "actor": "Ministry of Interior",
    "actor_type": "government",
    "stance": "acknowledged",
    "date": "2024-04-17",
    "channel": "court_filing",
    "justification": "national_security",
    "quote": None,
    "source_url": REUTERS,
}

LEGAL_CASE = {
    "court": "Islamabad High Court",
    "case_number": None,
    "filed_on": None,
    "petitioners": "Journalists and users of X",
    "respondents": "Ministry of Interior; Pakistan Telecommunication Authority",
    "status": "pending",
    "ruling_on": None,
    "ruling_summary": "Government ordered to review the ban within a week",
    "next_hearing_on": None,
    "source_url": REUTERS,
}

SOURCE = {
    "url": REUTERS,
    "title": "Pakistan blocked social media platform X over national security, ministry says",
    "publisher": "Reuters",
    "published_on": "2024-04-17",
    "kind": "news",
    "archived_url": None,
}

# A new incident, recorded with what an editor knows by April 2024.
INCIDENT = {
    "title": "X (Twitter) blocked nationwide in Pakistan",
    "description": "X was blocked across Pakistan from 17 February 2024, nine days after the "
    "general election. The interior ministry confirmed the block in a written submission to the "
    "Islamabad High Court, citing national security.",
    "country": "PK",
    "area": "Nationwide",
    "scope": "national",
    "shutdown_types": ["service_based"],
    "networks": ["mobile", "broadband"],
    "platforms": ["x"],
    "start_date": "2024-02-17",
    "end_date": None,
    "status": "ongoing",
    "ordered_by": "executive_government",
    "decision_maker": "Ministry of Interior",
    "actual_cause": "information_control",
    "official_justification": "national_security",
    "asns": [17557],
    "telcos": ["PTCL"],
    "acknowledgements": [ACKNOWLEDGEMENT],
    "legal_cases": [LEGAL_CASE],
    "sources": [SOURCE],
}

# The block ended: the one field an editor changes.
INCIDENT_PATCH = {"end_date": "2025-05-07"}


def _with_ids(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": number, **record} for number, record in enumerate(records, start=1)]


def _replacement() -> dict[str, Any]:
    """The demo incident whole, its records listed with their ids so that PUT keeps every one."""
    document = demo_document()
    return {
        **document,
        "country": "PK",
        "platforms": ["x"],
        "asns": [17557],
        "acknowledgements": _with_ids(document["acknowledgements"]),
        "legal_cases": _with_ids(document["legal_cases"]),
        "sources": _with_ids(document["sources"]),
    }


INCIDENT_REPLACEMENT = _replacement()

# A platform the vocabulary does not ship (yet).
PLATFORM = {"slug": "mastodon", "name": "Mastodon", "kind": "social_media", "aliases": []}

# --------------------------------------------------------------------------- responses

# The change feed's first page on `make run`'s database: the demo incident's creation (as
# `GET /api/v1/changes` gave it, with its timestamps set to one moment).
CHANGE_PAGE: dict[str, Any] = json.loads((SEED / "demo_change_page.json").read_text(encoding="utf-8"))
