"""Reading the text of STOP cells: dates, countries, lists of names, operators, URLs and their kinds.

Pure functions of one cell's text; the tables they read are in `tables`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple
from urllib.parse import urlsplit

import marshmallow as ma
import pycountry

from app.document.fields import url_problem

from .tables import (
    ARCHIVED,
    COUNTRY_ALIASES,
    EARLIEST_DATE,
    EXCEL_EPOCH,
    MAX_YEARS_AHEAD,
    OFFICIAL_HOST,
    OTHER_SERVICE_NAMES,
    SOURCE_KIND_HOSTS,
    TELCO_MAX,
    TELCO_REGION_SUFFIXES,
    TELCOS_MAX,
    TITLE_COUNTRY_NAMES,
    URL_MAX,
    lookup_key,
)

ELLIPSIS = "…"

# --------------------------------------------------------------------------- text


def clean_cell(value: str) -> str:
    """A cell's text stripped, without NUL characters, with "\\n" line breaks."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.strip()


def clip(text: str, limit: int) -> str:
    """`text` stripped, and cut with "…" to `limit` characters when longer."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


# --------------------------------------------------------------------------- countries


def country_code(name: str) -> str | None:
    """ISO 3166-1 alpha-2 code of a country name or code, or None."""
    if not name.strip():
        return None
    alias = COUNTRY_ALIASES.get(lookup_key(name))
    if alias:
        return alias
    try:
        return pycountry.countries.lookup(name.strip()).alpha_2
    except LookupError:
        return None


def country_title_name(code: str) -> str:
    """A country's name in a title: the short form, without ISO's ", qualifier" part."""
    if code in TITLE_COUNTRY_NAMES:
        return TITLE_COUNTRY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    name = getattr(country, "common_name", None) or country.name
    return name.split(", ")[0]


# --------------------------------------------------------------------------- dates

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_SERIAL = re.compile(r"^(\d{1,6})(?:\.0+)?$")


def parse_date(text: str, *, today: date | None = None) -> tuple[date | None, str | None]:
    """(date, None) or (None, message) for an ISO, m/d/Y or Excel-serial date cell."""
    value = text.strip()
    try:
        result = _read_date(value)
    except (ValueError, OverflowError):
        return None, f"Not a valid date: '{clip(value, 40)}'."
    if result is None:
        return None, (
            f"Not a date: '{clip(value, 40)}' (use YYYY-MM-DD, m/d/YYYY or an Excel serial number)."
        )
    problem = _out_of_range(result, today or datetime.now(UTC).date())
    return (None, problem) if problem else (result, None)


def _read_date(value: str) -> date | None:
    """The date a cell writes in one of the sheet's formats; None if it is in none of them."""
    if match := _ISO_DATE.match(value):
        year, month, day = (int(group) for group in match.groups())
        return date(year, month, day)
    if match := _US_DATE.match(value):
        month, day, year = (int(group) for group in match.groups())
        return date(year, month, day)
    if match := _SERIAL.match(value):
        return EXCEL_EPOCH + timedelta(days=int(match.group(1)))
    return None


def _out_of_range(day: date, today: date) -> str | None:
    """Why the API would refuse a date, or None."""
    if day < EARLIEST_DATE:
        return f"Date {day.isoformat()} is before {EARLIEST_DATE.isoformat()}; the API refuses it."
    if day > today + timedelta(days=365 * MAX_YEARS_AHEAD):
        return f"Date {day.isoformat()} is more than {MAX_YEARS_AHEAD} years in the future."
    return None


# --------------------------------------------------------------------------- lists of names

_QUOTES = {'"': '"', "“": "”"}
_DEPTH_CHANGE = {"(": 1, ")": -1}
# The characters that can matter to a list's structure: quotes (opening and closing),
# parentheses, separators, and a full stop followed by whitespace or the end of the cell.
_LIST_MARKS = re.compile(r'["“”()]|[,;\n\t]|\.(?=\s|\Z)')
_SEPARATORS = frozenset(",;\n\t")
_SEPARATORS_AND_PERIOD = _SEPARATORS | {"."}


def list_names(cell: str, *, period: bool) -> Iterator[str]:
    """The names of a list cell, in order: items split as `split_list` and `split_and` do,
    stripped of quotes, leading "and" and trailing punctuation; empty ones left out."""
    for item in split_list(cell, period=period):
        for part in split_and(item):
            name = strip_item(part)
            if name:
                yield name


