"""Rate limits: 429 problem+json with Retry-After; per address for anonymous reads, per key for writes."""

from __future__ import annotations

import logging
import os
import time

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


def test_every_limited_response_says_how_many_are_left(anon_client):
    responses = [anon_client.get("/api/v1/platforms") for _ in range(4)]
    assert [r.headers["X-RateLimit-Limit"] for r in responses] == ["3"] * 4
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    reset = int(responses[0].headers["X-RateLimit-Reset"])
    assert 0 < reset - time.time() <= 61
    assert all("Retry-After" not in r.headers for r in responses[:3])
    refused = responses[3]
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert refused.get_json()["detail"] == (
        "Too many read requests from your address: the limit is 3 per 1 minute. "
        f"Try again in {refused.headers['Retry-After']} s."
    )
    # A browser script may read them (CORS).
    exposed = anon_client.get("/api/v1/platforms", headers={"Origin": "https://example.org"})
    assert "X-RateLimit-Remaining" in exposed.headers["Access-Control-Expose-Headers"]


def test_a_not_found_url_and_the_docs_are_not_counted(anon_client):
    assert anon_client.get("/api/v1/nothing-here").status_code == 404
    assert "X-RateLimit-Limit" not in anon_client.get("/healthz").headers
    assert anon_client.get("/api/v1/platforms").headers["X-RateLimit-Remaining"] == "2"


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

    from app.http.limits import SweptMemoryStorage

    storage = app.extensions["rate_limits"].storage
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


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "RATELIMIT_READ": "5 per minute;3 per hour"}]
)
def test_several_limits_in_a_bucket_report_the_nearest(anon_client):
    responses = [anon_client.get("/api/v1/platforms") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Limit"] for r in responses] == ["3"] * 4
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert "the limit is 3 per 1 hour" in responses[3].get_json()["detail"]


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_READ": "2 per minute",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:9",
        }
    ],
)
def test_an_unreachable_counter_store_lets_requests_through_and_says_so(anon_client, caplog):
    """Redis down must not take the API down with it: requests are served, unlimited, and the
    failure is logged (once a minute, not once a request)."""
    with caplog.at_level(logging.WARNING, logger="app.http.limits"):
        statuses = [anon_client.get("/api/v1/platforms").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    warnings = [r for r in caplog.records if "Rate limits not applied" in r.getMessage()]
    assert len(warnings) == 1
    assert "X-RateLimit-Limit" not in anon_client.get("/api/v1/platforms").headers
