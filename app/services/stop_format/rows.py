"""STOP rows → incident documents: the sheet's header checked, each row converted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Any

from .extras import other_cells
from .parsing import (
    clean_cell,
    clip,
    country_code,
    country_title_name,
    extract_urls,
    parse_date,
    parse_telcos,
    resolve_service,
    source_kind,
    split_services,
    telcos_for,
)
from .tables import (
    ACKNOWLEDGEMENTS,
    ACTOR_MAX,
    AREA_MAX,
    COUNTRY_SEPARATORS,
    DECISION_MAKER_MAX,
    DENIAL,
    DESCRIPTION_MAX,
    ENUM_COLUMNS,
    FLAG_VALUES,
    GEO_SCOPES,
    IGNORED_SERVICE_WORDS,
    LONG_TEXT_MAX,
    NATIONWIDE_AREAS,
    NETWORK_ITEMS,
    NETWORK_ORDER,
    NOT_COUNTRIES,
    PLATFORM_FLAGS,
    REQUIRED_COLUMNS,
    SHUTDOWN_EXTENT_ITEMS,
    SHUTDOWN_TYPE_ITEMS,
    SHUTDOWN_TYPE_ORDER,
    SHUTDOWN_TYPE_TITLES,
    SOURCE_COLUMNS,
    SOURCES_MAX,
    START_DATE_TYPES,
    TERRITORIES,
    TITLE_MAX,
    UNINFORMATIVE_TARGETS,
    UNSPECIFIED,
    lookup_key,
)


@dataclass
class RowError:
    """A problem with one cell. `row` is the spreadsheet row (header = 1, first data row = 2)."""

    row: int
    column: str
    message: str


# --------------------------------------------------------------------------- the sheet


def header_errors(fieldnames: Iterable[str] | None) -> list[RowError]:
    """RowErrors (row 1) for required STOP columns missing from a header."""
    present = {(name or "").strip().lstrip("\ufeff") for name in fieldnames or ()}
    return [
        RowError(1, column, f"Missing column '{column}': this does not look like a STOP sheet.")
        for column in REQUIRED_COLUMNS
        if column not in present
    ]


@dataclass
class Converted:
    """One document of a row, with the row's cells it does not hold as written (`other_cells`)
    and the territory without an ISO code that it was recorded for (or None)."""

    document: dict[str, Any]
    cells: dict[str, str]
    territory: str | None = None


def convert_row(
    row: dict[str, str], row_number: int, platform_aliases: dict[str, str]
) -> tuple[list[dict], list[RowError]]:
    """One STOP row → (one document per country, []) or ([], every problem found in the row)."""
    converted, errors = convert_row_fully(row, row_number, platform_aliases)
    return [item.document for item in converted], errors


def convert_row_fully(
    row: dict[str, str], row_number: int, platform_aliases: dict[str, str]
) -> tuple[list[Converted], list[RowError]]:
    """`convert_row`, each document with the cells it does not hold and its territory."""
    converter = _RowConverter(row, row_number, platform_aliases)
    documents, errors = converter.convert()
    return [
        Converted(
            document,
            other_cells(row, document, territory=converter.territories.get(document["country"])),
            converter.territories.get(document["country"]),
        )
        for document in documents
    ], errors


# --------------------------------------------------------------------------- conversion


class _RowConverter:
    """One row's conversion: reads every cell, collecting all the row's errors, then builds the
    documents only if there were none."""

    def __init__(self, row: dict[str, str], row_number: int, platform_aliases: dict[str, str]):
        self.row = row
        self.row_number = row_number
        self.aliases = platform_aliases
        self.errors: list[RowError] = []
        self.cells: dict[str, str] = {}
        # Countries recorded for a territory without an ISO code: code → the territory's name.
        self.territories: dict[str, str] = {}

    def cell(self, column: str) -> str:
        if column not in self.cells:
            value = self.row.get(column)
            self.cells[column] = clean_cell(value) if isinstance(value, str) else ""
        return self.cells[column]

    def text(self, column: str, limit: int) -> str | None:
        """A free-text cell cut to `limit`, or None when empty."""
        return clip(self.cell(column), limit) or None

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row_number, column, message))

    def lookup(self, column: str, table: dict[str, Any]) -> Any:
        value = self.cell(column)
        key = lookup_key(value)
        if key in table:
            return table[key]
        self.error(column, f"Unknown value '{clip(value, 80)}'.")
        return None

    def items(self, column: str, table: dict[str, Any]) -> list[Any] | None:
        """A comma-separated cell of table values; None (and an error) if one is unknown."""
        values = []
        for part in self.cell(column).split(","):
            if not part.strip():
                continue
            key = lookup_key(part)
            if key not in table:
                self.error(column, f"Unknown value '{clip(part.strip(), 80)}'.")
                return None
            values.append(table[key])
        return values

    # ----------------------------------------------------------------- whole row

    def convert(self) -> tuple[list[dict], list[RowError]]:
        countries = self.countries()
        incident = self.incident()
        acknowledged = {flag: self.lookup(flag, FLAG_VALUES) for flag, *_ in ACKNOWLEDGEMENTS}
        if self.errors:
            return [], self.errors
        telcos = parse_telcos(self.cell("telcos_involved"))
        documents = [
            self.document(code, incident, telcos_for(telcos, code, countries), acknowledged)
            for code in countries
        ]
        return documents, []

    def incident(self) -> dict[str, Any]:
        """The fields shared by the documents of every country the row names.

        Read even from a row with errors, so that all of them are found; `convert` then drops it.
        """
        start, end = self.dates()
        estimated = self.lookup("start_date_type", START_DATE_TYPES)
        area = clip(self.cell("area_name"), AREA_MAX)
        scope = self.scope(area)
        shutdown_types = self.shutdown_types()
        networks = self.networks()
        platforms, unmapped, notes = self.affected_platforms(shutdown_types)
        values = {field: self.lookup(column, table) for column, field, table in ENUM_COLUMNS}
        return {
            "description": self.description(unmapped, notes),
            "area": area or None,
            "scope": scope,
            "shutdown_types": _ordered(shutdown_types, SHUTDOWN_TYPE_ORDER),
            "networks": networks,
            "platforms": platforms,
            "start_date": _iso(start),
            "start_date_estimated": estimated,
            "end_date": _iso(end),
            "status": _status(values["status"], end),
            "ordered_by": values["ordered_by"],
            "decision_maker": self.text("decision_maker", DECISION_MAKER_MAX),
            "actual_cause": values["actual_cause"],
            "actual_cause_details": self.text("actual_cause_details", LONG_TEXT_MAX),
            "official_justification": values["official_justification"],
            "justification_details": self.text("gov_just_details", LONG_TEXT_MAX),
            "legal_basis_details": self.text("legal_method", LONG_TEXT_MAX),
            "legal_basis": values["legal_basis"],
            "election_related": values["election_related"],
            "violence_reported": values["violence_reported"],
            "human_rights_abuse_reported": values["human_rights_abuse_reported"],
        }

    def document(
        self, code: str, incident: dict[str, Any], telcos: list[str], acknowledged: dict[str, bool]
    ) -> dict[str, Any]:
        """The document of one country of the row."""
        territory = self.territories.get(code)
        if territory:
            incident = {**incident, "area": _territory_area(territory, incident["area"])}
        return {
            "title": self.title(incident["shutdown_types"], code, incident["area"] or ""),
            "country": code,
            **incident,
            "telcos": telcos,
            "acknowledgements": self.acknowledgements(acknowledged, incident["decision_maker"], telcos),
            "legal_cases": [],
            "sources": self.sources(),
        }

    # ----------------------------------------------------------------- fields

    def countries(self) -> list[str]:
        cell = self.cell("country")
        if not cell:
            self.error("country", "Country is required.")
            return []
        codes: list[str] = []
        for name in (part.strip() for part in COUNTRY_SEPARATORS.split(cell)):
            if not name:
                continue
            code = TERRITORIES.get(lookup_key(name))
            if code is not None:
                self.territories.setdefault(code, name)
            else:
                code = country_code(name)
            if code is None:
                self.error("country", _not_a_country(name))
            elif code not in codes:
                codes.append(code)
        return codes

    def dates(self) -> tuple[date | None, date | None]:
        start = end = None
        if not self.cell("start_date"):
            self.error("start_date", "Start date is required.")
        else:
            start = self.parsed_date("start_date")
        if self.cell("end_date"):
            end = self.parsed_date("end_date")
            if start and end and end < start:
                self.error(
                    "end_date", f"End date {end.isoformat()} is before start date {start.isoformat()}."
                )
        return start, end

    def parsed_date(self, column: str) -> date | None:
        value, problem = parse_date(self.cell(column))
        if problem:
            self.error(column, problem)
        return value

    def scope(self, area: str) -> str | None:
        scope = self.lookup("geo_scope", GEO_SCOPES)
        if scope in ("multi_regional", "unknown") and lookup_key(area.rstrip(".")) in NATIONWIDE_AREAS:
            return "national"
        return scope

    def shutdown_types(self) -> list[str]:
        kinds = self.items("shutdown_type", SHUTDOWN_TYPE_ITEMS)
        extents = self.items("shutdown_extent", SHUTDOWN_EXTENT_ITEMS)
        if kinds is None or extents is None:
            return []
        types = _shutdown_types(kinds, extents)
        if not types:
            self.error(
                "shutdown_type",
                f"No shutdown type in '{self.cell('shutdown_type')}' × '{self.cell('shutdown_extent')}': "
                "expected Shutdown/Throttle with Full network/Service-based.",
            )
        return types

    def networks(self) -> list[str]:
        items = self.items("affected_network", NETWORK_ITEMS) or []
        return _ordered([item for item in items if item], NETWORK_ORDER)

    # ----------------------------------------------------------------- platforms

    def affected_platforms(self, shutdown_types: list[str]) -> tuple[list[str], list[str], list[str]]:
        """(platform slugs, service names the vocabulary lacks, notes for the description).

        A service-based row needs a platform: without one it gets the catch-all `unspecified`;
        with an older vocabulary it loses service_based (taken out of `shutdown_types`) or is an
        error (see the package docstring).
        """
        platforms, unmapped = self.platforms()
        if platforms or "service_based" not in shutdown_types:
            return platforms, unmapped, []
        if UNSPECIFIED in self.aliases:
            # The row's sources name no service the vocabulary knows: say so with the catch-all
            # (the names still go into the description).
            return [self.aliases[UNSPECIFIED]], unmapped, []
        return [], unmapped, self.without_platform(shutdown_types, unmapped)

    def without_platform(self, shutdown_types: list[str], unmapped: list[str]) -> list[str]:
        """A service-based row that an older vocabulary (before migration 0003) cannot place:
        a mixed row keeps its other types, noted in the description; otherwise an error."""
        named = f" ({', '.join(unmapped)})" if unmapped else ""
        if len(shutdown_types) > 1:
            shutdown_types.remove("service_based")
            return [
                "The STOP sheet also marks this shutdown as service-based but names no platform "
                f"of the vocabulary{named}."
            ]
        if unmapped:
            self.error(
                "other_affected",
                f"Service-based shutdown without a known platform{named}: add the platform "
                "to the vocabulary (POST /api/v1/platforms) or set a platform flag, then import "
                "again.",
            )
        else:
            self.error(
                "other_affected",
                "Service-based shutdown that names no platform: set a platform flag to Yes or "
                "name the services in other_affected.",
            )
        return []

    def platforms(self) -> tuple[list[str], list[str]]:
        """Platform slugs, and the names of affected services the vocabulary does not know."""
        slugs: list[str] = []
        unmapped: list[str] = []
        for name, slug in (*self.flagged_platforms(), *self.named_services()):
            if slug:
                _add(slugs, slug)
            else:
                _add(unmapped, name)
        return slugs, unmapped

    def flagged_platforms(self) -> list[tuple[str, str | None]]:
        """(platform, its slug in the vocabulary or None) for each platform flag set to Yes."""
        return [
            (platform, self.aliases.get(platform))
            for column, platform in PLATFORM_FLAGS
            if self.lookup(column, FLAG_VALUES)
        ]

    def named_services(self) -> list[tuple[str, str | None]]:
        """(name, its slug in the vocabulary or None) for each service named in other_affected."""
        return [
            (name, resolve_service(name, self.aliases))
            for name in split_services(self.cell("other_affected"))
            if name.lower() not in IGNORED_SERVICE_WORDS
        ]

    # ----------------------------------------------------------------- texts

    def description(self, unmapped: list[str], notes: list[str]) -> str | None:
        other_services = f"Other services affected: {', '.join(unmapped)}." if unmapped and not notes else ""
        parts = [self.cell("event"), self.users_targeted(), self.economic_impact(), other_services, *notes]
        text = "\n\n".join(part for part in parts if part)
        return clip(text, DESCRIPTION_MAX) or None

    def users_targeted(self) -> str:
        """ "Users targeted: ..." from users_targeted and its detail; "" when neither says anything."""
        targeted, detail = self.cell("users_targeted"), self.cell("users_target_detail")
        if lookup_key(targeted) in UNINFORMATIVE_TARGETS:
            targeted = ""
        if targeted and detail and detail != targeted:
            who = f"{targeted} ({detail})"
        else:
            who = targeted or detail
        return f"Users targeted: {who.rstrip('.')}." if who else ""

    def economic_impact(self) -> str:
        impact = self.cell("econ_impact")
        return f"Estimated economic impact: {impact}." if impact else ""

    def title(self, shutdown_types: list[str], code: str, area: str) -> str:
        label = _shutdown_label(shutdown_types)
        head = f"{label[0].upper()}{label[1:]} in {country_title_name(code)}"
        place = " ".join(area.split())
        room = TITLE_MAX - len(head) - 3
        if not place or room < 10:
            return clip(head, TITLE_MAX)
        return f"{head} ({clip(place, room)})"

    # ----------------------------------------------------------------- evidence

    def sources(self) -> list[dict[str, str]]:
        """The row's source URLs and their kinds, in column order, each URL once."""
        kinds: dict[str, str] = {}
        for column, kind in SOURCE_COLUMNS:
            for url in extract_urls(self.cell(column)):
                kinds.setdefault(url, kind or source_kind(url))
        return [{"url": url, "kind": kind} for url, kind in islice(kinds.items(), SOURCES_MAX)]

    def acknowledgements(
        self, acknowledged: dict[str, bool], decision_maker: str | None, telcos: list[str]
    ) -> list[dict]:
        """The statements of the row: an admission where its flag says Yes, a denial where it
        says No and its quote records one; the government's by its decision maker, the
        operators' by their names."""
        actors = {"government": decision_maker, "telco": ", ".join(telcos)}
        statements = []
        for flag, actor_type, default_actor, quote, source in ACKNOWLEDGEMENTS:
            stance = self.stance(flag, acknowledged[flag], quote)
            if stance:
                actor = actors[actor_type] or default_actor
                statements.append(self.acknowledgement(actor, actor_type, stance, quote, source))
        return statements

    def stance(self, flag: str, acknowledged: bool, quote_column: str) -> str | None:
        if acknowledged:
            return "acknowledged"
        if lookup_key(self.cell(flag)) == "no" and DENIAL.search(self.cell(quote_column)):
            return "denied"
        return None

    def acknowledgement(
        self, actor: str, actor_type: str, stance: str, quote_column: str, source_column: str
    ) -> dict:
        urls = extract_urls(self.cell(source_column))
        return {
            "actor": clip(actor, ACTOR_MAX),
            "actor_type": actor_type,
            "stance": stance,
            "date": None,
            "quote": self.text(quote_column, LONG_TEXT_MAX),
            "source_url": urls[0] if urls else None,
        }


