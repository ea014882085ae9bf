"""Schemas of the bulk endpoints: CSV export, import, statistics."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from app.document.fields import Enum
from app.http.schemas import QueryArgsSchema
from app.resources.incidents.schemas import IncidentQueryArgsSchema
from app.services.importer import FORMATS, ON_ERROR
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


class ImportReportSchema(ma.Schema):
    format = F.String(metadata={"description": "The format read."})
    dry_run = F.Boolean(metadata={"description": "True when nothing was written on purpose."})
    on_error = F.String(metadata={"description": "`abort` or `skip`."})
    rows = F.Integer(metadata={"description": "Data rows read."})
    created = F.Integer(metadata={"description": "Incidents created (or that would be)."})
    updated = F.Integer(metadata={"description": "Incidents changed (or that would be)."})
    unchanged = F.Integer(metadata={"description": "Incidents already exactly as the file says."})
    merged = F.Integer(
        metadata={
            "description": "STOP rows that re-issue an incident of an earlier "
            "yearly sheet in the same file (the later row wins)."
        }
    )
    rejected = F.Integer(metadata={"description": "Rows rejected."})
    errors = F.List(F.Nested(RowErrorSchema), metadata={"description": "Every problem found, by row."})


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
