"""Which STOP rows are one shutdown: the rows of later yearly sheets that re-issue it, and the
stored incident they update.

A shutdown is known by its country, its start date and its area. A later sheet may correct the
platforms, the types, the status or the wording of the area ("National" → "Nationwide",
"Kashmir" → "Kashmir Valley, Jammu and Kashmir"): the row is still the same shutdown when its
area is the same or overlaps. Distinct shutdowns that start the same day in different areas of
one country (India has many) stay distinct, and so do the rows of one sheet year: a sheet lists
each shutdown once.

Pure functions of documents and areas; the importer reads the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from app.services.stop_format.tables import NATIONWIDE_AREAS, lookup_key

T = TypeVar("T")
C = TypeVar("C")

# Words of an area that say nothing about where it is.
AREA_NOISE = frozenset(
    """and the of in parts part some several many all other others city cities district districts
    region regions regional state states province provinces county counties town towns village
    villages area areas zone zones governorate governorates division divisions municipality
    including incl near around across north south east west northern southern eastern western
    central upper lower greater""".split()
)
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
# A nationwide shutdown is one area, however the sheets word it.
NATIONWIDE = "\x00nationwide"


def area_words(area: str | None) -> frozenset[str]:
    """The words that place an area; a nationwide area is the one word NATIONWIDE."""
    text = " ".join((area or "").split()).strip(" .")
    if lookup_key(text) in NATIONWIDE_AREAS:
        return frozenset({NATIONWIDE})
    return frozenset(
        word for word in (w.lower() for w in _WORDS.findall(text)) if len(word) > 2 and word not in AREA_NOISE
    )


def area_score(first: str | None, second: str | None) -> int:
    """3: the same area; 2: overlapping areas (a word in common); 1: one of them is not given,
    or is the whole country (which overlaps any area of it: a later sheet may narrow
    "Nationwide" down to the region); 0: different areas."""
    a, b = area_words(first), area_words(second)
    if a == b:
        return 3
    if not a or not b or NATIONWIDE in a or NATIONWIDE in b:
        return 1
    return 2 if a & b else 0


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def shutdown_key(data: dict[str, Any]) -> tuple[str, str]:
    """(country, start date): the rows and incidents that may be one shutdown share it."""
    return data["country"], _day(data["start_date"])


def match_score(areas: Sequence[str | None], other_areas: Sequence[str | None], same_kind: int) -> int:
    """How well two sides (a row or incident, each with the areas it was known by) match: the
    best area score first, then how many of types and platforms agree (0–2). 0: no match."""
    best = max((area_score(a, b) for a in areas or [None] for b in other_areas or [None]), default=0)
    return 0 if best == 0 else best * 10 + same_kind


def same_kind(first: dict[str, Any], second: dict[str, Any]) -> int:
    """How many of shutdown types and platforms the two documents agree on (0–2)."""
    return sum(
        sorted(first.get(name) or ()) == sorted(second.get(name) or ())
        for name in ("shutdown_types", "platforms")
    )


def assign(items: Sequence[T], candidates: Sequence[C], score: Callable[[T, C], int]) -> dict[int, int]:
    """Pair items with candidates, best score first, each at most once: {item index: candidate
    index}. Pairs scoring 0 are never made; ties go to the earlier item and candidate."""
    pairs = sorted(
        (
            (-value, item_index, candidate_index)
            for item_index, item in enumerate(items)
            for candidate_index, candidate in enumerate(candidates)
            if (value := score(item, candidate)) > 0
        )
    )
    paired: dict[int, int] = {}
    taken: set[int] = set()
    for _, item_index, candidate_index in pairs:
        if item_index not in paired and candidate_index not in taken:
            paired[item_index] = candidate_index
            taken.add(candidate_index)
    return paired


def _years(rows: Sequence[tuple[int, dict[str, Any]]]) -> list[list[int]]:
    """Indexes of `rows` grouped by sheet year, earliest year first (file order within one)."""
    grouped: dict[int, list[int]] = {}
    for index, (year, _) in enumerate(rows):
        grouped.setdefault(year, []).append(index)
    return [grouped[year] for year in sorted(grouped)]


def chains(rows: Sequence[tuple[int, dict[str, Any]]]) -> list[list[int]]:
    """Group rows that are one shutdown re-issued in later yearly sheets.

    `rows`: (sheet year, loaded document) per row, in file order. Returns chains of indexes into
    `rows`, each in sheet-year order (the last one is the latest sheet's row). A row joins the
    best-matching chain of an earlier year with its country and start date, whose rows have an
    overlapping area; rows of one year never join each other.
    """
    by_key: dict[tuple[str, str], list[list[int]]] = {}
    result: list[list[int]] = []
    for indexes in _years(rows):
        same_year: dict[tuple[str, str], list[int]] = {}
        for index in indexes:
            same_year.setdefault(shutdown_key(rows[index][1]), []).append(index)
        for key, keyed in same_year.items():
            earlier = by_key.setdefault(key, [])
            new = _extend(rows, keyed, list(earlier))
            earlier += new
            result += new
    return result


def _extend(
    rows: Sequence[tuple[int, dict[str, Any]]], indexes: list[int], earlier: list[list[int]]
) -> list[list[int]]:
    """Append each row (of one year and shutdown key) to its best earlier chain; the new chains
    of the rows that match none."""

    def score(index: int, chain: list[int]) -> int:
        return match_score(
            [rows[index][1].get("area")],
            [rows[member][1].get("area") for member in chain],
            same_kind(rows[index][1], rows[chain[-1]][1]),
        )

    paired = assign(indexes, earlier, score)
    new = []
    for position, index in enumerate(indexes):
        if position in paired:
            earlier[paired[position]].append(index)
        else:
            new.append([index])
    return new
