"""Generate N realistic incidents and load them into the databases the benchmark serves.

    python bench/generate.py --sizes 1000,10000 [--targets csv,sqlite,pg,flat] [--rebuild]

Run it with bench/.venv/bin/python (bench/run.py does): it imports the app.

* `csv`: bench/.data/incidents-N-gV.csv in the app's NATIVE CSV format (the export's own
  columns, written with `app.services.csv_format.row_of`). The distributions come from the
  Access Now STOP sheet (../shared/data/stop_combined_2016_2025.csv) when it exists: every
  generated incident starts from a real STOP row converted by the app's own STOP mapper (so
  country, scope, area, shutdown types, networks, platforms, who ordered it, cause,
  justification, tri-states, telcos, start year and the text keep their joint distribution),
  then gets a random start day in that year, a duration drawn from the sheet's real durations,
  1–3 sources, the row's statements (plus some denials) and, for a few, court cases. Without the
  sheet, built-in fallback templates with the same fields are used. Seeded by N: the same N
  always gives the same file.
* `sqlite`: bench/.data/app-N.db, migrated to head, then loaded through the app's own bulk path
  (`app.services.importer.run_import(fmt="native", on_error="abort")`) in chunks of 50,000 rows.
* `pg`: a fresh PostgreSQL database bench_pg_N, loaded the same way, then VACUUM ANALYZE
  (what autovacuum would do soon after a bulk load).
* `flat`: bench/.data/flat-N/db.db, the Datasette publisher's copy: the app's own CSV export
  (GET /api/v1/incidents.csv through the Flask test client) loaded into ONE flat table, one row
  per incident, with indexes on the filtered and sorted columns and an FTS5 table for
  `_search`, plus the Datasette metadata.json that points at it.

Every artefact is cached and keyed by N and the generator version; reruns only migrate the
cached app databases to the current head.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.common import DATA_DIR, REPO, log  # noqa: E402

GENERATOR_VERSION = 2
CHUNK_ROWS = int(os.environ.get("BENCH_CHUNK_ROWS", "50000"))
TODAY = date.today()

# --------------------------------------------------------------------------- distributions

ASN_POOL = (17557, 9829, 45609, 55836, 24560, 58224, 197207, 44244, 12880, 16135, 34984, 9498, 31213, 15802)
COURTS = ("High Court", "Supreme Court", "Constitutional Court", "Administrative Court", "District Court")
CASE_STATUSES = (("pending", 35), ("decided", 30), ("dismissed", 20), ("withdrawn", 5), ("appealed", 10))
PUBLISHERS = ("Reuters", "AP", "BBC", "Al Jazeera", "The Hindu", "Dawn", "OONI", "NetBlocks", "Access Now")
CAUSE_WORDS = {
    "protests": ("protest", "protests", "demonstrations", "rally"),
    "conflict": ("fighting", "armed conflict", "military operation"),
    "elections": ("election", "vote counting", "polls"),
    "exam_cheating": ("exams", "examination", "cheating"),
    "communal_violence": ("communal clashes", "violence"),
    "political_instability": ("political crisis", "unrest", "protest"),
    "information_control": ("censorship", "information control"),
    "religious_event": ("religious procession", "festival"),
}


def _fallback_templates() -> list[dict[str, Any]]:
    """Used when the STOP sheet is not there: a hand-made miniature of its distributions."""

    def t(country, scope, area, types, networks, platforms, cause, justification, ordered, year, weight):
        return [
            {
                "title": f"{' and '.join(x.replace('_', ' ') for x in types).capitalize()} in {area}",
                "country": country,
                "description": None,
                "area": area,
                "scope": scope,
                "shutdown_types": types,
                "networks": networks,
                "platforms": platforms,
                "start_date": f"{year}-01-01",
                "start_date_estimated": False,
                "status": "ended",
                "ordered_by": ordered,
                "decision_maker": None,
                "actual_cause": cause,
                "official_justification": justification,
                "legal_basis": "unknown",
                "election_related": "yes" if cause == "elections" else "unknown",
                "violence_reported": "unknown",
                "human_rights_abuse_reported": "unknown",
                "telcos": [],
                "acknowledgements": [],
                "sources": [],
            }
        ] * weight

    templates: list[dict[str, Any]] = []
    for year in range(2016, 2026):
        templates += t(
            "IN",
            "local",
            "Jammu and Kashmir",
            ["full_network"],
            ["mobile"],
            [],
            "protests",
            "public_order",
            "state_government",
            year,
            30,
        )
        templates += t(
            "IN",
            "regional",
            "Rajasthan",
            ["full_network"],
            ["mobile"],
            [],
            "exam_cheating",
            "school_exams",
            "state_government",
            year,
            10,
        )
        templates += t(
            "MM",
            "regional",
            "Rakhine",
            ["full_network"],
            ["mobile", "broadband"],
            [],
            "conflict",
            "national_security",
            "military",
            year,
            12,
        )
        templates += t(
            "PK",
            "national",
            "Nationwide",
            ["service_based"],
            ["mobile", "broadband"],
            ["x"],
            "elections",
            "national_security",
            "executive_government",
            year,
            5,
        )
        templates += t(
            "IR",
            "national",
            "Nationwide",
            ["service_based"],
            ["mobile", "broadband"],
            ["instagram", "whatsapp"],
            "protests",
            "national_security",
            "executive_government",
            year,
            5,
        )
        templates += t(
            "RU",
            "national",
            "Nationwide",
            ["service_based"],
            ["broadband"],
            ["telegram"],
            "information_control",
            "illegal_content",
            "executive_government",
            year,
            2,
        )
        templates += t(
            "ET",
            "national",
            "Nationwide",
            ["full_network"],
            ["mobile", "broadband"],
            [],
            "exam_cheating",
            "school_exams",
            "executive_government",
            year,
            2,
        )
        templates += t(
            "IQ",
            "national",
            "Nationwide",
            ["full_network"],
            ["mobile", "broadband"],
            [],
            "exam_cheating",
            "school_exams",
            "executive_government",
            year,
            2,
        )
        templates += t(
            "UA",
            "regional",
            "Donetsk",
            ["throttling"],
            ["mobile"],
            [],
            "conflict",
            "unknown",
            "military",
            year,
            2,
        )
        templates += t(
            "SN",
            "national",
            "Nationwide",
            ["service_based"],
            ["mobile"],
            ["facebook", "tiktok"],
            "political_instability",
            "hate_speech_misinformation",
            "executive_government",
            year,
            1,
        )
    return templates


FALLBACK_DURATIONS = (
    [1] * 30 + [2] * 15 + [3] * 10 + [5] * 8 + [7] * 6 + [14] * 5 + [30] * 4 + [90, 180, 365, 700]
)


def load_profile(session) -> dict[str, Any]:
    """Templates (real STOP incidents as the app maps them) and real durations."""
    from app.services import platforms as platform_service
    from app.services import stop_format

    if not common.STOP_CSV.exists():
        log(f"{common.STOP_CSV} not found: using the built-in fallback distributions")
        return {"source": "fallback", "templates": _fallback_templates(), "durations": FALLBACK_DURATIONS}
    aliases = platform_service.alias_map(session)
    templates: list[dict[str, Any]] = []
    with open(common.STOP_CSV, encoding="utf-8-sig", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            documents, errors = stop_format.convert_row(row, number, aliases)
            if not errors:
                templates += documents
    durations = [
        (date.fromisoformat(d["end_date"]) - date.fromisoformat(d["start_date"])).days + 1
        for d in templates
        if d.get("end_date")
    ]
    return {"source": str(common.STOP_CSV.name), "templates": templates, "durations": durations or [1]}


# --------------------------------------------------------------------------- one incident


def _weighted(rng: random.Random, pairs) -> Any:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def _clamp_day(value: date) -> date:
    return min(max(value, date(1990, 1, 1)), TODAY)


def make_incident(rng: random.Random, profile: dict[str, Any], number: int) -> dict[str, Any]:
    """An incident document shaped like the API's output (every column of the native CSV)."""
    t = rng.choice(profile["templates"])
    year = int(t["start_date"][:4])
    start = date(year, 1, 1) + timedelta(days=rng.randrange(365))
    start = _clamp_day(start)
    status, end = t["status"], None
    if status == "ended":
        end = start + timedelta(days=rng.choice(profile["durations"]) - 1)
        if end > TODAY:
            status, end = "ongoing", None
    cause = t["actual_cause"]
    # The row's own text, or none where the row has none: the texts' lengths are the sheet's
    # (bench/README.md, "The generated data against the sheet"). The fallback templates have no
    # text, so they get a sentence.
    description = t.get("description")
    if not description and profile["source"] == "fallback":
        description = (
            f"{(t.get('area') or 'The country')}: networks were cut on {start.isoformat()} amid "
            f"{rng.choice(CAUSE_WORDS.get(cause, ('unrest',)))} (report {number})."
        )
    acknowledgements = []
    for ack in t.get("acknowledgements") or ():
        acknowledgements.append(
            {
                **ack,
                "date": None
                if rng.random() < 0.3
                else (start + timedelta(days=rng.randrange(30))).isoformat(),
            }
        )
    if profile["source"] == "fallback" and rng.random() < 0.06:
        acknowledgements.append(
            {
                "actor": t.get("decision_maker") or "Ministry of Information",
                "actor_type": "government",
                "stance": "denied",
                "date": (start + timedelta(days=rng.randrange(1, 20))).isoformat(),
                "channel": rng.choice(("press_statement", "social_media", "interview")),
                "justification": None,
                "quote": "There is no shutdown; any slowness is a technical problem.",
                "source_url": f"https://gov.example.org/statements/{number}",
            }
        )
    legal_cases = []
    if rng.random() < 0.04:
        for index in range(rng.choice((1, 1, 2))):
            filed = _clamp_day(start + timedelta(days=rng.randrange(3, 60)))
            case_status = _weighted(rng, CASE_STATUSES)
            ruling = None
            if case_status in ("decided", "dismissed", "appealed"):
                ruling = _clamp_day(filed + timedelta(days=rng.randrange(10, 200))).isoformat()
            legal_cases.append(
                {
                    "court": f"{rng.choice(COURTS)} ({t['country']})",
                    "case_number": f"WP {rng.randrange(100, 99999)}/{filed.year}",
                    "filed_on": filed.isoformat(),
                    "petitioners": "Digital rights organisation and journalists",
                    "respondents": "Ministry of Interior",
                    "status": case_status,
                    "ruling_on": ruling,
                    "ruling_summary": "Government ordered to review the order within a week"
                    if ruling
                    else None,
                    "next_hearing_on": None,
                    "source_url": f"https://court.example.org/cases/{number}-{index}",
                }
            )
    # The row's sources as the sheet gives them (a URL and its kind; the sheet has no titles or
    # publishers); the fallback templates, and the 1 % of rows without a URL, get 1-3 made up.
    real = [dict(s) for s in (t.get("sources") or ())]
    if not real:
        real = [
            {
                "url": f"https://news.example.org/{number}/{index}",
                "title": f"Internet cut in {t.get('area') or t['country']}",
                "publisher": rng.choice(PUBLISHERS),
                "kind": "news",
            }
            for index in range(_weighted(rng, ((1, 45), (2, 33), (3, 22))))
        ]
    sources = [
        {
            "url": base["url"],
            "title": base.get("title"),
            "publisher": base.get("publisher"),
            "published_on": (start + timedelta(days=rng.randrange(0, 5))).isoformat()
            if rng.random() < 0.7
            else None,
            "kind": base.get("kind") or "news",
            "archived_url": None,
        }
        for base in real
    ]
    asns = sorted(rng.sample(ASN_POOL, rng.randint(1, 3))) if rng.random() < 0.15 else []
    return {
        "id": None,
        "title": t["title"],
        "description": description,
        "country": t["country"],
        "country_name": None,
        "area": t.get("area"),
        "scope": t["scope"],
        "shutdown_types": t["shutdown_types"],
        "networks": t.get("networks") or [],
        "platforms": t.get("platforms") or [],
        "start_date": start.isoformat(),
        "start_date_estimated": bool(t.get("start_date_estimated")),
        "end_date": end.isoformat() if end else None,
        "status": status,
        "duration_days": None,
        "ordered_by": t["ordered_by"],
        "decision_maker": t.get("decision_maker"),
        "actual_cause": cause,
        "actual_cause_details": t.get("actual_cause_details"),
        "official_justification": t["official_justification"],
        "justification_details": t.get("justification_details"),
        "legal_basis": t.get("legal_basis") or "unknown",
        "legal_basis_details": t.get("legal_basis_details"),
        "election_related": t.get("election_related") or "unknown",
        "violence_reported": t.get("violence_reported") or "unknown",
        "human_rights_abuse_reported": t.get("human_rights_abuse_reported") or "unknown",
        "asns": asns,
        "telcos": t.get("telcos") or [],
        "acknowledgement_status": None,
        "acknowledged_on": None,
        "acknowledgement_delay_days": None,
        "litigation_status": None,
        "acknowledgements": acknowledgements,
        "legal_cases": legal_cases,
        "sources": sources,
        # Read-only columns of the native CSV (a generated incident comes from no STOP row and
        # gets its provenance from the import).
        "stop_rows": [],
        "provenance": None,
        "provenance_at": None,
        "created_at": None,
        "updated_at": None,
        "revision": None,
    }