def split_list(cell: str, *, period: bool) -> list[str]:
    """Split on , ; and line breaks (and ". " when `period`) outside quotes and parentheses."""
    items: list[str] = []
    start = 0
    for index in _separators(cell, _SEPARATORS_AND_PERIOD if period else _SEPARATORS):
        items.append(cell[start:index])
        start = index + 1
    items.append(cell[start:])
    return [item.strip() for item in items if item.strip()]


def _separators(cell: str, separators: frozenset[str]) -> Iterator[int]:
    """Positions of the list separators of `cell` that are outside quotes and parentheses.

    A quote opens only when its closing quote follows somewhere; an unmatched ")" is ignored.
    """
    depth = 0
    closing: str | None = None
    for mark in _LIST_MARKS.finditer(cell):
        char = mark.group()
        if closing:
            closing = None if char == closing else closing
        elif char in _QUOTES and cell.find(_QUOTES[char], mark.end()) != -1:
            closing = _QUOTES[char]
        elif char in _DEPTH_CHANGE:
            depth = max(0, depth + _DEPTH_CHANGE[char])
        elif depth == 0 and char in separators:
            yield mark.start()


def split_and(item: str) -> list[str]:
    """Split "A and B" inside a short list item; leave sentences whole."""
    if item.startswith(('"', "“")) or len(item.split()) > 6:
        return [item]
    parts = re.split(r"\s+and\s+", item)
    return parts if all(part.strip() for part in parts) else [item]


def strip_item(item: str) -> str:
    item = re.sub(r"^(?:and|&)\s+", "", item.strip(), flags=re.IGNORECASE)
    item = item.strip().strip("\"'“”").strip()
    return item.rstrip(".;:").strip()


# --------------------------------------------------------------------------- services


def split_services(cell: str) -> list[str]:
    """The names in an other_affected cell (see the package docstring for the list syntax)."""
    return list(dict.fromkeys(list_names(cell, period=True)))


def resolve_service(name: str, platform_aliases: dict[str, str]) -> str | None:
    """Slug of a service name, through OTHER_SERVICE_NAMES and then the vocabulary's aliases."""
    key = lookup_key(name)
    names = [key]
    # "VK (VKontakte)": also the name without, and the name inside, the parentheses.
    if match := re.fullmatch(r"(.+?)\s*\((.+)\)", key):
        names += [match.group(1), match.group(2)]
    candidates = [OTHER_SERVICE_NAMES.get(key)]
    for variant in names:
        candidates += [variant, variant.replace(" ", "-")]
    for candidate in candidates:
        if candidate and candidate in platform_aliases:
            return platform_aliases[candidate]
    return None


# --------------------------------------------------------------------------- telcos

_TELCO_PREFIX = re.compile(r"^([^:()\d]{2,40}):\s*(.+)$", re.DOTALL)


class Telco(NamedTuple):
    """One operator of a telcos_involved cell."""

    country: str | None  # country code of a "Country: " prefix, or None
    prefix: str  # that prefix as written ("" without one)
    name: str


def parse_telcos(cell: str) -> list[Telco]:
    """The operators of a telcos_involved cell; a region item joins the operator before it."""
    telcos: list[Telco] = []
    for name in list_names(cell, period=False):
        region = TELCO_REGION_SUFFIXES.get(lookup_key(name))
        if region and telcos:
            telcos[-1] = telcos[-1]._replace(name=f"{telcos[-1].name} ({region})")
        else:
            telcos.append(_telco(name))
    return telcos


def _telco(name: str) -> Telco:
    """An operator, with its "Country: " prefix taken off when the prefix names a country."""
    match = _TELCO_PREFIX.match(name)
    code = country_code(match.group(1)) if match else None
    if not code:
        return Telco(None, "", name)
    return Telco(code, match.group(1).strip(), match.group(2).strip())


def telcos_for(telcos: list[Telco], country: str, countries: list[str]) -> list[str]:
    """Operators of one document: prefixed ones go to their country when the row names it."""
    names: dict[str, str] = {}  # by lower-case name: the first spelling wins
    for telco in telcos:
        if telco.country != country and telco.country in countries:
            continue  # another country's operator in a multi-country row
        name = clip(" ".join(_as_written(telco, country).split()), TELCO_MAX)
        if name:
            names.setdefault(name.lower(), name)
    return list(names.values())[:TELCOS_MAX]


