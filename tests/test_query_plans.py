"""Every list filter and sort can be served by an index (read from the databases' query plans).

Tables here are tiny, so a planner may rightly prefer a scan; on PostgreSQL the test turns
sequential scans off to ask "could an index serve this?", which is what matters at a million rows.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.db import db
from app.models import Incident
from app.services import incidents as incident_service
from tests.conftest import create

CASES = [
    ({"country": ["PK"]}, "ix_incidents_country_start_date"),
    ({"status": ["ongoing"]}, "ix_incidents_status"),
    ({"scope": ["national"]}, "ix_incidents_scope"),
    ({"ordered_by": ["military"]}, "ix_incidents_ordered_by"),
    ({"actual_cause": ["protests"]}, "ix_incidents_actual_cause"),
    ({"official_justification": ["public_order"]}, "ix_incidents_official_justification"),
    ({"acknowledgement_status": ["denied"]}, "ix_incidents_acknowledgement_status"),
    ({"litigation_status": ["pending"]}, "ix_incidents_litigation_status"),
    ({"updated_since": "2024-01-01T00:00:00+00:00"}, "ix_incidents_updated_at"),
    ({"platform": ["x"]}, "ix_incident_platforms_platform_slug"),
    ({"shutdown_type": ["throttling"]}, "ix_incident_shutdown_types_shutdown_type"),
    ({"network": ["broadband"]}, "ix_incident_networks_network"),
    ({"asn": [17557]}, "ix_incident_asns_asn"),
    ({"sort": "-start_date"}, "ix_incidents_start_date_id"),
    ({"sort": "end_date"}, "ix_incidents_end_date"),
    ({"sort": "-updated_at"}, "ix_incidents_updated_at"),
    ({"sort": "country"}, "ix_incidents_country_start_date"),
]


def _plan(app, backend, args, *, pg_off: tuple[str, ...] = ("seqscan",)) -> str:
    from datetime import datetime

    if "updated_since" in args:
        args = {**args, "updated_since": datetime.fromisoformat(args["updated_since"])}
    # What a list page runs: the page's ids (their documents are then read by primary key).
    statement = incident_service.list_incidents(args, backend, (Incident.id,)).limit(50)
    with app.app_context():
        with db.engine.connect() as connection:
            compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
            if backend == "postgresql":
                for method in pg_off:
                    connection.exec_driver_sql(f"SET enable_{method} = off")
                rows = connection.exec_driver_sql(f"EXPLAIN {compiled}").all()
            else:
                rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize(
    ("args", "index"), CASES, ids=[next(iter(a)) + ":" + str(next(iter(a.values()))) for a, _ in CASES]
)
def test_filters_and_sorts_use_an_index(app, client, backend, args, index):
    create(client)
    with app.app_context():
        tables = (
            "incidents",
            "incident_platforms",
            "incident_shutdown_types",
            "incident_networks",
            "incident_asns",
        )
        inspector = sa.inspect(db.engine)
        names = {ix["name"] for table in tables for ix in inspector.get_indexes(table)}
    assert index in names  # the filter's or sort's own index exists …
    plan = _plan(app, backend, args)
    if backend == "postgresql":
        # … and the query is answered through indexes (on a tiny table the planner may walk
        # the sort's index and filter, rather than use the filter's: both are index plans).
        assert "Seq Scan" not in plan, plan
        assert "Index" in plan, plan
    else:
        # SQLite picks one index per table from its heuristics (no ANALYZE on a tiny table):
        # what must never happen is a table read without any index.
        scans = [line for line in plan.splitlines() if line.startswith("SCAN ")]
        assert all(" USING " in line for line in scans), plan


def test_text_search_uses_the_full_text_index(app, client, backend):
    from app.models import Incident
    from app.services.sqlfunc import search_words, text_match

    create(client, title="Blackout")
    plan = _plan(app, backend, {"q": "blackout"})
    assert "LIKE" not in plan.upper()
    if backend == "sqlite":
        assert "VIRTUAL TABLE INDEX" in plan, plan
        return
    # On a one-row table the planner prefers the small partial indexes for `deleted_at IS NULL`;
    # ask about the text condition alone: it is answered by the GIN index.
    statement = sa.select(Incident.id).where(text_match(search_words(["blackout"])))
    with app.app_context(), db.engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")
        compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
        plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
    assert "ix_incidents_search_vector" in plan, plan


def test_a_pages_documents_are_read_by_primary_key(app, client, backend):
    """The page's ids, bound as one array (`= ANY` / `json_each`), find their rows by key."""
    import orjson

    from app.fast.pages import STORED_BY_IDS, documents_by_ids

    made = [create(client, title=f"Incident {n}")["id"] for n in range(3)]
    with app.app_context(), db.engine.connect() as connection:
        found = documents_by_ids(connection, [made[2], made[0], 10**9])
        assert sorted(found) == sorted([made[0], made[2]])
        compiled = STORED_BY_IDS[backend].compile(connection)
        if backend == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
            rows = connection.exec_driver_sql(f"EXPLAIN {compiled}", {"ids": made}).all()
            plan = "\n".join(row[0] for row in rows)
            assert "Seq Scan" not in plan and "pk_incidents" in plan, plan
        else:
            rows = connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {compiled}", (orjson.dumps(made).decode(),)
            ).all()
            plan = "\n".join(str(row[-1]) for row in rows)
            assert "SEARCH incidents USING INTEGER PRIMARY KEY" in plan, plan


def test_stats_by_platform_reads_indexes_only(app, client, backend):
    """Grouped by platform, the blocked-services rule reads an incident's shutdown types through
    an index (SQLite: by primary key), never a whole table; the incidents come from the stats
    index on SQLite."""
    from app.services import stats

    create(client, shutdown_types=["full_network"], platforms=["sms", "voice-calls"])
    statement = stats.statement("platform", {})
    with app.app_context(), db.engine.connect() as connection:
        compiled = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
        assert "incident_shutdown_types" in compiled
        if backend == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
            assert "Seq Scan" not in plan, plan
            return
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    plan = "\n".join(str(row[-1]) for row in rows)
    reads = [line for line in plan.splitlines() if line.startswith(("SCAN ", "SEARCH "))]
    assert all(" USING " in line for line in reads), plan
    assert "ix_incidents_stats" in plan, plan
    assert re.search(r"SEARCH incident_shutdown_types\w* USING COVERING INDEX .*\(incident_id=\?", plan), plan
