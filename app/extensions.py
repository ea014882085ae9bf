"""flask-smorest plumbing in one place: Api, Blueprint, Schema bases, pager, ETags, errors, JSON."""

from __future__ import annotations

import hashlib
import http
import json
import logging
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import marshmallow as ma
import orjson
import sqlalchemy as sa
from apispec import BasePlugin
from flask import Flask, Response, g, request
from flask.json.provider import JSONProvider
from flask_smorest import Api as BaseApi
from flask_smorest import Blueprint as BaseBlueprint
from flask_smorest import Page, abort
from flask_smorest.etag import _get_etag_ctx
from flask_smorest.exceptions import NotModified, PreconditionFailed, PreconditionRequired
from flask_smorest.utils import prepare_response
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import (
    Conflict,
    HTTPException,
    InternalServerError,
    ServiceUnavailable,
    UnprocessableEntity,
)

from app.db import db
from app.document.schema import Schema  # noqa: F401  (the base of every body schema)
from app.services import auth as auth_service
from app.services import revisions
from app.services.documents import JSON_OPTIONS
from app.services.incidents import RuleError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
LOCATION_HEADER = {"Location": {"description": "URL of the new resource.", "schema": {"type": "string"}}}


class OrjsonProvider(JSONProvider):
    """orjson with sorted keys, so equal documents give equal bytes (and equal ETags)."""

    OPTIONS = JSON_OPTIONS

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        option = self.OPTIONS | (orjson.OPT_INDENT_2 if kwargs.get("indent") else 0)
        return orjson.dumps(obj, option=option, default=_default).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any):
        obj = self._prepare_response_obj(args, kwargs)
        body = orjson.dumps(obj, option=self.OPTIONS, default=_default)
        return self._app.response_class(body, mimetype="application/json")


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


# --------------------------------------------------------------------------- schemas


class QueryArgsSchema(ma.Schema):
    """Query-string schema: a typo such as `contry=PK` is a 422, never a silently unfiltered list."""

    # Parsed by the pagination decorator, documented there.
    PAGINATION_KEYS = ("page", "page_size")

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def _skip_pagination(self, data: Any, **kwargs: Any) -> Any:
        # webargs hands over a MultiDictProxy whose get() already returns lists for List fields.
        if any(key in data for key in self.PAGINATION_KEYS):
            return {key: data.get(key) for key in data if key not in self.PAGINATION_KEYS}
        return data


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


# --------------------------------------------------------------------------- pager

NEXT_CURSOR_HEADER = "X-Next-Cursor"


class SelectPage(Page):
    """Pages a SQLAlchemy 2 `select()`; the select must already carry a total `order_by`."""

    @property
    def item_count(self) -> int:
        # count(*) over the same FROM and WHERE, not over a subquery of every selected column:
        # the database can then answer from an index alone.
        count = self.collection.order_by(None).with_only_columns(sa.func.count(), maintain_column_froms=True)
        # Through the session's connection: a Core statement needs none of the ORM's execution.
        return db.session.connection().scalar(count)

    @property
    def items(self) -> list[Any]:
        params = self.page_params
        if params.first_item >= (params.item_count or 0):
            return []  # past the end: no query (and no OFFSET too large for the database)
        stmt = self.collection.offset(params.first_item).limit(params.page_size)
        return self.convert(db.session.execute(stmt))

    def convert(self, result: sa.Result) -> list[Any]:
        """Rows → items; by default the ORM objects of a `select(Model)`."""
        return list(result.scalars())


# --------------------------------------------------------------------------- parser


