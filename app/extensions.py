"""Shim, to be removed: the HTTP bases moved to app/http/; import them from there."""

from __future__ import annotations

from app.http.schemas import QueryArgsSchema, Schema

__all__ = ["QueryArgsSchema", "Schema"]
