"""Rate limits: 429 problem+json with Retry-After; per address for anonymous reads, per key for writes."""

from __future__ import annotations

import os

import pytest

from tests.conftest import incident_doc

REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture
def app_config():
    return {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_READ": "3 per minute",
        "RATELIMIT_WRITE": "2 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def test_anonymous_reads_are_limited_per_address(anon_client):
    statuses = [anon_client.get("/api/v1/platforms").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = anon_client.get("/api/v1/platforms")
    assert response.headers["Content-Type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["status"] == 429
    other = anon_client.get("/api/v1/platforms", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


def test_writes_are_limited_per_key(app, client, admin_client):
    codes = [client.post("/api/v1/incidents", json=incident_doc()).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    assert admin_client.post("/api/v1/incidents", json=incident_doc()).status_code == 201


def test_health_is_exempt(anon_client):
    assert all(anon_client.get("/healthz").status_code == 200 for _ in range(10))


@pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL to test the Redis storage")
def test_redis_storage(database_url):
    import redis

    from app import create_app
    from app.db import db

    redis.Redis.from_url(REDIS_URL).flushdb()
    config = {
        "DATABASE_URL": database_url,
        "TESTING": True,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_READ": "2 per minute",
        "RATELIMIT_STORAGE_URI": REDIS_URL,
    }
    first, second = create_app(config), create_app(config)  # two workers sharing one Redis
    codes = [first.test_client().get("/healthz").status_code]
    try:
        codes += [app.test_client().get("/api/v1/platforms").status_code for app in (first, second, first)]
    finally:
        for app in (first, second):
            with app.app_context():
                db.engine.dispose()
    assert codes == [200, 200, 200, 429]


def test_memory_storage_counts_without_starting_a_thread_per_hit(app, anon_client, monkeypatch):
    """The default storage is ours (limits' own starts a sweeping Timer thread every few hits),
    still counts and limits, and frees expired counters by an inline sweep."""
    import threading

    from app.limits import SweptMemoryStorage, limiter

    storage = limiter.storage
    assert isinstance(storage, SweptMemoryStorage)
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: (started.append(self), real_start(self)))
    assert [anon_client.get("/api/v1/platforms").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert started == []

    storage.incr("gone", expiry=0.01)
    assert "gone" in storage.storage
    import time

    time.sleep(0.02)
    storage.next_sweep = 0  # as if a second had passed: the next hit sweeps
    storage.incr("other", expiry=60)
    assert "gone" not in storage.storage and storage.storage["other"] == 1
    assert started == []
