"""Bulk work bounded per process (BULK_CONCURRENCY): beyond the bound an export or an import is
a 503 problem with Retry-After, at once; a slot comes back when the export's body has been read
to its end or closed, or when the import has answered (whatever the answer)."""

from __future__ import annotations

import io

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.conftest import create

EXPORT = "/api/v1/incidents.csv"
IMPORT = "/api/v1/incidents/import"
GOOD = b"title,country,start_date,shutdown_types\r\nOne,PK,2024-01-01,full_network\r\n"
BAD = b"title,country,start_date,shutdown_types\r\nOne,ZZ,2024-01-01,full_network\r\n"


@pytest.fixture
def app_config():
    return {"BULK_CONCURRENCY": 1, "BULK_RETRY_AFTER": 7}


def _import(client, content: bytes):
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(content), filename="incidents.csv", content_type="text/csv")}
    )
    return client.post(
        f"{IMPORT}?format=native", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def _assert_busy(response) -> None:
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "7"
    assert response.get_json()["detail"] == (
        "This server is already running 1 exports and imports, the most it runs at once: "
        "try again in 7 seconds."
    )


def test_an_export_being_streamed_holds_the_only_slot(client, anon_client):
    create(client)
    streaming = anon_client.get(EXPORT)  # its body not read yet: the export is still running
    assert streaming.status_code == 200
    _assert_busy(anon_client.get(EXPORT))
    _assert_busy(_import(client, GOOD))
    assert client.get("/api/v1/incidents").status_code == 200  # other requests are served
    assert b"Mobile internet cut in Manipur" in streaming.data  # read to its end: slot back
    assert _import(client, GOOD).status_code == 200

    unread = anon_client.get(EXPORT)
    assert unread.status_code == 200
    _assert_busy(anon_client.get(EXPORT))
    unread.close()  # the client went away before reading: slot back
    assert anon_client.get(EXPORT).status_code == 200


def test_a_failed_import_or_export_gives_its_slot_back(client, anon_client):
    assert _import(client, BAD).status_code == 422
    assert anon_client.get(f"{EXPORT}?country=XX").status_code == 422
    assert _import(client, GOOD).status_code == 200
    response = anon_client.get(EXPORT)
    assert response.status_code == 200 and response.data.count(b"\r\n") == 2


def test_the_503_is_documented_on_both_operations(anon_client):
    spec = anon_client.get("/api/v1/openapi.json").get_json()
    for path, method in ((EXPORT, "get"), (IMPORT, "post")):
        busy = spec["paths"][path][method]["responses"]["503"]
        assert "Retry-After" in busy["headers"]
        assert "BULK_CONCURRENCY" in busy["description"]
        assert "application/problem+json" in busy["content"]