class Parser(FlaskParser):
    """webargs' Flask parser reading JSON with orjson: its depth limit (1,024) and number checks
    turn a 10,000-deep or 5,000-digit body into a 400 instead of a RecursionError."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as error:
            if data and not error.doc:
                # orjson gives bytes that are not UTF-8 an empty `doc`, which webargs reads as
                # "no body at all": such a PATCH changed nothing and answered 200 (the contract
                # fuzzer's find). A decoding error is a 400 "Invalid JSON body".
                raise UnicodeDecodeError("utf-8", data, error.pos, error.pos + 1, error.msg) from error
            raise

    def _get_schema(self, argmap: Any, req: Any) -> ma.Schema:
        # flask-smorest hands schema classes over; webargs would build (and deep-copy the fields
        # of) a new instance on every request, a sixth of a list request's time. Loading keeps
        # no state on the instance, so one per class serves every request and thread.
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            schema = _SCHEMAS.get(argmap)
            if schema is None:
                schema = _SCHEMAS.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)


_SCHEMAS: dict[type, ma.Schema] = {}


# --------------------------------------------------------------------------- blueprint


class Blueprint(BaseBlueprint):
    """Blueprint with strict conditional requests, weak If-None-Match, and RFC 8288 Link headers."""

    # unknown=None: each schema's Meta.unknown decides (RAISE), also for the query string,
    # where webargs would otherwise EXCLUDE unknown parameters.
    ARGUMENTS_PARSER = Parser(unknown=None)
    PAGINATION_ARGUMENTS_PARSER = Parser()

    def auth(self, role: str):
        """Require an API key of `role` (or higher); documents the bearer scheme, 401 and 403."""

        def decorator(func):
            @wraps(func)
            def wrapper(*args: Any, **kwargs: Any):
                caller = authenticate()
                if not caller.may(role):
                    abort(
                        403,
                        message=f"This needs an {role} key; the key '{caller.name}' is an {caller.role} key.",
                    )
                return func(*args, **kwargs)

            wrapper = self.documents(401, 403)(wrapper)
            return self.doc(security=[{BEARER: []}])(wrapper)

        return decorator

    def documents(self, *codes: int):
        """Document error responses (problem+json) a view can give besides the automatic ones."""

        def decorator(func):
            for code in codes:
                func = self.alt_response(code, response=http.HTTPStatus(code).name)(func)
            return func

        return decorator

    def requires_incident_etag(self, func):
        """Document that a write on a child record needs the parent incident's ETag in If-Match."""
        func = self.documents(412, 428)(func)
        return self.doc(parameters=["IF_MATCH"])(func)

    def check_incident_etag(self, incident_dump: Any) -> None:
        """For writes on a child record (a POST too): 428 without If-Match, 412 unless it carries
        the parent incident's current ETag."""
        self._require_if_match()
        self.check_etag(incident_dump)

    @staticmethod
    def _require_if_match() -> None:
        if not request.if_match or request.if_match.star_tag:
            # `If-Match: *` would skip the lost-update check, so it does not count.
            raise PreconditionRequired(
                "Send the incident's current ETag in If-Match (read it with GET); `*` is not accepted."
            )

    def _check_precondition(self) -> None:
        if request.method in self.METHODS_NEEDING_CHECK_ETAG:
            self._require_if_match()

    def check_etag(self, etag_data: Any, etag_schema: Any = None) -> None:
        if etag_schema is not None:
            etag_data = (etag_schema() if isinstance(etag_schema, type) else etag_schema).dump(etag_data)
        _get_etag_ctx()["etag_checked"] = True
        if not request.if_match.contains(self._generate_etag(etag_data)):
            raise PreconditionFailed(
                "The resource changed since you read it: GET it again, re-apply your change "
                "and send the new ETag in If-Match."
            )

    def _check_not_modified(self, etag: str) -> None:
        # Proxies weaken validators (W/"…"); weak comparison is what If-None-Match calls for.
        if request.method in self.METHODS_CHECKING_NOT_MODIFIED and request.if_none_match.contains_weak(etag):
            raise NotModified(response=Response(status=304, headers={"ETag": f'"{etag}"'}))

    @staticmethod
    def _generate_etag(etag_data: Any, extra_data: Any = None) -> str:
        if extra_data:
            etag_data = (etag_data, extra_data)
        payload = orjson.dumps(etag_data, option=OrjsonProvider.OPTIONS, default=_default)
        return hashlib.blake2b(payload, digest_size=16).hexdigest()

    def _set_pagination_metadata(self, page_params, result, headers):
        cursor = g.get("next_cursor")
        if g.get("page_after") is not None:
            # Keyset paging knows the total, not the page number: no page fields, no prev/last.
            headers = {} if headers is None else headers
            headers[self.PAGINATION_HEADER_NAME] = json.dumps({"total": page_params.item_count or 0})
            headers["Link"] = _cursor_link_header(cursor)
        else:
            result, headers = super()._set_pagination_metadata(page_params, result, headers)
            if page_params.item_count is not None:
                headers["Link"] = _link_header(page_params)
        if cursor is not None:
            headers[NEXT_CURSOR_HEADER] = cursor
        return result, headers

    @staticmethod
    def _make_pagination_metadata(page: int, page_size: int, item_count: int) -> dict[str, int]:
        """flask-smorest's metadata, without a PaginationMetadataSchema built to dump these
        integers as they are (a tenth of a page's time in the app)."""
        if item_count == 0:
            return {"total": 0, "total_pages": 0}
        last_page = (item_count - 1) // page_size + 1
        metadata = {"total": item_count, "total_pages": last_page, "first_page": 1, "last_page": last_page}
        if page <= last_page:
            metadata["page"] = page
            if page > 1:
                metadata["previous_page"] = page - 1
            if page < last_page:
                metadata["next_page"] = page + 1
        return metadata

    def _document_pagination_metadata(self, spec, resp_doc):
        resp_doc.setdefault("headers", {})
        # A header value is a string: document it as one, holding JSON.
        resp_doc["headers"][self.PAGINATION_HEADER_NAME] = {
            "description": "JSON object with the totals: `total`, `total_pages`, `first_page`, "
            "`last_page`, `page`, `previous_page`, `next_page`.",
            "schema": {"type": "string"},
        }
        resp_doc["headers"]["Link"] = {
            "description": "RFC 8288 links to the `first`, `prev`, `next` and `last` pages, "
            "with the same filters (with `after`: `first` and `next`).",
            "schema": {"type": "string"},
        }
        resp_doc["headers"][NEXT_CURSOR_HEADER] = {
            "description": "When more incidents follow: the `after` value that gives the next page "
            "(keyset paging; not for a search ordered by relevance).",
            "schema": {"type": "string"},
        }


