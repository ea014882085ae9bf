"""Portable SQL expressions that SQLite and PostgreSQL spell differently."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
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


# SQLite's `FROM table INDEXED BY index`, written as a SQLAlchemy FROM hint
# (`select.with_hint(table, "INDEXED BY …", "sqlite")`): the SQLite dialect renders no FROM
# hints, so this one method is added to its compiler.
def _sqlite_from_hint_text(self, table, text):  # noqa: ANN001, ANN202
    return text


SQLiteCompiler.get_from_hint_text = _sqlite_from_hint_text


# --------------------------------------------------------------------------- full-text search
# SQLite: an FTS5 table `incidents_fts` (external content, kept in sync by triggers).
# PostgreSQL: a generated `incidents.search_vector` tsvector column with a GIN index.
# Both are created by migration 0004; both use the 'simple' tokenisation (no stemming, no
# accent folding), with every word of the query matched as a prefix, so the two databases
# return the same incidents.

FTS_TABLE = "incidents_fts"
SEARCH_VECTOR = "search_vector"


def search_tokens(text: str) -> list[str]:
    """Words of a query, as both engines split them (letters and digits; `_` separates)."""
    return re.findall(r"[^\W_]+", text.lower())


class text_match(FunctionElement):  # noqa: N801
    """True when an incident's title, description, area or decision maker has every query word
    (as a word prefix). Takes the query as a bound string built by `fts_query`."""

    type = sa.Boolean()
    inherit_cache = True
    name = "text_match"


class text_rank(FunctionElement):  # noqa: N801
    """Relevance of an incident to the query, lower is better (so it sorts ascending)."""

    type = sa.Float()
    inherit_cache = True
    name = "text_rank"


def fts_query(tokens: list[str], dialect: str) -> str:
    if dialect == "postgresql":
        return " & ".join(f"{token}:*" for token in tokens)
    return " AND ".join(f'"{token}"*' for token in tokens)


class SearchWords(sa.types.TypeDecorator):
    """Query words, bound as each engine's query syntax (FTS5 MATCH or tsquery)."""

    impl = sa.String()
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return fts_query(value.split(" "), dialect.name)


def search_words(tokens: list[str]) -> sa.BindParameter:
    # Bound as one space-separated string: a list value would be taken for an IN list.
    return sa.literal(" ".join(tokens), SearchWords())


@compiles(text_match, "sqlite")
def _text_match_sqlite(element, compiler, **kw):
    (query,) = list(element.clauses)
    match = compiler.process(query, **kw)
    return f"incidents.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {match})"


@compiles(text_match, "postgresql")
def _text_match_postgresql(element, compiler, **kw):
    (query,) = list(element.clauses)
    return f"incidents.{SEARCH_VECTOR} @@ to_tsquery('simple', {compiler.process(query, **kw)})"


@compiles(text_rank, "sqlite")
def _text_rank_sqlite(element, compiler, **kw):
    (query,) = list(element.clauses)
    return (
        f"(SELECT rank FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {compiler.process(query, **kw)} "
        f"AND rowid = incidents.id)"
    )


@compiles(text_rank, "postgresql")
def _text_rank_postgresql(element, compiler, **kw):
    (query,) = list(element.clauses)
    return f"-ts_rank(incidents.{SEARCH_VECTOR}, to_tsquery('simple', {compiler.process(query, **kw)}))"
