"""Platform vocabulary endpoints."""

from __future__ import annotations

from tests.conftest import create

SPEC_PLATFORMS = {
    "x",
    "facebook",
    "instagram",
    "whatsapp",
    "telegram",
    "youtube",
    "tiktok",
    "signal",
    "sms",
    "voice-calls",
}


def test_list_has_the_shipped_vocabulary(client):
    response = client.get("/api/v1/platforms")
    assert response.status_code == 200
    platforms = {p["slug"]: p for p in response.get_json()}
    assert SPEC_PLATFORMS <= set(platforms)
    assert platforms["x"]["name"] == "X (formerly Twitter)"
    assert platforms["x"]["aliases"] == ["twitter"]
    assert "ETag" in response.headers


def test_get_one_and_404(client):
    assert client.get("/api/v1/platforms/whatsapp").get_json()["kind"] == "messaging"
    missing = client.get("/api/v1/platforms/myspace")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert "myspace" in missing.get_json()["detail"]


def test_create_platform_then_use_its_alias(client, admin_client):
    response = admin_client.post(
        "/api/v1/platforms",
        json={"slug": "mastodon", "name": "Mastodon", "kind": "social_media", "aliases": ["fediverse"]},
    )
    assert response.status_code == 201
    assert response.headers["Location"].endswith("/api/v1/platforms/mastodon")
    incident = create(client, shutdown_types=["service_based"], platforms=["fediverse"])
    assert incident["platforms"] == ["mastodon"]


def test_create_platform_conflicts(admin_client):
    for body in (
        {"slug": "x", "name": "Another X", "kind": "other"},
        {"slug": "bird", "name": "Bird", "kind": "other", "aliases": ["twitter"]},
    ):
        response = admin_client.post("/api/v1/platforms", json=body)
        assert response.status_code == 409, body
        assert response.headers["Content-Type"] == "application/problem+json"


def test_create_platform_validation(admin_client):
    response = admin_client.post("/api/v1/platforms", json={"slug": "Not A Slug", "name": "", "kind": "tv"})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"slug", "name", "kind"}
    assert admin_client.get("/api/v1/platforms/not-a-slug").status_code == 404
