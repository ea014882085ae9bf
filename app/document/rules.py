"""The incident document's cross-field rules (SPEC.md), checked on whole and merged documents."""

from __future__ import annotations

from datetime import date
from typing import Any


def default_status(end_date: date | None) -> str:
    return "ended" if end_date is not None else "ongoing"


def incident_rule_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Cross-field rules of SPEC.md, on a whole (possibly merged) document."""
    errors: dict[str, list[str]] = {}
    start, end = values.get("start_date"), values.get("end_date")
    status = values.get("status") or default_status(end)
    if start and end and end < start:
        errors["end_date"] = ["Must be on or after start_date."]
    if end is not None and status != "ended":
        errors.setdefault("status", []).append("An incident with an end_date must have status 'ended'.")
    if "service_based" in (values.get("shutdown_types") or ()) and not values.get("platforms"):
        errors["platforms"] = ["Name at least one platform for a service_based shutdown."]
    return errors
