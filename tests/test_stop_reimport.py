"""A STOP re-import after an editor's curation: matched by what the sheet last wrote, an editor's
removal of a sheet source kept, a revert's re-created records keep the sheet's provenance, and
the same sheet under another file name changes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.conftest import etag_of
from tests.test_curation import LIST, SAMPLE, _all, _get, _patch, _row, _sheet, _stop


def _conflicts(report: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(c["field"], c["stored"], c["sheet"]) for c in report["conflicts"]]


def _imported(client) -> dict[str, Any]:
    report = _stop(client, _sheet(_row()))
    assert report["created"] == 1, report
    [incident] = _all(client)
    return incident


def test_a_start_date_an_editor_corrected_is_a_conflict_not_a_new_incident(client):
    incident = _imported(client)
    _patch(client, incident["id"], start_date="2024-02-16")
    report = _stop(client, _sheet(_row()))
    assert report["created"] == 0, report
    assert _conflicts(report) == [("start_date", "2024-02-16", "2024-02-17")]
    assert [i["id"] for i in _all(client)] == [incident["id"]]
    assert _get(client, incident["id"])["start_date"] == "2024-02-16"
    # the sheet may win when asked to
    report = _stop(client, _sheet(_row()), "&on_conflict=sheet")
    assert (report["created"], report["updated"]) == (0, 1), report
    assert _get(client, incident["id"])["start_date"] == "2024-02-17"


def test_a_country_an_editor_corrected_is_a_conflict_not_a_new_incident(client):
    incident = _imported(client)
    _patch(client, incident["id"], country="IN")
    report = _stop(client, _sheet(_row()))
    assert report["created"] == 0, report
    assert _conflicts(report) == [("country", "IN", "PK")]
    assert len(_all(client)) == 1


def test_a_source_an_editor_removed_is_not_added_back(client):
    incident = _imported(client)
    assert [s["url"] for s in incident["sources"]] == ["https://example.org/2024/x-block"]
    _patch(client, incident["id"], sources=[])
    report = _stop(client, _sheet(_row()))
    assert report["created"] == 0, report
    assert _conflicts(report) == [("sources", [], ["https://example.org/2024/x-block"])]
    assert _get(client, incident["id"])["sources"] == []
    # a link new to the sheet is still added
    later = _row(info_source_link="https://example.org/2024/x-block-2")
    report = _stop(client, _sheet(later))
    assert report["updated"] == 1 and _conflicts(report) == [], report
    assert [s["url"] for s in _get(client, incident["id"])["sources"]] == [
        "https://example.org/2024/x-block-2"
    ]
    # on_conflict=sheet brings the removed one back
    report = _stop(client, _sheet(_row()), "&on_conflict=sheet")
    assert report["updated"] == 1, report
    assert sorted(s["url"] for s in _get(client, incident["id"])["sources"]) == [
        "https://example.org/2024/x-block",
        "https://example.org/2024/x-block-2",
    ]


def test_a_reverted_sheet_statement_keeps_the_sheets_provenance(client):
    incident = _imported(client)
    [statement] = incident["acknowledgements"]
    assert statement["provenance"] == "stop:stop-2024.csv#2"
    _patch(client, incident["id"], acknowledgements=[])
    response = client.post(
        f"{LIST}/{incident['id']}/revisions/1/revert", headers={"If-Match": etag_of(client, incident["id"])}
    )
    assert response.status_code == 200, response.get_json()
    [back] = response.get_json()["acknowledgements"]
    assert back["provenance"] == statement["provenance"]
    assert back["provenance_at"] == statement["provenance_at"]
    report = _stop(client, _sheet(_row()), "&on_conflict=sheet")
    assert report["unchanged"] == 1, report
    assert len(_get(client, incident["id"])["acknowledgements"]) == 1


def test_the_same_sheet_under_another_file_name_changes_nothing(client):
    incident = _imported(client)
    report = _stop(client, _sheet(_row()), filename="stop-2024 (1).csv")
    assert (report["updated"], report["unchanged"]) == (0, 1), report
    after = _get(client, incident["id"])
    assert after["revision"] == incident["revision"]
    assert [r["sheet"] for r in after["stop_rows"]] == ["stop-2024.csv"]


def test_the_sample_reimported_after_a_start_date_correction_creates_nothing(client):
    """The reviewer's repro: examples/stop-sample.csv, incident 1's start date corrected, the
    sample again."""
    report = _stop(client, SAMPLE.read_bytes(), filename="stop-sample.csv")
    before = _all(client)
    first = min(before, key=lambda incident: incident["id"])
    corrected = (date.fromisoformat(first["start_date"]) - timedelta(days=1)).isoformat()
    _patch(client, first["id"], start_date=corrected)
    again = _stop(client, SAMPLE.read_bytes(), filename="stop-sample.csv")
    assert again["created"] == 0, (report, again)
    assert ("start_date", corrected, first["start_date"]) in _conflicts(again)
    assert len(_all(client)) == len(before)
