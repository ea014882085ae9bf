"""Access Now #KeepItOn STOP sheet → incident documents in the API's input format.

Pure functions (no Flask, no database): the importer reads the sheet, passes every data row to
`convert_row` with the platform vocabulary (`platform_aliases`, read from the database) and either
gets incident documents — the JSON shape `IncidentSchema().load()` accepts — or `RowError`s.

Row numbers
    `row_number` is the row as a spreadsheet user sees it: the header is row 1, so the first data
    row is row 2 (`read_rows` numbers them that way). A cell with line breaks is still one row.

Every mapping is a table below; values are matched case-insensitively with runs of whitespace
collapsed and spaces around "/" ignored. A value that is in no table is a `RowError` naming the
column and the value, so a new STOP spelling is never silently turned into `unknown`.

Countries (`country`)
    A cell may name several countries separated by ";" (the only separator the real sheet uses,
    e.g. "Burundi; Kenya; Rwanda; Tanzania, United Republic of; Uganda" — commas belong to names
    such as "Palestine, State of"); it gives one document per country. Names resolve through
    `COUNTRY_ALIASES` and then pycountry (name, official name, common name, alpha-2/3 code).
    Territories without an ISO 3166-1 code (`NOT_COUNTRIES`, e.g. Somaliland) are a RowError
    telling the user which ISO country contains them. Kosovo is one of them: its "XK" is a
    user-assigned code that pycountry does not know, so the API itself refuses it.

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
    nothing else maps. Measured on the 2016–2025 sheet with the vocabulary at head: 37 rows get
    `unspecified`, all of which the older vocabulary could not place either —
    - 18 purely service-based: "Social media" and the like 12, nothing named 3, services named
      that the vocabulary lacks 3 ("Cloud services including Dropbox, Microsoft OneDrive, and
      Google Drive.", "Public Wifi", "Boykotyap");
    - 19 with another type as well (14 "Full network, Service-based", 5 throttled services):
      14 name nothing, 5 only phrases such as "Social media" or "22 websites blocked".
    The other 101 rows the older vocabulary rejected now map to named platforms (Grindr 85 with
    Blued/BoyAhoy in 10 of them, VK/Odnoklassniki 14, Zoom/Microsoft Teams 1) or are rejected for
    a fault of their own (a Somaliland row). Rejected rows left: 6 (3 Somaliland, 3 with an end
    before the start).

    Older vocabulary (no `unspecified` slug among `platform_aliases`, e.g. before migration
    0003): nothing is guessed, and the previous rule applies —
    - rows with another type as well: service_based is dropped and the other types are kept (the
      full-network shutdown or the throttling that also happened); the description says so and
      lists what was named.
    - purely service-based rows: RowError on `other_affected` naming the services and telling the
      user to add them to the platform vocabulary (or set a flag) and import again; with
      on_error=skip the rest of the sheet still loads. (Measured with the 0001 vocabulary: 119
      rows rejected this way, and service_based dropped from 19.)

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
    first http(s) URL of the source cell). Sources: `info_source_link`, `an_link` (always
    ngo_report), `gov_ack_source`, `telco_ack_source` — URLs split where a new "http(s)://"
    starts after a separator (";", ",", whitespace, quotes, "%20"), so commas inside a URL and
    archive URLs ("web.archive.org/web/2020/https://...") stay whole; invalid or non-http URLs
    are dropped, duplicates removed, 50 at most, kind from the host (`SOURCE_KIND_HOSTS`).
    Not mapped: info_source, duration (derived by the API), users_notified, region, count_year.
    Text is stripped, NUL characters removed, and over-long text is cut with "…" (never refused).

Re-issued rows
    Each yearly sheet repeats still-relevant older incidents. `dedupe_key` is (country,
    start date, sorted shutdown types, sorted platforms); when two rows share a key the row of the
    later `count_year` should win (the caller orders the rows; these functions are stateless).
    Caution: the key has no area (areas are re-worded between sheets: "National" → "Nationwide"),
    so distinct same-day shutdowns in different districts of one country share it — 82 keys of
    the 2016–2025 sheet are shared by rows of the same `count_year` (mostly India; 85 with the
    0001 vocabulary). The key also changes with the vocabulary: a row imported before a platform
    was added gets another key once its services map. Rows of one sheet year are distinct
    incidents; only a later `count_year` should update an earlier one.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma
import pycountry

# --------------------------------------------------------------------------- limits

EARLIEST_DATE = date(1990, 1, 1)  # the API refuses earlier dates
MAX_YEARS_AHEAD = 5  # ... and dates further ahead than this
EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 in Excel's (Lotus-compatible) calendar

TITLE_MAX = 200
AREA_MAX = 500
DECISION_MAKER_MAX = 500
TELCO_MAX = 200
TELCOS_MAX = 200
ACTOR_MAX = 300
LONG_TEXT_MAX = 20000
DESCRIPTION_MAX = 50000
URL_MAX = 2000
SOURCES_MAX = 50
ELLIPSIS = "…"

STOP_COLUMNS = (
    "start_date_type",
    "start_date",
    "country",
    "geo_scope",
    "area_name",
    "shutdown_type",
    "affected_network",
    "shutdown_extent",
    "ordered_by",
    "decision_maker",
    "actual_cause",
    "actual_cause_details",
    "info_source",
    "info_source_link",
    "shutdown_status",
    "end_date",
    "duration",
    "gov_justification",
    "gov_just_details",
    "gov_ack",
    "legal_just",
    "legal_method",
    "gov_ack_source",
    "gov_ack_quote",
    "facebook_affected",
    "twitter_affected",
    "whatsapp_affected",
    "instagram_affected",
    "telegram_affected",
    "other_affected",
    "sms_affected",
    "phonecall_affected",
    "telcos_involved",
    "telco_ack",
    "telco_ack_source",
    "telco_ack_quote",
    "election",
    "violence",
    "hr_abuse_reported",
    "users_targeted",
    "users_target_detail",
    "users_notified",
    "econ_impact",
    "event",
    "an_link",
    "region",
    "count_year",
)
# Columns a file must have to be read as a STOP sheet (the rest are optional).
REQUIRED_COLUMNS = ("start_date", "country", "shutdown_type", "shutdown_extent")


_AROUND_SLASH = re.compile(r"\s*/\s*")


@lru_cache(maxsize=4096)
def _key(value: str) -> str:
    """Lookup key of a cell value: lower-case, whitespace collapsed, no spaces around '/'."""
    return _AROUND_SLASH.sub("/", " ".join(value.split())).lower()


def _table(mapping: dict[str, Any]) -> dict[str, Any]:
    return {_key(name): value for name, value in mapping.items()}


# --------------------------------------------------------------------------- countries

# Names pycountry does not resolve (its names are ISO's: "Türkiye", "Congo, The Democratic ...").
COUNTRY_ALIASES = _table(
    {
        "Turkey": "TR",
        "Turkiye": "TR",
        "Iran (Islamic Republic of)": "IR",
        "Venezuela (Bolivarian Republic of)": "VE",
        "Congo (Democratic Republic of the)": "CD",
        "Democratic Republic of the Congo": "CD",
        "DR Congo": "CD",
        "DRC": "CD",
        "Congo-Kinshasa": "CD",
        "Republic of the Congo": "CG",
        "Congo-Brazzaville": "CG",
        "Russia": "RU",
        "Palestine": "PS",
        "State of Palestine": "PS",
        "Palestinian Territories": "PS",
        "Occupied Palestinian Territory": "PS",
        "Gaza": "PS",
        "Gaza Strip": "PS",
        "West Bank": "PS",
        "Burma": "MM",
        "Ivory Coast": "CI",
        "Cote d'Ivoire": "CI",
        "Swaziland": "SZ",
        "Macedonia": "MK",
        "Cape Verde": "CV",
        "East Timor": "TL",
        "The Gambia": "GM",
        "The Bahamas": "BS",
        "Brunei": "BN",
        "Macau": "MO",
        "Micronesia": "FM",
        "Vatican": "VA",
        "Vatican City": "VA",
        "UK": "GB",
        "Great Britain": "GB",
        "United States of America": "US",
        "Burkina": "BF",  # telco prefixes: "Burkina: Orange"
    }
)

# Places without an ISO 3166-1 code: the row must say which country to record them under.
NOT_COUNTRIES = _table(
    {
        "Somaliland": "ISO 3166-1 counts it as part of Somalia, SO",
        "Puntland": "ISO 3166-1 counts it as part of Somalia, SO",
        "Kosovo": "its code XK is user-assigned, not ISO 3166-1, and the API accepts only ISO codes",
        "Transnistria": "ISO 3166-1 counts it as part of Moldova, MD",
        "Abkhazia": "ISO 3166-1 counts it as part of Georgia, GE",
        "South Ossetia": "ISO 3166-1 counts it as part of Georgia, GE",
        "Nagorno-Karabakh": "ISO 3166-1 counts it as part of Azerbaijan, AZ",
        "Artsakh": "ISO 3166-1 counts it as part of Azerbaijan, AZ",
        "Northern Cyprus": "ISO 3166-1 counts it as part of Cyprus, CY",
        "Crimea": "ISO 3166-1 counts it as part of Ukraine, UA",
        "Kurdistan": "ISO 3166-1 counts it as part of Iraq, IQ",
        "Kurdistan Region": "ISO 3166-1 counts it as part of Iraq, IQ",
        "Tibet": "ISO 3166-1 counts it as part of China, CN",
        "Zanzibar": "ISO 3166-1 counts it as part of Tanzania, TZ",
    }
)

# Short names for titles where pycountry has only the formal "Name, qualifier" form.
TITLE_COUNTRY_NAMES = {"CD": "DR Congo", "RU": "Russia", "VA": "Vatican City", "PS": "Palestine"}

COUNTRY_SEPARATORS = re.compile(r"[;\n]")


def country_code(name: str) -> str | None:
    """ISO 3166-1 alpha-2 code of a country name or code, or None."""
    if not name.strip():
        return None
    alias = COUNTRY_ALIASES.get(_key(name))
    if alias:
        return alias
    try:
        return pycountry.countries.lookup(name.strip()).alpha_2
    except LookupError:
        return None


def country_title_name(code: str) -> str:
    if code in TITLE_COUNTRY_NAMES:
        return TITLE_COUNTRY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    name = getattr(country, "common_name", None) or country.name
    return name.split(", ")[0]


# --------------------------------------------------------------------------- value tables

START_DATE_TYPES = _table({"": False, "Actual": False, "Estimated": True})

GEO_SCOPES = _table(
    {
        "It affected locations in more than one state, province, or region": "multi_regional",
        "It affected more than one city in the same state, province, or region": "regional",
        "It only affected one city, county, or village": "local",
        "Not sure": "unknown",
        "Unknown": "unknown",
        "": "unknown",
    }
)
NATIONWIDE_AREAS = frozenset(
    _key(name)
    for name in (
        "Nationwide",
        "Nation wide",
        "Nation-wide",
        "Nationwde",
        "National",
        "Countrywide",
        "Country-wide",
        "Countrywide shutdown",
        "Entire country",
        "Whole country",
        "The whole country",
        "All country",
    )
)

# shutdown_type items: what happened to the traffic.
SHUTDOWN_TYPE_ITEMS = _table({"Shutdown": "shutdown", "Throttle": "throttle", "Unknown": "unknown"})
# shutdown_extent items: what was affected.
SHUTDOWN_EXTENT_ITEMS = _table({"Full network": "full_network", "Service-based": "service_based"})

NETWORK_ITEMS = _table({"Broadband": "broadband", "Mobile": "mobile", "Unknown": None})

ORDERED_BY = _table(
    {
        "Executive government": "executive_government",
        "State government": "state_government",
        "Local government": "local_government",
        "Military": "military",
        "Law enforcement": "law_enforcement",
        "Judiciary": "judiciary",
        "Non-government": "non_government",
        "Unknown": "unknown",
        "": "unknown",
    }
)

ACTUAL_CAUSES = _table(
    {
        "Protests": "protests",
        "Conflict": "conflict",
        "Political instability": "political_instability",
        "Information control": "information_control",
        "Communal violence": "communal_violence",
        "Exam cheating": "exam_cheating",
        "Elections": "elections",
        "Religious holiday/anniversary": "religious_event",
        "Visits by government officials": "official_visit",
        "Other": "other",
        "Unknown": "unknown",
        "": "unknown",
    }
)

JUSTIFICATIONS = _table(
    {
        "National security/ Counter-terrorism": "national_security",
        "Fake news/ Hate speech/ Incendiary content/ Promoting violence": "hate_speech_misinformation",
        "Public safety/ Quell unrest/ Restore public order": "public_order",
        "Precautionary measure": "precautionary",
        "Sabotage/ Third-party Action": "sabotage",
        "School exams": "school_exams",
        "Technical problems/ Infrastructure failure": "technical_problems",
        "Illegal content": "illegal_content",
        "Other": "other",
        # One 2023 row says "No": the government gave no justification.
        "No": "none_given",
        "None": "none_given",
        "None given": "none_given",
        "Unknown": "unknown",
        "": "unknown",
    }
)

# None: derive from the end date (ended when there is one, else unknown).
STATUSES = _table({"Ended": "ended", "Ongoing": "ongoing", "Unknown": "unknown", "": None})

TRI_STATES = _table({"Yes": "yes", "No": "no", "Unknown": "unknown", "": "unknown"})
TRI_STATE_COLUMNS = (
    ("legal_just", "legal_basis"),
    ("election", "election_related"),
    ("violence", "violence_reported"),
    ("hr_abuse_reported", "human_rights_abuse_reported"),
)
# Yes/No/Unknown columns that only matter when "Yes".
FLAG_VALUES = _table({"Yes": True, "No": False, "Unknown": False, "": False})

PLATFORM_FLAGS = (
    ("facebook_affected", "facebook"),
    ("twitter_affected", "x"),
    ("whatsapp_affected", "whatsapp"),
    ("instagram_affected", "instagram"),
    ("telegram_affected", "telegram"),
    ("sms_affected", "sms"),
    ("phonecall_affected", "voice-calls"),
)

# other_affected names → platform slug, for names that are not a slug or alias as written (and,
# explicitly, the sheet's spellings of the platforms of migration 0003, so that they do not depend
# on that migration's aliases). A slug the caller's vocabulary lacks leaves the name unmapped
# (kept in the description).
OTHER_SERVICE_NAMES = _table(
    {
        "VPN": "vpn",
        "VPN services": "vpn",
        "Several VPN services": "vpn",
        "corporate VPN service providers": "vpn",
        "PureVPN": "vpn",
        "Proton VPN": "vpn",
        "Private Internet Access (PIA) VPN": "vpn",
        "IMO messenger": "imo",
        "Facebook Live": "facebook",
        "Facebook Livestream": "facebook",
        "TikTok Live": "tiktok",
        "WhatsApp web interface": "whatsapp",
        "Twitter": "x",
        "Google Search": "google",
        "Google+": "google-plus",
        "Google Plus": "google-plus",
        "VK (VKontakte)": "vk",
        "VKontakte": "vk",
        "Ok.ru (Odnoklassniki)": "odnoklassniki",
        "Ok.ru": "odnoklassniki",
        "Moi mir (my.mail.ru)": "moi-mir",
        "Microsoft Teams": "microsoft-teams",
        "VSATs": "vsat",
        "VoIP": "voip",
        # The 2017 Kashmir order (Home/ISA/776) as the sheet spells it: "Qzone", "Snapfish",
        # "Vine" and "Buzznet" misread.
        "Ozone": "qzone",
        "Snaptish": "snapfish",
        "Vinc": "vine",
        "Buaanet": "buzznet",
    }
)
# Platform of service-based rows that name no service the vocabulary knows (migration 0003).
UNSPECIFIED = "unspecified"
# users_targeted values that say nothing on their own (the detail column may still).
UNINFORMATIVE_TARGETS = frozenset({"others", "other", "unknown", "n/a", "none"})
# Qualifiers that the list syntax turns into items of their own ("Signal, possibly").
IGNORED_SERVICE_WORDS = frozenset({"possibly", "etc", "etc.", "others"})

# Sources: kind by host (the host itself or any sub-domain of it).
SOURCE_KIND_HOSTS: dict[str, tuple[str, ...]] = {
    "measurement": (
        "ooni.org",
        "ooni.io",
        "ioda.inetintel.cc.gatech.edu",
        "ioda.live",
        "ioda.caida.org",
        "radar.cloudflare.com",
        "blog.cloudflare.com",
        "netblocks.org",
        "pulse.internetsociety.org",
        "stat.ripe.net",
        "atlas.ripe.net",
        "censoredplanet.org",
        "transparencyreport.google.com",
        "transparency.facebook.com",
        "transparency.fb.com",
        "transparency.meta.com",
    ),
    "social_media": (
        "twitter.com",
        "x.com",
        "t.co",
        "twimg.com",
        "nitter.net",
        "facebook.com",
        "fb.com",
        "fb.watch",
        "t.me",
        "telegram.me",
        "instagram.com",
        "youtube.com",
        "youtu.be",
        "bsky.app",
        "threads.net",
        "linkedin.com",
        "tiktok.com",
        "reddit.com",
        "vk.com",
        "weibo.com",
        "mastodon.social",
    ),
    "ngo_report": (
        "accessnow.org",
        "engagemedia.org",
        "internetshutdowns.in",
        "sflc.in",
        "internetfreedom.in",
        "athanmyanmar.org",
        "progressivevoicemyanmar.org",
        "hrw.org",
        "amnesty.org",
        "cpj.org",
        "rsf.org",
        "freedomhouse.org",
        "article19.org",
        "eff.org",
        "smex.org",
        "jordanopensource.org",
        "iranhumanrights.org",
        "digitalrightsmonitor.pk",
        "kaosgl.org",
        "business-humanrights.org",
        "pakistanpressfoundation.org",
        "filter.watch",
        "citizenlab.ca",
        "paradigmhq.org",
        "cipesa.org",
        "apc.org",
        "globalvoices.org",
        "witness.org",
        "ifex.org",
    ),
    "official": ("un.org", "ohchr.org"),
    "other": (
        "drive.google.com",
        "docs.google.com",
        "dropbox.com",
        "archive.ph",
        "archive.vn",
        "archive.today",
        "archive.is",
    ),
}
# Government hosts by their labels: "pta.gov.pk", "gov.il", "jkhome.nic.in", "kominfo.go.id".
_KINDS_IN_ORDER = tuple(SOURCE_KIND_HOSTS)
_KIND_RANK: dict[str, int] = {}
for _rank, _domains in enumerate(SOURCE_KIND_HOSTS.values()):
    for _domain in _domains:
        _KIND_RANK.setdefault(_domain, _rank)
OFFICIAL_HOST = re.compile(r"(^|\.)(gov|gob|gouv|govt|mil)(\.|$)|\.nic\.in$|\.go\.[a-z]{2}$")
ARCHIVED = re.compile(r"^https?://web\.archive\.org/web/[^/]+/(https?://.+)$", re.IGNORECASE)

_url_validator = ma.validate.URL(schemes={"http", "https"}, require_tld=False)
# marshmallow compiles the validator's (large, Unicode) pattern on first use, ~0.1 s: at import,
# not inside the first import request.
_url_validator("https://example.org/")


# --------------------------------------------------------------------------- public API


@dataclass
class RowError:
    """A problem with one cell. `row` is the spreadsheet row (header = 1, first data row = 2)."""

    row: int
    column: str
    message: str


def read_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(row_number, row) for each data row of a STOP CSV; row numbers as a spreadsheet shows them."""
    reader = csv.DictReader(_strip_bom(lines))
    for index, row in enumerate(reader):
        yield index + 2, row


