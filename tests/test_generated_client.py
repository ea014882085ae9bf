"""A client generated from openapi/openapi.json by openapi-python-client (pinned in
requirements-dev.txt) does an integrator's first hour against a live server: create, list, page
on with `after`, read, patch with If-Match, add a source, export CSV, import it back as a dry run.

The client is generated into a temporary directory at test time (never committed) with no
warning; its enum classes are one per value list. The server is serve.py in a subprocess on a
database of its own (tests/live_server.py), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime
import importlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_server import make_key

pytest_plugins = ["tests.live_server"]

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "openapi" / "openapi.json"
PACKAGE = "tracker_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def tracker_client(tmp_path_factory):
    """The generated package, imported."""
    if not GENERATOR.exists():
        pytest.skip("openapi-python-client is not installed: `pip install -r requirements-dev.txt`.")
    out = tmp_path_factory.mktemp("generated")
    # The generator formats its output with ruff, found on PATH.
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(SPEC),
            "--meta",
            "none",
            "--output-path",
            str(out / PACKAGE),
        ],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output and "ruff is not in PATH" not in output, output
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_one_enum_class_per_value_list(tracker_client):
    from enum import Enum

    models = importlib.import_module(f"{PACKAGE}.models")
    enums = {
        name: cls for name, cls in vars(models).items() if isinstance(cls, type) and issubclass(cls, Enum)
    }
    by_values = {}
    for name, cls in enums.items():
        by_values.setdefault(frozenset(member.value for member in cls), []).append(name)
    assert [names for names in by_values.values() if len(names) > 1] == []
    assert {"Scope", "Justification", "Channel", "IncidentSort", "AcknowledgementStatus"} <= set(enums)
    # Descending sorts get names, not VALUE_1.
    assert enums["IncidentSort"]("-start_date").name == "START_DATE_DESC"


def _incident(models, title: str, start: datetime.date, asn: int):
    return models.Incident(
        title=title,
        country="PK",
        shutdown_types=[models.ShutdownType.SERVICE_BASED],
        platforms=["twitter"],
        start_date=start,
        scope=models.Scope.NATIONAL,
        official_justification=models.Justification.NATIONAL_SECURITY,
        asns=[asn],
        acknowledgements=[
            models.InlineAcknowledgement(
                actor="Ministry of Interior",
                stance=models.Stance.ACKNOWLEDGED,
                channel=models.Channel.COURT_FILING,
                date=datetime.date(2024, 4, 17),
            )
        ],
    )


def test_an_integrators_first_hour(tracker_client, live_database, live_server):
    server = live_server(live_database, workers=1, threads=2)
    key = make_key(live_database, "integrator", "editor")
    models = importlib.import_module(f"{PACKAGE}.models")
    types = importlib.import_module(f"{PACKAGE}.types")
    incidents, sources, bulk = "incidents", "sources", "bulk"

    with tracker_client.AuthenticatedClient(base_url=server.base_url, token=key) as client:
        created = []
        for number, start in enumerate(
            (datetime.date(2024, 2, 17), datetime.date(2024, 2, 8), datetime.date(2023, 5, 9))
        ):
            response = _call(
                incidents,
                "create_incident",
                client=client,
                body=_incident(models, f"Block {number}", start, 17557 + number),
            )
            assert response.status_code == 201, response.content
            assert (
                response.parsed.platforms == ["x"]
                and response.parsed.acknowledgement_status == models.AcknowledgementStatus.ACKNOWLEDGED
            )
            created.append(response.parsed.id)

        # List, then page on with the cursor: no `page` is sent along with `after`.
        first = _call(
            incidents, "list_incidents", client=client, page_size=2, sort=models.IncidentSort.START_DATE_DESC
        )
        assert first.status_code == 200, first.content
        assert [incident.title for incident in first.parsed] == ["Block 0", "Block 1"]
        cursor = first.headers["X-Next-Cursor"]
        rest = _call(
            incidents,
            "list_incidents",
            client=client,
            page_size=2,
            sort=models.IncidentSort.START_DATE_DESC,
            after=cursor,
        )
        assert rest.status_code == 200, rest.content
        assert [incident.title for incident in rest.parsed] == ["Block 2"]
        assert "X-Next-Cursor" not in rest.headers

        # The asn filter as people write it.
        by_asn = _call(incidents, "list_incidents", client=client, asn=["AS17558"])
        assert [incident.id for incident in by_asn.parsed] == [created[1]]

        # Read, then patch with the ETag.
        read = _call(incidents, "get_incident", created[0], client=client)
        assert read.status_code == 200 and read.parsed.status == models.IncidentStatus.ONGOING
        patched = _call(
            incidents,
            "patch_incident",
            created[0],
            client=client,
            body=models.IncidentPatch(end_date=datetime.date(2025, 5, 7)),
            if_match=read.headers["ETag"],
        )
        assert patched.status_code == 200, patched.content
        assert patched.parsed.status == models.IncidentStatus.ENDED and patched.parsed.revision == 2
        stale = _call(
            incidents,
            "patch_incident",
            created[0],
            client=client,
            body=models.IncidentPatch(telcos=["PTCL"]),
            if_match=read.headers["ETag"],
        )
        assert stale.status_code == 412 and isinstance(stale.parsed, models.Problem)

        # A child record, with the incident's new ETag.
        etag = _call(incidents, "get_incident", created[0], client=client).headers["ETag"]
        source = _call(
            sources,
            "create_incident_source",
            created[0],
            client=client,
            if_match=etag,
            body=models.Source(
                url="https://www.reuters.com/world/asia-pacific/", kind=models.SourceKind.NEWS
            ),
        )
        assert source.status_code == 201, source.content
        assert source.parsed.kind == models.SourceKind.NEWS and source.headers["Incident-ETag"]

        # CSV export, imported back as a dry run: nothing to change.
        export = _call(bulk, "export_incidents_csv", client=client, sort=models.IncidentSort.START_DATE)
        assert export.status_code == 200 and export.content.startswith(b"id,title,")
        dry_run = _call(
            bulk,
            "import_incidents",
            client=client,
            format_=models.ImportIncidentsFormat.NATIVE,
            dry_run=True,
            body=models.ImportFile(
                file=types.File(payload=io.BytesIO(export.content), file_name="incidents.csv")
            ),
        )
        assert dry_run.status_code == 200, dry_run.content
        assert (dry_run.parsed.rows, dry_run.parsed.unchanged, dry_run.parsed.dry_run) == (3, 3, True)


def _call(tag: str, operation: str, *args, **kwargs):
    """`sync_detailed` of the generated module of an operation (one module per operation id)."""
    module = importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")
    return module.sync_detailed(*args, **kwargs)