def _as_written(telco: Telco, country: str) -> str:
    """An operator's name; with its prefix when that names a country other than the document's."""
    if telco.country and telco.country != country:
        return f"{telco.prefix}: {telco.name}"
    return telco.name


# --------------------------------------------------------------------------- URLs

_URL_START = re.compile(r"https?://", re.IGNORECASE)
_URL_BOUNDARY = set(" \t\r\n;,\"'()[]<>|")
_TRAILING = ";,.:\"'>]"

_url_validator = ma.validate.URL(schemes={"http", "https"}, require_tld=False)
# marshmallow compiles the validator's (large, Unicode) pattern on first use: at import, not inside
# the first import request.
_url_validator("https://example.org/")


def extract_urls(cell: str) -> list[str]:
    """Valid http(s) URLs in a cell, in order, without duplicates."""
    if "://" not in cell:
        return []
    urls: list[str] = []
    for candidate in _url_candidates(cell):
        url = _trim_url(candidate)
        if _acceptable_url(url) and url not in urls:
            urls.append(url)
    return urls


def _url_candidates(cell: str) -> Iterator[str]:
    """Each URL's text: from where it starts to the next whitespace or the next URL's start."""
    starts = [match.start() for match in _URL_START.finditer(cell) if _starts_url(cell, match.start())]
    for start, stop in pairwise([*starts, len(cell)]):
        words = cell[start:stop].split()
        yield words[0] if words else ""


def _starts_url(cell: str, start: int) -> bool:
    """Whether the "http(s)://" at `start` begins a URL (after a separator, not inside a URL)."""
    return start == 0 or cell[start - 1] in _URL_BOUNDARY or cell[:start].endswith("%20")


def _trim_url(url: str) -> str:
    while url:
        if url.endswith("%20"):
            url = url[:-3]
        elif url[-1] in _TRAILING:
            url = url[:-1]
        elif url.endswith(")") and url.count("(") < url.count(")"):
            url = url[:-1]
        else:
            break
    return url


def _acceptable_url(url: str) -> bool:
    return bool(url) and len(url) <= URL_MAX and _valid_url(url)


@lru_cache(maxsize=8192)
def _valid_url(url: str) -> bool:
    """A URL marshmallow's validator takes and the document accepts (a link no reader could
    open, such as http://localhost/, is dropped rather than failing the row)."""
    try:
        _url_validator(url)
    except ma.ValidationError:
        return False
    return url_problem(url) is None


# --------------------------------------------------------------------------- source kinds

# Each listed domain's kind as a rank in SOURCE_KIND_HOSTS: the first kind listed wins.
_KINDS_IN_ORDER = tuple(SOURCE_KIND_HOSTS)
_KIND_RANK: dict[str, int] = {}
for _rank, _domains in enumerate(SOURCE_KIND_HOSTS.values()):
    for _domain in _domains:
        _KIND_RANK.setdefault(_domain, _rank)

_PLAIN_NETLOC = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#@:\[%\s]*)(?:[/?#]|$)")


def source_kind(url: str) -> str:
    """Kind of a source from its host; archived pages take the kind of the page archived."""
    archived = ARCHIVED.match(url)
    if archived:
        return source_kind(archived.group(1))
    return _host_kind(url_host(url).lower().rstrip("."))


def url_host(url: str) -> str:
    """`urlsplit(url).hostname or ""`, without urlsplit for the usual `scheme://host/...`
    (no user, port, IPv6 brackets, zone or whitespace, where urlsplit does more)."""
    plain = _PLAIN_NETLOC.match(url)
    if plain is not None:
        return plain.group(1).lower()
    return urlsplit(url).hostname or ""


@lru_cache(maxsize=4096)
def _host_kind(host: str) -> str:
    # The host and each of its parent domains, looked up in one dict; the first kind listed wins.
    labels = host.split(".")
    ranks = [_KIND_RANK[d] for d in (".".join(labels[i:]) for i in range(len(labels))) if d in _KIND_RANK]
    if ranks:
        return _KINDS_IN_ORDER[min(ranks)]
    if OFFICIAL_HOST.search(host):
        return "official"
    return "news"