def header_errors(fieldnames: Iterable[str] | None) -> list[RowError]:
    """RowErrors (row 1) for required STOP columns missing from a header."""
    present = {(name or "").strip().lstrip("\ufeff") for name in fieldnames or ()}
    return [
        RowError(1, column, f"Missing column '{column}': this does not look like a STOP sheet.")
        for column in REQUIRED_COLUMNS
        if column not in present
    ]


def dedupe_key(document: dict) -> tuple:
    """Identity of a STOP incident across yearly sheets: (country, start date, types, platforms).

    A row sharing the key of a row from an earlier `count_year` is that incident re-issued and
    should update it (the later sheet wins; the caller orders the rows). Rows of the same
    `count_year` that share a key are distinct incidents (see the module docstring).
    """
    return (
        document["country"],
        document["start_date"],
        tuple(sorted(document.get("shutdown_types") or ())),
        tuple(sorted(document.get("platforms") or ())),
    )


def convert_row(
    row: dict[str, str], row_number: int, platform_aliases: dict[str, str]
) -> tuple[list[dict], list[RowError]]:
    """One STOP row → (one document per country, []) or ([], every problem found in the row)."""
    return _RowConverter(row, row_number, platform_aliases).convert()


# --------------------------------------------------------------------------- conversion


class _RowConverter:
    def __init__(self, row: dict[str, str], row_number: int, platform_aliases: dict[str, str]):
        self.row = row
        self.row_number = row_number
        self.aliases = platform_aliases
        self.errors: list[RowError] = []
        self.cells: dict[str, str] = {}

    def cell(self, column: str) -> str:
        if column not in self.cells:
            value = self.row.get(column)
            self.cells[column] = _clean(value) if isinstance(value, str) else ""
        return self.cells[column]

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row_number, column, message))

    def lookup(self, column: str, table: dict[str, Any]) -> Any:
        value = self.cell(column)
        key = _key(value)
        if key in table:
            return table[key]
        self.error(column, f"Unknown value '{_clip(value, 80)}'.")
        return None

    # ----------------------------------------------------------------- whole row

    def convert(self) -> tuple[list[dict], list[RowError]]:
        countries = self.countries()
        start, end = self.dates()
        estimated = self.lookup("start_date_type", START_DATE_TYPES)
        area = _clip(self.cell("area_name"), AREA_MAX)
        scope = self.scope(area)
        shutdown_types = self.shutdown_types()
        networks = self.networks()
        platforms, unmapped = self.platforms()
        notes: list[str] = []
        if "service_based" in shutdown_types and not platforms and UNSPECIFIED in self.aliases:
            # The row's sources name no service the vocabulary knows: say so with the catch-all
            # (the names still go into the description).
            platforms = [self.aliases[UNSPECIFIED]]
        elif "service_based" in shutdown_types and not platforms:
            # An older vocabulary without the catch-all (before migration 0003).
            named = f" ({', '.join(unmapped)})" if unmapped else ""
            if len(shutdown_types) > 1:
                shutdown_types.remove("service_based")
                notes.append(
                    "The STOP sheet also marks this shutdown as service-based but names no platform "
                    f"of the vocabulary{named}."
                )
            elif unmapped:
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
        ordered_by = self.lookup("ordered_by", ORDERED_BY)
        actual_cause = self.lookup("actual_cause", ACTUAL_CAUSES)
        justification = self.lookup("gov_justification", JUSTIFICATIONS)
        status = self.lookup("shutdown_status", STATUSES)
        tri_states = {field: self.lookup(column, TRI_STATES) for column, field in TRI_STATE_COLUMNS}
        gov_ack = self.lookup("gov_ack", FLAG_VALUES)
        telco_ack = self.lookup("telco_ack", FLAG_VALUES)
        if self.errors:
            return [], self.errors

        if end is not None:
            status = "ended"  # the API requires it; the end date is the evidence
        elif status is None:
            status = "unknown"
        decision_maker = _clip(self.cell("decision_maker"), DECISION_MAKER_MAX)
        sources = self.sources()
        base = {
            "description": self.description(unmapped, notes),
            "area": area or None,
            "scope": scope,
            "shutdown_types": _ordered(shutdown_types, ("full_network", "service_based", "throttling")),
            "networks": networks,
            "platforms": platforms,
            "start_date": start.isoformat(),
            "start_date_estimated": estimated,
            "end_date": end.isoformat() if end else None,
            "status": status,
            "ordered_by": ordered_by,
            "decision_maker": decision_maker or None,
            "actual_cause": actual_cause,
            "actual_cause_details": _clip(self.cell("actual_cause_details"), LONG_TEXT_MAX) or None,
            "official_justification": justification,
            "justification_details": _clip(self.cell("gov_just_details"), LONG_TEXT_MAX) or None,
            "legal_basis_details": _clip(self.cell("legal_method"), LONG_TEXT_MAX) or None,
            "legal_basis": tri_states["legal_basis"],
            "election_related": tri_states["election_related"],
            "violence_reported": tri_states["violence_reported"],
            "human_rights_abuse_reported": tri_states["human_rights_abuse_reported"],
        }
        telcos = _parse_telcos(self.cell("telcos_involved"))
        documents = []
        for code in countries:
            document = {
                "title": self.title(base["shutdown_types"], code, area),
                "country": code,
                **base,
                "telcos": _telcos_for(telcos, code, countries),
                "acknowledgements": [],
                "legal_cases": [],
                "sources": [dict(source) for source in sources],
            }
            if gov_ack:
                document["acknowledgements"].append(
                    self.acknowledgement(
                        decision_maker or "Government", "government", "gov_ack_quote", "gov_ack_source"
                    )
                )
            if telco_ack:
                actor = ", ".join(document["telcos"]) or "Telecom operator"
                document["acknowledgements"].append(
                    self.acknowledgement(actor, "telco", "telco_ack_quote", "telco_ack_source")
                )
            documents.append(document)
        return documents, []

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
            code = country_code(name)
            if code is None:
                hint = NOT_COUNTRIES.get(_key(name))
                if hint:
                    self.error(
                        "country",
                        f"'{name}' is not an ISO 3166-1 country ({hint}); record it under the country "
                        "that administers it or leave it out.",
                    )
                else:
                    self.error(
                        "country",
                        f"Unknown country '{_clip(name, 80)}': "
                        "use an ISO 3166-1 English name or alpha-2 code.",
                    )
            elif code not in codes:
                codes.append(code)
        return codes

    def dates(self) -> tuple[date | None, date | None]:
        start = end = None
        raw_start, raw_end = self.cell("start_date"), self.cell("end_date")
        if not raw_start:
            self.error("start_date", "Start date is required.")
        else:
            start, problem = parse_date(raw_start)
            if problem:
                self.error("start_date", problem)
        if raw_end:
            end, problem = parse_date(raw_end)
            if problem:
                self.error("end_date", problem)
            elif start and end < start:
                self.error(
                    "end_date", f"End date {end.isoformat()} is before start date {start.isoformat()}."
                )
        return start, end

    def scope(self, area: str) -> str | None:
        scope = self.lookup("geo_scope", GEO_SCOPES)
        if scope in ("multi_regional", "unknown") and _key(area.rstrip(".")) in NATIONWIDE_AREAS:
            return "national"
        return scope

    def shutdown_types(self) -> list[str]:
        kinds = self.items("shutdown_type", SHUTDOWN_TYPE_ITEMS)
        extents = self.items("shutdown_extent", SHUTDOWN_EXTENT_ITEMS)
        if kinds is None or extents is None:
            return []
        types: list[str] = []
        if "full_network" in extents and ("shutdown" in kinds or "unknown" in kinds):
            types.append("full_network")
        if "service_based" in extents:
            types.append("service_based")
        if "throttle" in kinds:
            types.append("throttling")
        if not types:
            self.error(
                "shutdown_type",
                f"No shutdown type in '{self.cell('shutdown_type')}' × '{self.cell('shutdown_extent')}': "
                "expected Shutdown/Throttle with Full network/Service-based.",
            )
        return types

    def networks(self) -> list[str]:
        items = self.items("affected_network", NETWORK_ITEMS) or []
        return _ordered([item for item in items if item], ("broadband", "mobile"))

    def items(self, column: str, table: dict[str, Any]) -> list[Any] | None:
        """A comma-separated cell of table values; None (and an error) if one is unknown."""
        values = []
        for part in self.cell(column).split(","):
            if not part.strip():
                continue
            key = _key(part)
            if key not in table:
                self.error(column, f"Unknown value '{_clip(part.strip(), 80)}'.")
                return None
            values.append(table[key])
        return values

    def platforms(self) -> tuple[list[str], list[str]]:
        """Platform slugs, and the names of affected services the vocabulary does not know."""
        slugs: list[str] = []
        unmapped: list[str] = []
        for column, slug in PLATFORM_FLAGS:
            if self.lookup(column, FLAG_VALUES):
                known = self.aliases.get(slug)
                if known:
                    _add(slugs, known)
                else:
                    _add(unmapped, slug)
        for name in split_services(self.cell("other_affected")):
            if name.lower() in IGNORED_SERVICE_WORDS:
                continue
            slug = resolve_service(name, self.aliases)
            if slug:
                _add(slugs, slug)
            else:
                _add(unmapped, name)
        return slugs, unmapped

    def description(self, unmapped: list[str], notes: list[str]) -> str | None:
        parts = [self.cell("event")]
        targeted, detail = self.cell("users_targeted"), self.cell("users_target_detail")
        if _key(targeted) in UNINFORMATIVE_TARGETS:
            targeted = ""
        if targeted or detail:
            who = targeted or detail
            if targeted and detail and detail != targeted:
                who = f"{targeted} ({detail})"
            parts.append(f"Users targeted: {who.rstrip('.')}.")
        if self.cell("econ_impact"):
            parts.append(f"Estimated economic impact: {self.cell('econ_impact')}.")
        if unmapped and not notes:
            parts.append(f"Other services affected: {', '.join(unmapped)}.")
        parts.extend(notes)
        text = "\n\n".join(part for part in parts if part)
        return _clip(text, DESCRIPTION_MAX) or None

    def title(self, shutdown_types: list[str], code: str, area: str) -> str:
        cut = [
            label
            for kind, label in (("full_network", "full network"), ("service_based", "service-based"))
            if kind in shutdown_types
        ]
        if cut:
            label = " and ".join(cut) + " shutdown"
            if "throttling" in shutdown_types:
                label += " with throttling"
        else:
            label = "throttling"
        head = f"{label[0].upper()}{label[1:]} in {country_title_name(code)}"
        place = " ".join(area.split())
        if not place:
            return _clip(head, TITLE_MAX)
        room = TITLE_MAX - len(head) - 3
        if room < 10:
            return _clip(head, TITLE_MAX)
        return f"{head} ({_clip(place, room)})"

    def sources(self) -> list[dict[str, str]]:
        sources: list[dict[str, str]] = []
        seen: set[str] = set()

        def add(url: str, kind: str) -> None:
            if url not in seen and len(sources) < SOURCES_MAX:
                seen.add(url)
                sources.append({"url": url, "kind": kind})

        for url in extract_urls(self.cell("info_source_link")):
            add(url, source_kind(url))
        for url in extract_urls(self.cell("an_link")):
            add(url, "ngo_report")
        for column in ("gov_ack_source", "telco_ack_source"):
            for url in extract_urls(self.cell(column)):
                add(url, source_kind(url))
        return sources

    def acknowledgement(self, actor: str, actor_type: str, quote_column: str, source_column: str) -> dict:
        urls = extract_urls(self.cell(source_column))
        return {
            "actor": _clip(actor, ACTOR_MAX),
            "actor_type": actor_type,
            "stance": "acknowledged",
            "date": None,
            "quote": _clip(self.cell(quote_column), LONG_TEXT_MAX) or None,
            "source_url": urls[0] if urls else None,
        }


