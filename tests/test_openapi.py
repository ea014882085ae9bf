"""The OpenAPI document: committed copy matches the live one, and it documents everything."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app import create_app, vocab

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
REGENERATE = "make openapi"


@pytest.fixture(scope="module")
def live_spec():
    app = create_app({"DATABASE_URL": "sqlite://"})
    return app.test_client().get("/api/v1/openapi.json").get_json()


def test_committed_spec_is_the_live_spec(live_spec):
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == live_spec, f"openapi/openapi.json is stale: run `{REGENERATE}` and commit it."


def test_openapi_3_1(live_spec):
    assert live_spec["openapi"] == "3.1.0"


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def test_every_operation_has_a_summary(live_spec):
    missing = [f"{m.upper()} {p}" for p, m, op in _operations(live_spec) if not op.get("summary")]
    assert missing == []


def test_every_parameter_and_field_is_described(live_spec):
    undocumented = []
    for path, method, operation in _operations(live_spec):
        for parameter in operation.get("parameters", []):
            if (
                isinstance(parameter, dict)
                and parameter.get("in") == "query"
                and not parameter.get("description")
            ):
                undocumented.append(f"{method} {path} ?{parameter['name']}")
    for name, schema in live_spec["components"]["schemas"].items():
        if name == "PaginationMetadata":
            continue
        for field, prop in schema.get("properties", {}).items():
            if not prop.get("description"):
                undocumented.append(f"{name}.{field}")
    assert undocumented == []


def _enum(spec, prop):
    """The values of a property that refers to an enum component (nullable: anyOf it and null)."""
    reference = prop.get("$ref") or next(s["$ref"] for s in prop["anyOf"] if "$ref" in s)
    return spec["components"]["schemas"][reference.rsplit("/", 1)[1]]["enum"]


def test_value_lists_are_enums(live_spec):
    incident = live_spec["components"]["schemas"]["Incident"]["properties"]
    assert _enum(live_spec, incident["scope"]) == [
        "national",
        "multi_regional",
        "regional",
        "local",
        "unknown",
    ]
    assert _enum(live_spec, incident["shutdown_types"]["items"]) == [
        "full_network",
        "service_based",
        "throttling",
    ]
    assert set(_enum(live_spec, incident["acknowledgement_status"])) == {"acknowledged", "denied", "none"}
    justification = live_spec["components"]["schemas"]["Acknowledgement"]["properties"]["justification"]
    assert justification["anyOf"] == [{"$ref": "#/components/schemas/Justification"}, {"type": "null"}]


def test_each_value_list_is_declared_once(live_spec):
    """A value list of the contract is one schema component, referenced wherever it is used, so a
    generated client has one enum class for it (not one per field, three when nullable)."""
    inline = []

    def walk(node, where):
        if isinstance(node, dict):
            values = node.get("enum")
            if values is not None and frozenset(v for v in values if v is not None) in {
                frozenset(values) for values in vocab.ENUM_NAMES
            }:
                inline.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(live_spec["paths"], "#/paths")
    schemas = live_spec["components"]["schemas"]
    for name, schema in schemas.items():
        if name not in vocab.ENUM_NAMES.values():
            walk(schema, f"#/components/schemas/{name}")
    assert inline == []
    assert schemas["IncidentSort"]["x-enum-varnames"][:2] == ["START_DATE", "START_DATE_DESC"]


def test_operation_ids_are_what_a_client_library_would_choose(live_spec):
    ids = {f"{method.upper()} {path}": op.get("operationId") for path, method, op in _operations(live_spec)}
    assert None not in ids.values(), [name for name, id_ in ids.items() if id_ is None]
    assert len(set(ids.values())) == len(ids)
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", id_) for id_ in ids.values()), ids
    assert {
        "listIncidents",
        "getIncident",
        "createIncident",
        "updateIncident",
        "patchIncident",
        "deleteIncident",
        "restoreIncident",
        "exportIncidentsCsv",
        "importIncidents",
        "listPlatforms",
        "createIncidentAcknowledgement",
        "updateIncidentLegalCase",
        "deleteIncidentSource",
        "listIncidentRevisions",
        "getIncidentRevision",
        "getStats",
        "getHealth",
    } <= set(ids.values())


def test_operation_ids_follow_the_path():
    """New operations get their ids by the same rule; a path that names no resource gets none
    (its view names it, and the test above fails until it does)."""
    from app.http.openapi import operation_id

    assert operation_id("post", "/api/v1/incidents/{incident_id}/revisions/{revision}/revert") == (
        "revertIncidentRevision"
    )
    assert operation_id("get", "/api/v1/changes") == "listChanges"
    assert operation_id("get", "/api/v1/incidents.csv") is None
    assert operation_id("get", "/") is None


def test_public_operations_say_so_and_every_one_has_a_4xx(live_spec):
    for path, method, operation in _operations(live_spec):
        assert "security" in operation, f"{method} {path}"
        assert operation["description"], f"{method} {path}"
        assert any(code.startswith("4") for code in operation["responses"]), f"{method} {path}"
    assert live_spec["paths"]["/api/v1/incidents"]["get"]["security"] == []
    assert live_spec["paths"]["/api/v1/incidents"]["post"]["security"] == [{"bearerAuth": []}]
    assert live_spec["info"]["contact"]


def test_page_has_no_default_that_collides_with_after(live_spec):
    """Swagger UI and generated clients send a documented default: page=1 with `after` is a 422."""
    for path, method, operation in _operations(live_spec):
        for parameter in operation.get("parameters", []):
            if isinstance(parameter, dict) and parameter.get("name") == "page":
                assert "default" not in parameter["schema"], f"{method} {path}"


def test_asn_filter_takes_the_as_form(live_spec):
    parameters = live_spec["paths"]["/api/v1/incidents"]["get"]["parameters"]
    asn = next(p for p in parameters if p.get("name") == "asn")
    assert asn["schema"]["items"]["type"] == "string"
    pattern = re.compile(asn["schema"]["items"]["pattern"])
    assert all(pattern.fullmatch(value) for value in ("24499", "AS24499", "as24499"))
    assert not pattern.fullmatch("ASX")


def test_errors_are_documented_as_problem_json(live_spec):
    for name, response in live_spec["components"]["responses"].items():
        if "content" in response:
            assert list(response["content"]) == ["application/problem+json"], name
    problem = live_spec["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem)


def test_writes_document_preconditions(live_spec):
    for method in ("put", "patch"):
        operation = live_spec["paths"]["/api/v1/incidents/{incident_id}"][method]
        assert {"412", "428", "404", "422"} <= set(operation["responses"])
        assert {"$ref": "#/components/parameters/IF_MATCH"} in operation["parameters"]


def test_header_parameters_have_http_header_names(live_spec):
    """`IF_MATCH` would be dropped by servers (underscores) and Swagger UI would send it as is."""
    parameters = live_spec["components"]["parameters"]
    assert parameters["IF_MATCH"]["name"] == "If-Match"
    assert parameters["IF_NONE_MATCH"]["name"] == "If-None-Match"
    for path, method, operation in _operations(live_spec):
        for parameter in operation.get("parameters", []):
            if isinstance(parameter, dict) and parameter.get("in") == "header":
                assert "_" not in parameter["name"], f"{method} {path}: {parameter['name']}"


def test_every_api_operation_documents_its_429(live_spec):
    """Every operation under /api/ is rate limited; the health checks are not."""
    operations = list(_operations(live_spec))
    limited = [(path, method) for path, method, op in operations if "429" in op["responses"]]
    assert limited == [(path, method) for path, method, _ in operations if path.startswith("/api/")]
    assert ("/healthz", "get") not in limited and len(limited) > 20
    response = live_spec["components"]["responses"]["TOO_MANY_REQUESTS"]
    assert set(response["headers"]) == {
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    }


def test_a_nullable_enum_outside_the_contracts_lists_is_one_schema():
    """A field with its own nullable value list (not one of vocab.ENUM_NAMES) is `anyOf` the
    values and null: `type: [string, null]` with null among the values makes a generator write
    three classes for it."""
    from app.document.fields import Enum

    app = create_app({"DATABASE_URL": "sqlite://"})
    converter = app.extensions["flask-smorest"]["blp_name_to_api"]["incidents"].ma_plugin.converter
    assert converter.field2property(Enum(("sheet", "editor"), allow_none=True)) == {
        "anyOf": [{"type": "string", "enum": ["sheet", "editor"]}, {"type": "null"}]
    }
    plain = {"type": "string", "enum": ["sheet", "editor"]}
    assert converter.field2property(Enum(("sheet", "editor"))) == plain
