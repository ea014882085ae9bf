"""The incident document, defined once: its fields in order, their types and limits.

Everything else derives from these schemas: the API's input and output (marshmallow), the
stored JSON and CSV copies and the export (app/document/build.py, app/services/csv_format.py),
the import's columns and the STOP converter's limits (`max_length`, `max_items`), and the
shape a stored copy is stamped with (app/document/shape.py). A new field of the incident is a
column of the model, a migration, one line here, and its tests.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app import vocab
from app.document.fields import (
    Asn,
    CountryCode,
    Day,
    Enum,
    HttpUrl,
    PlatformSlug,
    Str,
    StrictBoolean,
    Text,
    Timestamp,
    country_name,
)
from app.document.rules import incident_rule_errors

F = ma.fields


class Schema(ma.Schema):
    """Base schema: unknown fields are errors, read-only fields sent back from a GET are ignored."""

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def _drop_read_only(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        read_only = self.__dict__.get("_read_only")
        if read_only is None:  # once per instance (the parser keeps one per schema class)
            read_only = self._read_only = frozenset(n for n, f in self.fields.items() if f.dump_only)
        if not read_only.intersection(data):
            return data
        return {key: value for key, value in data.items() if key not in read_only}


def described(text: str, **extra: Any) -> dict[str, Any]:
    """A field's metadata: its description (and example …) as the OpenAPI document shows them."""
    return {"description": text, **extra}


def _name(max_length: int, text: str, example: str) -> Str:
    """A required, non-empty name: who spoke, which court."""
    return Str(
        required=True,
        max_length=max_length,
        validate=[ma.validate.Length(min=1)],
        metadata=described(text, example=example),
    )


def _unknown_by_default(values: tuple[str, ...], text: str) -> Enum:
    """One of `values`, `unknown` when not given."""
    return Enum(values, load_default="unknown", metadata=described(text))


def _provenance() -> F.String:
    """Where a record (the incident, a statement, a court case, a source) came from; read-only."""
    return F.String(
        dump_only=True,
        allow_none=True,
        metadata=described(
            "Where the record came from: `editor:<key name>`, `stop:<file name>#<row>` (a STOP "
            "sheet's row), `native:<file name>#<row>` (a native CSV import), `cli`, `seed:demo`, "
            "or `legacy:<actor>` / `legacy` (recorded before provenance was kept). An import "
            "never removes or replaces a record whose provenance is not its own.",
            example="stop:stop_combined_2016_2025.csv#395",
        ),
    )


def _provenance_at() -> Timestamp:
    return Timestamp(
        dump_only=True, allow_none=True, metadata=described("When the record came (UTC); null if unknown.")
    )


def _list(inner: ma.fields.Field, text: str, *, max_items: int = 100) -> F.List:
    return F.List(
        inner,
        load_default=list,
        validate=ma.validate.Length(max=max_items),
        metadata=described(text),
    )


# --------------------------------------------------------------------------- child records


class AcknowledgementSchema(Schema):
    id = F.Integer(dump_only=True, metadata=described("Server-assigned id."))
    actor = _name(300, "Who spoke, e.g. `Ministry of Interior`.", "Ministry of Interior")
    actor_type = Enum(
        vocab.ACTOR_TYPES,
        load_default="government",
        metadata=described(
            "Kind of actor; only `government` statements set the incident's acknowledgement status."
        ),
    )
    stance = Enum(
        vocab.STANCES, required=True, metadata=described("Whether the statement admits or denies the block.")
    )
    date = Day(allow_none=True, load_default=None, metadata=described("When it was said or filed."))
    channel = Enum(vocab.CHANNELS, allow_none=True, load_default=None, metadata=described("How it was said."))
    justification = Enum(
        vocab.JUSTIFICATIONS,
        allow_none=True,
        load_default=None,
        metadata=described("Justification the statement gives."),
    )
    quote = Text(max_length=20000, metadata=described("The words used."))
    source_url = HttpUrl(
        allow_none=True,
        load_default=None,
        metadata=described("Where the statement can be read (http/https)."),
    )
    provenance = _provenance()
    provenance_at = _provenance_at()


