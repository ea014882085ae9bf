"""Access Now #KeepItOn STOP sheet → incident documents in the API's input format.

Pure functions (no Flask, no database): the importer reads the sheet, passes every data row to
`convert_row` with the platform vocabulary (`platform_aliases`, read from the database) and either
gets incident documents — the JSON shape `IncidentSchema().load()` accepts — or `RowError`s.

Modules
    `tables`: the sheet's columns and every value table named below (and, in one marked block,
    the API's limits on a document); `parsing`: the text of one cell (dates, countries, lists of
    names, operators, URLs and their kinds); `rows`: the header check and `convert_row`.
    Everything a caller uses is re-exported here.

Row numbers
    `row_number` is the row as a spreadsheet user sees it: the header is row 1, so the first data
    row is row 2 (app/services/import_rows.py numbers them that way). A cell with line breaks is
    still one row.

Every mapping is a table of `tables`; values are matched case-insensitively with runs of whitespace
collapsed and spaces around "/" ignored. A value that is in no table is a `RowError` naming the
column and the value, so a new STOP spelling is never silently turned into `unknown`.

Countries (`country`)
    A cell may name several countries separated by ";" (the only separator the real sheet uses,
    e.g. "Burundi; Kenya; Rwanda; Tanzania, United Republic of; Uganda" — commas belong to names
    such as "Palestine, State of"); it gives one document per country. Names resolve through
    `COUNTRY_ALIASES` and then pycountry (name, official name, common name, alpha-2/3 code).
    Territories without an ISO 3166-1 code (`TERRITORIES`, e.g. Somaliland) are recorded under the
    ISO country that contains them (SO), the territory named first in the area ("Somaliland:
    Hargeisa") and its cell kept as written (`Converted.territory`; the importer flags the row).
    Kosovo (`NOT_COUNTRIES`) is a RowError: its "XK" is a user-assigned code that pycountry does
    not know, so the API itself refuses it, and no containing country is agreed.

Dates (`start_date`, `end_date`)
    "2018-05-05", "2018-05-05 00:00:00.000000" (what the real sheet holds), "5/5/2018" (m/d/Y)
    and Excel serial numbers ("43225"). Like the API, dates before 1990-01-01 or more than five
    years ahead are refused; an end before the start is a RowError on `end_date`; an empty start
    is a RowError. `start_date_type` "Estimated" sets `start_date_estimated`.

Scope (`geo_scope`, `area_name`)
    `GEO_SCOPES`; a multi-region or unknown scope whose area reads "Nationwide" (or one of the
    spellings in `NATIONWIDE_AREAS`) becomes `national`. Other scopes are kept as given.

Shutdown types (`shutdown_type` × `shutdown_extent`)
    "Throttle" → throttling; "Service-based" extent → service_based (blocked or throttled, the
    restriction targets services); "Full network" extent → full_network only when the type says
    "Shutdown" (or "Unknown"): a throttled full network was slowed, not cut. An empty result is a
    RowError.

Platforms
    The per-platform "Yes" flags (`PLATFORM_FLAGS`) plus every service named in `other_affected`.
    That cell is a free list: split on "," / ";" / ". " outside quotes and parentheses, and on
    " and " inside short items (≤ 6 words, so sentences such as "Curfew style downgrading of 3G
    and 4G internet" stay whole); each name goes through `OTHER_SERVICE_NAMES` and then
    `platform_aliases` (lower-case, spaces → hyphens; "VK (VKontakte)" also tries "vk" and
    "vkontakte"). Names the vocabulary lacks are not errors:
    they are appended to the description ("Other services affected: Tango, Hornet.").
    Because the lookup uses the caller's vocabulary, adding a platform (POST /platforms) makes
    the next import map it.

Service-based rows without a named platform (the API requires one)
    With migration 0003 the vocabulary has the services the sheet names often (Grindr, Blued,
    BoyAhoy, VK, Odnoklassniki, Moi Mir, Reddit, Qzone, Starlink, VSAT, VoIP, Zoom, Microsoft
    Teams, ...) and a catch-all, `unspecified` ("Unspecified services"). A service-based row
    whose flags and `other_affected` map to no platform keeps service_based (and its other
    types) with the platform `unspecified`; whatever it named is still appended to the
    description ("Other services affected: Social media."). `unspecified` means "no platform of
    the vocabulary", not "nothing was named": the description says what was. It is used only when
    nothing else maps. (tests/test_stop_format.py counts, on the real sheet, the rows that get it
    and the rows still rejected.)

    Older vocabulary (no `unspecified` slug among `platform_aliases`, e.g. before migration
    0003): nothing is guessed, and the previous rule applies —
    - rows with another type as well: service_based is dropped and the other types are kept (the
      full-network shutdown or the throttling that also happened); the description says so and
      lists what was named.
    - purely service-based rows: RowError on `other_affected` naming the services and telling the
      user to add them to the platform vocabulary (or set a flag) and import again; with
      on_error=skip the rest of the sheet still loads.

Other columns
    `ordered_by`, `actual_cause`, `gov_justification` (→ official_justification; "No" → none_given),
    `shutdown_status` (→ status; an end date always means `ended`, as the API requires; an empty
    status without an end date is `unknown`, not the API's default `ongoing`), tri-states
    (`legal_just`, `election`, `violence`, `hr_abuse_reported`), `telcos_involved` (split on commas
    outside parentheses, line breaks, ";" and " and "; a "Country: " prefix naming the document's
    country is removed, one naming another country of a multi-country row sends that operator to
    that country's document only; "Iraq: Korek, Kurdistan" keeps the region as "Korek
    (Kurdistan)"). `event` is the description, followed by `users_targeted`/`users_target_detail`
    and `econ_impact` when given. `gov_ack`/`telco_ack` "Yes" give acknowledgements (quote and the
    first http(s) URL of the source cell); "No" with a quote that says so (`DENIAL`: "denied",
    "refuted" ...) gives a `denied` statement. Sources: `info_source_link`, `an_link` (always
    ngo_report), `gov_ack_source`, `telco_ack_source` — URLs split where a new "http(s)://"
    starts after a separator (";", ",", whitespace, quotes, "%20"), so commas inside a URL and
    archive URLs ("web.archive.org/web/2020/https://...") stay whole; invalid or non-http URLs
    and links no reader could open (the document's `url_problem`: http://localhost/, private
    addresses) are dropped, duplicates removed, 50 at most, kind from the host (`SOURCE_KIND_HOSTS`).
    Text is stripped, NUL characters removed, and over-long text is cut with "…" (never refused).

The other cells (`extras`)
    No non-empty cell is lost: `convert_row_fully` gives each document with the row's cells that
    the document does not hold as written (`other_cells`: info_source, users_notified, region, a
    platform flag of "Unknown", a quote without a statement, a scope or status the rules
    changed, the free lists other_affected and telcos_involved ...); the importer keeps them in
    the incident's `stop_rows`. `held(column, cell, document)` is the rule, column by column.
    Only `duration` (recomputed by the API) and `count_year` (a field of the record) are left out.

Re-issued rows
    Each yearly sheet repeats still-relevant older incidents, sometimes corrected. The importer
    matches them by the shutdown, not by this wording (app/services/stop_matching.py: country,
    start date, same or overlapping area), so a later sheet that corrects the platforms or the
    types still updates the same incident.
"""

