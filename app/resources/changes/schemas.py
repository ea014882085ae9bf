"""Change feed schemas: the query string, one change, a page of changes."""

from __future__ import annotations

import marshmallow as ma

from app import vocab
from app.document.fields import CountryCode, Enum, PreciseTimestamp, Timestamp
from app.document.schema import described
from app.http.schemas import QueryArgsSchema

F = ma.fields

MAX_LIMIT = 500
# The largest cursor the databases hold (a BIGINT): a larger one would fail in the driver.
MAX_CURSOR = 2**63 - 1


class ChangesArgsSchema(QueryArgsSchema):
    """Where to start, how many, and which changes."""

    after = F.Integer(
        load_default=0,
        validate=[ma.validate.Range(min=0, max=MAX_CURSOR)],
        metadata=described(
            "Cursor: the changes committed after it. 0 (the default) is the start of the feed; "
            "then the `next_cursor` of the previous page.",
            default=0,
        ),
    )
    limit = F.Integer(
        load_default=100,
        validate=[ma.validate.Range(min=1, max=MAX_LIMIT)],
        metadata=described(f"Changes per page, 1–{MAX_LIMIT}.", default=100),
    )
    country = F.List(
        CountryCode(),
        metadata=described(
            "Only changes after which the incident is in this country (ISO 3166-1 alpha-2; an "
            "incident moved away shows here no more); repeatable."
        ),
    )
    action = F.List(Enum(vocab.REVISION_ACTIONS), metadata=described("Only these actions; repeatable."))


class ChangeSchema(ma.Schema):
    """One change: a revision of an incident, with the document after it."""

    cursor = F.Integer(
        metadata=described("The change's place in commit order: `after` this value, the changes that follow.")
    )
    incident_id = F.Integer(metadata=described("The incident changed."))
    revision = F.Integer(metadata=described("The incident's revision this change made."))
    action = Enum(vocab.REVISION_ACTIONS, metadata=described("What happened."))
    at = Timestamp(metadata=described("When the change was made (UTC): the document's `updated_at`."))
    committed_at = PreciseTimestamp(
        metadata=described(
            "When its transaction committed (UTC, to the microsecond): never earlier than an earlier "
            "change's. The data `as_of` this moment includes this change."
        )
    )
    actor = F.String(metadata=described("Name of the API key that made the change, or `cli`."))
    provenance = F.String(
        allow_none=True,
        metadata=described(
            "What last wrote the incident (the document's `provenance`): `editor:<key name>`, "
            "`stop:<file>#<row>`, `native:<file>#<row>`, `cli`, `seed:demo`, `legacy…`."
        ),
    )
    document = F.Dict(
        metadata=described(
            "The incident's whole document after the change, as `GET /api/v1/incidents/{id}` "
            "showed it then (an ongoing incident's `duration_days` as of that day). For a "
            "`delete`, a tombstone instead: `id`, `revision`, `deleted` (true) and `deleted_at`; "
            "the deleted content stays readable at `/api/v1/incidents/{id}/revisions/{revision}`.",
            oneOf=[
                {"$ref": "#/components/schemas/Incident"},
                {"$ref": "#/components/schemas/Tombstone"},
            ],
        )
    )


class TombstoneSchema(ma.Schema):
    """What a change feed's `delete` carries instead of a document: the incident is gone."""

    id = F.Integer(required=True, metadata=described("The incident deleted."))
    revision = F.Integer(required=True, metadata=described("Its revision at the delete."))
    deleted = F.Boolean(required=True, metadata=described("Always true.", enum=[True]))
    deleted_at = Timestamp(required=True, metadata=described("When it was deleted (UTC)."))


class ChangePageSchema(ma.Schema):
    """A page of the change feed."""

    changes = F.List(F.Nested(ChangeSchema), metadata=described("In commit order."))
    next_cursor = F.Integer(
        metadata=described(
            "Always given: the `after` of the next request. On a page that reached the end of "
            "the feed (`has_more` false, also an empty page), poll with it later for new changes."
        )
    )
    has_more = F.Boolean(
        metadata=described("Whether changes already committed follow: if so, ask for the next page now.")
    )
