"""Migrations with data in the tables, on SQLite and PostgreSQL, each in a database of its own.

- Step by step from 0001 to head with rows written at 0001 (and at 0002): after every step,
  every row of every table is still there, column for column; at head the API serves them
  (children, history, soft delete, full-text search).
- Data written through the API at head, then down one step at a time to base: every step keeps
  the rows of the tables it does not drop (0003 removes only its own unused platforms); base is
  empty; up again to head gives a working, empty database whose schema matches the models.
- One linear history: a single base, a single head, no branches or merges.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from app import create_app
from app.db import Base
from app.db import db as app_db
from app.services import migrations
from tests.conftest import KeyedClient, etag_of, make_key

pytest_plugins = ["tests.live_server"]  # fixtures: empty_database

INCIDENTS = "/api/v1/incidents"
UNCOMPARED_COLUMNS = {"search_vector"}  # maintained by PostgreSQL from the other columns
EARLY_TIME = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrations.alembic_config("sqlite://"))


def _revisions_base_to_head() -> list[str]:
    return [script.revision for script in reversed(list(_script().walk_revisions()))]


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


Snapshot = dict[str, tuple[list[str], list[tuple]]]


def _snapshot(url: str) -> Snapshot:
    """Every row of every table (the search index and alembic's own table aside), by table."""
    engine = _engine(url)
    metadata = sa.MetaData()
    try:
        metadata.reflect(
            engine, only=lambda name, _: not name.startswith(("incidents_fts", "alembic_version"))
        )
        with engine.connect() as connection:
            tables: Snapshot = {}
            for table in metadata.sorted_tables:
                columns = [c.name for c in table.columns if c.name not in UNCOMPARED_COLUMNS]
                rows = connection.execute(sa.select(*(table.c[name] for name in columns))).all()
                tables[table.name] = (columns, [tuple(row) for row in rows])
            return tables
    finally:
        engine.dispose()


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a JSON column's list or object."""
    if isinstance(value, (list, dict)):
        return "json:" + json.dumps(value, sort_keys=True, default=str)
    return value


def _rows(snapshot: Snapshot, table: str, columns: list[str]) -> Counter:
    """The table's rows on these columns, as a multiset."""
    names, rows = snapshot[table]
    indexes = [names.index(name) for name in columns]
    return Counter(tuple(_freeze(row[i]) for i in indexes) for row in rows)


def _user_tables(url: str) -> set[str]:
    engine = _engine(url)
    try:
        inspector = sa.inspect(engine)
        names = set(inspector.get_table_names())
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                names |= {
                    f"{kind}:{name}"
                    for kind, name in connection.exec_driver_sql(
                        "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
                    )
                    if kind != "table"
                }
        return names
    finally:
        engine.dispose()


def _platforms_0003() -> tuple[set[str], datetime]:
    module = _script().get_revision("0003").module
    return set(module.SLUGS), module.CREATED


def _assert_kept(before: Snapshot, after: Snapshot, *, step: str, upgrade: bool) -> None:
    """Every row of `before` is in `after`, on the columns both have; only data migrations add
    (0003 upgrade: its platforms) or remove (0003 downgrade: its platforms no incident names)."""
    added_platforms, created = _platforms_0003()
    for table, (columns, _) in before.items():
        if table not in after:
            assert not upgrade, f"{step}: table {table} disappeared on the way up"
            continue
        if upgrade:
            missing = [c for c in columns if c not in after[table][0]]
            assert not missing, f"{step}: columns {missing} of {table} disappeared on the way up"
        common = [c for c in columns if c in after[table][0]]
        old, new = _rows(before, table, common), _rows(after, table, common)
        if table == "platforms" and step in ("0002->0003", "0003->0002"):
            changed = (new - old) if upgrade else (old - new)
            slugs = {row[common.index("slug")] for row in changed}
            assert slugs <= added_platforms, f"{step}: platforms {slugs - added_platforms} changed"
            if not upgrade:
                in_use = (
                    {row[0] for row in after["incident_platforms"][1]}
                    if "incident_platforms" in after
                    else set()
                )
                assert not slugs & in_use, f"{step}: removed platforms still in use: {slugs & in_use}"
            old, new = (old, new - changed) if upgrade else (old - changed, new)
        assert new == old, f"{step}: rows of {table} changed:\nlost {old - new}\ngained {new - old}"


def _app(url: str) -> Flask:
    application = create_app({"DATABASE_URL": url, "TESTING": True, "RATELIMIT_ENABLED": False})
    application.test_client_class = KeyedClient
    return application


def _dispose(application: Flask) -> None:
    with application.app_context():
        app_db.engine.dispose()


# --------------------------------------------------------------------------- rows written at 0001


def _insert_at_0001(url: str) -> tuple[int, int]:
    """Rows in every table of 0001, as the first release wrote them (no API at that revision)."""
    engine = _engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    t = metadata.tables
    common = {
        "scope": "national",
        "start_date_estimated": False,
        "ordered_by": "executive_government",
        "actual_cause": "protests",
        "official_justification": "public_order",
        "legal_basis": "unknown",
        "election_related": "no",
        "violence_reported": "unknown",
        "human_rights_abuse_reported": "unknown",
        "telcos": ["Jazz", "Zong"],
        "litigation_status": "pending",
        "created_at": EARLY_TIME,
        "updated_at": EARLY_TIME,
        "revision": 1,
    }
    with engine.begin() as connection:
        connection.execute(
            t["platforms"].insert(),
            [
                # An administrator added these before 0003, which brings its own `grindr` and
                # `vk` (alias `vkontakte`): 0003 must leave both rows exactly as they are.
                {
                    "slug": "grindr",
                    "name": "Grindr (added by hand)",
                    "kind": "social_media",
                    "aliases": ["grindr-app"],
                    "created_at": EARLY_TIME,
                },
                {
                    "slug": "vkontakte",
                    "name": "VKontakte (added by hand)",
                    "kind": "social_media",
                    "aliases": [],
                    "created_at": EARLY_TIME,
                },
            ],
        )
        # No explicit ids: on PostgreSQL the sequences must move as they did for the old release.
        first = connection.execute(
            t["incidents"].insert(),
            {
                **common,
                "title": "Mobile data cut in Balochistan",
                "description": "Province-wide mobile internet shutdown",
                "country": "PK",
                "area": "Balochistan",
                "start_date": date(2024, 2, 8),
                "end_date": date(2024, 2, 9),
                "status": "ended",
                "decision_maker": "Interior ministry",
                "acknowledgement_status": "acknowledged",
                "acknowledged_on": date(2024, 2, 8),
            },
        )
        second = connection.execute(
            t["incidents"].insert(),
            {
                **common,
                "title": "Grindr and VK blocked",
                "country": "TR",
                "start_date": date(2023, 5, 1),
                "status": "ongoing",
                "acknowledgement_status": "none",
                "litigation_status": "none",
                "telcos": [],
            },
        ).inserted_primary_key[0]
        first = first.inserted_primary_key[0]
        connection.execute(
            t["acknowledgements"].insert(),
            {
                "incident_id": first,
                "actor": "Ministry of Interior",
                "actor_type": "government",
                "stance": "acknowledged",
                "date": date(2024, 2, 8),
                "channel": "press_statement",
                "quote": "Mobile service suspended for security",
            },
        )
        connection.execute(
            t["legal_cases"].insert(),
            {
                "incident_id": first,
                "court": "Sindh High Court",
                "status": "pending",
                "filed_on": date(2024, 2, 9),
            },
        )
        connection.execute(
            t["sources"].insert(),
            [
                {"incident_id": first, "url": "https://example.org/balochistan", "kind": "news"},
                {"incident_id": second, "url": "https://example.org/grindr", "kind": "measurement"},
            ],
        )
        connection.execute(
            t["incident_shutdown_types"].insert(),
            [
                {"incident_id": first, "shutdown_type": "full_network"},
                {"incident_id": second, "shutdown_type": "service_based"},
            ],
        )
        connection.execute(t["incident_networks"].insert(), {"incident_id": first, "network": "mobile"})
        connection.execute(t["incident_asns"].insert(), {"incident_id": first, "asn": 45669})
        connection.execute(
            t["incident_platforms"].insert(),
            [
                {"incident_id": second, "platform_slug": "grindr"},
                {"incident_id": second, "platform_slug": "vkontakte"},
            ],
        )
    engine.dispose()
    return first, second


def _insert_at_0002(url: str, first: int, second: int) -> None:
    """What 0002 brought: a key, a revision, a soft delete."""
    engine = _engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine, only=["api_keys", "incident_revisions", "incidents"])
    t = metadata.tables
    with engine.begin() as connection:
        connection.execute(
            t["api_keys"].insert(),
            {
                "name": "early-desk",
                "role": "editor",
                "prefix": "AbCdEfGh",
                "key_hash": "0" * 64,
                "created_at": EARLY_TIME,
            },
        )
        connection.execute(
            t["incident_revisions"].insert(),
            {
                "incident_id": first,
                "revision": 1,
                "action": "create",
                "at": EARLY_TIME,
                "actor": "cli",
                "changes": {"title": {"from": None, "to": "Mobile data cut in Balochistan"}},
                "document": {"id": first, "title": "Mobile data cut in Balochistan"},
            },
        )
        connection.execute(
            t["incidents"].update().where(t["incidents"].c.id == second).values(deleted_at=EARLY_TIME)
        )
    engine.dispose()