class LegalCaseSchema(Schema):
    id = F.Integer(dump_only=True, metadata=described("Server-assigned id."))
    court = _name(300, "Court hearing the case.", "Islamabad High Court")
    case_number = Text(max_length=200, metadata=described("Court's case or petition number."))
    filed_on = Day(allow_none=True, load_default=None, metadata=described("When the case was filed."))
    petitioners = Text(max_length=5000, metadata=described("Who brought the case."))
    respondents = Text(max_length=5000, metadata=described("Who answers it."))
    status = Enum(vocab.CASE_STATUSES, load_default="pending", metadata=described("Where the case stands."))
    ruling_on = Day(
        allow_none=True, load_default=None, metadata=described("Date of the ruling; not before `filed_on`.")
    )
    ruling_summary = Text(max_length=20000, metadata=described("What the court decided or ordered."))
    next_hearing_on = Day(allow_none=True, load_default=None, metadata=described("Next scheduled hearing."))
    source_url = HttpUrl(
        allow_none=True, load_default=None, metadata=described("Court document or report (http/https).")
    )
    provenance = _provenance()
    provenance_at = _provenance_at()

    @ma.validates_schema
    def _ruling_after_filing(self, data: dict, **kwargs: Any) -> None:
        filed, ruling = data.get("filed_on"), data.get("ruling_on")
        if filed and ruling and ruling < filed:
            raise ma.ValidationError("Must be on or after filed_on.", "ruling_on")


class SourceSchema(Schema):
    id = F.Integer(dump_only=True, metadata=described("Server-assigned id."))
    url = HttpUrl(required=True, metadata=described("Evidence URL (http/https)."))
    title = Text(max_length=500, metadata=described("Headline or title."))
    publisher = Text(max_length=200, metadata=described("Who published it."))
    published_on = Day(allow_none=True, load_default=None, metadata=described("Publication date."))
    kind = Enum(vocab.SOURCE_KINDS, load_default="other", metadata=described("Kind of evidence."))
    archived_url = HttpUrl(
        allow_none=True, load_default=None, metadata=described("Archived copy (http/https).")
    )
    provenance = _provenance()
    provenance_at = _provenance_at()


