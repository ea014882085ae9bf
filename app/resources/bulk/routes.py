"""Bulk endpoints: CSV export, CSV import (native and STOP), statistics."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, request, stream_with_context
from flask.views import MethodView
from flask_smorest import abort

from app.db import db, read_only
from app.document.fields import country_name
from app.document.shape import current_shape
from app.fast.stored import WITH_STORED, csv_chunk, export_column
from app.http import as_of as as_of_http
from app.http.api import Blueprint
from app.http.etags import etag_for
from app.http.guards import require_multipart
from app.resources.bulk.schemas import (
    ImportArgsSchema,
    ImportFileSchema,
    ImportReportSchema,
    IncidentCsvQueryArgsSchema,
    StatsQueryArgsSchema,
    StatsSchema,
)
from app.services import aggregates, csv_format, import_rows, importer, uploads
from app.services import as_of as as_of_service
from app.services import incidents as incident_service
from app.services import stats as stats_service
from app.services.streaming import read_ahead, read_values

blp = Blueprint("bulk", __name__, url_prefix="/api/v1", description="CSV export and import, statistics.")

EXPORT_BATCH = 2000


def export_chunks(args: dict[str, Any]) -> Iterator[bytes]:
    """The export's CSV rows as UTF-8, in chunks of EXPORT_BATCH incidents: their stored rows
    finished by the database (app/fast/stored.py), streamed by binary COPY on PostgreSQL
    (services/streaming.py), so memory stays flat and no child table is read.

    Read ahead in a thread of its own: the database produces the next chunk while this one is
    sent. The stream outlives the request (whose teardown closes the request's session), so it
    reads through a session of its own, closed when it ends; a second one, connected only if
    needed, builds the rows of incidents that have no stored copy (the first is busy streaming).
    """
    session, builder = db.new_session(), db.new_session()
    dialect = db.engine.dialect.name
    statement = incident_service.list_incidents(args, dialect, (export_column(dialect),), WITH_STORED)

    def chunks() -> Iterator[bytes]:
        # Runs in the reading thread, outside the request: its transactions are reads all the
        # same (on SQLite an export must not hold the write lock while it streams).
        try:
            with read_only():
                for lines in read_values(session.connection(), statement, EXPORT_BATCH):
                    yield csv_chunk(builder, lines)
        finally:
            session.close()
            builder.close()

    return read_ahead(chunks(), name="csv-export")


def as_of_chunks(moment: as_of_service.Moment, countries: list[str]) -> Iterator[bytes]:
    """The export as of a moment, in chunks of EXPORT_BATCH incidents, read ahead in a thread
    of its own (as `export_chunks`) through a connection of its own."""
    engine = db.engine

    def chunks() -> Iterator[bytes]:
        with read_only(), engine.connect() as connection:
            yield from as_of_service.csv_chunks(connection, moment, countries, EXPORT_BATCH)

    return read_ahead(chunks(), name="csv-export-as-of")


def _as_of_export(args: dict[str, Any], bom: bool) -> Response:
    """The export as of a moment: the same bytes every time, so its ETag is known before the
    first byte (from what decides them: the moment, the last change, the filters, the columns)."""
    moment = as_of_http.resolve(args["as_of"])
    countries = sorted(args.get("country", ()))
    headers = as_of_http.headers(moment)
    etag = etag_for([headers, countries, bom, csv_format.HEADER, current_shape()])
    if request.if_none_match.contains_weak(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"', **headers})
    chunks = as_of_chunks(moment, countries)
    first = next(chunks, None)
    body = csv_format.stream_csv(itertools.chain([] if first is None else [first], chunks), bom=bom)
    day = headers["As-Of"].replace(":", "")
    headers["Content-Disposition"] = f'attachment; filename="incidents-as-of-{day}.csv"'
    response = Response(stream_with_context(body), mimetype="text/csv", headers=headers)
    response.set_etag(etag)
    response.call_on_close(chunks.close)
    return response


@blp.route("/incidents.csv")
class IncidentsCsvViews(MethodView):
    @blp.bulk_work
    @blp.arguments(IncidentCsvQueryArgsSchema, location="query")
    @blp.alt_response(
        200,
        success=True,
        content_type="text/csv",
        schema={"type": "string"},
        description="RFC 4180 CSV, UTF-8, one incident per row, columns in the documented order.",
        headers={
            "Content-Disposition": {
                "description": 'attachment; filename="incidents-YYYY-MM-DD.csv" (with `as_of`: '
                '"incidents-as-of-YYYY-MM-DDTHHMMSSZ.csv")',
                "schema": {"type": "string"},
            },
            "ETag": {
                "description": "With `as_of`: the file's validator, the same every time it is asked for.",
                "schema": {"type": "string"},
            },
            **as_of_http.HEADERS,
        },
    )
    @blp.documents(304, 400)
    @blp.doc(operationId="exportIncidentsCsv")
    def get(self, args: dict[str, Any]):
        """Export incidents as CSV

        Same filters and sort as the list, no pagination; streamed. Multi-valued fields are
        joined with `; `, source URLs with ` ; `; statements, court cases and sources travel
        whole as JSON in their own columns so that the file imports back without loss. Text
        cells a spreadsheet would run as a formula are prefixed with `'`. With `as_of`, the
        incidents as they stood at that moment, by id: the same bytes every time.
        """
        bom = args.pop("bom", False)
        if args.get("as_of") is not None:
            return _as_of_export(args, bom)
        chunks = export_chunks(args)
        # Run the query now: a failure becomes a problem response, not a truncated 200.
        first = next(chunks, None)
        body = csv_format.stream_csv(itertools.chain([] if first is None else [first], chunks), bom=bom)
        filename = f"incidents-{datetime.now(UTC).date().isoformat()}.csv"
        response = Response(
            stream_with_context(body),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
        # However the response ends (sent, or the client gone), the reading thread stops and
        # its connection goes back to the pool.
        response.call_on_close(chunks.close)
        return response


def _refuse_foreign_separator(header_line: str) -> None:
    """A file saved with `;` or tabs (many spreadsheets' "CSV") is a 422 saying how to re-save it."""
    problem = import_rows.separator_problem(header_line)
    if problem is not None:
        abort(422, message=problem, errors={"files": {"file": [problem]}})


@blp.route("/incidents/import")
class IncidentsImportViews(MethodView):
    @blp.auth("editor")
    @require_multipart
    @blp.bulk_work
    @blp.arguments(ImportArgsSchema, location="query")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(200, ImportReportSchema)
    @blp.documents(400, 413, 415, 422)
    def post(self, args: dict[str, Any], files: dict[str, Any]):
        """Import incidents from a CSV file

        All or nothing by default: any bad row and nothing is written (422 with every bad row).
        `on_error=skip` writes the valid rows in one transaction and reports the others;
        `dry_run=true` only reports. The response always carries the counts. A re-import changes
        only what the sheet owns: fields an editor changed are kept and listed in `conflicts`
        (unless `on_conflict=sheet`), records an editor added stay. A native row exported at an
        older revision than its incident's is merged field by field with that revision: what
        only the file changed is written, what an editor changed is kept. A file of more data rows
        than the server takes at once (`IMPORT_MAX_ROWS`) is a 413: split it. A column named
        twice in the header is a 422, and so is a body with more than one `file`.
        """
        if len(request.files.getlist("file")) > 1:
            # Only one would be read: the others would be left out without a word.
            problem = "Send one file per import: the body has more than one field named `file`."
            abort(422, message=problem, errors={"files": {"file": [problem]}})
        upload, max_rows = files["file"], current_app.config["IMPORT_MAX_ROWS"]
        stream = upload.stream
        try:
            _refuse_foreign_separator(next(uploads.utf8_lines(stream), ""))
            stream.seek(0)
            # Counted first (the upload is spooled to disk by then): a file over the cap, or not
            # UTF-8, costs a read, not the import of its first rows.
            import_rows.count_rows(uploads.utf8_lines(stream), max_rows)
            stream.seek(0)
            report = importer.run_import(
                db.session,
                uploads.utf8_lines(stream),
                fmt=args["format"],
                dry_run=args["dry_run"],
                on_error=args["on_error"],
                on_conflict=args["on_conflict"],
                sheet=import_rows.sheet_name(upload.filename),
                max_rows=max_rows,
            )
        except import_rows.TooManyRows as error:
            abort(
                413,
                message=f"The file has more than {error.limit:,} data rows, the most one import takes "
                f"(IMPORT_MAX_ROWS): split it into files of at most {error.limit:,} rows, each with "
                "the header row, and import them one after the other. Nothing was written.",
            )
        except uploads.UnreadableFile as error:
            abort(422, message=str(error), errors={"files": {"file": [error.short]}})
        body = ImportReportSchema().dump(report)
        if report.refused:
            if any(error.row == 1 for error in report.errors):
                abort(422, message="The header row is invalid; nothing was written.", extra=body)
            abort(422, message=f"{report.rejected} row(s) are invalid; nothing was written.", extra=body)
        return body


@blp.route("/stats")
class StatsViews(MethodView):
    @blp.etag
    @blp.arguments(StatsQueryArgsSchema, location="query")
    @blp.response(200, StatsSchema, headers=as_of_http.HEADERS)
    @blp.documents(400)
    @blp.doc(operationId="getStats")
    def get(self, args: dict[str, Any]):
        """Count incidents by country, year, platform, shutdown type, cause or justification

        Same filters as the list. An incident naming two platforms counts in both groups.
        `group_by=platform` answers "which services were blocked": a full-network shutdown
        (one that is not also service-based) cuts SMS and voice calls by itself, so its `sms`
        and `voice-calls` flags, kept on the incident, are not counted as blocks there. The
        filters match the incident's fields as they are (`platform=sms` selects every incident
        that names SMS), as on the list. With `as_of`, the same figures over the incidents as they
        stood at that moment.
        """
        group_by, headers = args["group_by"], {}
        if args.get("as_of") is not None:
            moment = as_of_http.resolve(args["as_of"])
            with as_of_http.reading() as connection:
                documents = as_of_service.documents(connection, moment, args.get("country", ()))
                groups = as_of_service.stats(documents, group_by)
            headers = as_of_http.headers(moment)
        else:
            # One grouped query over every matching incident: cached until the data changes.
            key = aggregates.args_key("stats", args)
            filters = {name: value for name, value in args.items() if name != "group_by"}
            compute = lambda: stats_service.stats(db.session, group_by, filters)  # noqa: E731
            groups = aggregates.cached(db.session, key, compute)
        if group_by == "country":
            groups = [{**group, "country_name": country_name(group["group"])} for group in groups]
        return {"group_by": group_by, "groups": groups}, 200, headers
