"""The committed OpenAPI document lints clean: Redocly CLI's recommended rules and Spectral's
`spectral:oas`, at the versions pinned in package-lock.json, report no error and no warning.

`make test` installs them (`npm ci`) and runs them first (`make lint-spec`); here they run again
on the document the other tests check, and are skipped only where `npm ci` was never run.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "openapi" / "openapi.json"
BIN = REPO / "node_modules" / ".bin"
QUIET = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_COLOR": "1"}


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    if not (BIN / tool).exists():
        pytest.skip(f"{tool} is not installed: run `make lint-spec` (npm ci) first.")
    return subprocess.run(
        [str(BIN / tool), *args],
        cwd=REPO,
        env={**os.environ, **QUIET},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_redocly_recommended_reports_nothing():
    # The repository's redocly.yaml: the recommended rules, warnings counted as errors.
    result = _run("redocly", "lint", "--format=json", str(SPEC))
    report = json.loads(result.stdout)
    problems = [f"{p['ruleId']}: {p['message']} ({p['location'][0]['pointer']})" for p in report["problems"]]
    assert problems == []
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}
    assert result.returncode == 0, result.stderr


def test_spectral_oas_reports_nothing(tmp_path):
    report = tmp_path / "spectral.json"
    result = _run(
        "spectral", "lint", "--format=json", f"--output={report}", "--fail-severity=hint", str(SPEC)
    )
    problems = json.loads(report.read_text(encoding="utf-8"))
    assert [f"{p['code']}: {p['message']} ({'.'.join(map(str, p['path']))})" for p in problems] == []
    assert result.returncode == 0, result.stderr