from .extras import all_cells, held, other_cells
from .parsing import (
    ELLIPSIS,
    country_code,
    country_title_name,
    extract_urls,
    parse_date,
    resolve_service,
    source_kind,
    split_services,
    url_host,
)
from .rows import Converted, RowError, convert_row, convert_row_fully, header_errors
from .tables import (
    ACTOR_MAX,
    ACTUAL_CAUSES,
    ARCHIVED,
    AREA_MAX,
    COUNTRY_ALIASES,
    COUNTRY_SEPARATORS,
    DECISION_MAKER_MAX,
    DESCRIPTION_MAX,
    EARLIEST_DATE,
    EXCEL_EPOCH,
    FLAG_VALUES,
    GEO_SCOPES,
    IGNORED_SERVICE_WORDS,
    JUSTIFICATIONS,
    LONG_TEXT_MAX,
    MAX_YEARS_AHEAD,
    NATIONWIDE_AREAS,
    NETWORK_ITEMS,
    NOT_COUNTRIES,
    OFFICIAL_HOST,
    ORDERED_BY,
    OTHER_SERVICE_NAMES,
    PLATFORM_FLAGS,
    REQUIRED_COLUMNS,
    SHUTDOWN_EXTENT_ITEMS,
    SHUTDOWN_TYPE_ITEMS,
    SOURCE_KIND_HOSTS,
    SOURCES_MAX,
    START_DATE_TYPES,
    STATUSES,
    STOP_COLUMNS,
    TELCO_MAX,
    TELCO_REGION_SUFFIXES,
    TELCOS_MAX,
    TERRITORIES,
    TITLE_COUNTRY_NAMES,
    TITLE_MAX,
    TRI_STATE_COLUMNS,
    TRI_STATES,
    UNINFORMATIVE_TARGETS,
    UNSPECIFIED,
    URL_MAX,
)

__all__ = [
    # reading and converting the sheet
    "RowError",
    "Converted",
    "convert_row",
    "convert_row_fully",
    "all_cells",
    "held",
    "other_cells",
    "header_errors",
    # one cell's text
    "country_code",
    "country_title_name",
    "extract_urls",
    "parse_date",
    "resolve_service",
    "source_kind",
    "split_services",
    "url_host",
    "ELLIPSIS",
    # the API's limits on a document (tables' marked block)
    "EARLIEST_DATE",
    "MAX_YEARS_AHEAD",
    "TITLE_MAX",
    "AREA_MAX",
    "DECISION_MAKER_MAX",
    "TELCO_MAX",
    "TELCOS_MAX",
    "ACTOR_MAX",
    "LONG_TEXT_MAX",
    "DESCRIPTION_MAX",
    "URL_MAX",
    "SOURCES_MAX",
    # the sheet's columns and value tables
    "EXCEL_EPOCH",
    "STOP_COLUMNS",
    "REQUIRED_COLUMNS",
    "COUNTRY_ALIASES",
    "NOT_COUNTRIES",
    "TERRITORIES",
    "TITLE_COUNTRY_NAMES",
    "COUNTRY_SEPARATORS",
    "START_DATE_TYPES",
    "GEO_SCOPES",
    "NATIONWIDE_AREAS",
    "SHUTDOWN_TYPE_ITEMS",
    "SHUTDOWN_EXTENT_ITEMS",
    "NETWORK_ITEMS",
    "ORDERED_BY",
    "ACTUAL_CAUSES",
    "JUSTIFICATIONS",
    "STATUSES",
    "TRI_STATES",
    "TRI_STATE_COLUMNS",
    "FLAG_VALUES",
    "PLATFORM_FLAGS",
    "OTHER_SERVICE_NAMES",
    "UNSPECIFIED",
    "UNINFORMATIVE_TARGETS",
    "IGNORED_SERVICE_WORDS",
    "SOURCE_KIND_HOSTS",
    "OFFICIAL_HOST",
    "ARCHIVED",
    "TELCO_REGION_SUFFIXES",
]
