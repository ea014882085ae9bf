"""CLI: migrations and the demo incident."""

from __future__ import annotations

import json

from app.services.seed import DEMO_FILE


def test_demo_loads_once_when_empty(runner, client):
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "loaded as id" in result.output
    again = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "not loaded" in again.output
    listing = client.get("/api/v1/incidents?country=PK&platform=twitter")
    assert json.loads(listing.headers["X-Pagination"])["total"] == 1


def test_demo_incident_tells_the_story(runner, client):
    runner.invoke(args=["demo", "load"])
    incident = client.get("/api/v1/incidents").get_json()[0]
    assert incident["country"] == "PK" and incident["platforms"] == ["x"]
    assert incident["start_date"] == "2024-02-17" and incident["end_date"] == "2025-05-07"
    assert incident["acknowledgement_status"] == "acknowledged"
    stances = {(a["actor"], a["stance"], a["date"]) for a in incident["acknowledgements"]}
    assert ("Ministry of Interior", "acknowledged", "2024-04-17") in stances
    assert any(stance == "denied" and day == "2024-03-13" for _, stance, day in stances)
    assert {c["court"] for c in incident["legal_cases"]} == {
        "Sindh High Court",
        "Islamabad High Court",
        "Lahore High Court",
    }
    assert incident["litigation_status"] == "pending"
    kinds = {s["kind"] for s in incident["sources"]}
    assert {"news", "official", "measurement", "court_document", "ngo_report", "social_media"} <= kinds
    assert json.loads(DEMO_FILE.read_text())["title"] == incident["title"]


def test_db_current(runner):
    result = runner.invoke(args=["db", "current"])
    assert result.exit_code == 0
    assert "head:" in result.output
