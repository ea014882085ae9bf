"""API keys and roles: reads are public, every write needs a key of the right role."""

from __future__ import annotations

import re

import pytest

from app import create_app
from tests.conftest import create, etag_of, incident_doc


def _write_operations(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("post", "put", "patch", "delete"):
                yield path, method, operation


def test_every_write_operation_declares_the_bearer_scheme():
    app = create_app({"DATABASE_URL": "sqlite://"})
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    operations = list(_write_operations(app))
    assert len(operations) >= 10
    for path, method, operation in operations:
        assert operation.get("security") == [{"bearerAuth": []}], f"{method} {path}"
        assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"


def test_every_write_operation_refuses_an_anonymous_call(app, anon_client, client):
    incident = create(client)
    ids = {
        "incident_id": incident["id"],
        "acknowledgement_id": 1,
        "legal_case_id": 1,
        "source_id": 1,
        "slug": "x",
        "revision": 1,
    }
    before = anon_client.get(f"/api/v1/incidents/{incident['id']}").get_json()
    for path, method, _ in _write_operations(app):
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
        response = anon_client.open(url, method=method.upper(), json={})
        assert response.status_code == 401, f"{method} {path}: {response.status_code}"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.headers["Content-Type"] == "application/problem+json"
    assert anon_client.get(f"/api/v1/incidents/{incident['id']}").get_json() == before


def test_reads_are_public(anon_client, client):
    incident = create(client)
    assert anon_client.get("/api/v1/incidents").status_code == 200
    assert anon_client.get(f"/api/v1/incidents/{incident['id']}").status_code == 200
    assert anon_client.get(f"/api/v1/incidents/{incident['id']}/revisions").status_code == 200


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("Bearer sit_nope_nope", "not valid"),
        ("Bearer garbage", "malformed"),
        ("Basic dXNlcjpwYXNz", "Bearer"),
        ("Bearer ", "Bearer"),
    ],
)
def test_bad_keys_are_401(anon_client, header, fragment):
    response = anon_client.post("/api/v1/incidents", json=incident_doc(), headers={"Authorization": header})
    assert response.status_code == 401
    assert fragment in response.get_json()["detail"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert anon_client.get("/api/v1/incidents").get_json() == []


def test_forged_and_truncated_keys(anon_client, editor_key):
    prefix, secret = editor_key.split("_")[1], editor_key.split("_")[2]
    for forged in (f"sit_{prefix}_{secret[:-1]}", f"sit_{prefix}_{'A' * len(secret)}", editor_key[:-5]):
        response = anon_client.post(
            "/api/v1/incidents", json=incident_doc(), headers={"Authorization": f"Bearer {forged}"}
        )
        assert response.status_code == 401, forged
    good = anon_client.post(
        "/api/v1/incidents", json=incident_doc(), headers={"Authorization": f"Bearer {editor_key}"}
    )
    assert good.status_code == 201


def test_revoked_key_is_401(app, runner, anon_client, editor_key):
    result = runner.invoke(args=["keys", "revoke", "test-editor"])
    assert result.exit_code == 0, result.output
    response = anon_client.post(
        "/api/v1/incidents", json=incident_doc(), headers={"Authorization": f"Bearer {editor_key}"}
    )
    assert response.status_code == 401
    assert "revoked" in response.get_json()["detail"]


def test_editor_cannot_delete_or_add_platforms(client, admin_client):
    incident = create(client)
    etag = etag_of(client, incident["id"])
    response = client.delete(f"/api/v1/incidents/{incident['id']}", headers={"If-Match": etag})
    assert response.status_code == 403
    assert "admin" in response.get_json()["detail"]
    assert client.get(f"/api/v1/incidents/{incident['id']}").status_code == 200
    platform = client.post(
        "/api/v1/platforms", json={"slug": "myspace", "name": "MySpace", "kind": "social_media"}
    )
    assert platform.status_code == 403
    assert (
        admin_client.delete(f"/api/v1/incidents/{incident['id']}", headers={"If-Match": etag}).status_code
        == 204
    )


def test_key_in_query_string_is_refused(anon_client, client, editor_key):
    response = anon_client.post(f"/api/v1/incidents?api_key={editor_key}", json=incident_doc())
    assert response.status_code == 400
    assert "Authorization" in response.get_json()["detail"]
    assert client.get(f"/api/v1/incidents?token={editor_key}").status_code == 400
    assert client.get("/api/v1/incidents").get_json() == []


def test_cli_keys_create_list_revoke(app, runner, anon_client):
    created = runner.invoke(args=["keys", "create", "ngo-desk", "--role", "editor"])
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("sit_")
    response = anon_client.post(
        "/api/v1/incidents", json=incident_doc(), headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 201
    listing = runner.invoke(args=["keys", "list"])
    assert "ngo-desk\teditor\tactive" in listing.output
    assert key not in listing.output and key.split("_")[2] not in listing.output
    duplicate = runner.invoke(args=["keys", "create", "ngo-desk"])
    assert duplicate.exit_code != 0
    revoked = runner.invoke(args=["keys", "revoke", "ngo-desk"])
    assert revoked.exit_code == 0
    assert "revoked" in runner.invoke(args=["keys", "list"]).output
    assert runner.invoke(args=["keys", "revoke", "nobody"]).exit_code != 0


def test_keys_are_stored_hashed_with_last_use(app, editor_key, client):
    import sqlalchemy as sa

    from app.db import db
    from app.models import ApiKey

    create(client)
    with app.app_context():
        row = db.session.scalar(sa.select(ApiKey).where(ApiKey.name == "test-editor"))
        assert editor_key not in (row.key_hash, row.prefix)
        assert editor_key.split("_")[2] not in row.key_hash
        assert row.last_used_at is not None
