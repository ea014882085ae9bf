"""The private library hooks the app still overrides or calls exist with the signature it
relies on: an upgrade that renames or reshapes one fails here, not in production."""

from __future__ import annotations

import inspect

import pytest
from flask.json.provider import JSONProvider
from flask_smorest import Api, Blueprint
from limits.storage import MemoryStorage
from sqlalchemy.pool import Pool
from sqlalchemy.sql.compiler import SQLCompiler
from webargs.flaskparser import FlaskParser

# (library class, private name, parameters it takes, where the app uses it)
HOOKS = [
    (Blueprint, "_check_precondition", ["self"], "app/http/etags.py"),
    (Blueprint, "_check_not_modified", ["self", "etag"], "app/http/etags.py"),
    (Blueprint, "_generate_etag", ["etag_data", "extra_data"], "app/http/etags.py"),
    (Blueprint, "_set_pagination_metadata", ["self", "page_params", "result", "headers"], "app/http/"),
    (Blueprint, "_make_pagination_metadata", ["page", "page_size", "item_count"], "app/http/paging.py"),
    (Blueprint, "_document_pagination_metadata", ["self", "spec", "resp_doc"], "app/http/paging.py"),
    (Api, "_register_responses", ["self"], "app/http/problems.py"),
    (Api, "_register_etag_headers", ["self"], "app/http/etags.py"),
    (FlaskParser, "_get_schema", ["self", "argmap", "req"], "app/http/jsonio.py"),
    (JSONProvider, "_prepare_response_obj", ["self", "args", "kwargs"], "app/http/jsonio.py"),
    (MemoryStorage, "_MemoryStorage__schedule_expiry", ["self"], "app/http/limits.py"),
    (MemoryStorage, "_MemoryStorage__expire_events", ["self"], "app/http/limits.py"),
    (Pool, "_invalidate", ["self", "connection", "exception", "_checkin"], "app/fast/one_row.py"),
]


@pytest.mark.parametrize(("owner", "name", "parameters", "user"), HOOKS, ids=lambda value: str(value))
def test_private_hook_has_the_signature_the_app_relies_on(owner, name, parameters, user):
    hook = inspect.getattr_static(owner, name, None)
    assert hook is not None, f"{owner.__name__}.{name} is gone: see {user}"
    function = hook.__func__ if isinstance(hook, (staticmethod, classmethod)) else hook
    assert list(inspect.signature(function).parameters) == parameters, f"{owner.__name__}.{name}: see {user}"


def test_compiled_statements_still_list_their_bind_processors():
    """app/fast/one_row.py refuses statements whose parameters SQLAlchemy would convert."""
    assert "_bind_processors" in dir(SQLCompiler)


def test_the_pager_still_passes_its_parameters_object_to_the_headers():
    """app/http/paging.py: a pager tells the headers its cursor on `page_params`, the object
    flask-smorest hands from the pager to `_set_pagination_metadata` (as it does `item_count`)."""
    source = inspect.getsource(Blueprint.paginate)
    assert "pager(result, page_params=page_params)" in source
    assert "self._set_pagination_metadata(" in source and "page_params, result, headers" in source


def test_marshmallow_still_keeps_its_decorated_methods_where_the_fast_loader_reads_them():
    """app/fast/load.py reads `Schema._hooks` (keyed by the decorators' constants) to tell
    whether marshmallow would run anything it does not repeat."""
    import marshmallow as ma
    from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

    class Probe(ma.Schema):
        @ma.pre_load
        def before(self, data, **kwargs):
            return data

        @ma.validates_schema
        def check(self, data, **kwargs):
            pass

    hooks = Probe()._hooks
    assert [name for name, _, _ in hooks[PRE_LOAD]] == ["before"]
    assert [name for name, _, _ in hooks[VALIDATES_SCHEMA]] == ["check"]
    assert hooks[POST_LOAD] == [] and hooks[VALIDATES] == []


def test_flasks_json_provider_still_keeps_its_app():
    """app/http/jsonio.py's provider builds its response with `self._app.response_class`."""
    from flask import Flask

    app = Flask(__name__)
    assert JSONProvider(app)._app.response_class is app.response_class  # a weak proxy of the app
