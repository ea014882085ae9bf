"""JSON in and out: the app's orjson provider and the webargs parser that reads bodies with orjson."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import orjson
from flask import Flask
from flask.json.provider import JSONProvider
from webargs.flaskparser import FlaskParser, abort, is_json_request

from app.document.build import JSON_OPTIONS


def json_default(obj: Any) -> Any:
    """What orjson cannot write by itself: sets and tuples, as lists."""
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps(obj: Any) -> bytes:
    """The app's JSON bytes: sorted keys, so equal documents give equal bytes (and equal ETags)."""
    return orjson.dumps(obj, option=JSON_OPTIONS, default=json_default)


class OrjsonProvider(JSONProvider):
    """orjson with sorted keys, so equal documents give equal bytes (and equal ETags)."""

    OPTIONS = JSON_OPTIONS

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        option = self.OPTIONS | (orjson.OPT_INDENT_2 if kwargs.get("indent") else 0)
        return orjson.dumps(obj, option=option, default=json_default).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any):
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(dumps(obj), mimetype="application/json")


def init_json(app: Flask) -> None:
    app.json_provider_class = OrjsonProvider
    app.json = OrjsonProvider(app)


class Parser(FlaskParser):
    """webargs' Flask parser reading JSON with orjson: its depth limit (1,024) and number checks
    turn a 10,000-deep or 5,000-digit body into a 400 instead of a RecursionError."""

    def load_json(self, req: Any, schema: ma.Schema) -> Any:
        """The JSON body; a body that is not JSON (or not UTF-8) is a 400, none at all a 422."""
        data = req.get_data(cache=True)
        if not data or not is_json_request(req):
            # Every body an operation takes is required (as documented): without one, a PATCH
            # would change nothing and answer 200. (A body that is not JSON is a 415 by then.)
            abort(422, messages={"json": {"_body": ["Send the body as a JSON object (application/json)."]}})
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as error:
            # Bytes that are not UTF-8 too: orjson gives them an empty `doc`, which webargs' own
            # loader takes for "no body at all" (a PATCH of them changed nothing and answered 200).
            abort(400, exc=error, messages={"json": ["Invalid JSON body."]})

    # Private: webargs has no public hook to reuse schema instances, and flask-smorest hands it
    # the schema classes the views name, of which it would build (and deep-copy) one per request.
    def _get_schema(self, argmap: Any, req: Any) -> ma.Schema:
        # For speed: one instance per class serves every request and thread (loading keeps no
        # state on it). Plain twin: webargs' own, a new instance per request; every test of the
        # API's arguments runs through this one, tests/test_library_hooks.py pins the hook.
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            schema = _SCHEMAS.get(argmap)
            if schema is None:
                schema = _SCHEMAS.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)


_SCHEMAS: dict[type, ma.Schema] = {}