def test_step_by_step_upgrade_keeps_every_row(empty_database):
    url = empty_database
    steps = _revisions_base_to_head()
    assert steps[0] == "0001" and len(steps) >= 5

    migrations.upgrade(url, steps[0])
    first, second = _insert_at_0001(url)
    before = _snapshot(url)
    for previous, revision in zip(steps, steps[1:], strict=False):
        migrations.upgrade(url, revision)
        if revision == "0002":
            _assert_kept(before, _snapshot(url), step=f"{previous}->{revision}", upgrade=True)
            _insert_at_0002(url, first, second)
            before = _snapshot(url)
            continue
        after = _snapshot(url)
        _assert_kept(before, after, step=f"{previous}->{revision}", upgrade=True)
        before = after
    assert before["platforms"][1]  # 0003 added its platforms next to the hand-made ones

    # At head the API serves what the first release wrote.
    application = _app(url)
    try:
        client = application.test_client(api_key=make_key(application, "late-desk", "editor"))
        early = client.get(f"{INCIDENTS}/{first}")
        assert early.status_code == 200, early.get_json()
        document = early.get_json()
        assert (document["title"], document["country"], document["revision"]) == (
            "Mobile data cut in Balochistan",
            "PK",
            1,
        )
        assert [a["actor"] for a in document["acknowledgements"]] == ["Ministry of Interior"]
        assert [c["court"] for c in document["legal_cases"]] == ["Sindh High Court"]
        assert [s["url"] for s in document["sources"]] == ["https://example.org/balochistan"]
        # 0012: made before provenance was kept; the incident's from its first revision's actor
        assert (document["provenance"], document["provenance_at"]) == ("legacy:cli", document["created_at"])
        assert {
            (r["provenance"], r["provenance_at"])
            for name in ("acknowledgements", "legal_cases", "sources")
            for r in document[name]
        } == {("legacy", None)}
        assert document["stop_rows"] == []
        assert (document["networks"], document["asns"], document["telcos"]) == (
            ["mobile"],
            [45669],
            ["Jazz", "Zong"],
        )
        # the search index of 0004 covers rows that existed before it
        found = client.get(f"{INCIDENTS}?q=balochistan").get_json()
        assert [incident["id"] for incident in found] == [first]
        # soft-deleted at 0002: gone from the list, 410, history readable
        assert client.get(f"{INCIDENTS}/{second}").status_code == 410
        assert [incident["id"] for incident in client.get(INCIDENTS).get_json()] == [first]
        # history continues from the revision written at 0002
        patched = client.patch(
            f"{INCIDENTS}/{first}", json={"area": "Quetta"}, headers={"If-Match": etag_of(client, first)}
        )
        assert patched.status_code == 200, patched.get_json()
        history = client.get(f"{INCIDENTS}/{first}/revisions").get_json()
        assert [(r["revision"], r["action"], r["actor"]) for r in history] == [
            (1, "create", "cli"),
            (2, "update", "late-desk"),
        ]
        assert history[1]["changes"]["area"] == {"from": "Balochistan", "to": "Quetta"}
        # the hand-made platforms kept their names; 0003 added none with a taken slug or alias
        platforms = {p["slug"]: p for p in client.get("/api/v1/platforms").get_json()}
        assert platforms["grindr"]["name"] == "Grindr (added by hand)"
        assert platforms["vkontakte"]["name"] == "VKontakte (added by hand)"
        assert "vkontakte" not in platforms["vk"]["aliases"]
    finally:
        _dispose(application)


