"""Schemas of the bulk endpoints: CSV export, import, statistics."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from app.document.fields import Enum
from app.http.schemas import QueryArgsSchema
from app.resources.incidents.schemas import IncidentQueryArgsSchema
from app.services.importer import FORMATS, ON_CONFLICT, ON_ERROR
from app.services.stats import GROUPS

F = ma.fields


class IncidentCsvQueryArgsSchema(IncidentQueryArgsSchema):
    """The list's filters and sort, plus CSV options."""

    bom = F.Boolean(
        load_default=False,
        metadata={"description": "Start the file with a UTF-8 byte order mark, so Excel reads it as UTF-8."},
    )


class ImportArgsSchema(QueryArgsSchema):
    format = Enum(
        FORMATS,
        required=True,
        metadata={
            "example": "stop",
            "description": "`native`: the columns of GET /incidents.csv (a row with an `id` updates that "
            "incident, a row without one creates one). `stop`: Access Now's #KeepItOn STOP sheet.",
        },
    )
    dry_run = F.Boolean(
        load_default=False,
        metadata={
            "example": True,
            "description": "Report what would be created, updated, left unchanged or rejected, "
            "and write nothing.",
        },
    )
    on_error = Enum(
        ON_ERROR,
        load_default="abort",
        metadata={
            "description": "`abort` (default): one bad row and nothing is written "
            "(422 listing every bad row). "
            "`skip`: write the valid rows in one transaction and report the rejected ones."
        },
    )
    on_conflict = Enum(
        ON_CONFLICT,
        load_default="keep",
        metadata={
            "description": "What to do with a field an editor changed since the file last wrote it "
            "(STOP: since the sheet last wrote it, or that the sheet never wrote: an incident an "
            "editor made; native: since the row's `revision`, when the file changed it too). `keep` "
            "(default): leave it as stored and report it in `conflicts`. `sheet`: let the file's "
            "value win. Either way records the import did not bring (an editor's statements, court "
            "cases) stay, and no source is removed; a sheet's link an editor deleted is a conflict "
            "(`sources`), added back only with `sheet`."
        },
    )


class ImportFileSchema(ma.Schema):
    file = Upload(
        required=True,
        error_messages={
            "required": "Send the CSV file as multipart/form-data in a field named `file`, "
            "e.g. curl -F file=@incidents.csv."
        },
        metadata={
            "description": "The CSV file (UTF-8, comma-separated), e.g. the repository's "
            "`examples/stop-sample.csv` with `format=stop`."
        },
    )


class RowErrorSchema(ma.Schema):
    row = F.Integer(metadata={"description": "Row of the file as a spreadsheet numbers it (header = 1)."})
    column = F.String(metadata={"description": "Column at fault (`row` when the whole row is)."})
    message = F.String(metadata={"description": "What is wrong."})


class ConflictSchema(ma.Schema):
    row = F.Integer(metadata={"description": "Row of the file (its latest sheet's row for merged rows)."})
    incident = F.Integer(metadata={"description": "The incident left as stored."})
    field = F.String(metadata={"description": "The field (`acknowledgements`: the sheet's statements)."})
    stored = F.Raw(allow_none=True, metadata={"description": "The value kept (as the document shows it)."})
    sheet = F.Raw(allow_none=True, metadata={"description": "The value the sheet gives."})


class MergeSchema(ma.Schema):
    incident = F.Integer(
        metadata={"description": "The incident (its id; in a dry run, the id it would have)."}
    )
    rows = F.List(F.Integer(), metadata={"description": "The rows of the file that are this one shutdown."})


class ImportReportSchema(ma.Schema):
    format = F.String(metadata={"description": "The format read."})
    dry_run = F.Boolean(metadata={"description": "True when nothing was written on purpose."})
    on_error = F.String(metadata={"description": "`abort` or `skip`."})
    on_conflict = F.String(metadata={"description": "`keep` or `sheet`."})
    rows = F.Integer(metadata={"description": "Data rows read."})
    created = F.Integer(metadata={"description": "Incidents created (or that would be)."})
    updated = F.Integer(metadata={"description": "Incidents changed (or that would be)."})
    unchanged = F.Integer(metadata={"description": "Incidents already exactly as the file says."})
    merged = F.Integer(
        metadata={
            "description": "STOP rows that re-issue a shutdown of an earlier yearly sheet in the "
            "same file (same country and start date, same or overlapping area): the later row's "
            "values, the links of all (listed in `merges`)."
        }
    )
    rejected = F.Integer(metadata={"description": "Rows rejected."})
    errors = F.List(F.Nested(RowErrorSchema), metadata={"description": "Every problem found, by row."})
    conflicts = F.List(
        F.Nested(ConflictSchema),
        metadata={
            "description": "Fields an editor changed since the file last wrote them (STOP) or since "
            "the row's `revision` (native), and the file changed too: left as stored. With "
            "`on_conflict=sheet` the file's values were written: only dates, status, types or "
            "platforms that the cross-field rules kept as stored can be listed."
        },
    )
    merges = F.List(
        F.Nested(MergeSchema),
        metadata={"description": "STOP: rows of several yearly sheets recorded as one incident."},
    )
    notes = F.List(
        F.Nested(RowErrorSchema),
        metadata={
            "description": "Rows recorded with something to check, e.g. a territory without an ISO "
            "code recorded under the country that contains it."
        },
    )


class StatsQueryArgsSchema(IncidentQueryArgsSchema):
    group_by = Enum(
        GROUPS, required=True, metadata={"description": "What to group incidents by.", "example": "country"}
    )

    class Meta:
        exclude = ("sort",)


class StatsGroupSchema(ma.Schema):
    group = F.Raw(metadata={"description": "The group's value: country code, year, platform slug …"})
    country_name = F.String(
        allow_none=True, metadata={"description": "Country name (group_by=country only)."}
    )
    incidents = F.Integer(metadata={"description": "Incidents in the group."})
    ongoing = F.Integer(metadata={"description": "Of which ongoing."})
    incident_days = F.Integer(
        metadata={"description": "Sum of their durations in days (ongoing ones to today)."}
    )
    acknowledged = F.Integer(metadata={"description": "Of which acknowledged by the government."})
    in_court = F.Integer(metadata={"description": "Of which with at least one court case."})
    in_court_pending = F.Integer(metadata={"description": "Of which with a case still pending or appealed."})


class StatsSchema(ma.Schema):
    group_by = F.String(metadata={"description": "The grouping asked for."})
    groups = F.List(F.Nested(StatsGroupSchema), metadata={"description": "Groups, largest first."})