# --------------------------------------------------------------------------- the CSV


def _scratch_app():
    """An app on a migrated scratch SQLite database, for the platform vocabulary."""
    from app import create_app
    from app.services import migrations

    url = f"sqlite:///{DATA_DIR / 'scratch.db'}"
    migrations.upgrade(url)
    return create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING"})


def generate_csv(size: int, rebuild: bool = False) -> Path:
    from app.services import csv_format

    path = common.csv_path(size, GENERATOR_VERSION)
    if path.exists() and not rebuild:
        return path
    started = time.perf_counter()
    app = _scratch_app()
    with app.app_context():
        from app.db import db

        profile = load_profile(db.session)
    rng = random.Random(size * 7919 + GENERATOR_VERSION)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(csv_format.HEADER)
        for number in range(1, size + 1):
            writer.writerow(csv_format.row_of(make_incident(rng, profile, number)))
    tmp.replace(path)
    (path.parent / (path.name + ".json")).write_text(
        json.dumps({"rows": size, "profile": profile["source"], "templates": len(profile["templates"])})
    )
    log(
        f"generated {path.name}: {size} incidents from {profile['source']} "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return path


def csv_chunks(path: Path, rows: int = CHUNK_ROWS):
    """The CSV as lists of lines, CHUNK rows each, every list starting with the header."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        chunk: list[list[str]] = []
        for record in reader:
            chunk.append(record)
            if len(chunk) >= rows:
                yield _as_lines(header, chunk), len(chunk)
                chunk = []
        if chunk:
            yield _as_lines(header, chunk), len(chunk)


def _as_lines(header: list[str], records: list[list[str]]) -> list[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(records)
    return list(io.StringIO(buffer.getvalue(), newline=""))


# --------------------------------------------------------------------------- loading


def import_csv(database_url: str, path: Path) -> dict[str, Any]:
    """Load the CSV through the app's own bulk path, in chunks; returns timing figures."""
    from flask import g

    from app import create_app
    from app.db import db
    from app.services import importer, revisions

    app = create_app({"DATABASE_URL": database_url, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING"})
    total, started = 0, time.perf_counter()
    with app.app_context():
        for lines, count in csv_chunks(path):
            chunk_started = time.perf_counter()
            # The app's own session (the schema's validators use it too), a fresh one per chunk
            # so that memory stays bounded.
            session = db.session
            try:
                revisions.set_actor(session, "bench")
                report = importer.run_import(
                    session,
                    lines,
                    fmt="native",
                    on_error="abort",
                )
            finally:
                session.close()
                g.pop("db_session", None)
            if report.errors or report.created != count:
                first = report.errors[:3]
                raise SystemExit(f"import failed: created {report.created}/{count}; errors {first}")
            total += count
            elapsed = time.perf_counter() - chunk_started
            log(f"  {database_url.split('/')[-1]}: {total} rows imported ({count / elapsed:.0f} rows/s)")
    seconds = time.perf_counter() - started
    return {"rows": total, "seconds": round(seconds, 2), "rows_per_s": round(total / seconds, 1)}


def _git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "app", "migrations"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _marker(size: int) -> dict[str, Any]:
    return {"generator": GENERATOR_VERSION, "rows": size}


def sqlite_ready(size: int) -> dict[str, Any] | None:
    side = Path(str(common.sqlite_path(size)) + ".json")
    if not side.exists() or not common.sqlite_path(size).exists():
        return None
    info = json.loads(side.read_text())
    return info if all(info.get(k) == v for k, v in _marker(size).items()) else None


def load_sqlite(size: int, rebuild: bool = False) -> dict[str, Any]:
    from app.services import migrations

    info = sqlite_ready(size)
    if info and not rebuild:
        migrations.upgrade_and_rebuild(common.sqlite_url(size))  # a cached database follows new migrations
        return info
    path = generate_csv(size)
    db_path = common.sqlite_path(size)
    side = Path(str(db_path) + ".json")
    for stale in (side, db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        stale.unlink(missing_ok=True)
    log(f"loading {size} incidents into SQLite {db_path.name} through run_import")
    migrations.upgrade(common.sqlite_url(size))
    timing = import_csv(common.sqlite_url(size), path)
    info = {**_marker(size), "import": timing, "app": _git_state(), "built": time.strftime("%Y-%m-%d %H:%M")}
    side.write_text(json.dumps(info))
    return info


def _pg_admin():
    import psycopg

    return psycopg.connect(common.PG_ADMIN_URL, autocommit=True)


def pg_ready(size: int) -> dict[str, Any] | None:
    name = common.pg_name(size)
    with _pg_admin() as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
    if not row or not row[0]:
        return None
    try:
        info = json.loads(row[0])
    except ValueError:
        return None
    return info if all(info.get(k) == v for k, v in _marker(size).items()) else None


def load_pg(size: int, rebuild: bool = False) -> dict[str, Any]:
    import psycopg

    from app.services import migrations

    info = pg_ready(size)
    if info and not rebuild:
        migrations.upgrade_and_rebuild(common.pg_url(size))
        return info
    path = generate_csv(size)
    name = common.pg_name(size)
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    log(f"loading {size} incidents into PostgreSQL {name} through run_import")
    migrations.upgrade(common.pg_url(size))
    timing = import_csv(common.pg_url(size), path)
    with psycopg.connect(common.pg_dsn(size), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    info = {**_marker(size), "import": timing, "app": _git_state(), "built": time.strftime("%Y-%m-%d %H:%M")}
    with _pg_admin() as conn:
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{json.dumps(info)}'")
    return info


# --------------------------------------------------------------------------- Datasette's copy

INT_COLUMNS = {
    "id",
    "duration_days",
    "acknowledgement_delay_days",
    "acknowledgement_count",
    "legal_case_count",
    "revision",
}
BOOL_COLUMNS = {"start_date_estimated"}
# Indexes an informed publisher adds for the filters and sorts the benchmark uses (and the API offers).
FLAT_INDEXES = (
    ("country", "start_date"),
    ("start_date",),
    ("end_date",),
    ("duration_days",),
    ("updated_at",),
    ("status",),
    ("scope",),
    ("ordered_by",),
    ("actual_cause",),
    ("official_justification",),
    ("acknowledgement_status",),
    ("litigation_status",),
)
FTS_COLUMNS = ("title", "description", "area", "decision_maker")


def flat_ready(size: int) -> dict[str, Any] | None:
    side = common.flat_dir(size) / "built.json"
    if not side.exists() or not common.flat_path(size).exists():
        return None
    info = json.loads(side.read_text())
    return info if all(info.get(k) == v for k, v in _marker(size).items()) else None


def metadata(size: int) -> dict[str, Any]:
    return {
        "title": f"Shutdown incidents ({size:,})",
        "databases": {
            "db": {
                "tables": {
                    "incidents": {
                        "fts_table": "incidents_fts",
                        "fts_pk": "id",
                        "sortable_columns": [
                            "start_date",
                            "end_date",
                            "duration_days",
                            "updated_at",
                            "country",
                            "id",
                        ],
                    }
                }
            }
        },
    }


def write_export(database_url: str, path: Path) -> int:
    """The app's own CSV export, GET /api/v1/incidents.csv (in process, streamed to the file).
    Returns the number of incidents written."""
    from app import create_app

    app = create_app({"DATABASE_URL": database_url, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING"})
    response = app.test_client().get("/api/v1/incidents.csv", buffered=False)
    if response.status_code != 200:
        raise SystemExit(f"export failed: HTTP {response.status_code}")
    with open(path, "wb") as handle:
        for chunk in response.response:
            handle.write(chunk)
    response.close()
    with open(path, encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def build_flat(size: int, rebuild: bool = False) -> dict[str, Any]:
    """The app's CSV export of the SQLite app database, as one flat, indexed, FTS-enabled table."""
    from app.services import csv_format

    info = flat_ready(size)
    if info and not rebuild:
        return info
    directory = common.flat_dir(size)
    directory.mkdir(parents=True, exist_ok=True)
    export = directory / "export.csv"
    started = time.perf_counter()
    write_export(common.sqlite_url(size), export)
    exported = time.perf_counter() - started
    tmp = directory / "db.db.tmp"
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    columns = []
    for name in csv_format.HEADER:
        kind = "INTEGER" if name in INT_COLUMNS | BOOL_COLUMNS else "TEXT"
        columns.append(f'"{name}" {kind}{" PRIMARY KEY" if name == "id" else ""}')
    conn.execute(f"CREATE TABLE incidents ({', '.join(columns)})")
    placeholders = ", ".join("?" for _ in csv_format.HEADER)
    rows = 0
    with open(export, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        assert header == csv_format.HEADER, header

        def records():
            nonlocal rows
            for record in reader:
                rows += 1
                out = []
                for name, cell in zip(header, record, strict=True):
                    if cell == "":
                        out.append(None)
                    elif name in BOOL_COLUMNS:
                        out.append(1 if cell == "true" else 0)
                    elif name in INT_COLUMNS:
                        out.append(int(cell))
                    else:
                        out.append(cell)
                yield out

        conn.executemany(f"INSERT INTO incidents VALUES ({placeholders})", records())
    for index in FLAT_INDEXES:
        conn.execute(f"CREATE INDEX ix_incidents_{'_'.join(index)} ON incidents ({', '.join(index)})")
    conn.execute(
        f"CREATE VIRTUAL TABLE incidents_fts USING fts5({', '.join(FTS_COLUMNS)}, content='incidents', "
        "content_rowid='id')"
    )
    conn.execute("INSERT INTO incidents_fts(incidents_fts) VALUES ('rebuild')")
    conn.commit()
    conn.execute("VACUUM")
    conn.close()
    if rows != size:
        raise SystemExit(f"flat copy has {rows} rows, expected {size}")
    tmp.replace(common.flat_path(size))
    export.unlink()
    (directory / "metadata.json").write_text(json.dumps(metadata(size), indent=2))
    info = {
        **_marker(size),
        "export_seconds": round(exported, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }
    (directory / "built.json").write_text(json.dumps(info))
    log(f"built Datasette copy flat-{size}/db.db ({rows} rows; export {exported:.1f}s)")
    return info


# --------------------------------------------------------------------------- command line


def prepare(sizes: list[int], targets: list[str], rebuild: bool = False) -> dict[str, Any]:
    """Everything the benchmark needs for these sizes; SQLite and PostgreSQL load side by side."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for size in sizes:
        generate_csv(size, rebuild=rebuild)
    workers = []
    for size in sizes:
        for target in ("sqlite", "pg"):
            if target not in targets:
                continue
            ready = sqlite_ready(size) if target == "sqlite" else pg_ready(size)
            if ready and not rebuild:
                continue
            workers.append((size, target))
    # One process per database kind at a time (SQLite has one writer, and there are 2 cores).
    queues = {kind: [s for s, k in workers if k == kind] for kind in ("sqlite", "pg")}
    procs = []
    for kind, kind_sizes in queues.items():
        if kind_sizes:
            command = [sys.executable, __file__, "--sizes", ",".join(map(str, kind_sizes)), "--targets", kind]
            if rebuild:
                command.append("--rebuild")
            procs.append(subprocess.Popen(command))
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit("loading a database failed (see above)")
    for size in sizes:
        entry: dict[str, Any] = {}
        if "sqlite" in targets:
            entry["sqlite"] = load_sqlite(size)  # cached now: only migrates to head
        if "pg" in targets:
            entry["pg"] = load_pg(size)
        if "flat" in targets:
            entry["flat"] = build_flat(size, rebuild=rebuild)
        results[str(size)] = entry
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000", help="comma-separated incident counts")
    parser.add_argument("--targets", default="csv,sqlite,pg,flat")
    parser.add_argument("--rebuild", action="store_true", help="ignore the cache")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    targets = args.targets.split(",")
    if targets == ["sqlite"] or targets == ["pg"]:  # a loader process started by prepare()
        for size in sizes:
            (load_sqlite if targets == ["sqlite"] else load_pg)(size, rebuild=args.rebuild)
        return
    if targets == ["csv"]:
        for size in sizes:
            generate_csv(size, rebuild=args.rebuild)
        return
    print(json.dumps(prepare(sizes, targets, rebuild=args.rebuild), indent=2))


if __name__ == "__main__":
    main()