# --------------------------------------------------------------------------- authentication

BEARER = "bearerAuth"
REALM = 'Bearer realm="shutdown-tracker"'


def caller_or_none() -> auth_service.Caller | None:
    """The caller of a request with a valid key, else None (cached on `g`; never raises)."""
    if "caller" not in g:
        g.caller = None
        g.caller_error = None
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, key = header.partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                g.caller_error = "Use `Authorization: Bearer <api key>`."
            else:
                try:
                    api_key = auth_service.verify(db.session, key)
                except auth_service.KeyError_ as error:
                    g.caller_error = str(error)
                else:
                    g.caller = auth_service.Caller(api_key.name, api_key.role)
                    if auth_service.mark_used(api_key):
                        db.session.commit()
    return g.caller


def authenticate() -> auth_service.Caller:
    caller = caller_or_none()
    if caller is None:
        error = g.get("caller_error")
        challenge = REALM + (', error="invalid_token"' if error else "")
        abort(
            401,
            message=error or "This needs an API key: send `Authorization: Bearer <api key>`.",
            headers={"WWW-Authenticate": challenge},
        )
    revisions.set_actor(db.session, caller.name)
    return caller


def _cursor_link_header(cursor: str | None) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "after")]
    links = [f'<{request.base_url}?{urlencode(args)}>; rel="first"']
    if cursor is not None:
        links.append(f'<{request.base_url}?{urlencode([*args, ("after", cursor)])}>; rel="next"')
    return ", ".join(links)


def _link_header(page_params) -> str:
    size = page_params.page_size
    last = max((page_params.item_count - 1) // size + 1, 1)
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]

    def url(page: int) -> str:
        return f"{request.base_url}?{urlencode([*args, ('page', page)])}"

    links = [("first", 1)]
    if 1 < page_params.page <= last + 1:
        links.append(("prev", page_params.page - 1))
    if page_params.page < last:
        links.append(("next", page_params.page + 1))
    links.append(("last", last))
    return ", ".join(f'<{url(page)}>; rel="{rel}"' for rel, page in links)


# --------------------------------------------------------------------------- api and errors


RATE_LIMIT_HEADERS = {
    "Retry-After": "Seconds until this bucket's window resets (on a 429 only).",
    "X-RateLimit-Limit": "Requests allowed in the window of this caller's bucket.",
    "X-RateLimit-Remaining": "Requests left in the current window.",
    "X-RateLimit-Reset": "When the window resets, in Unix seconds.",
}


class RateLimitedPlugin(BasePlugin):
    """Every operation under /api/ is rate limited (app/limits.py): each documents its 429."""

    METHODS = frozenset(("get", "put", "post", "patch", "delete", "head", "options"))

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        if not path or not path.startswith("/api/"):
            return
        for method, operation in (operations or {}).items():
            if method in self.METHODS and isinstance(operation, dict):
                operation.setdefault("responses", {}).setdefault("429", "TOO_MANY_REQUESTS")


