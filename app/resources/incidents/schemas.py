"""Incident schemas of the API: the document (defined in app/document/schema.py), its patch, the
list's query string, and the change history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask import request

from app import vocab
from app.document import schema as definition
from app.document.fields import Asn, CountryCode, Enum, IsoDate, PlatformSlug, Str, Timestamp
from app.document.schema import Schema
from app.fast.dump import FinishedDocuments
from app.http.schemas import QueryArgsSchema
from app.services import as_of as as_of_service
from app.services.sorts import DEFAULT_SORT, CursorError, decode_cursor

F = ma.fields
described = definition.described

AcknowledgementSchema = definition.AcknowledgementSchema
LegalCaseSchema = definition.LegalCaseSchema
SourceSchema = definition.SourceSchema


class IncidentSchema(FinishedDocuments, definition.IncidentSchema):
    """An incident document; POST and PUT take it whole (read-only fields are ignored on input)."""


class IncidentPatchSchema(IncidentSchema):
    """Any subset of the incident's writable fields; a list given replaces that list."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(partial=True, **kwargs)


class AsnParameter(Str):
    """An AS number as a query string writes it, `24499` or `AS24499`: documented as the text it
    is (a client or Swagger UI would refuse `AS24499` for an integer), parsed by the document's
    own `Asn` field into the number."""

    PATTERN = r"^([Aa][Ss])?[0-9]{1,10}$"
    _asn = Asn()

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": self.PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        return self._asn.deserialize(super()._deserialize(value, attr, data, **kwargs))


