"""The Api and Blueprint bases, composed from the HTTP concerns of this package."""

from __future__ import annotations

import http
from typing import Any

from flask import Flask
from flask_smorest import Api as BaseApi
from flask_smorest import Blueprint as BaseBlueprint

from app.http.auth import RoleAuth, register_security_scheme
from app.http.bulk import BulkWork
from app.http.etags import EtagDocs, StrictEtags
from app.http.guards import URI_TOO_LONG_RESPONSE
from app.http.jsonio import Parser
from app.http.limits import TOO_MANY_REQUESTS_RESPONSE
from app.http.openapi import ApiWideResponses, ConventionsPlugin, install_enum_components
from app.http.paging import PageHeaders
from app.http.problems import ProblemDocs, ProblemHandlers

LOCATION_HEADER = {"Location": {"description": "URL of the new resource.", "schema": {"type": "string"}}}


class Api(ProblemHandlers, EtagDocs, BaseApi):
    """Api whose every error is RFC 9457 problem+json, documented as such, with the bearer
    scheme, every operation's 414 and 429 and the document's conventions (app/http/openapi.py)."""

    RESPONSE_EXTRAS = {
        http.HTTPStatus.REQUEST_URI_TOO_LONG: URI_TOO_LONG_RESPONSE,
        http.HTTPStatus.TOO_MANY_REQUESTS: TOO_MANY_REQUESTS_RESPONSE,
    }

    def __init__(self, app: Flask | None = None, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        spec_kwargs = dict(spec_kwargs or {})
        spec_kwargs["extra_plugins"] = [
            *spec_kwargs.get("extra_plugins", ()),
            ApiWideResponses({"414": "REQUEST_URI_TOO_LONG", "429": "TOO_MANY_REQUESTS"}),
            ConventionsPlugin(),
        ]
        super().__init__(app, spec_kwargs=spec_kwargs)

    def init_app(self, app: Flask, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        super().init_app(app, spec_kwargs=spec_kwargs)
        register_security_scheme(self.spec)
        install_enum_components(self.spec, self.ma_plugin.converter)
        self.register_problem_handlers(app)


class Blueprint(StrictEtags, PageHeaders, RoleAuth, ProblemDocs, BulkWork, BaseBlueprint):
    """Blueprint with strict conditional requests, weak If-None-Match, RFC 8288 Link headers,
    `auth(role)`, `documents(*codes)` and `bulk_work` (bounded exports and imports)."""

    # unknown=None: each schema's Meta.unknown decides (RAISE), also for the query string,
    # where webargs would otherwise EXCLUDE unknown parameters.
    ARGUMENTS_PARSER = Parser(unknown=None)
    PAGINATION_ARGUMENTS_PARSER = Parser()