# --------------------------------------------------------------------------- API data, down and up


def _write_through_the_api(application: Flask) -> None:
    editor = application.test_client(api_key=make_key(application, "desk", "editor"))
    admin = application.test_client(api_key=make_key(application, "boss", "admin"))
    full = editor.post(
        INCIDENTS,
        json={
            "title": "X blocked nationwide",
            "country": "PK",
            "scope": "national",
            "shutdown_types": ["service_based"],
            "platforms": ["twitter", "reddit"],
            "networks": ["mobile", "broadband"],
            "start_date": "2024-02-17",
            "asns": ["AS17557"],
            "telcos": ["PTCL"],
            "acknowledgements": [
                {"actor": "Ministry of Interior", "stance": "acknowledged", "date": "2024-04-17"}
            ],
            "legal_cases": [{"court": "Islamabad High Court", "status": "pending", "filed_on": "2024-02-20"}],
            "sources": [{"url": "https://example.org/x-blocked", "kind": "news"}],
        },
    )
    assert full.status_code == 201, full.get_json()
    incident_id = full.get_json()["id"]
    patched = editor.patch(
        f"{INCIDENTS}/{incident_id}",
        json={"end_date": "2025-05-07"},
        headers={"If-Match": full.headers["ETag"]},
    )
    assert patched.status_code == 200, patched.get_json()
    child = editor.post(
        f"{INCIDENTS}/{incident_id}/sources",
        json={"url": "https://example.org/ooni", "kind": "measurement"},
        headers={"If-Match": patched.headers["ETag"]},
    )
    assert child.status_code == 201, child.get_json()
    gone = editor.post(
        INCIDENTS,
        json={
            "title": "Exam shutdown",
            "country": "IQ",
            "shutdown_types": ["full_network"],
            "start_date": "2024-06-01",
            "end_date": "2024-06-01",
        },
    )
    assert gone.status_code == 201, gone.get_json()
    deleted = admin.delete(f"{INCIDENTS}/{gone.get_json()['id']}", headers={"If-Match": gone.headers["ETag"]})
    assert deleted.status_code == 204, deleted.get_json()


