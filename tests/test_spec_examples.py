"""Swagger UI at the first click: every operation of the OpenAPI document, run with the values
Swagger UI's "Try it out" fills in (the examples, else the defaults), succeeds on a fresh
database with the demo incident loaded — what `make run` serves.

The walk reads the live document: an operation added without working examples fails it. Like a
user, it authorises with a key (admin, so that every write is allowed), sends the incident's
ETag where an operation asks for `If-Match`, and chooses the repository's STOP sample as the file
to import. Before each operation the database is the demo alone again, its ids restarted, as on
a fresh `make run`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from tests.conftest import _clean, make_key

STOP_SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "stop-sample.csv"
# What a user does first, in Swagger UI too, before an operation can succeed.
PREPARATION = {"restoreIncident": ("DELETE", "/api/v1/incidents/1")}
IF_MATCH = "#/components/parameters/IF_MATCH"


def _fresh_demo(app, seeded: set[str]) -> str:
    """The database as a fresh `make run` leaves it (ids from 1), and an admin key."""
    from app.db import db

    _clean(app, seeded)
    with app.app_context(), db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            sequences = (
                "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'"
            )
            for (name,) in connection.execute(sa.text(sequences)):
                connection.execute(sa.text(f'ALTER SEQUENCE "{name}" RESTART'))
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    return make_key(app, "swagger-user", "admin")


def _operations(spec: dict[str, Any]):
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation, [*shared, *operation.get("parameters", [])]


def _filled(parameter: dict[str, Any]) -> Any:
    """What Swagger UI puts in a parameter's field: its example, else its schema's, else the default."""
    schema = parameter.get("schema", {})
    for value in (parameter.get("example"), schema.get("example"), schema.get("default")):
        if value is not None:
            return value
    return None


def _request(spec: dict[str, Any], path: str, operation: dict[str, Any], parameters: list) -> dict[str, Any]:
    """The request Swagger UI sends, or a KeyError naming what it could not fill in."""
    url, query, headers = path, [], {}
    for parameter in parameters:
        if "$ref" in parameter:
            if parameter["$ref"] == IF_MATCH:
                headers["If-Match"] = "(the ETag)"
            continue
        value = _filled(parameter)
        if value is None:
            if parameter.get("required"):
                raise KeyError(f"required {parameter['in']} parameter `{parameter['name']}` has no example")
            continue
        if parameter["in"] == "path":
            url = url.replace("{" + parameter["name"] + "}", str(value))
        elif parameter["in"] == "query":
            query.append((parameter["name"], str(value).lower() if isinstance(value, bool) else value))
    request: dict[str, Any] = {"url": url + (f"?{urlencode(query)}" if query else ""), "headers": headers}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        if "example" not in content["application/json"]:
            raise KeyError("its JSON body has no example")
        request["json"] = content["application/json"]["example"]
    elif "multipart/form-data" in content:
        request["data"] = {"file": (io.BytesIO(STOP_SAMPLE.read_bytes()), STOP_SAMPLE.name)}
    return request


def test_every_operation_succeeds_with_its_examples(app, request):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    seeded = request.config._seeded_platforms  # noqa: SLF001
    failures, walked = [], 0
    for path, method, operation, parameters in _operations(spec):
        name = f"{method.upper()} {path} ({operation.get('operationId')})"
        try:
            sent = _request(spec, path, operation, parameters)
        except KeyError as error:
            failures.append(f"{name}: {error.args[0]}")
            continue
        key = _fresh_demo(app, seeded)
        client = app.test_client(api_key=key)
        if operation.get("operationId") in PREPARATION:
            prepare_method, prepare_url = PREPARATION[operation["operationId"]]
            etag = client.get(prepare_url).headers["ETag"]
            prepared = client.open(prepare_url, method=prepare_method, headers={"If-Match": etag})
            assert prepared.status_code < 300
        if "If-Match" in sent["headers"]:
            incident_url = "/".join(sent["url"].split("?")[0].split("/")[:5])  # /api/v1/incidents/{id}
            sent["headers"]["If-Match"] = client.get(incident_url).headers["ETag"]
        response = client.open(sent.pop("url"), method=method.upper(), **sent)
        walked += 1
        body = response.get_data(as_text=True)
        response.close()  # as a browser does: a streamed export gives back its bulk slot
        if not 200 <= response.status_code < 300:
            failures.append(f"{name} → {response.status_code} {body[:500]}")
    assert failures == []
    assert walked == len(list(_operations(spec))) >= 26
