"""The STOP sheet's vocabulary: its columns, and every cell value mapped to the API's values.

Declarative only: names and values, keyed with `lookup_key` (the package docstring says how
each table is used). A value missing from a table is a RowError, never a guess.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Any

from app.document.fields import EARLIEST_DATE, MAX_YEARS_AHEAD, URL_MAX  # noqa: F401  (re-exported)
from app.document.schema import AcknowledgementSchema, IncidentSchema, max_items, max_length

LONG_TEXTS = ("actual_cause_details", "justification_details", "legal_basis_details")

# --------------------------------------------------------------------------- the document's limits
# Read from the document's definition, so that a cell is clipped where the API would refuse it.

TITLE_MAX = max_length(IncidentSchema, "title")
AREA_MAX = max_length(IncidentSchema, "area")
DECISION_MAKER_MAX = max_length(IncidentSchema, "decision_maker")
DESCRIPTION_MAX = max_length(IncidentSchema, "description")
TELCO_MAX = max_length(IncidentSchema, "telcos")  # each operator's name
TELCOS_MAX = max_items(IncidentSchema, "telcos")
ACTOR_MAX = max_length(AcknowledgementSchema, "actor")
# The free texts of a row: the details of the cause, justification and legal basis, and quotes.
LONG_TEXT_MAX = min(
    *(max_length(IncidentSchema, name) for name in LONG_TEXTS),
    max_length(AcknowledgementSchema, "quote"),
)
# The converter's own cap: the first sources of a row's cells (a sheet row rarely has more).
SOURCES_MAX = 50

# --------------------------------------------------------------------------- the sheet

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 in Excel's (Lotus-compatible) calendar

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


# --------------------------------------------------------------------------- lookup keys

_AROUND_SLASH = re.compile(r"\s*/\s*")


@lru_cache(maxsize=4096)
def lookup_key(value: str) -> str:
    """Lookup key of a cell value: lower-case, whitespace collapsed, no spaces around '/'."""
    return _AROUND_SLASH.sub("/", " ".join(value.split())).lower()


def _table(mapping: dict[str, Any]) -> dict[str, Any]:
    return {lookup_key(name): value for name, value in mapping.items()}


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

# Territories without an ISO 3166-1 code, recorded under the ISO country that contains them (the
# territory is named in the area and in the row's record, and the import report flags the row).
TERRITORIES = _table(
    {
        "Somaliland": "SO",
        "Puntland": "SO",
        "Transnistria": "MD",
        "Abkhazia": "GE",
        "South Ossetia": "GE",
        "Nagorno-Karabakh": "AZ",
        "Artsakh": "AZ",
        "Northern Cyprus": "CY",
        "Crimea": "UA",
        "Kurdistan": "IQ",
        "Kurdistan Region": "IQ",
        "Tibet": "CN",
        "Zanzibar": "TZ",
    }
)
# Places without an ISO 3166-1 code and no agreed containing country: the row must say which
# country to record them under.
NOT_COUNTRIES = _table(
    {
        "Kosovo": "its code XK is user-assigned, not ISO 3166-1, and the API accepts only ISO codes",
    }
)

# Short names for titles where pycountry has only the formal "Name, qualifier" form.
TITLE_COUNTRY_NAMES = {"CD": "DR Congo", "RU": "Russia", "VA": "Vatican City", "PS": "Palestine"}

COUNTRY_SEPARATORS = re.compile(r"[;\n]")

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
    lookup_key(name)
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

# The order of a document's lists, whatever the order of the cell.
SHUTDOWN_TYPE_ORDER = ("full_network", "service_based", "throttling")
NETWORK_ORDER = ("broadband", "mobile")
# Titles name the cut networks ("Full network and service-based shutdown"), else throttling.
SHUTDOWN_TYPE_TITLES = (("full_network", "full network"), ("service_based", "service-based"))

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
# Columns of one value each: (column, document field, table), read in this order.
ENUM_COLUMNS = (
    ("ordered_by", "ordered_by", ORDERED_BY),
    ("actual_cause", "actual_cause", ACTUAL_CAUSES),
    ("gov_justification", "official_justification", JUSTIFICATIONS),
    ("shutdown_status", "status", STATUSES),
    *((column, field, TRI_STATES) for column, field in TRI_STATE_COLUMNS),
)

# A gov_ack / telco_ack of "No" whose quote says so is a denial; other quotes are kept as written.
DENIAL = re.compile(r"\b(den(?:y|ies|ied|ial|ying)|refut\w*)\b", re.IGNORECASE)
# Yes/No/Unknown columns that only matter when "Yes".
FLAG_VALUES = _table({"Yes": True, "No": False, "Unknown": False, "": False})
# Acknowledgement flags: (flag column, actor_type, actor when the row names none, quote column,
# source column). The government's actor is the decision maker, the operators' their names.
ACKNOWLEDGEMENTS = (
    ("gov_ack", "government", "Government", "gov_ack_quote", "gov_ack_source"),
    ("telco_ack", "telco", "Telecom operator", "telco_ack_quote", "telco_ack_source"),
)

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
# Source columns in the order their URLs are listed: (column, kind, or None for the host's kind).
SOURCE_COLUMNS = (
    ("info_source_link", None),
    ("an_link", "ngo_report"),
    ("gov_ack_source", None),
    ("telco_ack_source", None),
)
# Government hosts by their labels: "pta.gov.pk", "gov.il", "jkhome.nic.in", "kominfo.go.id".
OFFICIAL_HOST = re.compile(r"(^|\.)(gov|gob|gouv|govt|mil)(\.|$)|\.nic\.in$|\.go\.[a-z]{2}$")
ARCHIVED = re.compile(r"^https?://web\.archive\.org/web/[^/]+/(https?://.+)$", re.IGNORECASE)

# --------------------------------------------------------------------------- telcos

# "Country: Operator, Region" — the region belongs to the operator before it.
TELCO_REGION_SUFFIXES = _table(
    {"Kurdistan": "Kurdistan", "Somaliland": "Somaliland", "Nakhchivan": "Nakhchivan"}
)
