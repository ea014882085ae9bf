"""The OpenAPI document: committed copy matches the live one, and it documents everything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import create_app

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
                if parameter["name"] not in ("page", "page_size"):
                    undocumented.append(f"{method} {path} ?{parameter['name']}")
    for name, schema in live_spec["components"]["schemas"].items():
        if name == "PaginationMetadata":
            continue
        for field, prop in schema.get("properties", {}).items():
            if not prop.get("description"):
                undocumented.append(f"{name}.{field}")
    assert undocumented == []


def test_value_lists_are_enums(live_spec):
    incident = live_spec["components"]["schemas"]["Incident"]["properties"]
    assert incident["scope"]["enum"] == ["national", "multi_regional", "regional", "local", "unknown"]
    assert incident["shutdown_types"]["items"]["enum"] == ["full_network", "service_based", "throttling"]
    assert set(incident["acknowledgement_status"]["enum"]) == {"acknowledged", "denied", "none"}


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
