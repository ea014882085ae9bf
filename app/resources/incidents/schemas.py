"""Incident schemas: the document, its child records, and the list's query string."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow as ma
import orjson
from flask import request

from app import vocab
from app.extensions import QueryArgsSchema, Schema
from app.models import Incident
from app.resources.fields import (
    Asn,
    CountryCode,
    Day,
    Enum,
    HttpUrl,
    IsoDate,
    PlatformSlug,
    Str,
    StrictBoolean,
    Text,
    Timestamp,
    country_name,
)
from app.services.documents import IncidentDocument, incident_document
from app.services.incidents import DEFAULT_SORT, CursorError, decode_cursor, incident_rule_errors

F = ma.fields
FINISHED = (IncidentDocument, orjson.Fragment)


def _d(text: str, **extra: Any) -> dict[str, Any]:
    return {"description": text, **extra}


def _list(inner: ma.fields.Field, text: str, *, max_items: int = 100) -> F.List:
    return F.List(
        inner,
        load_default=list,
        validate=ma.validate.Length(max=max_items),
        metadata=_d(text),
    )


# --------------------------------------------------------------------------- child records


class AcknowledgementSchema(Schema):
    id = F.Integer(dump_only=True, metadata=_d("Server-assigned id."))
    actor = Str(
        required=True,
        max_length=300,
        validate=[ma.validate.Length(min=1)],
        metadata=_d("Who spoke, e.g. `Ministry of Interior`.", example="Ministry of Interior"),
    )
    actor_type = Enum(
        vocab.ACTOR_TYPES,
        load_default="government",
        metadata=_d("Kind of actor; only `government` statements set the incident's acknowledgement status."),
    )
    stance = Enum(
        vocab.STANCES, required=True, metadata=_d("Whether the statement admits or denies the block.")
    )
    date = Day(allow_none=True, load_default=None, metadata=_d("When it was said or filed."))
    channel = Enum(vocab.CHANNELS, allow_none=True, load_default=None, metadata=_d("How it was said."))
    justification = Enum(
        vocab.JUSTIFICATIONS,
        allow_none=True,
        load_default=None,
        metadata=_d("Justification the statement gives."),
    )
    quote = Text(max_length=20000, metadata=_d("The words used."))
    source_url = HttpUrl(
        allow_none=True, load_default=None, metadata=_d("Where the statement can be read (http/https).")
    )


class LegalCaseSchema(Schema):
    id = F.Integer(dump_only=True, metadata=_d("Server-assigned id."))
    court = Str(
        required=True,
        max_length=300,
        validate=[ma.validate.Length(min=1)],
        metadata=_d("Court hearing the case.", example="Islamabad High Court"),
    )
    case_number = Text(max_length=200, metadata=_d("Court's case or petition number."))
    filed_on = Day(allow_none=True, load_default=None, metadata=_d("When the case was filed."))
    petitioners = Text(max_length=5000, metadata=_d("Who brought the case."))
    respondents = Text(max_length=5000, metadata=_d("Who answers it."))
    status = Enum(vocab.CASE_STATUSES, load_default="pending", metadata=_d("Where the case stands."))
    ruling_on = Day(
        allow_none=True, load_default=None, metadata=_d("Date of the ruling; not before `filed_on`.")
    )
    ruling_summary = Text(max_length=20000, metadata=_d("What the court decided or ordered."))
    next_hearing_on = Day(allow_none=True, load_default=None, metadata=_d("Next scheduled hearing."))
    source_url = HttpUrl(
        allow_none=True, load_default=None, metadata=_d("Court document or report (http/https).")
    )

    @ma.validates_schema
    def _ruling_after_filing(self, data: dict, **kwargs: Any) -> None:
        filed, ruling = data.get("filed_on"), data.get("ruling_on")
        if filed and ruling and ruling < filed:
            raise ma.ValidationError("Must be on or after filed_on.", "ruling_on")


class SourceSchema(Schema):
    id = F.Integer(dump_only=True, metadata=_d("Server-assigned id."))
    url = HttpUrl(required=True, metadata=_d("Evidence URL (http/https)."))
    title = Text(max_length=500, metadata=_d("Headline or title."))
    publisher = Text(max_length=200, metadata=_d("Who published it."))
    published_on = Day(allow_none=True, load_default=None, metadata=_d("Publication date."))
    kind = Enum(vocab.SOURCE_KINDS, load_default="other", metadata=_d("Kind of evidence."))
    archived_url = HttpUrl(allow_none=True, load_default=None, metadata=_d("Archived copy (http/https)."))


def _inline(schema: type[Schema], name: str) -> type[Schema]:
    """The same child schema with a writable `id`, to keep or update an existing child in place."""
    return type(
        name,
        (schema,),
        {
            "id": F.Integer(
                allow_none=True,
                load_default=None,
                metadata=_d(
                    "Id of an existing record of this incident to keep (and update); "
                    "omit to add a new one. Records not listed are removed."
                ),
            )
        },
    )


InlineAcknowledgementSchema = _inline(AcknowledgementSchema, "InlineAcknowledgementSchema")
InlineLegalCaseSchema = _inline(LegalCaseSchema, "InlineLegalCaseSchema")
InlineSourceSchema = _inline(SourceSchema, "InlineSourceSchema")


# --------------------------------------------------------------------------- incident


class IncidentSchema(Schema):
    """An incident document; POST and PUT take it whole (read-only fields are ignored on input)."""

    id = F.Integer(dump_only=True, metadata=_d("Server-assigned id."))
    title = Str(
        required=True,
        validate=[ma.validate.Length(min=1, max=200)],
        metadata=_d("Short title.", example="X blocked nationwide after the election"),
    )
    description = Text(max_length=50000, metadata=_d("Narrative of what happened."))
    country = CountryCode(
        required=True, metadata=_d("ISO 3166-1 alpha-2 code (any case on input).", example="PK")
    )
    country_name = F.Function(
        lambda incident: country_name(incident.country),
        dump_only=True,
        metadata=_d("English short name of the country.", type="string"),
    )
    area = Text(max_length=500, metadata=_d("Affected area, e.g. `Nationwide` or `Wana, South Waziristan`."))
    scope = Enum(vocab.SCOPES, load_default="unknown", metadata=_d("Geographic scope."))
    shutdown_types = F.List(
        Enum(vocab.SHUTDOWN_TYPES),
        required=True,
        validate=ma.validate.Length(min=1, max=3),
        metadata=_d("What was cut: at least one of the listed types."),
    )
    networks = _list(Enum(vocab.NETWORKS), "Networks affected.", max_items=2)
    platforms = _list(
        PlatformSlug(),
        "Platform slugs; aliases accepted (`twitter` → `x`). "
        "Required when `shutdown_types` has `service_based`.",
    )
    start_date = Day(required=True, metadata=_d("First day of the incident."))
    start_date_estimated = StrictBoolean(
        load_default=False, metadata=_d("True when the start date is an estimate.")
    )
    end_date = Day(
        allow_none=True,
        load_default=None,
        metadata=_d("Last day; null while ongoing or unknown. Not before `start_date`."),
    )
    status = Enum(
        vocab.STATUSES,
        metadata=_d(
            "Defaults to `ended` when `end_date` is set, else `ongoing`; an `end_date` requires `ended`."
        ),
    )
    duration_days = F.Integer(
        dump_only=True,
        allow_none=True,
        metadata=_d(
            "Inclusive days from start to end (to today while ongoing); null when ended or unknown "
            "without an end date."
        ),
    )
    ordered_by = Enum(vocab.ORDERED_BY, load_default="unknown", metadata=_d("Who ordered it."))
    decision_maker = Text(max_length=500, metadata=_d("e.g. `Ministry of Interior`."))
    actual_cause = Enum(
        vocab.ACTUAL_CAUSES, load_default="unknown", metadata=_d("What actually prompted it.")
    )
    actual_cause_details = Text(max_length=20000, metadata=_d("Details of the cause."))
    official_justification = Enum(
        vocab.JUSTIFICATIONS, load_default="unknown", metadata=_d("Reason the authorities gave.")
    )
    justification_details = Text(max_length=20000, metadata=_d("Details of the justification."))
    legal_basis = Enum(vocab.TRI_STATE, load_default="unknown", metadata=_d("Was a legal basis cited?"))
    legal_basis_details = Text(max_length=20000, metadata=_d("Which law or order."))
    election_related = Enum(vocab.TRI_STATE, load_default="unknown", metadata=_d("Related to an election?"))
    violence_reported = Enum(vocab.TRI_STATE, load_default="unknown", metadata=_d("Violence reported?"))
    human_rights_abuse_reported = Enum(
        vocab.TRI_STATE, load_default="unknown", metadata=_d("Human rights abuses reported?")
    )
    asns = _list(Asn(), 'Affected networks\' AS numbers (0–4294967295); `"AS17557"` accepted.', max_items=500)
    telcos = _list(Str(validate=[ma.validate.Length(min=1, max=200)]), "Operators involved.", max_items=200)
    acknowledgement_status = F.String(
        dump_only=True,
        metadata=_d(
            "`acknowledged` if any government statement acknowledges the incident, else `denied` if any "
            "denies it, else `none`.",
            enum=list(vocab.ACKNOWLEDGEMENT_STATUSES),
        ),
    )
    acknowledged_on = F.Date(
        dump_only=True, allow_none=True, metadata=_d("Date of the earliest government acknowledgement.")
    )
    acknowledgement_delay_days = F.Integer(
        dump_only=True,
        allow_none=True,
        metadata=_d("Days from `start_date` to `acknowledged_on` (negative when announced in advance)."),
    )
    litigation_status = F.String(
        dump_only=True,
        metadata=_d(
            "`none` (no cases), `pending` (any case pending or appealed), `concluded`.",
            enum=list(vocab.LITIGATION_STATUSES),
        ),
    )
    acknowledgements = F.List(
        F.Nested(InlineAcknowledgementSchema),
        load_default=list,
        validate=ma.validate.Length(max=200),
        metadata=_d("Official statements."),
    )
    legal_cases = F.List(
        F.Nested(InlineLegalCaseSchema),
        load_default=list,
        validate=ma.validate.Length(max=200),
        metadata=_d("Court cases."),
    )
    sources = F.List(
        F.Nested(InlineSourceSchema),
        load_default=list,
        validate=ma.validate.Length(max=500),
        metadata=_d("Evidence."),
    )
    created_at = Timestamp(dump_only=True, metadata=_d("When the incident was recorded (UTC)."))
    updated_at = Timestamp(dump_only=True, metadata=_d("Last change, children included (UTC)."))
    revision = F.Integer(dump_only=True, metadata=_d("1 on create, +1 on every change (children included)."))

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """Incidents are dumped by the hand-written `incident_document` (same output, ~20× faster)."""
        many = self.many if many is None else many
        if not self.only and not self.exclude:
            # Finished documents (built, or stored JSON as an orjson.Fragment) pass as they are.
            if many and all(isinstance(item, (Incident, *FINISHED)) for item in obj):
                return [item if isinstance(item, FINISHED) else incident_document(item) for item in obj]
            if isinstance(obj, FINISHED):
                return obj
            if not many and isinstance(obj, Incident):
                return incident_document(obj)
        return super().dump(obj, many=many)

    def marshmallow_dump(self, obj: Any) -> Any:
        """The plain marshmallow dump, which tests compare with the fast one."""
        return super().dump(obj)

    @ma.validates_schema
    def _rules(self, data: dict, partial: Any = None, **kwargs: Any) -> None:
        if partial:
            return  # PATCH checks the rules on the merged document instead
        errors = incident_rule_errors(data)
        if errors:
            raise ma.ValidationError(errors)


class IncidentPatchSchema(IncidentSchema):
    """Any subset of the incident's writable fields; a list given replaces that list."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(partial=True, **kwargs)


