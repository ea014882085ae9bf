"""Curated records survive a STOP re-import; every record says where it came from; re-issued
shutdowns are one incident; no cell of the sheet is lost (issue 16)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.services import stop_format
from tests.conftest import REAL_STOP_FILE, create, etag_of

LIST = "/api/v1/incidents"
IMPORT = "/api/v1/incidents/import"
SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "stop-sample.csv"
HEADER = SAMPLE.read_text(encoding="utf-8").splitlines()[0].split(",")
NATIONAL = "It affected locations in more than one state, province, or region"
CHILDREN = ("acknowledgements", "legal_cases", "sources")


def _post_file(client, content: bytes, query: str, filename: str):
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(content), filename=filename, content_type="text/csv")}
    )
    return client.post(
        f"{IMPORT}?{query}", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def _stop(client, content: bytes, query: str = "", filename: str = "stop-2024.csv") -> dict[str, Any]:
    response = _post_file(client, content, f"format=stop&on_error=skip{query}", filename)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _sheet(*rows: dict[str, str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        assert not set(row) - set(HEADER), set(row) - set(HEADER)
        writer.writerow([row.get(column, "") for column in HEADER])
    return buffer.getvalue().encode()


def _row(**cells: str) -> dict[str, str]:
    """A nationwide block of X in Pakistan from 2024-02-17, as a 2024 sheet gives it."""
    return {
        "start_date": "2024-02-17",
        "country": "Pakistan",
        "geo_scope": NATIONAL,
        "area_name": "Nationwide",
        "shutdown_type": "Shutdown",
        "affected_network": "Broadband, Mobile",
        "shutdown_extent": "Service-based",
        "twitter_affected": "Yes",
        "shutdown_status": "Ongoing",
        "gov_ack": "Yes",
        "gov_ack_quote": "Blocked for national security.",
        "info_source_link": "https://example.org/2024/x-block",
        "event": "X blocked after the election.",
        "count_year": "2024",
        **cells,
    }


def _get(client, incident_id: int) -> dict[str, Any]:
    response = client.get(f"{LIST}/{incident_id}")
    assert response.status_code == 200
    return response.get_json()


def _all(client, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"{LIST}?page_size=500&{query}")
    assert response.status_code == 200
    return response.get_json()


def _content(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in record.items() if k not in ("id", "provenance_at")} for record in records]


# --------------------------------------------------------------------------- the README's steps


def test_the_readme_sequence_leaves_the_demo_incident_as_curated(client, runner):
    """`make run` loads the demo through the seed; the README then imports its STOP sample over
    HTTP. The sample's row 3 is the demo's shutdown: nothing an editor curated may change."""
    loaded = runner.invoke(args=["demo", "load", "--if-empty"])
    assert loaded.exit_code == 0, loaded.output
    [demo] = _all(client)
    assert demo["provenance"] == "seed:demo" and demo["provenance_at"] == demo["created_at"]
    assert {record["provenance"] for name in CHILDREN for record in demo[name]} == {"seed:demo"}

    report = _stop(client, SAMPLE.read_bytes(), filename="stop-sample.csv")
    assert (report["created"], report["updated"], report["rejected"]) == (2, 1, 0)
    after = _get(client, demo["id"])
    for name in ("title", "description", "telcos", "asns", "platforms", "status", "end_date"):
        assert after[name] == demo[name], name
    assert after["legal_cases"] == demo["legal_cases"]
    assert after["acknowledgements"] == demo["acknowledgements"]
    assert (after["litigation_status"], after["acknowledged_on"]) == ("pending", "2024-03-19")
    assert after["acknowledgement_delay_days"] == demo["acknowledgement_delay_days"]
    # the sheet's links are added (evidence is only ever added) and says where it came from
    assert _content(after["sources"][: len(demo["sources"])]) == _content(demo["sources"])
    added = after["sources"][len(demo["sources"]) :]
    assert [(source["url"], source["provenance"]) for source in added] == [
        ("https://example.org/reports/pk-x-block", "stop:stop-sample.csv#3"),
        ("https://example.org/court/ihc-filing", "stop:stop-sample.csv#3"),
    ]
    # what the sheet says otherwise is reported, field by field, not written
    conflicts = {conflict["field"]: conflict for conflict in report["conflicts"]}
    assert {"title", "end_date", "status", "acknowledgements", "telcos"} <= set(conflicts)
    assert all(conflict["row"] == 3 and conflict["incident"] == demo["id"] for conflict in conflicts.values())
    assert conflicts["title"]["stored"] == demo["title"]
    assert conflicts["title"]["sheet"] == "Service-based shutdown in Pakistan (Nationwide)"
    assert (conflicts["status"]["stored"], conflicts["status"]["sheet"]) == ("ended", "ongoing")
    assert (conflicts["telcos"]["stored"], conflicts["telcos"]["sheet"]) == (["PTCL"], [])
    # the row the demo was matched with is recorded with it, every cell of it
    [record] = after["stop_rows"]
    assert (record["sheet"], record["row"], record["count_year"]) == ("stop-sample.csv", 3, 2024)
    assert record["cells"]["region"] == "APAC" and record["cells"]["gov_ack"] == "Yes"

    again = _stop(client, SAMPLE.read_bytes(), filename="stop-sample.csv")
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert _get(client, demo["id"])["revision"] == after["revision"]


# --------------------------------------------------------------------------- conflicts


def _imported_then_curated(client) -> tuple[dict[str, Any], dict[str, Any]]:
    """A 2024 sheet's incident, then an editor's title, end, statement and court case."""
    _stop(client, _sheet(_row()))
    [incident] = _all(client)
    assert incident["provenance"] == "stop:stop-2024.csv#2"
    [statement] = incident["acknowledgements"]
    assert statement["provenance"] == "stop:stop-2024.csv#2"
    response = client.patch(
        f"{LIST}/{incident['id']}",
        json={"title": "X (Twitter) blocked in Pakistan", "end_date": "2025-05-07"},
        headers={"If-Match": etag_of(client, incident["id"])},
    )
    assert response.status_code == 200, response.get_json()
    for path, body in (
        ("acknowledgements", {"actor": "Information Minister", "stance": "denied", "date": "2024-03-13"}),
        ("legal-cases", {"court": "Islamabad High Court", "status": "pending"}),
    ):
        added = client.post(
            f"{LIST}/{incident['id']}/{path}",
            json=body,
            headers={"If-Match": etag_of(client, incident["id"])},
        )
        assert added.status_code == 201, added.get_json()
    curated = _get(client, incident["id"])
    assert {s["provenance"] for s in curated["acknowledgements"]} == {
        "stop:stop-2024.csv#2",
        "editor:test-editor",
    }
    assert curated["legal_cases"][0]["provenance"] == "editor:test-editor"
    return incident, curated


# The 2025 sheet re-issues the shutdown: area reworded, a new quote, a new link, its own end.
LATER = _row(
    area_name="National",
    gov_ack_quote="The ministry confirmed the block in court.",
    info_source_link="https://example.org/2025/x-block",
    event="X blocked after the election; restored in May 2025.",
    shutdown_status="Ended",
    end_date="2025-05-08",
    count_year="2025",
)


def test_a_reimport_keeps_what_an_editor_changed_and_reports_it(client):
    incident, curated = _imported_then_curated(client)
    report = _stop(client, _sheet(LATER), filename="stop-2025.csv")
    assert (report["created"], report["updated"]) == (0, 1)
    conflicts = [(c["row"], c["incident"], c["field"], c["stored"], c["sheet"]) for c in report["conflicts"]]
    assert conflicts == [
        (
            2,
            incident["id"],
            "title",
            "X (Twitter) blocked in Pakistan",
            "Service-based shutdown in Pakistan (National)",
        ),
        (2, incident["id"], "end_date", "2025-05-07", "2025-05-08"),
    ]
    after = _get(client, incident["id"])
    # the editor's values and records stay
    assert (after["title"], after["end_date"], after["status"]) == (curated["title"], "2025-05-07", "ended")
    assert after["legal_cases"] == curated["legal_cases"]
    editors = [s for s in after["acknowledgements"] if s["provenance"].startswith("editor:")]
    assert _content(editors) == _content([s for s in curated["acknowledgements"] if s["stance"] == "denied"])
    # what nobody changed follows the later sheet: the area's wording, the text, its statement
    assert after["area"] == "National"
    assert after["description"] == "X blocked after the election; restored in May 2025."
    [sheet_statement] = [s for s in after["acknowledgements"] if s["provenance"].startswith("stop:")]
    assert sheet_statement["quote"] == "The ministry confirmed the block in court."
    assert sheet_statement["provenance"] == "stop:stop-2025.csv#2"
    # the links of both sheets
    assert [s["url"] for s in after["sources"]] == [
        "https://example.org/2024/x-block",
        "https://example.org/2025/x-block",
    ]
    assert [(r["sheet"], r["row"], r["count_year"]) for r in after["stop_rows"]] == [
        ("stop-2024.csv", 2, 2024),
        ("stop-2025.csv", 2, 2025),
    ]
    # the same sheet again: the same conflicts, nothing written
    again = _stop(client, _sheet(LATER), filename="stop-2025.csv")
    assert (again["updated"], again["unchanged"], len(again["conflicts"])) == (0, 1, 2)


def test_on_conflict_sheet_lets_the_sheet_win_but_keeps_the_editors_records(client):
    incident, curated = _imported_then_curated(client)
    report = _stop(client, _sheet(LATER), "&on_conflict=sheet", filename="stop-2025.csv")
    assert (report["on_conflict"], report["updated"], report["conflicts"]) == ("sheet", 1, [])
    after = _get(client, incident["id"])
    assert (after["title"], after["end_date"]) == (
        "Service-based shutdown in Pakistan (National)",
        "2025-05-08",
    )
    assert after["legal_cases"] == curated["legal_cases"]
    assert sorted(s["provenance"] for s in after["acknowledgements"]) == [
        "editor:test-editor",
        "stop:stop-2025.csv#2",
    ]
    # a later import with the default rule writes again once nobody changed the field
    later = _stop(client, _sheet({**LATER, "end_date": "2025-05-09"}), filename="stop-2025b.csv")
    assert later["conflicts"] == [] and _get(client, incident["id"])["end_date"] == "2025-05-09"


def test_an_editors_statement_edit_is_a_conflict_not_a_duplicate(client):
    incident, curated = _imported_then_curated(client)
    [sheet_statement] = [s for s in curated["acknowledgements"] if s["provenance"].startswith("stop:")]
    edited = {k: v for k, v in sheet_statement.items() if k not in ("id", "provenance", "provenance_at")}
    response = client.put(
        f"{LIST}/{incident['id']}/acknowledgements/{sheet_statement['id']}",
        json={**edited, "date": "2024-04-17", "channel": "court_filing"},
        headers={"If-Match": etag_of(client, incident["id"])},
    )
    assert response.status_code == 200, response.get_json()
    report = _stop(client, _sheet(LATER), filename="stop-2025.csv")
    assert "acknowledgements" in {c["field"] for c in report["conflicts"]}
    after = _get(client, incident["id"])
    assert len(after["acknowledgements"]) == 2
    assert [s["date"] for s in after["acknowledgements"] if s["provenance"].startswith("stop:")] == [
        "2024-04-17"
    ]


def test_the_on_conflict_argument_is_checked(client):
    response = _post_file(client, _sheet(_row()), "format=stop&on_conflict=mine", "x.csv")
    assert response.status_code == 422
    assert "on_conflict" in response.get_json()["errors"]["query"]


# --------------------------------------------------------------------------- matching


def test_a_later_sheet_correcting_platforms_updates_the_same_incident(client):
    first = _row(twitter_affected="No", other_affected="Social media", shutdown_status="", count_year="2018")
    corrected = _row(
        facebook_affected="Yes",
        area_name="National",
        count_year="2019",
        info_source_link="https://example.org/b",
    )
    report = _stop(client, _sheet(first, corrected), filename="stop-2016-2025.csv")
    assert (report["created"], report["merged"]) == (1, 1)
    [incident] = _all(client)
    assert report["merges"] == [{"incident": incident["id"], "rows": [2, 3]}]
    assert incident["platforms"] == ["facebook", "x"]
    assert {s["url"] for s in incident["sources"]} == {
        "https://example.org/2024/x-block",
        "https://example.org/b",
    }
    # the earlier row is kept whole with the incident: its values are not the incident's
    earlier = incident["stop_rows"][0]
    assert earlier["row"] == 2 and earlier["cells"]["other_affected"] == "Social media"
    assert earlier["cells"]["twitter_affected"] == "No"


def test_same_day_shutdowns_in_different_areas_stay_distinct(client):
    rows = [
        _row(
            country="India",
            area_name=area,
            shutdown_extent="Full network",
            twitter_affected="No",
            count_year=year,
        )
        for area, year in (
            ("Manipur", "2023"),
            ("Haryana", "2023"),
            ("Imphal, Manipur", "2024"),
            ("Punjab", "2024"),
        )
    ]
    report = _stop(client, _sheet(*rows))
    assert (report["created"], report["merged"]) == (3, 1)
    assert report["merges"][0]["rows"] == [2, 4]
    assert sorted(i["area"] for i in _all(client, "country=IN")) == ["Haryana", "Imphal, Manipur", "Punjab"]


# --------------------------------------------------------------------------- no cell lost


def test_cells_without_a_field_are_kept_with_the_incident(client):
    row = _row(
        gov_ack="No",
        gov_ack_quote="The ministry denied any restriction.",
        telco_ack="Unknown",
        telco_ack_quote="An operator said it follows orders.",
        facebook_affected="Unknown",
        instagram_affected="No",
        users_targeted="Others",
        users_notified="No",
        info_source="Partners",
        region="APAC",
    )
    _stop(client, _sheet(row))
    [incident] = _all(client)
    [denial] = incident["acknowledgements"]
    assert (denial["stance"], denial["quote"]) == ("denied", "The ministry denied any restriction.")
    assert incident["acknowledgement_status"] == "denied"
    assert incident["platforms"] == ["x"]
    [record] = incident["stop_rows"]
    assert record["cells"] == {
        "shutdown_type": "Shutdown",
        "shutdown_extent": "Service-based",
        "info_source": "Partners",
        "facebook_affected": "Unknown",
        "telco_ack": "Unknown",
        "telco_ack_quote": "An operator said it follows orders.",
        "users_targeted": "Others",
        "users_notified": "No",
        "region": "APAC",
        "geo_scope": NATIONAL,
    }
    exported = client.get("/api/v1/incidents.csv")
    [line] = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert line["provenance"] == "stop:stop-2024.csv#2"
    assert '"region":"APAC"' in line["stop_rows"]


def test_a_territory_is_recorded_under_its_country_and_flagged(client):
    report = _stop(client, _sheet(_row(country="Somaliland", area_name="Hargeisa")))
    assert (report["created"], report["rejected"]) == (1, 0)
    [note] = report["notes"]
    assert (note["row"], note["column"]) == (2, "country") and "SO" in note["message"]
    [incident] = _all(client, "country=SO")
    assert incident["area"] == "Somaliland: Hargeisa"
    assert incident["stop_rows"][0]["cells"]["country"] == "Somaliland"


# --------------------------------------------------------------------------- provenance


def test_provenance_of_editors_and_native_imports(client):
    made = create(client, title="by hand")
    assert made["provenance"] == "editor:test-editor" and made["provenance_at"] == made["created_at"]
    exported = list(csv.DictReader(io.StringIO(client.get("/api/v1/incidents.csv").get_data(as_text=True))))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(exported[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows([{**line, "id": "", "revision": ""} for line in exported])  # a copy, not an update
    response = _post_file(client, buffer.getvalue().encode(), "format=native", "desk.csv")
    assert response.status_code == 200, response.get_json()
    copies = [i for i in _all(client) if i["id"] != made["id"]]
    assert [i["provenance"] for i in copies] == ["native:desk.csv#2"]
    # read-only on input: a document sent back keeps the stored provenance
    response = client.put(
        f"{LIST}/{made['id']}",
        json={**{k: v for k, v in made.items()}, "provenance": "forged"},
        headers={"If-Match": etag_of(client, made["id"])},
    )
    assert response.status_code == 200 and response.get_json()["provenance"] == "editor:test-editor"


# --------------------------------------------------------------------------- the real sheet


def _all_pages(client) -> list[dict[str, Any]]:
    documents, page = [], 1
    while True:
        batch = _all(client, f"page={page}")
        documents += batch
        if len(batch) < 500:
            return documents
        page += 1


@pytest.mark.slow
def test_every_cell_of_the_real_sheet_reaches_the_api(client):
    """Imports the real sheet over HTTP, then checks each non-empty cell of each recorded row
    against what GET /incidents shows: a field that holds it, or the row's `stop_rows` record.
    Prints the table per column (`pytest -s`)."""
    if not REAL_STOP_FILE.exists():
        pytest.skip(f"{REAL_STOP_FILE} is not here")
    report = _stop(client, REAL_STOP_FILE.read_bytes(), filename=REAL_STOP_FILE.name)
    rejected = {error["row"] for error in report["errors"]}
    recorded: dict[int, list[tuple[dict, dict]]] = {}
    for document in _all_pages(client):
        for record in document["stop_rows"]:
            recorded.setdefault(record["row"], []).append((document, record))
    with REAL_STOP_FILE.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    cells: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    as_written: Counter[str] = Counter()  # of which in `stop_rows` (no field holds them)
    lost_rejected = 0
    for number, row in enumerate(rows, start=2):
        for column, raw in row.items():
            cell = stop_format.parsing.clean_cell(raw or "")
            if not cell or column == "duration":
                continue  # empty, or recomputed by the API
            if number in rejected:
                lost_rejected += 1  # reported as an error row, not recorded
                continue
            cells[column] += 1
            entries = recorded.get(number, [])
            as_written[column] += bool(entries) and all(column in record["cells"] for _, record in entries)
            if entries and all(
                column in record["cells"]
                or (column == "count_year" and str(record["count_year"]) == cell)
                or stop_format.held(column, cell, document)
                for document, record in entries
            ):
                kept[column] += 1
    print(f"\nSTOP sheet: {len(rows)} rows, {len(rows) - len(rejected)} recorded, {len(rejected)} rejected")
    print(f"{'column':<22} {'non-empty':>9} {'kept':>6} {'share':>7} {'in stop_rows':>12}")
    for column in rows[0]:
        if cells[column]:
            share = kept[column] / cells[column]
            print(f"{column:<22} {cells[column]:>9} {kept[column]:>6} {share:>7.1%} {as_written[column]:>12}")
    total, total_kept = sum(cells.values()), sum(kept.values())
    print(f"{'all':<22} {total:>9} {total_kept:>6} {total_kept / total:>7.2%} {sum(as_written.values()):>12}")
    print(f"cells of the {len(rejected)} rejected rows (reported as errors): {lost_rejected}")
    assert kept == cells


def test_a_native_reimport_keeps_the_records_an_editor_added(client):
    made = create(client, title="by hand", sources=[{"url": "https://example.org/first"}])
    exported = list(csv.DictReader(io.StringIO(client.get("/api/v1/incidents.csv").get_data(as_text=True))))
    added = client.post(
        f"{LIST}/{made['id']}/legal-cases",
        json={"court": "High Court", "status": "pending"},
        headers={"If-Match": etag_of(client, made["id"])},
    )
    assert added.status_code == 201
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(exported[0]), lineterminator="\r\n")
    writer.writeheader()
    # the sheet (no revision cell: it is authoritative for the row's fields) drops the source
    writer.writerows(
        [{**line, "revision": "", "sources": "", "source_urls": "", "title": "renamed"} for line in exported]
    )
    response = _post_file(client, buffer.getvalue().encode(), "format=native", "desk.csv")
    assert response.status_code == 200, response.get_json()
    after = _get(client, made["id"])
    assert after["title"] == "renamed"
    assert [(c["court"], c["provenance"]) for c in after["legal_cases"]] == [
        ("High Court", "editor:test-editor")
    ]
    assert [s["url"] for s in after["sources"]] == ["https://example.org/first"]


def test_a_shutdown_an_editor_deleted_is_not_recorded_again(client, admin_client):
    _stop(client, _sheet(_row()))
    [incident] = _all(client)
    deleted = admin_client.delete(
        f"{LIST}/{incident['id']}", headers={"If-Match": etag_of(client, incident["id"])}
    )
    assert deleted.status_code == 204
    report = _stop(client, _sheet(LATER), filename="stop-2025.csv")
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 1)
    [note] = report["notes"]
    assert note["row"] == 2 and f"incident {incident['id']}, which was deleted" in note["message"]
    assert _all(client) == []


def test_the_cli_reports_conflicts_and_can_let_the_sheet_win(client, runner):
    assert runner.invoke(args=["demo", "load", "--if-empty"]).exit_code == 0
    [demo] = _all(client)
    args = ["incidents", "import", str(SAMPLE), "--format", "stop", "--on-error", "skip"]
    kept = runner.invoke(args=args)
    assert kept.exit_code == 0, kept.output
    assert f"row 3, title: incident {demo['id']} kept {demo['title']!r}" in kept.output
    assert "conflicts 0" not in kept.output.splitlines()[-1]
    assert _get(client, demo["id"])["title"] == demo["title"]
    won = runner.invoke(args=[*args, "--on-conflict", "sheet"])
    assert won.exit_code == 0, won.output
    assert "updated 1" in won.output and "conflicts 0 (written)" in won.output
    after = _get(client, demo["id"])
    assert after["title"] == "Service-based shutdown in Pakistan (Nationwide)"
    assert after["legal_cases"] == demo["legal_cases"] and after["asns"] == demo["asns"]


def test_a_dry_run_reports_the_conflicts_and_writes_nothing(client):
    incident, curated = _imported_then_curated(client)
    report = _stop(client, _sheet(LATER), "&dry_run=true", filename="stop-2025.csv")
    assert report["dry_run"] and report["updated"] == 1
    assert [c["field"] for c in report["conflicts"]] == ["title", "end_date"]
    assert _get(client, incident["id"]) == curated


# --------------------------------------------------------------------------- native re-imports


def _exported(client) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(client.get("/api/v1/incidents.csv").get_data(as_text=True))))


def _native(client, lines: list[dict[str, str]], query: str = "") -> dict[str, Any]:
    response = _post_file(client, _native_bytes(lines), f"format=native{query}", "desk.csv")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _patch(client, incident_id: int, **fields: Any) -> dict[str, Any]:
    response = client.patch(
        f"{LIST}/{incident_id}", json=fields, headers={"If-Match": etag_of(client, incident_id)}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _exported_then_edited(client) -> tuple[dict[str, Any], dict[str, str]]:
    """An incident exported at revision 1, then an editor's new title (revision 2)."""
    made = create(client, title="by hand", description="first text", area="Lahore")
    [line] = _exported(client)
    assert line["revision"] == "1"
    edited = _patch(client, made["id"], title="the editor's title")
    assert edited["revision"] == 2
    return edited, line


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_native_row_older_than_its_incident_is_merged_field_by_field(client, dry_run):
    edited, line = _exported_then_edited(client)
    query = "&dry_run=true" if dry_run else ""
    report = _native(client, [{**line, "title": "the file's title", "description": "the file's text"}], query)
    assert (report["updated"], report["rejected"], report["errors"]) == (1, 0, [])
    [conflict] = report["conflicts"]
    assert conflict == {
        "row": 2,
        "incident": edited["id"],
        "field": "title",
        "stored": "the editor's title",
        "sheet": "the file's title",
    }
    after = _get(client, edited["id"])
    if dry_run:
        assert after == edited
        return
    assert (after["title"], after["description"], after["area"]) == (
        "the editor's title",
        "the file's text",
        "Lahore",
    )
    assert after["revision"] == 3
    # the same file again: the same conflict, nothing more to write
    again = _native(client, [{**line, "title": "the file's title", "description": "the file's text"}])
    assert (again["updated"], again["unchanged"], len(again["conflicts"])) == (0, 1, 1)


