"""Undo: POST /incidents/{id}/revisions/{n}/revert makes revision n's content current again."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.db import db
from app.http.jsonio import dumps
from app.models import IncidentRevision
from tests.conftest import create, etag_of

INCIDENTS = "/api/v1/incidents"
SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "stop-sample.csv"
# The README's STOP import, letting the sheet win over curated fields (`on_conflict=sheet`): the
# overwrite these tests undo.
STOP_IMPORT = "format=stop&on_error=skip&on_conflict=sheet"
# Fields a revert does not take from the old revision: ids, timestamps, the revision number,
# and a duration that grows by itself.
# `stop_rows`, the sheets' own cells, is the record of what each sheet said, not content: it stays.
NOT_CONTENT = {"id", "created_at", "updated_at", "revision", "duration_days", "stop_rows"}


def content(document: dict[str, Any]) -> bytes:
    """The document's content fields (children without their ids, nor the time a record written
    anew was written), as the API's JSON bytes."""
    kept = {name: value for name, value in document.items() if name not in NOT_CONTENT}
    for name in ("acknowledgements", "legal_cases", "sources"):
        kept[name] = [
            {k: v for k, v in child.items() if k not in ("id", "provenance_at")} for child in document[name]
        ]
    return dumps(kept)


def revert(client, incident_id: int, number: int, etag: str | None = None):
    headers = {"If-Match": etag} if etag else {}
    return client.post(f"{INCIDENTS}/{incident_id}/revisions/{number}/revert", headers=headers)


def revisions(client, incident_id: int) -> list[dict[str, Any]]:
    response = client.get(f"{INCIDENTS}/{incident_id}/revisions")
    assert response.status_code == 200
    return response.get_json()


