"""A mirror of every incident, kept by following the change feed (Python's standard library only).

    python examples/mirror.py http://127.0.0.1:8000 mirror.json          # follow, poll every 10 s
    python examples/mirror.py http://127.0.0.1:8000 mirror.json --once   # catch up, then stop

`mirror.json` holds the cursor and the incidents (id → document), written together after
each catch-up: stopped at any point, the mirror goes on from the cursor it saved.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

POLL_SECONDS = 10


def apply(state: dict[str, Any], page: dict[str, Any]) -> None:
    """One page of changes onto the mirror: the document after each change, or a delete."""
    for change in page["changes"]:
        incident_id = str(change["incident_id"])  # JSON object keys are strings
        if change["action"] == "delete":
            state["incidents"].pop(incident_id, None)
        else:
            state["incidents"][incident_id] = change["document"]
    state["cursor"] = page["next_cursor"]  # always given, also on an empty page


def catch_up(base_url: str, state: dict[str, Any]) -> dict[str, Any]:
    """Every change committed after the mirror's cursor, page by page, in commit order."""
    while True:
        url = f"{base_url}/api/v1/changes?after={state['cursor']}&limit=500"
        with urllib.request.urlopen(url, timeout=60) as response:
            page = json.load(response)
        apply(state, page)
        if not page["has_more"]:
            return state


def save(path: Path, state: dict[str, Any]) -> None:
    """Cursor and incidents in one file, replaced at once: never one without the other."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state), encoding="utf-8")
    os.replace(temporary, path)


def main(base_url: str, path: Path, once: bool) -> None:
    state = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"cursor": 0, "incidents": {}}
    while True:
        save(path, catch_up(base_url.rstrip("/"), state))
        if once:
            return
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), "--once" in sys.argv[3:])