class Api(BaseApi):
    """Api whose every error is RFC 9457 problem+json, documented as such."""

    def __init__(self, app: Flask | None = None, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        spec_kwargs = dict(spec_kwargs or {})
        spec_kwargs["extra_plugins"] = [*spec_kwargs.get("extra_plugins", ()), RateLimitedPlugin()]
        super().__init__(app, spec_kwargs=spec_kwargs)

    ERROR_SCHEMA = ProblemSchema
    # Headers that carry meaning for the client and must survive the error handler.
    KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_JSON)
            if status == http.HTTPStatus.TOO_MANY_REQUESTS:
                response["description"] = (
                    "Rate limited: too many requests from this address (or API key) in the window "
                    "of its bucket (reads, writes, bulk). Wait `Retry-After` seconds."
                )
                response["headers"] = {
                    name: {"description": text, "schema": {"type": "integer"}}
                    for name, text in RATE_LIMIT_HEADERS.items()
                }
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def _init_spec(self, *args: Any, **kwargs: Any) -> None:
        super()._init_spec(*args, **kwargs)
        self.spec.components.security_scheme(
            BEARER,
            {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key (`flask --app wsgi keys create NAME --role editor`). "
                "Editors create, edit and import; admins also delete, restore and add platforms.",
            },
        )

    def _register_etag_headers(self):
        self.spec.components.parameter(
            "IF_NONE_MATCH",
            "header",
            {
                "name": "If-None-Match",
                "description": 'An ETag you hold (weak `W/"…"` accepted): 304 when it is still current.',
                "schema": {"type": "string"},
            },
            lazy=True,
        )
        self.spec.components.header(
            "ETAG",
            {"description": "Validator of the returned representation.", "schema": {"type": "string"}},
            lazy=True,
        )
        self.spec.components.parameter(
            "IF_MATCH",
            "header",
            {
                "name": "If-Match",
                "required": True,
                "description": "The incident's current ETag, as returned by GET "
                "/api/v1/incidents/{incident_id} (or the `Incident-ETag` header of your last write "
                "on it). Missing: 428; stale: 412. `*` is not accepted.",
                "schema": {"type": "string"},
            },
            lazy=True,
        )

    def _register_error_handlers(self):
        self._app.register_error_handler(HTTPException, self.handle_http_exception)
        self._app.register_error_handler(RuleError, self.handle_rule_error)
        self._app.register_error_handler(sa.exc.IntegrityError, self.handle_integrity_error)
        self._app.register_error_handler(sa.exc.OperationalError, self.handle_database_down)
        self._app.register_error_handler(sa.exc.TimeoutError, self.handle_database_down)
        self._app.register_error_handler(Exception, self.handle_unexpected)

    def handle_http_exception(self, error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        data = getattr(error, "data", None) or {}
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
        headers = {}
        response = error.get_response()
        for name in self.KEPT_HEADERS:
            if name in response.headers:
                headers[name] = response.headers[name]
        headers.update(data.get("headers") or {})
        # Extension members (RFC 9457 §3.2), e.g. an import's counts next to its row errors.
        for name, value in (data.get("extra") or {}).items():
            body.setdefault(name, value)
        return problem_response(body, error.code, headers)

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
        log.exception("unhandled error on %s %s", request.method, request.path)
        return self.handle_http_exception(
            InternalServerError("An unexpected error occurred; it has been logged.")
        )


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
    flat: dict[Any, Any] = {}
    for name, value in fields.items():
        if (
            isinstance(value, dict)
            and value
            and all(isinstance(k, int) for k in value)
            and all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in value.values())
        ):
            flat[name] = [message for messages in value.values() for message in messages]
        else:
            flat[name] = value
    return flat


def _summarise(errors: dict) -> str:
    parts = []
    for location, fields in errors.items():
        if isinstance(fields, dict):
            parts.extend(f"{location}.{name}" for name in fields)
        else:
            parts.append(location)
    return "Invalid input: " + ", ".join(parts[:20]) + "."


def problem_response(body: dict, status: int, headers: dict | None = None):
    from flask import current_app

    response = current_app.response_class(
        orjson.dumps(body, option=OrjsonProvider.OPTIONS), status=status, mimetype=PROBLEM_JSON
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def init_json(app: Flask) -> None:
    app.json_provider_class = OrjsonProvider
    app.json = OrjsonProvider(app)