# --------------------------------------------------------------------------- dates

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_SERIAL = re.compile(r"^(\d{1,6})(?:\.0+)?$")


def parse_date(text: str, *, today: date | None = None) -> tuple[date | None, str | None]:
    """(date, None) or (None, message) for an ISO, m/d/Y or Excel-serial date cell."""
    value = text.strip()
    try:
        if match := _ISO_DATE.match(value):
            year, month, day = (int(group) for group in match.groups())
            result = date(year, month, day)
        elif match := _US_DATE.match(value):
            month, day, year = (int(group) for group in match.groups())
            result = date(year, month, day)
        elif match := _SERIAL.match(value):
            result = EXCEL_EPOCH + timedelta(days=int(match.group(1)))
        else:
            return None, (
                f"Not a date: '{_clip(value, 40)}' (use YYYY-MM-DD, m/d/YYYY or an Excel serial number)."
            )
    except (ValueError, OverflowError):
        return None, f"Not a valid date: '{_clip(value, 40)}'."
    if result < EARLIEST_DATE:
        return None, f"Date {result.isoformat()} is before {EARLIEST_DATE.isoformat()}; the API refuses it."
    latest = (today or datetime.now(UTC).date()) + timedelta(days=365 * MAX_YEARS_AHEAD)
    if result > latest:
        return None, f"Date {result.isoformat()} is more than {MAX_YEARS_AHEAD} years in the future."
    return result, None


