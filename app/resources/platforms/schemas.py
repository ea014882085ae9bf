"""Platform schemas."""

from __future__ import annotations

import marshmallow as ma

from app import vocab
from app.document.fields import Enum, Str, Timestamp
from app.document.schema import Schema

SLUG = r"^[a-z0-9][a-z0-9-]{0,39}$"


class PlatformSchema(Schema):
    slug = Str(
        required=True,
        validate=[ma.validate.Regexp(SLUG, error="Use 1–40 characters a-z, 0-9 and '-'.")],
        metadata={"description": "Identifier used in incidents, lower-case.", "example": "x"},
    )
    name = Str(
        required=True,
        validate=[ma.validate.Length(min=1, max=100)],
        metadata={"description": "Display name.", "example": "X (formerly Twitter)"},
    )
    kind = Enum(vocab.PLATFORM_KINDS, required=True, metadata={"description": "Kind of service."})
    aliases = ma.fields.List(
        Str(validate=[ma.validate.Regexp(SLUG, error="Use 1–40 characters a-z, 0-9 and '-'.")]),
        load_default=list,
        validate=ma.validate.Length(max=20),
        metadata={"description": "Other names accepted on input, e.g. `twitter`."},
    )
    created_at = Timestamp(dump_only=True, metadata={"description": "When the platform was added (UTC)."})