def test_api_data_down_to_base_and_up_again(empty_database):
    url = empty_database
    migrations.upgrade(url)
    fresh_platforms = _snapshot(url)["platforms"]
    application = _app(url)
    try:
        _write_through_the_api(application)
    finally:
        _dispose(application)
    before = _snapshot(url)
    counts = {table: len(rows) for table, (_, rows) in before.items()}
    assert counts["incidents"] == 2 and counts["incident_revisions"] == 5 and counts["sources"] == 2
    assert counts["api_keys"] == 2 and counts["acknowledgements"] == counts["legal_cases"] == 1

    steps = _revisions_base_to_head()
    for revision, target in zip(reversed(steps), list(reversed(steps))[1:], strict=False):
        migrations.downgrade(url, target)
        after = _snapshot(url)
        _assert_kept(before, after, step=f"{revision}->{target}", upgrade=False)
        if target == "0002":  # in use, so 0003's downgrade kept it
            assert "reddit" in {row[0] for row in after["platforms"][1]}
        before = after
    migrations.downgrade(url, "base")
    assert _user_tables(url) <= {"alembic_version"}, _user_tables(url)

    migrations.upgrade(url)
    again = _snapshot(url)
    seeded = ("platforms", "platform_names", "data_version")  # rows the migrations themselves write
    assert {table: len(rows) for table, (_, rows) in again.items() if table not in seeded} == dict.fromkeys(
        (t for t in again if t not in seeded), 0
    )
    assert len(again["data_version"][1]) == 1
    assert sorted(again["platforms"][1]) == sorted(fresh_platforms[1])
    _assert_models_match(url)

    application = _app(url)
    try:
        client = application.test_client(api_key=make_key(application, "desk", "editor"))
        assert client.get("/readyz").get_json()["migration"] == migrations.head_revision()
        created = client.post(
            INCIDENTS,
            json={
                "title": "Back after the round trip",
                "country": "IN",
                "shutdown_types": ["throttling"],
                "start_date": "2025-01-01",
            },
        )
        assert created.status_code == 201, created.get_json()
        assert [i["title"] for i in client.get(f"{INCIDENTS}?q=round").get_json()] == [
            "Back after the round trip"
        ]
    finally:
        _dispose(application)


def _assert_models_match(url: str) -> None:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": migrations.include_object}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- history shape


def test_one_linear_history():
    script = _script()
    assert len(script.get_bases()) == 1
    assert len(script.get_heads()) == 1
    chain = list(script.walk_revisions())
    for revision in chain:
        assert not revision.is_merge_point and not revision.is_branch_point, revision.revision
        assert not revision.branch_labels
    files = {p.stem.split("_")[0] for p in (migrations.MIGRATIONS_DIR / "versions").glob("[0-9]*.py")}
    assert {revision.revision for revision in chain} == files
    assert [r.revision for r in reversed(chain)] == sorted(files), "revisions are numbered in order"