def put(client, incident: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {**incident, **changes}
    response = client.put(
        f"{INCIDENTS}/{incident['id']}", json=body, headers={"If-Match": etag_of(client, incident["id"])}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def import_stop(client, content_bytes: bytes) -> dict[str, Any]:
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(content_bytes), filename="stop.csv", content_type="text/csv")}
    )
    response = client.post(
        f"{INCIDENTS}/import?{STOP_IMPORT}",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_revert_repairs_an_imports_overwrite_of_the_curated_demo(runner, client, anon_client):
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    [demo] = client.get(INCIDENTS).get_json()
    curated = client.get(f"{INCIDENTS}/{demo['id']}/revisions/1").get_json()

    report = import_stop(client, SAMPLE.read_bytes())
    assert report["updated"] == 1, report
    overwritten = client.get(f"{INCIDENTS}/{demo['id']}").get_json()
    assert overwritten["revision"] == 2
    assert content(overwritten) != content(curated)
    assert overwritten["title"] != curated["title"]  # the editor's wording lost to the sheet's

    read_etag = etag_of(client, demo["id"])
    response = revert(client, demo["id"], 1, read_etag)
    assert response.status_code == 200, response.get_json()
    reverted = response.get_json()
    assert response.headers["ETag"] != read_etag
    assert revert(client, demo["id"], 2, read_etag).status_code == 412  # a second editor, too late
    assert content(reverted) == content(curated)
    assert reverted["stop_rows"] == overwritten["stop_rows"] != []
    assert reverted["revision"] == 3 and reverted["id"] == demo["id"]
    assert reverted["created_at"] == curated["created_at"]
    # What every reader sees now: the stored copy, its ETag, the list, the CSV export.
    read = anon_client.get(f"{INCIDENTS}/{demo['id']}")
    assert read.get_json() == reverted
    assert read.headers["ETag"] == response.headers["ETag"]
    assert [i["title"] for i in anon_client.get(f"{INCIDENTS}?country=PK&page_size=500").get_json()].count(
        curated["title"]
    ) == 1
    exported = anon_client.get(f"{INCIDENTS}.csv?country=PK").get_data(as_text=True)
    assert curated["title"] in exported

    history = revisions(client, demo["id"])
    assert [(r["revision"], r["action"], r["actor"]) for r in history] == [
        (1, "create", "cli"),
        (2, "update", "test-editor"),
        (3, "revert", "test-editor"),
    ]
    assert history[2]["changes"]["revert"] == {"from": 2, "to": 1}
    assert history[2]["changes"]["title"] == {"from": overwritten["title"], "to": curated["title"]}
    # The revision's stored document is the reverted one.
    assert client.get(f"{INCIDENTS}/{demo['id']}/revisions/3").get_json() == reverted


def test_revert_needs_an_editor_and_the_current_etag(client, anon_client):
    incident = create(client, title="First")
    put(client, incident, title="Second")
    current = etag_of(client, incident["id"])
    assert revert(anon_client, incident["id"], 1, current).status_code == 401
    missing = revert(client, incident["id"], 1)
    assert missing.status_code == 428
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert "If-Match" in missing.get_json()["detail"]
    stale = revert(client, incident["id"], 1, etag_of(client, incident["id"]).replace('"', '"0', 1))
    assert stale.status_code == 412
    assert "changed since you read it" in stale.get_json()["detail"]
    for number in (0, 3, 99999999999):
        unknown = revert(client, incident["id"], number, current)
        assert unknown.status_code == 404
        assert f"no revision {number}" in unknown.get_json()["detail"]
    assert revert(client, 424242, 1, current).status_code == 404
    # nothing of this wrote anything
    assert client.get(f"{INCIDENTS}/{incident['id']}").get_json()["title"] == "Second"
    assert len(revisions(client, incident["id"])) == 2


def test_revert_to_the_current_content_changes_nothing(client):
    incident = create(client, title="Only")
    etag = etag_of(client, incident["id"])
    response = revert(client, incident["id"], 1, etag)
    assert response.status_code == 200
    assert response.get_json()["revision"] == 1
    assert response.headers["ETag"] == etag
    assert len(revisions(client, incident["id"])) == 1


def test_revert_after_delete_and_restore(client, admin_client):
    incident = create(client, title="Before", sources=[{"url": "https://example.org/a"}])
    put(client, incident, title="After", sources=[])
    deleted = admin_client.delete(
        f"{INCIDENTS}/{incident['id']}", headers={"If-Match": etag_of(client, incident["id"])}
    )
    assert deleted.status_code == 204

    refused = revert(client, incident["id"], 1, '"anything"')
    assert refused.status_code == 409
    assert f"/api/v1/incidents/{incident['id']}/restore" in refused.get_json()["detail"]
    assert len(revisions(client, incident["id"])) == 3  # nothing written, still deleted
    assert client.get(f"{INCIDENTS}/{incident['id']}").status_code == 410

    assert admin_client.post(f"{INCIDENTS}/{incident['id']}/restore").status_code == 200
    response = revert(client, incident["id"], 1, etag_of(client, incident["id"]))
    assert response.status_code == 200, response.get_json()
    reverted = response.get_json()
    assert reverted["title"] == "Before" and reverted["revision"] == 5
    assert [s["url"] for s in reverted["sources"]] == ["https://example.org/a"]
    assert content(reverted) == content(client.get(f"{INCIDENTS}/{incident['id']}/revisions/1").get_json())
    assert [r["action"] for r in revisions(client, incident["id"])] == [
        "create",
        "update",
        "delete",
        "restore",
        "revert",
    ]


SOURCES = [{"url": f"https://example.org/{name}", "title": name.upper()} for name in ("a", "b", "c")]


def test_revert_keeps_the_records_that_still_exist_and_the_revisions_order(client):
    incident = create(client, sources=SOURCES)
    a, b, c = incident["sources"]
    # revision 2: c removed, b edited — a and b still exist, c must come back after them
    put(client, incident, sources=[a, {**b, "title": "edited"}])
    reverted = revert(client, incident["id"], 1, etag_of(client, incident["id"])).get_json()
    assert [s["title"] for s in reverted["sources"]] == ["A", "B", "C"]
    assert [s["id"] for s in reverted["sources"]][:2] == [a["id"], b["id"]]
    assert reverted["sources"][2]["id"] not in (a["id"], b["id"])  # c is a new record
    # written anew, with the provenance revision 1 gave it
    assert (reverted["sources"][2]["provenance"], reverted["sources"][2]["provenance_at"]) == (
        c["provenance"],
        c["provenance_at"],
    )
    assert content(reverted) == content(client.get(f"{INCIDENTS}/{incident['id']}/revisions/1").get_json())

    # revision 4: a removed — b and c are identical to records that exist, yet a comes first,
    # so all three are written anew in revision 1's order
    current = client.get(f"{INCIDENTS}/{incident['id']}").get_json()
    put(client, current, sources=current["sources"][1:])
    again = revert(client, incident["id"], 1, etag_of(client, incident["id"])).get_json()
    assert [s["title"] for s in again["sources"]] == ["A", "B", "C"]
    ids = [s["id"] for s in again["sources"]]
    assert ids == sorted(ids) and not set(ids) & {s["id"] for s in reverted["sources"]}
    assert revisions(client, incident["id"])[-1]["changes"]["revert"] == {"from": 4, "to": 1}


def test_revert_brings_back_every_kind_of_field(client):
    incident = create(
        client,
        shutdown_types=["service_based"],
        platforms=["x", "whatsapp"],
        networks=["mobile"],
        asns=[17557],
        telcos=["PTCL", "Jazz"],
        end_date="2023-05-09",
        acknowledgements=[{"actor": "Ministry of Interior", "stance": "acknowledged", "date": "2023-05-04"}],
        legal_cases=[{"court": "Islamabad High Court", "status": "pending"}],
        sources=SOURCES[:1],
    )
    put(
        client,
        incident,
        title="Rewritten",
        shutdown_types=["full_network"],
        platforms=[],
        networks=["broadband"],
        asns=[],
        telcos=["Zong"],
        end_date=None,
        status="ongoing",
        acknowledgements=[],
        legal_cases=[],
        sources=[],
    )
    reverted = revert(client, incident["id"], 1, etag_of(client, incident["id"])).get_json()
    original = client.get(f"{INCIDENTS}/{incident['id']}/revisions/1").get_json()
    assert content(reverted) == content(original)
    assert reverted["acknowledgement_status"] == "acknowledged" and reverted["litigation_status"] == "pending"
    assert reverted["duration_days"] == original["duration_days"]


def test_a_revision_that_todays_rules_refuse_is_a_409(app, client):
    incident = create(client, title="First", shutdown_types=["service_based"], platforms=["x"])
    put(client, incident, title="Second")
    # Revision 1 names a platform the vocabulary no longer has (as after a slug was renamed).
    with app.app_context():
        stored = db.session.scalar(sa.select(IncidentRevision).where(IncidentRevision.revision == 1))
        stored.document = {**stored.document, "platforms": ["gone-platform"]}
        db.session.commit()
    response = revert(client, incident["id"], 1, etag_of(client, incident["id"]))
    assert response.status_code == 409
    body = response.get_json()
    assert "gone-platform" in json.dumps(body["errors"]["revision"]["platforms"])
    assert "PUT" in body["detail"]
    assert client.get(f"{INCIDENTS}/{incident['id']}").get_json()["title"] == "Second"
    assert len(revisions(client, incident["id"])) == 2