def test_on_conflict_sheet_lets_a_native_row_win(client):
    edited, line = _exported_then_edited(client)
    changed = {**line, "title": "the file's title", "description": "the file's text"}
    report = _native(client, [changed], "&on_conflict=sheet")
    assert (report["on_conflict"], report["updated"], report["conflicts"]) == ("sheet", 1, [])
    after = _get(client, edited["id"])
    assert (after["title"], after["description"]) == ("the file's title", "the file's text")


def test_a_native_row_that_changes_nothing_an_editor_changed_is_not_refused(client):
    edited, line = _exported_then_edited(client)
    report = _native(client, [{**line, "area": "Karachi", "end_date": "2024-03-01", "status": "ended"}])
    assert (report["updated"], report["rejected"], report["conflicts"]) == (1, 0, [])
    after = _get(client, edited["id"])
    assert (after["title"], after["area"], after["end_date"], after["status"]) == (
        "the editor's title",
        "Karachi",
        "2024-03-01",
        "ended",
    )
    # the untouched export itself: nothing to write, nothing to report
    unchanged = _native(client, [line])
    assert (unchanged["updated"], unchanged["unchanged"], unchanged["conflicts"]) == (0, 1, [])
    assert _get(client, edited["id"]) == after


def test_a_native_row_keeps_the_court_case_an_editor_added_since_the_export(client):
    made = create(client, title="by hand", sources=[{"url": "https://example.org/first"}])
    [line] = _exported(client)
    added = client.post(
        f"{LIST}/{made['id']}/legal-cases",
        json={"court": "High Court", "status": "pending"},
        headers={"If-Match": etag_of(client, made["id"])},
    )
    assert added.status_code == 201
    report = _native(client, [{**line, "title": "renamed"}])
    assert (report["updated"], report["conflicts"]) == (1, [])
    after = _get(client, made["id"])
    assert after["title"] == "renamed"
    assert [(c["court"], c["provenance"]) for c in after["legal_cases"]] == [
        ("High Court", "editor:test-editor")
    ]
    # the file's own court case, beside the editor's: one list changed on both sides, a conflict
    line = {**line, "legal_cases": '[{"court": "Supreme Court", "status": "dismissed"}]'}
    report = _native(client, [line])
    [conflict] = report["conflicts"]
    assert conflict["field"] == "legal_cases" and conflict["stored"][0]["court"] == "High Court"
    assert [c["court"] for c in _get(client, made["id"])["legal_cases"]] == ["High Court"]
    # letting the file win adds its court case; the editor's stays all the same
    report = _native(client, [line], "&on_conflict=sheet")
    assert report["conflicts"] == []
    assert sorted(c["court"] for c in _get(client, made["id"])["legal_cases"]) == [
        "High Court",
        "Supreme Court",
    ]


def test_a_native_row_of_a_revision_its_incident_never_had_is_refused(client):
    edited, line = _exported_then_edited(client)
    response = _post_file(
        client, _native_bytes([{**line, "revision": "7", "title": "elsewhere"}]), "format=native", "desk.csv"
    )
    assert response.status_code == 422
    [error] = response.get_json()["errors"]
    assert (error["row"], error["column"]) == (2, "revision") and "no revision 7" in error["message"]
    assert _get(client, edited["id"]) == edited


def _native_bytes(lines: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(lines[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(lines)
    return buffer.getvalue().encode()


def test_a_native_file_without_a_column_merges_only_the_columns_it_has(client):
    made = create(client, title="by hand", description="first text", area="Lahore")
    [line] = _exported(client)
    _patch(client, made["id"], description="the editor's text")
    narrow = {name: cell for name, cell in line.items() if name not in ("description", "telcos")}
    report = _native(client, [{**narrow, "area": "Karachi"}])
    assert (report["updated"], report["conflicts"]) == (1, [])
    after = _get(client, made["id"])
    assert (after["description"], after["area"], after["telcos"]) == (
        "the editor's text",
        "Karachi",
        made["telcos"],
    )
