"""CLI: migrations and the demo incident."""

from __future__ import annotations

import json

from app.services.seed import DEMO_FILE
from tests.conftest import create, etag_of


def test_demo_loads_once_when_empty(runner, client):
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "loaded as id" in result.output
    again = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "not loaded (--if-empty)" in again.output
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


def _demo_rows(client) -> list[dict]:
    title = json.loads(DEMO_FILE.read_text())["title"]
    return [
        incident
        for incident in client.get("/api/v1/incidents?page_size=500").get_json()
        if incident["title"] == title
    ]


def test_demo_load_twice_leaves_one_demo(runner, client):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    [demo] = _demo_rows(client)
    assert first.output.strip() == f"Demo incident loaded as id {demo['id']}."
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    assert again.output.strip() == f"Demo incident is there already as id {demo['id']}; not loaded again."
    assert [incident["id"] for incident in client.get("/api/v1/incidents").get_json()] == [demo["id"]]
    assert len(client.get(f"/api/v1/incidents/{demo['id']}/revisions").get_json()) == 1  # untouched


def test_demo_is_recognised_after_an_import_rewrote_it(runner, client):
    """The demo, then the STOP sample letting the sheet win (`on_conflict=sheet`), whose row for
    the same block rewrites the demo's title; loading the demo again must not add a second one."""
    from tests.test_revert import SAMPLE, import_stop

    runner.invoke(args=["demo", "load"])
    [demo] = _demo_rows(client)
    assert import_stop(client, SAMPLE.read_bytes())["updated"] == 1
    assert _demo_rows(client) == []  # the import gave it the sheet's title
    again = runner.invoke(args=["demo", "load"])
    assert again.output.strip() == f"Demo incident is there already as id {demo['id']}; not loaded again."
    pakistan_x = client.get("/api/v1/incidents?country=PK&started_from=2024-02-17&started_to=2024-02-17")
    assert [incident["id"] for incident in pakistan_x.get_json()] == [demo["id"]]


def test_a_deleted_demo_is_not_loaded_again(runner, client, admin_client):
    runner.invoke(args=["demo", "load"])
    [demo] = _demo_rows(client)
    deleted = admin_client.delete(
        f"/api/v1/incidents/{demo['id']}", headers={"If-Match": etag_of(client, demo["id"])}
    )
    assert deleted.status_code == 204
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0
    assert f"as id {demo['id']}, deleted; not loaded again" in again.output
    assert f"POST /api/v1/incidents/{demo['id']}/restore" in again.output
    assert client.get("/api/v1/incidents").get_json() == []
    assert client.get(f"/api/v1/incidents/{demo['id']}").status_code == 410


def test_demo_load_if_empty_loads_only_into_an_empty_database(runner, client):
    other = create(client, title="Not the demo")
    refused = runner.invoke(args=["demo", "load", "--if-empty"])
    assert refused.exit_code == 0
    assert refused.output.strip() == "Database already holds incidents; demo not loaded (--if-empty)."
    assert [incident["id"] for incident in client.get("/api/v1/incidents").get_json()] == [other["id"]]
    # without --if-empty the demo joins the other incident, once
    assert "loaded as id" in runner.invoke(args=["demo", "load"]).output
    assert "not loaded again" in runner.invoke(args=["demo", "load"]).output
    assert len(_demo_rows(client)) == 1 and len(client.get("/api/v1/incidents").get_json()) == 2
