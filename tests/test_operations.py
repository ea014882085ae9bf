"""What a deployer expects: `db backup`, the client's address behind a reverse proxy, `GET /`."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import time
from contextlib import closing

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app import create_app
from tests.conftest import incident_doc

SEED_ROWS = 400


def _seed(client, rows: int) -> None:
    lines = ["title,country,start_date,shutdown_types,networks"]
    lines += [f"Cut number {n},IN,2023-05-03,full_network,mobile" for n in range(rows)]
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO("\r\n".join(lines).encode()), filename="seed.csv")}
    )
    response = client.post(
        "/api/v1/incidents/import?format=native",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 200 and response.get_json()["created"] == rows, response.get_json()


def _held(path) -> tuple[int, int, int, str]:
    """Incidents, their stored documents and their create revisions in a copy; its integrity."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as copy:
        return (
            copy.execute("SELECT count(*) FROM incidents").fetchone()[0],
            copy.execute("SELECT count(*) FROM incident_documents").fetchone()[0],
            copy.execute("SELECT count(*) FROM incident_revisions WHERE action = 'create'").fetchone()[0],
            copy.execute("PRAGMA integrity_check").fetchone()[0],
        )


@pytest.mark.only_on("sqlite")
def test_backup_is_consistent_while_the_api_keeps_writing(app, client, runner, backend, tmp_path):
    _seed(client, SEED_ROWS)
    stop, created = threading.Event(), []

    def write() -> None:
        while not stop.is_set():
            response = client.post(
                "/api/v1/incidents", json=incident_doc(title=f"Written during backup {len(created)}")
            )
            assert response.status_code == 201, response.get_json()
            created.append(response.get_json()["id"])

    writer = threading.Thread(target=write)
    writer.start()
    try:
        copies = []
        for number in range(4):
            while len(created) < 5 * (number + 1):  # each copy is taken while writes are going on
                assert writer.is_alive(), "the writer failed"
                time.sleep(0.005)
            target, before = tmp_path / f"copy-{number}.db", len(created)
            result = runner.invoke(args=["db", "backup", str(target)])
            assert result.exit_code == 0, result.output
            copies.append((target, result.output, before, len(created)))
    finally:
        stop.set()
        writer.join()
    for target, output, before, after in copies:
        incidents, documents, creates, integrity = _held(target)
        # One snapshot: every incident with its stored document and its revision, none half-written.
        assert integrity == "ok"
        assert incidents == documents == creates
        assert SEED_ROWS + before <= incidents <= SEED_ROWS + after
        assert f"to {target}: {incidents} incident(s) (0 deleted), migration " in output
        assert not (tmp_path / f"{target.name}-wal").exists()  # one self-contained file
    # The last copy, opened by the app after the writes stopped, serves what was there.
    final = tmp_path / "final.db"
    assert runner.invoke(args=["db", "backup", str(final)]).exit_code == 0
    restored = create_app({"DATABASE_URL": f"sqlite:///{final}", "TESTING": True, "RATELIMIT_ENABLED": False})
    listed = restored.test_client().get("/api/v1/incidents?page_size=1")
    assert json.loads(listed.headers["X-Pagination"])["total"] == SEED_ROWS + len(created)
    assert restored.test_client().get("/readyz").status_code == 200


@pytest.mark.only_on("sqlite")
def test_backup_never_overwrites_by_accident(app, client, runner, backend, tmp_path):
    target = tmp_path / "tracker-backup.db"
    target.write_bytes(b"an older backup")
    result = runner.invoke(args=["db", "backup", str(target)])
    assert result.exit_code == 1
    assert f"Error: {target} exists: choose a new name, or pass --force to replace it." in result.output
    assert target.read_bytes() == b"an older backup"
    assert runner.invoke(args=["db", "backup", str(target), "--force"]).exit_code == 0
    assert _held(target)[3] == "ok"
    database = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    itself = runner.invoke(args=["db", "backup", database, "--force"])
    assert itself.exit_code == 1 and "is the database itself" in itself.output
    missing = runner.invoke(args=["db", "backup", str(tmp_path / "no" / "such" / "dir.db")])
    assert missing.exit_code == 1 and "create it first" in missing.output


@pytest.mark.only_on("postgresql")
def test_backup_on_postgresql_explains_pg_dump(app, runner, backend, tmp_path):
    result = runner.invoke(args=["db", "backup", str(tmp_path / "x.db")])
    assert result.exit_code == 1
    assert "Error: The database is PostgreSQL: back it up with pg_dump" in result.output
    assert "pg_dump --format=custom --file=tracker.dump 'postgresql://" in result.output
    assert "pg_restore" in result.output
    assert not (tmp_path / "x.db").exists()