class EmptyList(F.List):
    """A list that is `[]`, never null, when nothing is stored (a column older rows lack)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize(value or [], attr, obj, **kwargs)


class StopRowSchema(Schema):
    """One STOP sheet row merged into an incident, with the cells no field holds as written."""

    sheet = F.String(metadata=described("File name of the sheet."))
    row = F.Integer(metadata=described("Row of the sheet as a spreadsheet numbers it (header = 1)."))
    count_year = F.Integer(allow_none=True, metadata=described("The sheet's `count_year`."))
    cells = F.Dict(
        keys=F.String(),
        values=F.String(),
        metadata=described(
            "The row's non-empty cells that no field of the incident holds as written, by column "
            "(`info_source`, `region`, `users_notified`, a platform flag of `Unknown`, …)."
        ),
    )


def _inline(schema: type[Schema], name: str) -> type[Schema]:
    """The same child schema with a writable `id`, to keep or update an existing child in place."""
    return type(
        name,
        (schema,),
        {
            "id": F.Integer(
                strict=True,
                allow_none=True,
                load_default=None,
                metadata=described(
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

    id = F.Integer(dump_only=True, metadata=described("Server-assigned id."))
    title = Str(
        required=True,
        validate=[ma.validate.Length(min=1, max=200)],
        metadata=described("Short title.", example="X blocked nationwide after the election"),
    )
    description = Text(max_length=50000, metadata=described("Narrative of what happened."))
    country = CountryCode(
        required=True, metadata=described("ISO 3166-1 alpha-2 code (any case on input).", example="PK")
    )
    country_name = F.Function(
        lambda incident: country_name(incident.country),
        dump_only=True,
        metadata=described("English short name of the country.", type="string"),
    )
    area = Text(
        max_length=500, metadata=described("Affected area, e.g. `Nationwide` or `Wana, South Waziristan`.")
    )
    scope = _unknown_by_default(vocab.SCOPES, "Geographic scope.")
    shutdown_types = F.List(
        Enum(vocab.SHUTDOWN_TYPES),
        required=True,
        validate=ma.validate.Length(min=1, max=3),
        metadata=described("What was cut: at least one of the listed types."),
    )
    networks = _list(Enum(vocab.NETWORKS), "Networks affected.", max_items=2)
    platforms = _list(
        PlatformSlug(),
        "Platform slugs; aliases accepted (`twitter` → `x`). "
        "Required when `shutdown_types` has `service_based`.",
    )
    start_date = Day(required=True, metadata=described("First day of the incident."))
    start_date_estimated = StrictBoolean(
        load_default=False, metadata=described("True when the start date is an estimate.")
    )
    end_date = Day(
        allow_none=True,
        load_default=None,
        metadata=described("Last day; null while ongoing or unknown. Not before `start_date`."),
    )
    status = Enum(
        vocab.STATUSES,
        metadata=described(
            "Defaults to `ended` when `end_date` is set, else `ongoing`; an `end_date` requires `ended`."
        ),
    )
    duration_days = F.Integer(
        dump_only=True,
        allow_none=True,
        metadata=described(
            "Inclusive days from start to end (to today while ongoing); null when ended or unknown "
            "without an end date."
        ),
    )
    ordered_by = _unknown_by_default(vocab.ORDERED_BY, "Who ordered it.")
    decision_maker = Text(max_length=500, metadata=described("e.g. `Ministry of Interior`."))
    actual_cause = _unknown_by_default(vocab.ACTUAL_CAUSES, "What actually prompted it.")
    actual_cause_details = Text(max_length=20000, metadata=described("Details of the cause."))
    official_justification = _unknown_by_default(vocab.JUSTIFICATIONS, "Reason the authorities gave.")
    justification_details = Text(max_length=20000, metadata=described("Details of the justification."))
    legal_basis = _unknown_by_default(vocab.TRI_STATE, "Was a legal basis cited?")
    legal_basis_details = Text(max_length=20000, metadata=described("Which law or order."))
    election_related = _unknown_by_default(vocab.TRI_STATE, "Related to an election?")
    violence_reported = _unknown_by_default(vocab.TRI_STATE, "Violence reported?")
    human_rights_abuse_reported = _unknown_by_default(vocab.TRI_STATE, "Human rights abuses reported?")
    asns = _list(Asn(), 'Affected networks\' AS numbers (0–4294967295); `"AS17557"` accepted.', max_items=500)
    telcos = _list(Str(validate=[ma.validate.Length(min=1, max=200)]), "Operators involved.", max_items=200)
    acknowledgement_status = F.String(
        dump_only=True,
        metadata=described(
            "`acknowledged` if any government statement acknowledges the incident, else `denied` if any "
            "denies it, else `none`.",
            enum=list(vocab.ACKNOWLEDGEMENT_STATUSES),
        ),
    )
    acknowledged_on = F.Date(
        dump_only=True,
        allow_none=True,
        metadata=described("Date of the earliest government acknowledgement."),
    )
    acknowledgement_delay_days = F.Integer(
        dump_only=True,
        allow_none=True,
        metadata=described(
            "Days from `start_date` to `acknowledged_on` (negative when announced in advance)."
        ),
    )
    litigation_status = F.String(
        dump_only=True,
        metadata=described(
            "`none` (no cases), `pending` (any case pending or appealed), `concluded`.",
            enum=list(vocab.LITIGATION_STATUSES),
        ),
    )
    acknowledgements = F.List(
        F.Nested(InlineAcknowledgementSchema),
        load_default=list,
        validate=ma.validate.Length(max=200),
        metadata=described("Official statements."),
    )
    legal_cases = F.List(
        F.Nested(InlineLegalCaseSchema),
        load_default=list,
        validate=ma.validate.Length(max=200),
        metadata=described("Court cases."),
    )
    sources = F.List(
        F.Nested(InlineSourceSchema),
        load_default=list,
        validate=ma.validate.Length(max=500),
        metadata=described("Evidence."),
    )
    stop_rows = EmptyList(
        F.Nested(StopRowSchema),
        dump_only=True,
        metadata=described(
            "The STOP sheet rows this incident was imported from (every re-issue of it in a later "
            "yearly sheet), each with the cells that no other field holds as written."
        ),
    )
    provenance = _provenance()
    provenance_at = _provenance_at()
    created_at = Timestamp(dump_only=True, metadata=described("When the incident was recorded (UTC)."))
    updated_at = Timestamp(dump_only=True, metadata=described("Last change, children included (UTC)."))
    revision = F.Integer(
        dump_only=True, metadata=described("1 on create, +1 on every change (children included).")
    )

    @ma.validates_schema
    def _rules(self, data: dict, partial: Any = None, **kwargs: Any) -> None:
        if partial:
            return  # PATCH checks the rules on the merged document instead
        errors = incident_rule_errors(data)
        if errors:
            raise ma.ValidationError(errors)


# --------------------------------------------------------------------------- limits, read from the definition


def _length_limit(validators: list[Any]) -> int | None:
    maxima = [v.max for v in validators if isinstance(v, ma.validate.Length) and v.max is not None]
    return min(maxima) if maxima else None


def max_length(schema: type[ma.Schema], name: str) -> int:
    """The most characters a text field of `schema` takes (a list of texts: each item's)."""
    field = schema().fields[name]
    if isinstance(field, ma.fields.List):
        field = field.inner
    limit = _length_limit(field.validators)
    assert limit is not None, f"{schema.__name__}.{name} has no length limit"
    return limit


def max_items(schema: type[ma.Schema], name: str) -> int:
    """The most items a list field of `schema` takes."""
    limit = _length_limit(schema().fields[name].validators)
    assert limit is not None, f"{schema.__name__}.{name} has no item limit"
    return limit
