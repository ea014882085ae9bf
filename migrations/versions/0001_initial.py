"""incidents, child records and platforms

Revision ID: 0001
Revises:
Create Date: 2026-11-29

The schema of SPEC.md and the platform vocabulary it requires.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# The vocabulary SPEC.md requires, plus the platforms the STOP dataset names most often.
PLATFORMS = [
    ("x", "X (formerly Twitter)", "social_media", ["twitter"]),
    ("facebook", "Facebook", "social_media", ["fb", "meta"]),
    ("instagram", "Instagram", "social_media", ["ig"]),
    ("whatsapp", "WhatsApp", "messaging", []),
    ("telegram", "Telegram", "messaging", []),
    ("youtube", "YouTube", "video", []),
    ("tiktok", "TikTok", "video", ["douyin"]),
    ("signal", "Signal", "messaging", []),
    ("sms", "SMS", "telecom_service", ["text-messages"]),
    ("voice-calls", "Voice calls", "telecom_service", ["phone-calls", "phonecall", "calls"]),
    ("messenger", "Facebook Messenger", "messaging", ["facebook-messenger"]),
    ("viber", "Viber", "messaging", []),
    ("skype", "Skype", "messaging", []),
    ("snapchat", "Snapchat", "social_media", []),
    ("linkedin", "LinkedIn", "social_media", []),
    ("wikipedia", "Wikipedia", "other", []),
    ("google", "Google Search", "search", ["google-search"]),
    ("vpn", "VPN services", "other", ["vpns"]),
    ("bluesky", "Bluesky", "social_media", []),
    ("threads", "Threads", "social_media", []),
    ("discord", "Discord", "messaging", []),
    ("imo", "imo", "messaging", []),
    ("wechat", "WeChat", "messaging", []),
    ("line", "LINE", "messaging", []),
    ("clubhouse", "Clubhouse", "social_media", []),
]


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("area", sa.String(length=500), nullable=True),
        sa.Column(
            "scope",
            sa.Enum(
                "national",
                "multi_regional",
                "regional",
                "local",
                "unknown",
                name="scope",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("start_date_estimated", sa.Boolean(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "ongoing",
                "ended",
                "unknown",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "ordered_by",
            sa.Enum(
                "executive_government",
                "state_government",
                "local_government",
                "military",
                "law_enforcement",
                "judiciary",
                "non_government",
                "unknown",
                name="ordered_by",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("decision_maker", sa.String(length=500), nullable=True),
        sa.Column(
            "actual_cause",
            sa.Enum(
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
                name="actual_cause",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("actual_cause_details", sa.Text(), nullable=True),
        sa.Column(
            "official_justification",
            sa.Enum(
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
                name="official_justification",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("justification_details", sa.Text(), nullable=True),
        sa.Column(
            "legal_basis",
            sa.Enum(
                "yes",
                "no",
                "unknown",
                name="legal_basis",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("legal_basis_details", sa.Text(), nullable=True),
        sa.Column(
            "election_related",
            sa.Enum(
                "yes",
                "no",
                "unknown",
                name="election_related",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "violence_reported",
            sa.Enum(
                "yes",
                "no",
                "unknown",
                name="violence_reported",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "human_rights_abuse_reported",
            sa.Enum(
                "yes",
                "no",
                "unknown",
                name="human_rights_abuse_reported",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("telcos", sa.JSON(), nullable=False),
        sa.Column(
            "acknowledgement_status",
            sa.Enum(
                "acknowledged",
                "denied",
                "none",
                name="acknowledgement_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("acknowledged_on", sa.Date(), nullable=True),
        sa.Column(
            "litigation_status",
            sa.Enum(
                "none",
                "pending",
                "concluded",
                name="litigation_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "end_date IS NULL OR status = 'ended'", name=op.f("ck_incidents_end_date_means_ended")
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date", name=op.f("ck_incidents_end_after_start")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incidents_acknowledgement_status"), ["acknowledgement_status"], unique=False
        )
        batch_op.create_index("ix_incidents_country_start_date", ["country", "start_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_end_date"), ["end_date"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_incidents_litigation_status"), ["litigation_status"], unique=False
        )
        batch_op.create_index("ix_incidents_start_date_id", ["start_date", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "platforms",
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "social_media",
                "messaging",
                "video",
                "search",
                "telecom_service",
                "other",
                name="platform_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_platforms")),
    )
    platforms = sa.table(
        "platforms",
        sa.column("slug", sa.String),
        sa.column("name", sa.String),
        sa.column("kind", sa.String),
        sa.column("aliases", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    created = datetime(2026, 11, 29, tzinfo=UTC)
    op.bulk_insert(
        platforms,
        [
            {"slug": slug, "name": name, "kind": kind, "aliases": aliases, "created_at": created}
            for slug, name, kind, aliases in PLATFORMS
        ],
    )
    op.create_table(
        "acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column(
            "actor_type",
            sa.Enum(
                "government",
                "telco",
                "other",
                name="actor_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "stance",
            sa.Enum(
                "acknowledged", "denied", name="stance", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "court_filing",
                "press_statement",
                "official_order",
                "social_media",
                "parliament",
                "interview",
                "other",
                name="channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "justification",
            sa.Enum(
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
                name="justification",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("quote", sa.Text(), nullable=True),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_acknowledgements_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acknowledgements")),
    )
    with op.batch_alter_table("acknowledgements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_acknowledgements_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "incident_asns",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("asn", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_asns_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "asn", name=op.f("pk_incident_asns")),
    )
    with op.batch_alter_table("incident_asns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_asns_asn"), ["asn"], unique=False)

    op.create_table(
        "incident_networks",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column(
            "network",
            sa.Enum(
                "broadband", "mobile", name="network", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_networks_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "network", name=op.f("pk_incident_networks")),
    )
    with op.batch_alter_table("incident_networks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_networks_network"), ["network"], unique=False)

    op.create_table(
        "incident_platforms",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("platform_slug", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_platforms_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["platform_slug"],
            ["platforms.slug"],
            name=op.f("fk_incident_platforms_platform_slug_platforms"),
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "platform_slug", name=op.f("pk_incident_platforms")),
    )
    with op.batch_alter_table("incident_platforms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_platforms_platform_slug"), ["platform_slug"], unique=False
        )

    op.create_table(
        "incident_shutdown_types",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column(
            "shutdown_type",
            sa.Enum(
                "full_network",
                "service_based",
                "throttling",
                name="shutdown_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_shutdown_types_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "shutdown_type", name=op.f("pk_incident_shutdown_types")),
    )
    with op.batch_alter_table("incident_shutdown_types", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_shutdown_types_shutdown_type"), ["shutdown_type"], unique=False
        )

    op.create_table(
        "legal_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("court", sa.String(length=300), nullable=False),
        sa.Column("case_number", sa.String(length=200), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("petitioners", sa.Text(), nullable=True),
        sa.Column("respondents", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "decided",
                "dismissed",
                "withdrawn",
                "appealed",
                name="case_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("ruling_on", sa.Date(), nullable=True),
        sa.Column("ruling_summary", sa.Text(), nullable=True),
        sa.Column("next_hearing_on", sa.Date(), nullable=True),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.CheckConstraint(
            "ruling_on IS NULL OR filed_on IS NULL OR ruling_on >= filed_on",
            name=op.f("ck_legal_cases_ruling_after_filing"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_legal_cases_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_cases")),
    )
    with op.batch_alter_table("legal_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_cases_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("publisher", sa.String(length=200), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "news",
                "official",
                "measurement",
                "court_document",
                "ngo_report",
                "social_media",
                "other",
                name="source_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("archived_url", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_sources_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
    )
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sources_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sources_incident_id"))

    op.drop_table("sources")
    with op.batch_alter_table("legal_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_cases_incident_id"))

    op.drop_table("legal_cases")
    with op.batch_alter_table("incident_shutdown_types", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_shutdown_types_shutdown_type"))

    op.drop_table("incident_shutdown_types")
    with op.batch_alter_table("incident_platforms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_platforms_platform_slug"))

    op.drop_table("incident_platforms")
    with op.batch_alter_table("incident_networks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_networks_network"))

    op.drop_table("incident_networks")
    with op.batch_alter_table("incident_asns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_asns_asn"))

    op.drop_table("incident_asns")
    with op.batch_alter_table("acknowledgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acknowledgements_incident_id"))

    op.drop_table("acknowledgements")
    op.drop_table("platforms")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_updated_at"))
        batch_op.drop_index(batch_op.f("ix_incidents_status"))
        batch_op.drop_index("ix_incidents_start_date_id")
        batch_op.drop_index(batch_op.f("ix_incidents_litigation_status"))
        batch_op.drop_index(batch_op.f("ix_incidents_end_date"))
        batch_op.drop_index("ix_incidents_country_start_date")
        batch_op.drop_index(batch_op.f("ix_incidents_acknowledgement_status"))

    op.drop_table("incidents")