def test_backup_of_an_in_memory_database_says_there_is_nothing_to_copy(tmp_path):
    runner = create_app({"DATABASE_URL": "sqlite://", "TESTING": True}).test_cli_runner()
    result = runner.invoke(args=["db", "backup", str(tmp_path / "x.db")])
    assert result.exit_code == 1
    assert "The database is in memory" in result.output


# --------------------------------------------------------------------------- behind a proxy


def _app(**config):
    return create_app(
        {
            "DATABASE_URL": "sqlite://",
            "TESTING": True,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_READ": "2 per minute",
            "RATELIMIT_STORAGE_URI": "memory://",
            **config,
        }
    )


def _from(client, proxy: str, forwarded_for: str | None = None, proto: str | None = None):
    headers = {}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    if proto:
        headers["X-Forwarded-Proto"] = proto
    return client.get("/", headers=headers, environ_base={"REMOTE_ADDR": proxy})


def test_behind_one_proxy_each_client_has_its_own_budget_and_scheme():
    client = _app(TRUSTED_PROXIES=1).test_client()
    first = [_from(client, "10.0.0.2", "203.0.113.7").status_code for _ in range(3)]
    assert first == [200, 200, 429]
    # Another client behind the same proxy is not refused for the first one's requests.
    assert _from(client, "10.0.0.2", "198.51.100.4").status_code == 200
    # A client that puts its own X-Forwarded-For before the proxy's entry gains nothing.
    assert _from(client, "10.0.0.2", "198.51.100.99, 203.0.113.7").status_code == 429
    # URLs the API builds carry the scheme the client used with the proxy.
    body = _from(client, "10.0.0.2", "192.0.2.1", proto="https").get_json()
    assert body["docs"] == "https://localhost/docs/"


def test_the_access_log_shows_the_client_behind_a_trusted_proxy(capsys):
    behind = _from(_app(TRUSTED_PROXIES=1, ACCESS_LOG=True).test_client(), "10.0.0.2", "203.0.113.7")
    direct = _from(_app(ACCESS_LOG=True).test_client(), "10.0.0.3", "203.0.113.9")
    for response in (behind, direct):
        assert response.status_code == 200
        response.close()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("203.0.113.7 - - [") and '"GET / HTTP/1.1" 200' in lines[0]
    assert lines[1].startswith("10.0.0.3 - - [")  # no trusted proxy: the address that connected


def test_trusted_hosts_refuse_a_forged_host():
    client = _app(TRUSTED_HOSTS=["tracker.example.org"]).test_client()
    forged = client.get("/", headers={"Host": "evil.example.com"})
    assert forged.status_code == 400
    assert forged.headers["Content-Type"] == "application/problem+json"
    assert forged.get_json()["detail"] == "Host 'evil.example.com' is not trusted."
    own = client.get("/", headers={"Host": "tracker.example.org"})
    assert own.get_json()["docs"] == "http://tracker.example.org/docs/"  # links built from it


def test_without_trusted_proxies_forwarded_headers_are_ignored():
    client = _app().test_client()
    statuses = [_from(client, "10.0.0.2", f"203.0.113.{n}").status_code for n in range(3)]
    assert statuses == [200, 200, 429]  # one address: the one that connected
    assert _from(client, "10.0.0.3", proto="https").get_json()["docs"] == "http://localhost/docs/"


def test_trusted_proxies_must_be_a_whole_number(monkeypatch):
    import importlib

    import app.config

    monkeypatch.setenv("TRUSTED_PROXIES", "yes")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES must be a whole number, not 'yes'"):
        importlib.reload(app.config)
    monkeypatch.setenv("TRUSTED_PROXIES", "-1")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES must be 0 or more, not -1"):
        importlib.reload(app.config)
    monkeypatch.delenv("TRUSTED_PROXIES")
    importlib.reload(app.config)


# --------------------------------------------------------------------------- GET /


def test_the_root_points_to_the_docs_and_the_api(anon_client):
    response = anon_client.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.get_json()
    assert body["name"] == "Shutdown incident tracker" and body["api_version"] == "v1"
    assert body["docs"] == "http://localhost/docs/"
    assert body["openapi"] == "http://localhost/api/v1/openapi.json"
    assert body["incidents"] == "http://localhost/api/v1/incidents"
    assert body["stats"] == "http://localhost/api/v1/stats?group_by=country"
    links = {key: url for key, url in body.items() if key not in ("name", "api_version")}
    assert all(anon_client.get(url).status_code == 200 for url in links.values()), links
    assert anon_client.head("/").status_code == 200
    spec = anon_client.get("/api/v1/openapi.json").get_json()
    assert spec["paths"]["/"]["get"]["summary"] == "Point to the documentation and the API"
