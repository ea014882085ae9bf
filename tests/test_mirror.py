"""README's mirror (examples/mirror.py) against the live server, on SQLite and PostgreSQL: after a
random (seeded) mix of creates, edits, child record edits, deletes, restores, reverts and imports
through HTTP, the mirror followed from the start holds exactly what the API serves: every live
incident's document, and no deleted one. A mirror stopped halfway goes on from its saved cursor."""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import incident_doc
from tests.live_server import HttpClient, make_key, multipart

pytest_plugins = ["tests.live_server"]  # fixtures: live_database, live_server

REPO = Path(__file__).resolve().parent.parent
MIRROR = REPO / "examples" / "mirror.py"
SAMPLE = REPO / "examples" / "stop-sample.csv"
INCIDENTS = "/api/v1/incidents"
STEPS = 120
COUNTRIES = ("IN", "PK", "IR", "ET")


class Writer:
    """Random writes through HTTP, as editors and an admin make them."""

    def __init__(self, editor: HttpClient, admin: HttpClient, seed: int) -> None:
        self.editor, self.admin = editor, admin
        self.random = random.Random(seed)
        self.live: set[int] = set()
        self.deleted: set[int] = set()

    def incident(self, incident_id: int) -> tuple[dict[str, Any], str]:
        reply = self.editor.get(f"{INCIDENTS}/{incident_id}")
        assert reply.status == 200, reply.text
        return reply.json(), reply.header("ETag")

    def write(self, client: HttpClient, method: str, path: str, etag: str | None = None, **kwargs: Any):
        headers = {**kwargs.pop("headers", {}), **({"If-Match": etag} if etag else {})}
        reply = client.request(method, path, headers=headers, **kwargs)
        assert reply.status < 300 or reply.status == 409, f"{method} {path} → {reply.status} {reply.text}"
        return reply

    def create(self) -> None:
        body = incident_doc(
            title=f"Incident {self.random.randrange(10**6)}",
            country=self.random.choice(COUNTRIES),
            sources=[{"url": "https://example.org/first", "kind": "news"}],
        )
        reply = self.write(self.editor, "POST", INCIDENTS, json_body=body)
        self.live.add(reply.json()["id"])

    def edit(self, incident_id: int) -> None:
        document, etag = self.incident(incident_id)
        change = self.random.choice(
            [
                {"title": f"Edited {self.random.randrange(10**6)}"},
                {"end_date": document["start_date"]},
                {"country": self.random.choice(COUNTRIES)},
            ]
        )
        self.write(self.editor, "PATCH", f"{INCIDENTS}/{incident_id}", etag, json_body=change)

    def child(self, incident_id: int) -> None:
        document, etag = self.incident(incident_id)
        path = f"{INCIDENTS}/{incident_id}/sources"
        sources = document["sources"]
        choice = self.random.randrange(3) if sources else 0
        if choice == 0:
            body = {"url": f"https://example.org/{self.random.randrange(10**6)}", "kind": "ngo_report"}
            self.write(self.editor, "POST", path, etag, json_body=body)
        elif choice == 1:
            source = self.random.choice(sources)
            body = {"url": source["url"], "title": f"Report {self.random.randrange(10**6)}", "kind": "news"}
            self.write(self.editor, "PUT", f"{path}/{source['id']}", etag, json_body=body)
        else:
            self.write(self.editor, "DELETE", f"{path}/{self.random.choice(sources)['id']}", etag)

    def delete(self, incident_id: int) -> None:
        _, etag = self.incident(incident_id)
        self.write(self.admin, "DELETE", f"{INCIDENTS}/{incident_id}", etag)
        self.live.discard(incident_id)
        self.deleted.add(incident_id)

    def restore(self, incident_id: int) -> None:
        self.write(self.admin, "POST", f"{INCIDENTS}/{incident_id}/restore")
        self.deleted.discard(incident_id)
        self.live.add(incident_id)

    def revert(self, incident_id: int) -> None:
        document, etag = self.incident(incident_id)
        number = self.random.randint(1, document["revision"])
        self.write(self.editor, "POST", f"{INCIDENTS}/{incident_id}/revisions/{number}/revert", etag)

    def upload(self, content: bytes, query: str, filename: str) -> dict[str, Any]:
        body, content_type = multipart(filename, content)
        reply = self.write(
            self.editor,
            "POST",
            f"{INCIDENTS}/import?{query}",
            body=body,
            headers={"Content-Type": content_type},
        )
        return reply.json()

    def stop_import(self) -> None:
        self.upload(SAMPLE.read_bytes(), "format=stop&on_error=skip", "stop-sample.csv")
        self.imported()

    def native_import(self) -> None:
        """The export, one row retitled and one written anew without its id (a new incident)."""
        exported = self.editor.get(f"{INCIDENTS}.csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        if not rows:
            return
        edited, copied = self.random.choice(rows), dict(self.random.choice(rows))
        edited["title"] = f"Imported {self.random.randrange(10**6)}"
        copied["id"] = ""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([edited, copied])
        self.upload(out.getvalue().encode(), "format=native&on_error=skip", "incidents.csv")
        self.imported()

    def imported(self) -> None:
        """An import creates incidents (and may bring back a deleted one): as the list says."""
        self.live = self.live_ids()
        self.deleted -= self.live

    def live_ids(self) -> set[int]:
        reply = self.editor.get(f"{INCIDENTS}?page_size=500")
        assert reply.status == 200
        return {incident["id"] for incident in reply.json()}

    def step(self) -> None:
        roll = self.random.random()
        live = sorted(self.live)
        if roll < 0.2 or not live:
            self.create()
        elif roll < 0.4:
            self.edit(self.random.choice(live))
        elif roll < 0.6:
            self.child(self.random.choice(live))
        elif roll < 0.7:
            self.delete(self.random.choice(live))
        elif roll < 0.78 and self.deleted:
            self.restore(self.random.choice(sorted(self.deleted)))
        elif roll < 0.9:
            self.revert(self.random.choice(live))
        elif roll < 0.95:
            self.stop_import()
        else:
            self.native_import()


def run_mirror(base_url: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(MIRROR), base_url, str(path), "--once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(path.read_text(encoding="utf-8"))


def assert_mirrors(writer: Writer, mirrored: dict[str, Any]) -> None:
    live = writer.live_ids()
    assert live == writer.live
    assert {int(key) for key in mirrored["incidents"]} == live
    for incident_id in live:
        document, _ = writer.incident(incident_id)
        assert mirrored["incidents"][str(incident_id)] == document
    for incident_id in writer.deleted:
        assert writer.editor.get(f"{INCIDENTS}/{incident_id}").status == 410


def test_mirror_reproduces_the_source(live_database, live_server, tmp_path):
    server = live_server(live_database, workers=1, threads=4)
    editor_key = make_key(live_database, "mirror-editor", "editor")
    admin_key = make_key(live_database, "mirror-admin", "admin")
    with server.client(editor_key) as editor, server.client(admin_key) as admin:
        writer = Writer(editor, admin, seed=17)
        halfway = tmp_path / "halfway.json"
        for number in range(STEPS):
            writer.step()
            if number == STEPS // 2:
                assert_mirrors(writer, run_mirror(server.base_url, halfway))
        assert writer.deleted and writer.live
        actions, origins, cursor = set(), set(), 0
        while True:
            page = editor.get(f"/api/v1/changes?after={cursor}&limit=500").json()
            actions |= {change["action"] for change in page["changes"]}
            origins |= {(change["provenance"] or "").split(":")[0] for change in page["changes"]}
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        assert actions == {"create", "update", "delete", "restore", "revert"}
        assert {"editor", "stop", "native"} <= origins
        # Gone on from its saved cursor, and followed from the start: the same copy.
        assert_mirrors(writer, run_mirror(server.base_url, halfway))
        assert_mirrors(writer, run_mirror(server.base_url, tmp_path / "fresh.json"))
        # Nothing new: the cursor stays and the mirror with it.
        again = run_mirror(server.base_url, halfway)
        assert again == json.loads(halfway.read_text(encoding="utf-8"))
