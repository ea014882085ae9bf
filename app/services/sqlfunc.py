"""Portable SQL expressions that SQLite and PostgreSQL spell differently."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement):  # noqa: N801  (reads like the SQL function it is)
    """Whole days from the first date to the second (second − first)."""

    type = sa.Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between_default(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"({compiler.process(end, **kw)} - {compiler.process(start, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)}) AS INTEGER)"
    )