# --------------------------------------------------------------------------- helpers


def _not_a_country(name: str) -> str:
    """The error for a country cell's name that has no ISO 3166-1 code."""
    hint = NOT_COUNTRIES.get(lookup_key(name))
    if hint:
        return (
            f"'{name}' is not an ISO 3166-1 country ({hint}); record it under the country "
            "that administers it or leave it out."
        )
    return f"Unknown country '{clip(name, 80)}': use an ISO 3166-1 English name or alpha-2 code."


def _territory_area(territory: str, area: str | None) -> str:
    """The area of a territory's document: the territory named first (once)."""
    if not area or lookup_key(area) == lookup_key(territory):
        return clip(territory, AREA_MAX)
    if territory.lower() in area.lower():
        return area
    return clip(f"{territory}: {area}", AREA_MAX)


def _shutdown_types(kinds: list[str], extents: list[str]) -> list[str]:
    """The API's shutdown types for a shutdown_type × shutdown_extent pair (package docstring)."""
    applies = (
        # A throttled full network was slowed, not cut.
        ("full_network", "full_network" in extents and ("shutdown" in kinds or "unknown" in kinds)),
        # Blocked or throttled, the restriction targets services.
        ("service_based", "service_based" in extents),
        ("throttling", "throttle" in kinds),
    )
    return [shutdown_type for shutdown_type, applied in applies if applied]


def _shutdown_label(shutdown_types: list[str]) -> str:
    """What a title calls the shutdown: "full network and service-based shutdown", "throttling"."""
    cut = [label for shutdown_type, label in SHUTDOWN_TYPE_TITLES if shutdown_type in shutdown_types]
    if not cut:
        return "throttling"
    label = " and ".join(cut) + " shutdown"
    return f"{label} with throttling" if "throttling" in shutdown_types else label


def _status(status: str | None, end: date | None) -> str | None:
    """An end date always means ended (the API requires it); no status and no end is unknown."""
    if end is not None:
        return "ended"
    return "unknown" if status is None else status


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _add(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


def _ordered(values: Iterable[str], order: tuple[str, ...]) -> list[str]:
    present = set(values)
    return [value for value in order if value in present]
