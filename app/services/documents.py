"""The incident document as the API shows it, built by hand for speed.

marshmallow's dump costs about a millisecond per incident with its children; lists of 500,
exports of a million rows and the revision snapshot of every imported row cannot afford that.
`IncidentSchema` stays the contract (validation, OpenAPI); its dump of an Incident calls this
function, and a test proves both give the same document.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import pycountry

from app.models import Incident


@lru_cache(maxsize=512)
def country_name(code: str | None) -> str | None:
    country = pycountry.countries.get(alpha_2=code) if code else None
    if country is None:
        return None
    # pycountry's common_name is the short form people use ("Iran", not "Iran, Islamic Republic of").
    return getattr(country, "common_name", None) or country.name


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def incident_document(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "description": incident.description,
        "country": incident.country,
        "country_name": country_name(incident.country),
        "area": incident.area,
        "scope": incident.scope,
        "shutdown_types": [row.shutdown_type for row in incident.shutdown_type_rows],
        "networks": [row.network for row in incident.network_rows],
        "platforms": [row.platform_slug for row in incident.platform_rows],
        "start_date": _day(incident.start_date),
        "start_date_estimated": incident.start_date_estimated,
        "end_date": _day(incident.end_date),
        "status": incident.status,
        "duration_days": incident.duration_days,
        "ordered_by": incident.ordered_by,
        "decision_maker": incident.decision_maker,
        "actual_cause": incident.actual_cause,
        "actual_cause_details": incident.actual_cause_details,
        "official_justification": incident.official_justification,
        "justification_details": incident.justification_details,
        "legal_basis": incident.legal_basis,
        "legal_basis_details": incident.legal_basis_details,
        "election_related": incident.election_related,
        "violence_reported": incident.violence_reported,
        "human_rights_abuse_reported": incident.human_rights_abuse_reported,
        "asns": [row.asn for row in incident.asn_rows],
        "telcos": list(incident.telcos or ()),
        "acknowledgement_status": incident.acknowledgement_status,
        "acknowledged_on": _day(incident.acknowledged_on),
        "acknowledgement_delay_days": incident.acknowledgement_delay_days,
        "litigation_status": incident.litigation_status,
        "acknowledgements": [
            {
                "id": a.id,
                "actor": a.actor,
                "actor_type": a.actor_type,
                "stance": a.stance,
                "date": _day(a.date),
                "channel": a.channel,
                "justification": a.justification,
                "quote": a.quote,
                "source_url": a.source_url,
            }
            for a in incident.acknowledgements
        ],
        "legal_cases": [
            {
                "id": c.id,
                "court": c.court,
                "case_number": c.case_number,
                "filed_on": _day(c.filed_on),
                "petitioners": c.petitioners,
                "respondents": c.respondents,
                "status": c.status,
                "ruling_on": _day(c.ruling_on),
                "ruling_summary": c.ruling_summary,
                "next_hearing_on": _day(c.next_hearing_on),
                "source_url": c.source_url,
            }
            for c in incident.legal_cases
        ],
        "sources": [
            {
                "id": s.id,
                "url": s.url,
                "title": s.title,
                "publisher": s.publisher,
                "published_on": _day(s.published_on),
                "kind": s.kind,
                "archived_url": s.archived_url,
            }
            for s in incident.sources
        ],
        "created_at": timestamp(incident.created_at),
        "updated_at": timestamp(incident.updated_at),
        "revision": incident.revision,
    }
