"""Revision history, soft delete and restore."""

from __future__ import annotations

import json

from tests.conftest import create, etag_of


def _revisions(client, incident_id):
    response = client.get(f"/api/v1/incidents/{incident_id}/revisions")
    assert response.status_code == 200
    return response.get_json()


def test_create_update_child_delete_restore_history(client, admin_client):
    incident = create(client, title="Original title")
    iid = incident["id"]
    patched = client.patch(
        f"/api/v1/incidents/{iid}", json={"title": "Better title"}, headers={"If-Match": etag_of(client, iid)}
    )
    assert patched.status_code == 200
    added = client.post(
        f"/api/v1/incidents/{iid}/sources",
        json={"url": "https://example.org/a"},
        headers={"If-Match": patched.headers["ETag"]},
    )
    assert added.status_code == 201
    deleted = admin_client.delete(
        f"/api/v1/incidents/{iid}", headers={"If-Match": added.headers["Incident-ETag"]}
    )
    assert deleted.status_code == 204

    history = _revisions(client, iid)
    assert [(r["revision"], r["action"]) for r in history] == [
        (1, "create"),
        (2, "update"),
        (3, "update"),
        (4, "delete"),
    ]
    assert {r["actor"] for r in history} == {"test-editor", "test-admin"}
    assert history[3]["actor"] == "test-admin"
    assert history[0]["changes"]["title"] == {"from": None, "to": "Original title"}
    assert history[1]["changes"] == {"title": {"from": "Original title", "to": "Better title"}}
    assert list(history[2]["changes"]) == ["sources"]
    assert history[3]["changes"] == {"deleted": {"from": False, "to": True}}
    assert all(r["at"].endswith("Z") for r in history)

    old = client.get(f"/api/v1/incidents/{iid}/revisions/1")
    assert old.status_code == 200
    assert old.get_json()["title"] == "Original title" and old.get_json()["revision"] == 1
    assert (
        client.get(
            f"/api/v1/incidents/{iid}/revisions/1", headers={"If-None-Match": old.headers["ETag"]}
        ).status_code
        == 304
    )

    restored = admin_client.post(f"/api/v1/incidents/{iid}/restore")
    assert restored.status_code == 200
    document = restored.get_json()
    assert document["revision"] == 5
    as_deleted = client.get(f"/api/v1/incidents/{iid}/revisions/3").get_json()
    assert {k: v for k, v in document.items() if k not in ("revision", "updated_at", "duration_days")} == {
        k: v for k, v in as_deleted.items() if k not in ("revision", "updated_at", "duration_days")
    }
    assert _revisions(client, iid)[-1]["action"] == "restore"


def test_deleted_incident_is_gone_everywhere(client, admin_client):
    kept = create(client, title="kept")
    gone = create(client, title="gone")
    response = admin_client.delete(
        f"/api/v1/incidents/{gone['id']}", headers={"If-Match": etag_of(client, gone["id"])}
    )
    assert response.status_code == 204
    assert [i["id"] for i in client.get("/api/v1/incidents").get_json()] == [kept["id"]]
    assert json.loads(client.get("/api/v1/incidents").headers["X-Pagination"])["total"] == 1
    answer = client.get(f"/api/v1/incidents/{gone['id']}")
    assert answer.status_code == 410
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "revisions" in answer.get_json()["detail"]
    assert (
        client.patch(
            f"/api/v1/incidents/{gone['id']}", json={"title": "x"}, headers={"If-Match": '"x"'}
        ).status_code
        == 410
    )
    child = client.post(
        f"/api/v1/incidents/{gone['id']}/sources",
        json={"url": "https://example.org"},
        headers={"If-Match": '"x"'},
    )
    assert child.status_code == 410
    assert len(_revisions(client, gone["id"])) == 2


def test_delete_needs_if_match(client, admin_client):
    incident = create(client)
    assert admin_client.delete(f"/api/v1/incidents/{incident['id']}").status_code == 428
    assert (
        admin_client.delete(
            f"/api/v1/incidents/{incident['id']}", headers={"If-Match": '"stale"'}
        ).status_code
        == 412
    )
    assert client.get(f"/api/v1/incidents/{incident['id']}").status_code == 200


def test_restore_of_live_incident_and_missing_revision(client, admin_client):
    incident = create(client)
    response = admin_client.post(f"/api/v1/incidents/{incident['id']}/restore")
    assert response.status_code == 409
    assert "not deleted" in response.get_json()["detail"]
    assert client.post(f"/api/v1/incidents/{incident['id']}/restore").status_code == 403
    assert client.get(f"/api/v1/incidents/{incident['id']}/revisions/7").status_code == 404
    assert client.get(f"/api/v1/incidents/{incident['id']}/revisions/99999999999").status_code == 404
    assert client.get("/api/v1/incidents/424242/revisions").status_code == 404
    assert len(_revisions(client, incident["id"])) == 1


def test_noop_write_adds_no_revision(client):
    incident = create(client)
    response = client.patch(
        f"/api/v1/incidents/{incident['id']}",
        json={"title": incident["title"]},
        headers={"If-Match": etag_of(client, incident["id"])},
    )
    assert response.status_code == 200 and response.get_json()["revision"] == 1
    assert len(_revisions(client, incident["id"])) == 1


def test_failed_write_leaves_no_revision(client):
    incident = create(client)
    response = client.patch(
        f"/api/v1/incidents/{incident['id']}",
        json={"end_date": "2000-01-01"},
        headers={"If-Match": etag_of(client, incident["id"])},
    )
    assert response.status_code == 422
    assert len(_revisions(client, incident["id"])) == 1
    ok = client.patch(
        f"/api/v1/incidents/{incident['id']}",
        json={"title": "New"},
        headers={"If-Match": etag_of(client, incident["id"])},
    )
    assert ok.get_json()["revision"] == 2
    assert [r["revision"] for r in _revisions(client, incident["id"])] == [1, 2]


def test_cli_writes_as_cli(runner, client):
    runner.invoke(args=["demo", "load"])
    incident = client.get("/api/v1/incidents").get_json()[0]
    assert _revisions(client, incident["id"])[0]["actor"] == "cli"
