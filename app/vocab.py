"""Controlled value lists of the public contract (SPEC.md), shared by models and schemas."""

SCOPES = ("national", "multi_regional", "regional", "local", "unknown")
SHUTDOWN_TYPES = ("full_network", "service_based", "throttling")
NETWORKS = ("broadband", "mobile")
STATUSES = ("ongoing", "ended", "unknown")
ORDERED_BY = (
    "executive_government",
    "state_government",
    "local_government",
    "military",
    "law_enforcement",
    "judiciary",
    "non_government",
    "unknown",
)
ACTUAL_CAUSES = (
    "protests",
    "conflict",
    "political_instability",
    "information_control",
    "communal_violence",
    "exam_cheating",
    "elections",
    "religious_event",
    "official_visit",
    "other",
    "unknown",
)
JUSTIFICATIONS = (
    "national_security",
    "hate_speech_misinformation",
    "public_order",
    "precautionary",
    "sabotage",
    "school_exams",
    "technical_problems",
    "illegal_content",
    "other",
    "none_given",
    "unknown",
)
TRI_STATE = ("yes", "no", "unknown")
ACKNOWLEDGEMENT_STATUSES = ("acknowledged", "denied", "none")
LITIGATION_STATUSES = ("none", "pending", "concluded")

ACTOR_TYPES = ("government", "telco", "other")
STANCES = ("acknowledged", "denied")
CHANNELS = (
    "court_filing",
    "press_statement",
    "official_order",
    "social_media",
    "parliament",
    "interview",
    "other",
)
CASE_STATUSES = ("pending", "decided", "dismissed", "withdrawn", "appealed")
OPEN_CASE_STATUSES = ("pending", "appealed")
SOURCE_KINDS = (
    "news",
    "official",
    "measurement",
    "court_document",
    "ngo_report",
    "social_media",
    "other",
)
PLATFORM_KINDS = (
    "social_media",
    "messaging",
    "video",
    "search",
    "telecom_service",
    "other",
)

INCIDENT_SORTS = (
    "start_date",
    "-start_date",
    "end_date",
    "-end_date",
    "duration_days",
    "-duration_days",
    "updated_at",
    "-updated_at",
    "country",
)

# Each list above is one named schema in the OpenAPI document (app/http/openapi.py), referenced
# wherever it is used: a generated client has one enum class per list, named so.
# What a revision (and the change feed's entry for it) records.
REVISION_ACTIONS = ("create", "update", "delete", "restore", "revert")

ENUM_NAMES = {
    SCOPES: "Scope",
    SHUTDOWN_TYPES: "ShutdownType",
    NETWORKS: "Network",
    STATUSES: "IncidentStatus",
    ORDERED_BY: "OrderedBy",
    ACTUAL_CAUSES: "ActualCause",
    JUSTIFICATIONS: "Justification",
    TRI_STATE: "TriState",
    ACKNOWLEDGEMENT_STATUSES: "AcknowledgementStatus",
    LITIGATION_STATUSES: "LitigationStatus",
    ACTOR_TYPES: "ActorType",
    STANCES: "Stance",
    CHANNELS: "Channel",
    CASE_STATUSES: "LegalCaseStatus",
    SOURCE_KINDS: "SourceKind",
    PLATFORM_KINDS: "PlatformKind",
    INCIDENT_SORTS: "IncidentSort",
    REVISION_ACTIONS: "RevisionAction",
}