# --------------------------------------------------------------------------- services


def split_services(cell: str) -> list[str]:
    """The names in an other_affected cell (see the module docstring for the list syntax)."""
    names: list[str] = []
    for item in _split_list(cell, period=True):
        for part in _split_and(item):
            name = _strip_item(part)
            if name:
                _add(names, name)
    return names


def resolve_service(name: str, platform_aliases: dict[str, str]) -> str | None:
    """Slug of a service name, through OTHER_SERVICE_NAMES and then the vocabulary's aliases."""
    key = _key(name)
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
# "Country: Operator, Region" — the region belongs to the operator before it.
TELCO_REGION_SUFFIXES = _table(
    {"Kurdistan": "Kurdistan", "Somaliland": "Somaliland", "Nakhchivan": "Nakhchivan"}
)


def _parse_telcos(cell: str) -> list[tuple[str | None, str, str]]:
    """(country code of a "Country: " prefix or None, the prefix, operator name) per operator."""
    telcos: list[tuple[str | None, str, str]] = []
    for item in _split_list(cell, period=False):
        for part in _split_and(item):
            name = _strip_item(part)
            if not name:
                continue
            region = TELCO_REGION_SUFFIXES.get(_key(name))
            if region and telcos:
                code, prefix, previous = telcos[-1]
                telcos[-1] = (code, prefix, f"{previous} ({region})")
                continue
            code, prefix = None, ""
            match = _TELCO_PREFIX.match(name)
            if match:
                code = country_code(match.group(1))
                if code:
                    prefix, name = match.group(1).strip(), match.group(2).strip()
            telcos.append((code, prefix, name))
    return telcos