class IncidentQueryArgsSchema(QueryArgsSchema):
    """Filters (repeat a parameter to OR its values; different parameters are ANDed) and sort."""

    country = F.List(CountryCode(), metadata=_d("ISO 3166-1 alpha-2 code; repeatable."))
    platform = F.List(PlatformSlug(), metadata=_d("Platform slug or alias; repeatable."))
    shutdown_type = F.List(Enum(vocab.SHUTDOWN_TYPES), metadata=_d("Repeatable."))
    network = F.List(Enum(vocab.NETWORKS), metadata=_d("Repeatable."))
    status = F.List(Enum(vocab.STATUSES), metadata=_d("Repeatable."))
    scope = F.List(Enum(vocab.SCOPES), metadata=_d("Repeatable."))
    ordered_by = F.List(Enum(vocab.ORDERED_BY), metadata=_d("Repeatable."))
    actual_cause = F.List(Enum(vocab.ACTUAL_CAUSES), metadata=_d("Repeatable."))
    official_justification = F.List(Enum(vocab.JUSTIFICATIONS), metadata=_d("Repeatable."))
    acknowledgement_status = F.List(Enum(vocab.ACKNOWLEDGEMENT_STATUSES), metadata=_d("Repeatable."))
    litigation_status = F.List(Enum(vocab.LITIGATION_STATUSES), metadata=_d("Repeatable."))
    asn = F.List(Asn(), metadata=_d("AS number (`17557` or `AS17557`); repeatable."))
    active_from = IsoDate(
        metadata=_d("Incidents active on or after this date (ongoing ones are open-ended).")
    )
    active_to = IsoDate(metadata=_d("Incidents active on or before this date."))
    started_from = IsoDate(metadata=_d("Incidents that started on or after this date."))
    started_to = IsoDate(metadata=_d("Incidents that started on or before this date."))
    updated_since = F.AwareDateTime(
        default_timezone=UTC, metadata=_d("Incidents changed at or after this RFC 3339 timestamp.")
    )
    q = Str(
        validate=[ma.validate.Length(min=1, max=200)],
        metadata=_d(
            "Full-text search in title, description, area and decision maker: case-insensitive, "
            "every word must appear, each as a word or the start of one (`protest` finds "
            "`protesters`). Without `sort`, results come by relevance."
        ),
    )
    sort = Enum(
        vocab.INCIDENT_SORTS,
        metadata=_d(
            "Sort key; `-` for descending. Ties are broken by id. Default `-start_date` "
            "(by relevance when `q` is given)."
        ),
    )

    @ma.validates_schema
    def _ranges(self, data: dict, **kwargs: Any) -> None:
        for low, high in (("active_from", "active_to"), ("started_from", "started_to")):
            if data.get(low) and data.get(high) and data[high] < data[low]:
                raise ma.ValidationError(f"Must be on or after {low}.", high)


class IncidentListArgsSchema(IncidentQueryArgsSchema):
    """The list's filters and sort, and keyset paging."""

    after = Str(
        validate=[ma.validate.Length(min=1, max=500)],
        metadata=_d(
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


class RevisionSchema(Schema):
    """One entry of an incident's change history."""

    revision = F.Integer(metadata=_d("Revision number: 1 on create, +1 on every change."))
    action = F.String(metadata=_d("What happened.", enum=["create", "update", "delete", "restore"]))
    at = Timestamp(metadata=_d("When (UTC)."))
    actor = F.String(metadata=_d("Name of the API key that made the change, or `cli`."))
    changes = F.Dict(
        keys=F.String(),
        values=F.Dict(),
        metadata=_d(
            'Changed fields: `{"field": {"from": old, "to": new}}`; on create, every field '
            "with `from` null; delete and restore also show `deleted`."
        ),
    )
