"""RFC 9457 problem details: every error is `application/problem+json`, documented as such."""

from __future__ import annotations

import http
import logging
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import Flask, current_app, request
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import (
    Conflict,
    HTTPException,
    InternalServerError,
    ServiceUnavailable,
    UnprocessableEntity,
)

from app.db import db
from app.http.accesslog import redact_url
from app.http.jsonio import dumps
from app.services.incidents import RuleError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details (documentation only; errors are built in handle_http_exception)."""

    class Meta:
        # RFC 9457 §3.2: problem types may add members (an import's counts, say).
        unknown = ma.INCLUDE

    type = ma.fields.String(
        metadata={
            "description": "URI identifying the problem type; `about:blank` when the HTTP status says it all."
        }
    )
    title = ma.fields.String(metadata={"description": "Short summary of the problem type."})
    status = ma.fields.Integer(metadata={"description": "HTTP status code."})
    detail = ma.fields.String(metadata={"description": "What went wrong with this request."})
    errors = ma.fields.Raw(
        metadata={
            "description": "Validation errors keyed by location (`json`, `query`, `headers`, "
            "`files`, `form`) and then by field name, e.g. "
            '`{"query": {"country": ["Unknown country code \'XX\'."]}}` (a problem with a whole '
            "body is under `_body`). An import lists its bad rows instead: "
            '`[{"row": 3, "column": "country", "message": "…"}]`.'
        },
    )


def problem_response(body: dict, status: int, headers: dict | None = None):
    response = current_app.response_class(dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class ProblemHandlers:
    """Api part: error handlers that answer every error as a problem."""

    ERROR_SCHEMA = ProblemSchema
    # Headers that carry meaning for the client and must survive the error handler.
    KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")
    # Documentation added to the default response of a status (the 429's headers, say).
    RESPONSE_EXTRAS: dict[int, dict[str, Any]] = {}

    def register_problem_handlers(self, app: Flask) -> None:
        """The errors besides HTTPException (which flask-smorest registers) that are problems too."""
        app.register_error_handler(RuleError, self.handle_rule_error)
        app.register_error_handler(sa.exc.IntegrityError, self.handle_integrity_error)
        app.register_error_handler(sa.exc.OperationalError, self.handle_database_down)
        app.register_error_handler(sa.exc.TimeoutError, self.handle_database_down)
        app.register_error_handler(Exception, self.handle_unexpected)

    # Private: flask-smorest's only hook for the default responses, whose content type it fixes
    # to DEFAULT_RESPONSE_CONTENT_TYPE (that of the successful responses too).
    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_JSON)
            response.update(self.RESPONSE_EXTRAS.get(status, {}))
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        data = getattr(error, "data", None) or {}
        body = _problem_body(error, data)
        # Extension members (RFC 9457 §3.2), e.g. an import's counts next to its row errors.
        for name, value in (data.get("extra") or {}).items():
            body.setdefault(name, value)
        return problem_response(body, error.code, self._headers(error, data))

    def _headers(self, error: HTTPException, data: dict[str, Any]) -> dict[str, str]:
        kept = error.get_response().headers
        headers = {name: kept[name] for name in self.KEPT_HEADERS if name in kept}
        headers.update(data.get("headers") or {})
        return headers

    def handle_rule_error(self, error: RuleError):
        """A document that breaks a cross-field rule, found by the service layer."""
        db.session.rollback()
        exception = UnprocessableEntity()
        exception.data = {"messages": {"json": error.messages}}
        return self.handle_http_exception(exception)

    def handle_integrity_error(self, error: sa.exc.IntegrityError):
        """A write that lost a race with another (same slug, same key name…): 409, not 500."""
        db.session.rollback()
        log.info("integrity error: %s", error.orig.__class__.__name__)
        return self.handle_http_exception(
            Conflict("The change conflicts with data written meanwhile; read it again and retry.")
        )

    def handle_database_down(self, error: Exception):
        log.error("database unavailable: %s", error.__class__.__name__, exc_info=error)
        # Busy rather than down: SQLite's write lock held past busy_timeout, or no pooled
        # connection free within the pool's timeout. Worth a retry in a second.
        busy = isinstance(error, sa.exc.TimeoutError) or "database is locked" in str(
            getattr(error, "orig", "")
        )
        if busy:
            return self.handle_http_exception(
                ServiceUnavailable("The database is busy; try again in a moment.", retry_after=1)
            )
        return self.handle_http_exception(
            ServiceUnavailable("The database is unreachable; try again shortly.")
        )

    def handle_unexpected(self, error: Exception):
        if isinstance(error, HTTPException):
            return self.handle_http_exception(error)
        # The path can hold anything a client sent, a key included: logged redacted.
        log.exception("unhandled error on %s %s", request.method, redact_url(request.path))
        return self.handle_http_exception(
            InternalServerError("An unexpected error occurred; it has been logged.")
        )


class ProblemDocs:
    """Blueprint part: documents the problems a view can give."""

    def documents(self, *codes: int):
        """Document error responses (problem+json) a view can give besides the automatic ones."""

        def decorator(func):
            for code in codes:
                func = self.alt_response(code, response=http.HTTPStatus(code).name)(func)
            return func

        return decorator


def _problem_body(error: HTTPException, data: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": http.HTTPStatus(error.code).phrase,
        "status": error.code,
        "detail": data.get("message") or _detail_for(error),
    }
    errors = data.get("errors") or data.get("messages")
    if errors:
        if isinstance(errors, dict):
            errors = {location: _flatten_items(_by_field(fields)) for location, fields in errors.items()}
        body["errors"] = errors
        body["detail"] = data.get("message") or _summarise(errors)
    return body


def _detail_for(error: HTTPException) -> str:
    description = error.description or ""
    if description == type(error).description or not description:
        return {
            404: "No resource at this URL.",
            405: f"{request.method} is not allowed on this URL.",
        }.get(error.code, http.HTTPStatus(error.code).description)
    return description


def _by_field(fields: Any) -> Any:
    """Messages about a whole location (`["Invalid JSON body."]`) go under `_body`, so that every
    location maps field names to messages."""
    return {"_body": fields} if isinstance(fields, list) else fields


def _flatten_items(fields: Any) -> Any:
    """`{"country": {0: ["Unknown …"]}}` → `{"country": ["Unknown …"]}` for lists of scalars.

    Messages about list items already quote the bad value; errors inside lists of objects keep
    their index (`acknowledgements.1.actor`), which is what tells the user which object is wrong.
    """
    if not isinstance(fields, dict):
        return fields
    return {
        name: [message for messages in value.values() for message in messages]
        if _is_item_messages(value)
        else value
        for name, value in fields.items()
    }


def _is_item_messages(value: Any) -> bool:
    """Whether `value` maps list indexes to lists of messages (errors of a list of scalars)."""
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(index, int) for index in value)
        and all(_is_messages(messages) for messages in value.values())
    )


def _is_messages(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(message, str) for message in value)


def _summarise(errors: dict) -> str:
    parts = []
    for location, fields in errors.items():
        if isinstance(fields, dict):
            parts.extend(f"{location}.{name}" for name in fields)
        else:
            parts.append(location)
    return "Invalid input: " + ", ".join(parts[:20]) + "."