def _telcos_for(telcos: list[tuple[str | None, str, str]], country: str, countries: list[str]) -> list[str]:
    """Operators of one document: prefixed ones go to their country when the row names it."""
    names: list[str] = []
    seen: set[str] = set()
    for code, prefix, name in telcos:
        if code and code != country and code in countries:
            continue  # another country's operator in a multi-country row
        if code and code != country:
            name = f"{prefix}: {name}"  # another country named: keep what the sheet said
        name = _clip(" ".join(name.split()), TELCO_MAX)
        if name and name.lower() not in seen and len(names) < TELCOS_MAX:
            seen.add(name.lower())
            names.append(name)
    return names


# --------------------------------------------------------------------------- sources

_URL_START = re.compile(r"https?://", re.IGNORECASE)
_URL_BOUNDARY = set(" \t\r\n;,\"'()[]<>|")
_TRAILING = ";,.:\"'>]"


def extract_urls(cell: str) -> list[str]:
    """Valid http(s) URLs in a cell, in order, without duplicates."""
    if "://" not in cell:
        return []
    starts = [
        match.start()
        for match in _URL_START.finditer(cell)
        if match.start() == 0
        or cell[match.start() - 1] in _URL_BOUNDARY
        or cell[: match.start()].endswith("%20")
    ]
    urls: list[str] = []
    for index, start in enumerate(starts):
        stop = starts[index + 1] if index + 1 < len(starts) else len(cell)
        candidate = cell[start:stop].split()[0] if cell[start:stop].split() else ""
        url = _trim_url(candidate)
        if url and len(url) <= URL_MAX and _valid_url(url) and url not in urls:
            urls.append(url)
    return urls


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