class UtcTimestamp(F.AwareDateTime):
    """An RFC 3339 timestamp in any offset, read as UTC: PostgreSQL refuses offsets beyond
    ±15:59 that RFC 3339 allows (`+16:18`), and the moment is the same."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=UTC, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError as error:  # year 1 with a positive offset: before any date
            raise ma.ValidationError("Not a valid timestamp: out of range.") from error


class AsOfMoment(F.AwareDateTime):
    """A past moment with its time and zone, read as UTC: a date alone would leave open which
    moment of the day, in which time zone, and a citation needs one."""

    default_error_messages = {
        "invalid_awareness": "Give a moment with its time and time zone (RFC 3339), "
        "e.g. 2025-01-01T00:00:00Z: a date alone does not say which moment of the day.",
    }

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        try:
            moment = super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)
        except OverflowError as error:  # year 1 with a positive offset: before any date
            raise ma.ValidationError("Not a valid timestamp: out of range.") from error
        if moment > datetime.now(UTC):
            raise ma.ValidationError("Must not be in the future: the data of that moment is not written yet.")
        return moment


AS_OF = described(
    "The data exactly as it stood at this moment (RFC 3339 with a time zone, not in the future, "
    "e.g. `2026-01-01T00:00:00Z`): "
    "incidents deleted then are absent, an ongoing incident's duration is counted to that day. "
    "Combines only with `country` (and `page`, `page_size`, `group_by`, `bom`). The `As-Of` "
    "and `As-Of-Cursor` headers say which moment and which last change the response shows; the "
    "same request gives the same bytes and ETag every time.",
    # No example: Swagger UI would fill it in on every "Try it out", showing the past by default
    # and refusing `after` and the other filters beside it.
)


class AsOfArgsMixin:
    """`as_of`, and a 422 naming the parameters it combines with when others come along."""

    # Parameters a request as of a moment may carry besides the FILTERS of app/services/as_of.py.
    AS_OF_OPTIONS = ("as_of", "group_by", "bom")

    @ma.validates_schema
    def _as_of_alone(self, data: dict, **kwargs: Any) -> None:
        if data.get("as_of") is None:
            return
        others = sorted(set(data) - set(as_of_service.FILTERS) - set(self.AS_OF_OPTIONS))
        if others:
            allowed = ", ".join(f"`{name}`" for name in (*as_of_service.FILTERS, "page", "page_size"))
            raise ma.ValidationError(
                f"`as_of` combines only with {allowed}: remove {', '.join(f'`{n}`' for n in others)}.",
                "as_of",
            )


class IncidentQueryArgsSchema(AsOfArgsMixin, QueryArgsSchema):
    """Filters (repeat a parameter to OR its values; different parameters are ANDed) and sort."""

    country = F.List(CountryCode(), metadata=described("ISO 3166-1 alpha-2 code; repeatable."))
    platform = F.List(PlatformSlug(), metadata=described("Platform slug or alias; repeatable."))
    shutdown_type = F.List(Enum(vocab.SHUTDOWN_TYPES), metadata=described("Repeatable."))
    network = F.List(Enum(vocab.NETWORKS), metadata=described("Repeatable."))
    status = F.List(Enum(vocab.STATUSES), metadata=described("Repeatable."))
    scope = F.List(Enum(vocab.SCOPES), metadata=described("Repeatable."))
    ordered_by = F.List(Enum(vocab.ORDERED_BY), metadata=described("Repeatable."))
    actual_cause = F.List(Enum(vocab.ACTUAL_CAUSES), metadata=described("Repeatable."))
    official_justification = F.List(Enum(vocab.JUSTIFICATIONS), metadata=described("Repeatable."))
    acknowledgement_status = F.List(Enum(vocab.ACKNOWLEDGEMENT_STATUSES), metadata=described("Repeatable."))
    litigation_status = F.List(Enum(vocab.LITIGATION_STATUSES), metadata=described("Repeatable."))
    asn = F.List(
        AsnParameter(),
        metadata=described("AS number, 0–4294967295 (`24499` or `AS24499`); repeatable."),
    )
    active_from = IsoDate(
        metadata=described("Incidents active on or after this date (ongoing ones are open-ended).")
    )
    active_to = IsoDate(metadata=described("Incidents active on or before this date."))
    started_from = IsoDate(metadata=described("Incidents that started on or after this date."))
    started_to = IsoDate(metadata=described("Incidents that started on or before this date."))
    updated_since = UtcTimestamp(metadata=described("Incidents changed at or after this RFC 3339 timestamp."))
    q = Str(
        validate=[ma.validate.Length(min=1, max=200)],
        metadata=described(
            "Full-text search in title, description, area and decision maker: case-insensitive, "
            "every word must appear, each as a word or the start of one (`protest` finds "
            "`protesters`). Without `sort`, results come by relevance."
        ),
    )
    sort = Enum(
        vocab.INCIDENT_SORTS,
        metadata=described(
            "Sort key; `-` for descending. Ties are broken by id. Default `-start_date` "
            "(by relevance when `q` is given)."
        ),
    )
    as_of = AsOfMoment(metadata=AS_OF)

    @ma.validates_schema
    def _ranges(self, data: dict, **kwargs: Any) -> None:
        for low, high in (("active_from", "active_to"), ("started_from", "started_to")):
            if data.get(low) and data.get(high) and data[high] < data[low]:
                raise ma.ValidationError(f"Must be on or after {low}.", high)


class IncidentListArgsSchema(IncidentQueryArgsSchema):
    """The list's filters and sort, and keyset paging."""

    after = Str(
        validate=[ma.validate.Length(min=1, max=500)],
        metadata=described(
            "Keyset paging: the `X-Next-Cursor` of the previous page (also in its `Link` "
            "`next`). Gives the page after that incident in the same sort, as fast at the "
            "millionth incident as at the first; `page` is not used with it. Needs the same "
            "`sort` (the default included); not for a search ordered by relevance."
        ),
    )

    @ma.validates_schema
    def _cursor(self, data: dict, **kwargs: Any) -> None:
        """A cursor that cannot be used is a 422 on `after`, saying why."""
        if data.get("after") is None:
            return
        if data.get("q") and not data.get("sort"):
            message = "`after` needs a `sort`: results by relevance have no position to go on from."
            raise ma.ValidationError(message, "after")
        if "page" in request.args:
            raise ma.ValidationError("Use either `page` or `after`, not both.", "after")
        try:
            decode_cursor(data["after"], data.get("sort") or DEFAULT_SORT)
        except CursorError as error:
            raise ma.ValidationError(str(error), "after") from error


class IncidentAsOfArgsSchema(AsOfArgsMixin, QueryArgsSchema):
    """A single incident as it stood at a moment."""

    as_of = AsOfMoment(
        metadata=described(
            "The incident exactly as it stood at this moment (RFC 3339 with a time zone, not in "
            "the future), e.g. `2026-01-01T00:00:00Z`: 404 when it did not exist then or was "
            "deleted. The `As-Of` and `As-Of-Cursor` headers say which moment and which last "
            "change it shows."
        )
    )


class RevisionSchema(Schema):
    """One entry of an incident's change history."""

    revision = F.Integer(metadata=described("Revision number: 1 on create, +1 on every change."))
    action = F.String(metadata=described("What happened.", enum=list(vocab.REVISION_ACTIONS)))
    at = Timestamp(metadata=described("When (UTC)."))
    actor = F.String(metadata=described("Name of the API key that made the change, or `cli`."))
    changes = F.Dict(
        keys=F.String(),
        values=F.Dict(),
        metadata=described(
            'Changed fields: `{"field": {"from": old, "to": new}}`; on create, every field '
            "with `from` null; delete and restore also show `deleted`; a revert "
            'also shows `revert`: `{"from": the revision it replaced, "to": the revision whose '
            "content it made current}`."
        ),
    )
