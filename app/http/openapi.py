"""Conventions of the OpenAPI document, applied in one place: operation ids, public operations,
enums as components, the page parameter.

What a client generator and a linter read: every operation has an id a client library would
choose (`listIncidents`, `createIncidentSource`), public operations say so (`security: []`),
each value list of the contract is one named schema referenced wherever it is used (one enum
class in a generated client, not one per field), and `page` has no documented default that a
client or Swagger UI would send along with `after`.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec, BasePlugin

from app import vocab

API_PREFIX = "/api/v1"
# Verbs of the item (`/incidents/{incident_id}`) and collection (`/incidents`) operations.
ITEM_VERBS = {"get": "get", "put": "update", "patch": "patch", "delete": "delete"}
COLLECTION_VERBS = {"get": "list", "post": "create"}
# Path segments that name an action on what precedes them (`/incidents/{incident_id}/restore`).
ACTIONS = frozenset(("import", "restore", "revert"))
METHODS = frozenset(("get", "put", "post", "patch", "delete"))

PAGE_DESCRIPTION = (
    "Page number, from 1. Without `page` (and without `after`), the first page. Not with `after`."
)
PAGE_SIZE_DESCRIPTION = "Incidents (or entries) per page."


def operation_id(method: str, path: str) -> str | None:
    """The id a client library would choose for an operation, from its method and path:
    `GET /incidents` → listIncidents, `POST /incidents/{incident_id}/legal-cases` →
    createIncidentLegalCase, `POST /incidents/{incident_id}/restore` → restoreIncident.
    None when the path names no resource (a view then gives its id with `@blp.doc`)."""
    segments = [segment for segment in path.removeprefix(API_PREFIX).split("/") if segment]
    action = segments.pop() if segments and segments[-1] in ACTIONS else None
    named = _nouns(segments)
    if named is None:
        return None
    nouns, item = named
    verb = action or (ITEM_VERBS if item else COLLECTION_VERBS).get(method)
    if verb == "create":
        nouns[-1] = _singular(nouns[-1])
    return f"{verb}{''.join(nouns)}" if verb else None


def _nouns(segments: list[str]) -> tuple[list[str], bool] | None:
    """The resources a path names, in PascalCase (singular before an id), and whether it ends
    with an id; None when a segment is no resource name (`incidents.csv`, nothing at all)."""
    nouns: list[str] = []
    item = False
    for segment in segments:
        item = segment.startswith("{")
        if item and nouns:
            nouns[-1] = _singular(nouns[-1])
        elif not item:
            if not re.fullmatch(r"[a-z][a-z-]*", segment):
                return None
            nouns.append("".join(word.capitalize() for word in segment.split("-")))
    return (nouns, item) if nouns else None


def _singular(noun: str) -> str:
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    return noun[:-1] if noun.endswith("s") else noun


class ApiWideResponses(BasePlugin):
    """Responses any operation under /api/ can give (the URL's length, the rate limit): each
    operation documents them, by the names of their shared components."""

    METHODS = frozenset(("get", "put", "post", "patch", "delete", "head", "options"))

    def __init__(self, responses: dict[str, str]) -> None:
        self.responses = responses

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        if not path or not path.startswith("/api/"):
            return
        for method, operation in (operations or {}).items():
            if method in self.METHODS and isinstance(operation, dict):
                documented = operation.setdefault("responses", {})
                for status, component in self.responses.items():
                    documented.setdefault(status, component)


class ConventionsPlugin(BasePlugin):
    """apispec plugin: operation ids, `security: []` on public operations, `page` without a
    default."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any):
        for method, operation in (operations or {}).items():
            if method not in METHODS or not isinstance(operation, dict):
                continue
            derived = operation_id(method, path or "")
            if derived and "operationId" not in operation:
                operation["operationId"] = derived
            # Reads are public: say so, rather than leave a reader to guess.
            operation.setdefault("security", [])
            for parameter in operation.get("parameters", []):
                _document_paging(parameter)


def _document_paging(parameter: Any) -> None:
    """flask-smorest documents `page` with its default, 1: Swagger UI and generated clients
    then always send page=1, which `after` refuses. The server still serves page 1 without it."""
    if not isinstance(parameter, dict) or parameter.get("in") != "query":
        return
    if parameter.get("name") == "page":
        parameter.get("schema", {}).pop("default", None)
        parameter.setdefault("description", PAGE_DESCRIPTION)
    elif parameter.get("name") == "page_size":
        parameter.setdefault("description", PAGE_SIZE_DESCRIPTION)


# --------------------------------------------------------------------------- enums


def _varname(value: str) -> str:
    """`-start_date` → START_DATE_DESC: a name for a value that is no identifier."""
    return value.lstrip("-").upper() + ("_DESC" if value.startswith("-") else "")


def enum_component(values: tuple[str, ...]) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "string", "enum": list(values)}
    if not all(value.isidentifier() for value in values):
        # Read by client generators (openapi-python-client) to name the members.
        component["x-enum-varnames"] = [_varname(value) for value in values]
    return component


def make_type_list(types: Any) -> list[str]:
    """A schema's `type` as a list (it may be a string, a list or absent)."""
    if types is None:
        return []
    return [types] if isinstance(types, str) else list(types)


def install_enum_components(spec: APISpec, converter: Any) -> None:
    """Every field whose values are one of vocab.ENUM_NAMES' lists refers to that list's schema
    component (nullable: `anyOf` it and null) instead of repeating the list inline."""
    by_values = {frozenset(values): (name, values) for values, name in vocab.ENUM_NAMES.items()}

    def enum2ref(self: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        values = ret.get("enum")
        if values is None:
            return {}
        named = by_values.get(frozenset(value for value in values if value is not None))
        if named is None:
            if None in values:
                # Not a list of the contract, but nullable all the same: `anyOf` the values and
                # null too, which a generator makes one class of (`type: [string, null]` with
                # null among the values gives three).
                types = [t for t in make_type_list(ret.pop("type", None)) if t != "null"]
                values = [value for value in ret.pop("enum") if value is not None]
                ret["anyOf"] = [{"type": types[0] if types else "string", "enum": values}, {"type": "null"}]
            return {}
        name, ordered = named
        if name not in spec.components.schemas:
            spec.components.schema(name, enum_component(ordered))
        ret.pop("enum")
        ret.pop("type", None)
        reference = {"$ref": f"#/components/schemas/{name}"}
        if None in values:
            ret["anyOf"] = [reference, {"type": "null"}]
        else:
            ret.update(reference)
        return {}

    converter.add_attribute_function(enum2ref)