@lru_cache(maxsize=8192)
def _valid_url(url: str) -> bool:
    try:
        _url_validator(url)
    except ma.ValidationError:
        return False
    return True


def source_kind(url: str) -> str:
    """Kind of a source from its host; archived pages take the kind of the page archived."""
    archived = ARCHIVED.match(url)
    if archived:
        return source_kind(archived.group(1))
    return _host_kind(url_host(url).lower().rstrip("."))


_PLAIN_NETLOC = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#@:\[%\s]*)(?:[/?#]|$)")


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


# --------------------------------------------------------------------------- text helpers


def _clean(value: str) -> str:
    if "\x00" in value:
        value = value.replace("\x00", "")
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.strip()


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def _add(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


def _ordered(values: Iterable[str], order: tuple[str, ...]) -> list[str]:
    present = set(values)
    return [value for value in order if value in present]


def _strip_bom(lines: Iterable[str]) -> Iterator[str]:
    for index, line in enumerate(lines):
        yield line.lstrip("\ufeff") if index == 0 else line


_QUOTES = {'"': '"', "“": "”"}


def _split_list(cell: str, *, period: bool) -> list[str]:
    """Split on , ; and line breaks (and ". " when `period`) outside quotes and parentheses."""
    items: list[str] = []
    current: list[str] = []
    depth = 0
    closing: str | None = None
    for index, char in enumerate(cell):
        if closing:
            current.append(char)
            if char == closing:
                closing = None
            continue
        if char in _QUOTES and cell.find(_QUOTES[char], index + 1) != -1:
            closing = _QUOTES[char]
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            next_char = cell[index + 1] if index + 1 < len(cell) else " "
            if char in ",;\n\t" or (period and char == "." and next_char.isspace()):
                items.append("".join(current))
                current = []
                continue
        current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def _split_and(item: str) -> list[str]:
    """Split "A and B" inside a short list item; leave sentences whole."""
    if item.startswith(('"', "“")) or len(item.split()) > 6:
        return [item]
    parts = re.split(r"\s+and\s+", item)
    return parts if all(part.strip() for part in parts) else [item]


def _strip_item(item: str) -> str:
    item = re.sub(r"^(?:and|&)\s+", "", item.strip(), flags=re.IGNORECASE)
    item = item.strip().strip("\"'“”").strip()
    return item.rstrip(".;:").strip()
