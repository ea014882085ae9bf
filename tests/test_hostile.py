"""Hostile input: injection strings, NUL bytes, 1 MB strings, deep JSON, invalid UTF-8, odd numbers.

Every query parameter of the list, the CSV export and the statistics, and every body field of
POST /incidents and of the three child POSTs (taken from the app's own OpenAPI document, so a
new parameter or field is covered the day it is added) gets each hostile value. The rules:

- never a 5xx;
- an error is RFC 9457 problem+json whose `status` is the HTTP status;
- a rejected write leaves the stored data exactly as it was (the incident list and the CSV
  export are compared before and after);
- an accepted write is a value the spec allows, and it is stored exactly as sent: a
  `<script>` title comes back verbatim as JSON text, and in the CSV a formula title comes back
  with a leading `'`;
- a read with a hostile filter is a 4xx, or a 200 with an empty result (the seeded incidents
  share no word with any hostile string, so a search for one finds nothing; anything else
  would be a filter that was ignored, or an injection that worked).
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest

from app import create_app
from tests.conftest import etag_of, incident_doc

LIST = "/api/v1/incidents"
EXPORT = "/api/v1/incidents.csv"
STATS = "/api/v1/stats"
PROBLEM = "application/problem+json"
MB = 1024 * 1024

# --------------------------------------------------------------------------- the spec, read once


def _load_spec() -> dict[str, Any]:
    # The document does not depend on the database, so a throwaway app serves it at import time.
    app = create_app({"DATABASE_URL": "sqlite://", "TESTING": True, "RATELIMIT_ENABLED": False})
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


SPEC = _load_spec()
COMPONENTS = SPEC["components"]["schemas"]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def query_parameters(path: str) -> list[str]:
    parameters = SPEC["paths"][path]["get"].get("parameters", [])
    return [p["name"] for p in parameters if p.get("in") == "query"]


def body_schema(path: str) -> dict[str, Any]:
    return _resolve(SPEC["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"])


def writable(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: prop for name, prop in schema["properties"].items() if not prop.get("readOnly")}


def spec_allows(schema: dict[str, Any], value: Any) -> bool:
    """A small JSON Schema check, enough for the property schemas of this API."""
    schema = _resolve(schema)
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        kinds = {
            "string": isinstance(value, str),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "array": isinstance(value, list),
            "object": isinstance(value, dict),
            "null": value is None,
        }
        if not any(kinds[t] for t in types):
            return False
    if value is None:
        return "enum" not in schema or None in schema["enum"]
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, str):
        if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
            return False
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
        if schema.get("format") == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            return False
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            return False
        return all(spec_allows(schema.get("items", {}), item) for item in value)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        if any(name not in value for name in schema.get("required", [])):
            return False
        if schema.get("additionalProperties") is False and set(value) - set(props):
            return False
        return all(spec_allows(props[name], item) for name, item in value.items() if name in props)
    return True


def is_free_text(prop: dict[str, Any]) -> bool:
    """A text field without enum, pattern or format: any string within its length is valid."""
    types = prop.get("type")
    types = [types] if isinstance(types, str) else types or []
    return "string" in types and not ({"enum", "pattern", "format", "$ref"} & set(prop))


# --------------------------------------------------------------------------- hostile values

HOSTILE_STRINGS: dict[str, str] = {
    "sql-or": "' OR 1=1 --",
    "sql-drop": "1; DROP TABLE incidents",
    "sql-union": "x' UNION SELECT key_hash FROM api_keys --",
    "csv-formula": "=cmd|' /C calc'!A0",
    "csv-plus": '+HYPERLINK("http://evil.example")',
    "html-script": "<script>alert(1)</script>",
    "html-attr": '"><img src=x onerror=alert(1)>',
    "nul": "a\x00b",
    "only-nul": "\x00",
    "1mb": "A" * MB,
    "huge-number": "9" * 5000,  # past Python's int-from-str digit limit (4300)
    "negative": "-1",
    "negative-huge": "-" + "9" * 40,
    "float": "1e309",
    "unicode-rtl": "\u202etxt.exe\ufeff\u200b",
    "percent": "%00%27%22",
}
# JSON values of the wrong type, or numbers at and past every limit.
HOSTILE_JSON: dict[str, Any] = {
    **HOSTILE_STRINGS,
    "int-negative": -1,
    "int-min-64": -(2**63),
    "int-past-64": 2**64,
    "int-400-digits": 10**400,  # orjson cannot even parse it: must be a 400, not a 500
    "float-fraction": 1.5,
    "float-huge": 1e308,
    "bool": True,
    "zero": 0,
    "null": None,
    "empty-list": [],
    "list-of-hostile": ["' OR 1=1 --"],
    "object": {"$gt": ""},
}
DEEP = 10_000
DEEP_LISTS = "[" * DEEP + "]" * DEEP
DEEP_OBJECTS = '{"a":' * DEEP + "1" + "}" * DEEP


def _dumps(value: Any) -> str:
    # The stdlib encoder writes integers of any size (orjson refuses past 64 bits).
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------- world and checks

SEED = incident_doc(
    # No word of these texts starts a word of any hostile string, so a search for one finds nothing.
    title="Mobile internet cut in Manipur",
    area="Manipur",
    decision_maker="Home department",
    platforms=["whatsapp"],
    shutdown_types=["full_network", "service_based"],
    asns=[45609],
    acknowledgements=[{"actor": "Home department", "stance": "acknowledged", "date": "2023-05-04"}],
    legal_cases=[{"court": "Manipur High Court", "status": "pending"}],
    sources=[{"url": "https://example.org/manipur", "kind": "news"}],
)
SECOND = incident_doc(title="X blocked nationwide", country="PK", area="Nationwide", start_date="2024-02-17")


@pytest.fixture
def world(client):
    ids = []
    for doc in (SEED, SECOND):
        response = client.post(LIST, json=doc)
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    return ids


def listing_of(client) -> Any:
    listing = client.get(LIST, query_string={"page_size": 500})
    assert listing.status_code == 200
    return listing.get_json()


def snapshot(client) -> tuple[Any, str]:
    export = client.get(EXPORT)
    assert export.status_code == 200
    return listing_of(client), export.get_data(as_text=True)


def csv_rows(text: str) -> dict[int, dict[str, str]]:
    return {int(row["id"]): row for row in csv.DictReader(io.StringIO(text))}


def formula_safe(text: str) -> str:
    """How SPEC.md says a text cell must appear in the CSV (the importer strips exactly one `'`)."""
    return "'" + text if re.match(r"^'*[=+\-@\t\r]", text) else text


def list_item_cell(item: str) -> str:
    """How README.md says an item of a text list is written in its cell: `;` as `\\;`, a
    backslash as `\\\\` (so that an item holding a `;` comes back as one item)."""
    return item.replace("\\", "\\\\").replace(";", "\\;")


def describe(method: str, url: str, label: str, response) -> str:
    body = response.get_data(as_text=True)[:300]
    return f"{method} {url} [{label}] -> {response.status_code} {response.content_type}: {body}"


def problem_errors(response) -> list[str]:
    """What is wrong with an error response (empty when it is proper problem+json)."""
    wrong = []
    if response.status_code >= 500:
        wrong.append("server error")
    if response.mimetype != PROBLEM:
        wrong.append(f"content type {response.content_type!r}, not {PROBLEM}")
    else:
        body = response.get_json(silent=True) or {}
        if body.get("status") != response.status_code:
            wrong.append(f"problem status {body.get('status')!r} != {response.status_code}")
        if not {"type", "title", "status", "detail"} <= set(body):
            wrong.append(f"problem members {sorted(body)}")
    return wrong


def post_raw(client, url: str, text: str | bytes, headers: dict[str, str] | None = None):
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return client.post(url, data=data, content_type="application/json", headers=headers or {})


# --------------------------------------------------------------------------- query parameters

QUERY_ENDPOINTS = (LIST, EXPORT, STATS)


def _empty_result(path: str, response) -> bool:
    if path == LIST:
        return response.get_json() == []
    if path == EXPORT:
        return len(response.get_data(as_text=True).splitlines()) == 1  # the header row only
    return response.get_json()["groups"] == []


def _base_query(path: str) -> dict[str, str]:
    return {"group_by": "country"} if path == STATS else {}


@pytest.mark.slow
@pytest.mark.parametrize("path", QUERY_ENDPOINTS)
def test_query_parameters(client, world, path):
    """Every query parameter of the endpoint, each hostile value in turn (the data is not touched)."""
    before = snapshot(client)
    failures = []
    names = query_parameters(path)
    assert len(names) >= 15, names  # the filters, sort and paging, as documented
    for name in names:
        for label, value in HOSTILE_STRINGS.items():
            response = client.get(path, query_string={**_base_query(path), name: value})
            url = f"{path}?{name}=<{label}>"
            if response.status_code == 200:
                if not _empty_result(path, response):
                    failures.append("non-empty result: " + describe("GET", url, label, response))
            elif not 400 <= response.status_code < 500 or problem_errors(response):
                failures.append(describe("GET", url, label, response) + f" {problem_errors(response)}")
    assert snapshot(client) == before, "a read changed the stored data"
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("path", QUERY_ENDPOINTS)
@pytest.mark.parametrize(
    "raw",
    [b"q=\xff\xfe", b"q=%FF%FE", b"\xff\xfe=1", b"country=\xff&platform=%C0%AF", b"q=%00%00", b"%00=1"],
    ids=["raw-bytes", "percent-encoded", "raw-name", "overlong", "nul", "nul-name"],
)
def test_invalid_utf8_in_query_string(client, world, path, raw):
    before = snapshot(client)
    query = (b"group_by=country&" + raw) if path == STATS else raw
    # WSGI hands the query string over as bytes in a latin-1 str: exactly what a server receives.
    response = client.get(path, environ_overrides={"QUERY_STRING": query.decode("latin-1")})
    if response.status_code == 200:
        assert _empty_result(path, response), describe("GET", path, repr(raw), response)
    else:
        assert 400 <= response.status_code < 500, describe("GET", path, repr(raw), response)
        assert not problem_errors(response), problem_errors(response)
    assert snapshot(client) == before


def test_injection_in_search_finds_nothing_and_breaks_nothing(client, world):
    """`q` is the one filter where any text is valid: the injection strings are searched for, literally."""
    for value in (
        "' OR 1=1 --",
        "1; DROP TABLE incidents",
        "x' UNION SELECT key_hash FROM api_keys --",
        "<script>alert(1)</script>",
        "=cmd|' /C calc'!A0",
        "*",
        "%",
        "_",
        "\\",
        "'",
        '"',
        "--",
    ):
        response = client.get(LIST, query_string={"q": value})
        assert response.status_code in (200, 422), describe("GET", LIST, value, response)
        if response.status_code == 200:
            assert response.get_json() == [], value
    # The tables are all still there, and the search still works.
    assert len(client.get(LIST).get_json()) == 2
    assert [i["title"] for i in client.get(LIST, query_string={"q": "manipur"}).get_json()] == [SEED["title"]]


API_GETS = sorted(
    path for path, item in SPEC["paths"].items() if path.startswith("/api/v1/") and "get" in item
)


@pytest.mark.parametrize("path", API_GETS)
def test_unknown_query_parameter_is_rejected(client, world, path):
    """SPEC.md: a typo such as `contry=PK` is a 422, never a silently ignored parameter — on every GET."""
    url = path.format(incident_id=world[0], revision=1, slug="x")
    query = {**_base_query(path), "contry": "PK"}
    response = client.get(url, query_string=query)
    assert response.status_code == 422, describe("GET", f"{url}?contry=PK", "typo", response)
    assert not problem_errors(response), problem_errors(response)
    assert "contry" in json.dumps(response.get_json().get("errors")), response.get_json()


# --------------------------------------------------------------------------- bodies

INCIDENT_FIELDS = writable(body_schema(LIST))
CHILDREN = {
    "acknowledgements": {"actor": "Ministry of Interior", "stance": "denied"},
    "legal-cases": {"court": "Islamabad High Court"},
    "sources": {"url": "https://example.org/evidence"},
}
CHILD_FIELDS = {
    child: writable(body_schema(f"/api/v1/incidents/{{incident_id}}/{child}")) for child in CHILDREN
}
CHILD_COLUMNS = {"acknowledgements": "acknowledgements", "legal-cases": "legal_cases", "sources": "sources"}


def _values_for(prop: dict[str, Any]) -> dict[str, Any]:
    values = dict(HOSTILE_JSON)
    if _resolve(prop).get("type") == "array":
        # The items too: each hostile value as the only element of the list.
        values.update({f"[{label}]": [value] for label, value in HOSTILE_JSON.items()})
    return values


class Writes:
    """Sends hostile bodies and checks each answer against the stored data."""

    def __init__(self, client, url_of, base: dict[str, Any], fields: dict[str, dict[str, Any]], headers_of):
        self.client, self.url_of, self.headers_of = client, url_of, headers_of
        self.base, self.fields = base, fields
        self.failures: list[str] = []
        self.before = snapshot(client)

    def send(self, field: str, label: str, text: str | bytes, sent: Any = None, *, check_value: bool = True):
        url = self.url_of()
        response = post_raw(self.client, url, text, self.headers_of())
        if response.status_code in (200, 201):
            after = snapshot(self.client)
            if check_value:
                self.accepted(field, label, sent, response, after)
            self.before = after
            return
        if not 400 <= response.status_code < 500 or problem_errors(response):
            self.failures.append(
                describe("POST", url, f"{field}={label}", response) + f" {problem_errors(response)}"
            )
        # The list shows every stored field of every incident, children included; the CSV export,
        # derived from the same rows, is compared once more in finish().
        listing = listing_of(self.client)
        if listing != self.before[0]:
            self.failures.append(
                f"POST {url} [{field}={label}] was rejected ({response.status_code}) "
                "but the stored data changed"
            )
            self.before = snapshot(self.client)

    def finish(self) -> list[str]:
        if snapshot(self.client) != self.before:
            self.failures.append("the stored data changed after rejected writes (CSV export differs)")
        return self.failures

    def accepted(self, field: str, label: str, sent: Any, response, after) -> None:
        where = f"POST {self.url_of()} [{field}={label}] accepted ({response.status_code})"
        prop = self.fields[field]
        if not spec_allows(prop, sent):
            self.failures.append(f"{where}, but the spec forbids {_short(sent)} for {field}")
            return
        stored = self.stored(response)
        if isinstance(sent, str) and is_free_text(prop):
            expected = sent.strip() or None
            if stored.get(field) != expected:
                self.failures.append(f"{where}: stored {_short(stored.get(field))}, sent {_short(sent)}")
            self.check_csv(where, field, expected, response, after)
        elif (
            isinstance(sent, list)
            and len(sent) == 1
            and isinstance(sent[0], str)
            and is_free_text(_resolve(prop).get("items", {}))
        ):
            if stored.get(field) != [sent[0].strip()]:
                self.failures.append(f"{where}: stored {_short(stored.get(field))}, sent {_short(sent)}")
            self.check_csv(where, field, list_item_cell(sent[0].strip()), response, after)

    def stored(self, response) -> dict[str, Any]:
        raise NotImplementedError

    def check_csv(self, where, field, expected, response, after) -> None:
        raise NotImplementedError


class IncidentWrites(Writes):
    def stored(self, response):
        return self.client.get(f"{LIST}/{response.get_json()['id']}").get_json()

    def check_csv(self, where, field, expected, response, after):
        row = csv_rows(after[1]).get(response.get_json()["id"])
        if row is None or field not in row:
            self.failures.append(f"{where}: no CSV cell for {field}")
        elif row[field] != formula_safe(expected or ""):
            wanted = formula_safe(expected or "")
            self.failures.append(f"{where}: CSV cell {_short(row[field])}, expected {_short(wanted)}")


class ChildWrites(Writes):
    def __init__(self, *args, child: str, incident_id: int, **kwargs):
        self.child, self.incident_id = child, incident_id
        super().__init__(*args, **kwargs)

    def stored(self, response):
        incident = self.client.get(f"{LIST}/{self.incident_id}").get_json()
        child_id = response.get_json()["id"]
        return next(c for c in incident[CHILD_COLUMNS[self.child]] if c["id"] == child_id)

    def check_csv(self, where, field, expected, response, after):
        # Child records travel whole as JSON in their own column: the value must be in there, verbatim.
        row = csv_rows(after[1])[self.incident_id]
        children = json.loads(row[CHILD_COLUMNS[self.child]].removeprefix("'"))
        if not any(c.get(field) == expected for c in children):
            column = CHILD_COLUMNS[self.child]
            self.failures.append(f"{where}: {_short(expected)} not found in the CSV column {column}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}… ({len(text)} chars)"


def _send_field(writes: Writes, field: str) -> None:
    for label, value in _values_for(writes.fields[field]).items():
        body = {**writes.base, field: value}
        writes.send(field, label, _dumps(body), value)
    # Structural attacks inside the field: deep nesting (the parser must refuse it, not recurse).
    for label, deep in (("deep-lists", DEEP_LISTS), ("deep-objects", DEEP_OBJECTS)):
        text = _dumps({**writes.base, field: "__DEEP__"}).replace('"__DEEP__"', deep)
        writes.send(field, label, text, check_value=False)
    # A JSON number with more digits than Python converts (4300) by default.
    text = _dumps({**writes.base, field: "__NUMBER__"}).replace('"__NUMBER__"', "9" * 5000)
    writes.send(field, "number-5000-digits", text, check_value=False)
    # Invalid UTF-8 inside the field's string.
    text = _dumps({**writes.base, field: "__BYTES__"}).encode().replace(b"__BYTES__", b"\xff\xfe")
    writes.send(field, "invalid-utf8", text, check_value=False)


@pytest.mark.slow
@pytest.mark.parametrize("field", sorted(INCIDENT_FIELDS))
def test_incident_body_field(client, world, field):
    writes = IncidentWrites(client, lambda: LIST, incident_doc(), INCIDENT_FIELDS, dict)
    _send_field(writes, field)
    failures = writes.finish()
    assert not failures, "\n".join(failures)


INLINE_ID_CASES = ["acknowledgements", "legal_cases", "sources"]


@pytest.mark.parametrize("collection", INLINE_ID_CASES)
def test_inline_child_id(client, world, collection):
    """An inline child's `id` is the one integer a client sends for a row of ours: any value is safe."""
    base_child = {
        "acknowledgements": CHILDREN["acknowledgements"],
        "legal_cases": CHILDREN["legal-cases"],
        "sources": CHILDREN["sources"],
    }[collection]
    writes = IncidentWrites(client, lambda: LIST, incident_doc(), INCIDENT_FIELDS, dict)
    for label, value in HOSTILE_JSON.items():
        body = {**incident_doc(), collection: [{**base_child, "id": value}]}
        writes.send(collection, f"id={label}", _dumps(body), check_value=False)
    failures = writes.finish()
    assert not failures, "\n".join(failures)


CHILD_CASES = [(child, field) for child in CHILDREN for field in sorted(CHILD_FIELDS[child])]


@pytest.mark.slow
@pytest.mark.parametrize(("child", "field"), CHILD_CASES, ids=[f"{c}-{f}" for c, f in CHILD_CASES])
def test_child_body_field(client, world, child, field):
    incident_id = world[0]

    def headers():
        return {"If-Match": etag_of(client, incident_id)}

    writes = ChildWrites(
        client,
        lambda: f"{LIST}/{incident_id}/{child}",
        CHILDREN[child],
        CHILD_FIELDS[child],
        headers,
        child=child,
        incident_id=incident_id,
    )
    _send_field(writes, field)
    failures = writes.finish()
    assert not failures, "\n".join(failures)


WHOLE_BODIES = {
    "deep-lists": DEEP_LISTS,
    "deep-objects": DEEP_OBJECTS,
    "invalid-utf8": b"\xff\xfe",
    "invalid-utf8-in-json": b'{"title": "\xff\xfe"}',
    "nul-byte": b"\x00",
    "json-string": '"' + "A" * MB + '"',
    "json-number": "9" * 5000,
    "json-null": "null",
    "json-list": "[]",
    "empty": "",
    "truncated": '{"title": "x"',
    "duplicate-keys": '{"title": "a", "title": "b"}',
    "nan": '{"title": NaN}',
}


@pytest.mark.parametrize("target", ["incidents", *CHILDREN])
def test_whole_body_garbage(client, world, target):
    incident_id = world[0]
    before = snapshot(client)
    url = LIST if target == "incidents" else f"{LIST}/{incident_id}/{target}"
    failures = []
    for label, text in WHOLE_BODIES.items():
        headers = {} if target == "incidents" else {"If-Match": etag_of(client, incident_id)}
        response = post_raw(client, url, text, headers)
        if not 400 <= response.status_code < 500 or problem_errors(response):
            failures.append(describe("POST", url, label, response) + f" {problem_errors(response)}")
    assert snapshot(client) == before
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------- accepted hostile text


def test_script_and_formula_titles_are_stored_verbatim_and_exported_safely(client, world):
    titles = [
        "<script>alert(1)</script>",
        "=cmd|' /C calc'!A0",
        "' OR 1=1 --",
        "1; DROP TABLE incidents",
        "@SUM(A1)",
        "-2+3",
        "+1",
        '"><img src=x onerror=alert(1)>',
    ]
    ids = {}
    for title in titles:
        response = client.post(LIST, json=incident_doc(title=title))
        assert response.status_code == 201, response.get_json()
        # JSON text, not HTML: the script is data, escaped only by the JSON encoding.
        assert response.mimetype == "application/json"
        assert response.get_json()["title"] == title
        ids[response.get_json()["id"]] = title
    rows = csv_rows(client.get(EXPORT).get_data(as_text=True))
    for incident_id, title in ids.items():
        assert client.get(f"{LIST}/{incident_id}").get_json()["title"] == title
        assert rows[incident_id]["title"] == formula_safe(title)
    assert rows[next(i for i, t in ids.items() if t.startswith("="))]["title"] == "'=cmd|' /C calc'!A0"
    # Nothing was dropped: the two seeded incidents and the new ones are all there.
    assert len(client.get(LIST, query_string={"page_size": 500}).get_json()) == 2 + len(titles)


# --------------------------------------------------------------------------- headers and path


@pytest.mark.parametrize("label", ["sql-or", "nul", "1mb", "html-script", "unicode-rtl"])
def test_hostile_path_and_headers(app, client, world, label):
    value = HOSTILE_STRINGS[label]
    anonymous = app.test_client()
    before = snapshot(client)
    requests = [
        ("GET", f"/api/v1/platforms/{value}", {}, None),
        ("GET", f"{LIST}/{value}", {}, None),
        ("POST", LIST, {"Authorization": f"Bearer {value}"}, incident_doc()),
        ("POST", LIST, {"Authorization": f"Bearer sit_{value}_{value}"}, incident_doc()),
        ("PATCH", f"{LIST}/{world[0]}", {"If-Match": value}, {"title": "x"}),
        ("GET", f"{LIST}/{world[0]}", {"If-None-Match": value}, None),
    ]
    failures = []
    for method, url, headers, body in requests:
        sender = anonymous if "Authorization" in headers else client
        try:
            response = sender.open(url, method=method, headers=headers, json=body)
        except ValueError:
            continue  # the test client itself refuses the header (e.g. a NUL byte): nothing to test
        if response.status_code >= 400 and problem_errors(response):
            failures.append(describe(method, url[:80], label, response) + f" {problem_errors(response)}")
        elif response.status_code < 400 and method != "GET":
            failures.append("accepted: " + describe(method, url[:80], label, response))
    assert snapshot(client) == before
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------- body size limit


class TestBodyLimit:
    LIMIT = 4096

    @pytest.fixture
    def app_config(self):
        return {"MAX_CONTENT_LENGTH": self.LIMIT}

    def test_body_over_the_limit_is_a_413_problem(self, client, world):
        before = snapshot(client)
        big = incident_doc(description="d" * (2 * self.LIMIT))
        response = client.post(LIST, json=big)
        assert response.status_code == 413, describe("POST", LIST, "big", response)
        assert not problem_errors(response), problem_errors(response)
        headers = {"If-Match": etag_of(client, world[0])}
        response = client.post(
            f"{LIST}/{world[0]}/sources", json={"url": "https://e.org/" + "a" * 5000}, headers=headers
        )
        assert response.status_code == 413 and not problem_errors(response)
        response = client.post(
            "/api/v1/incidents/import",
            query_string={"format": "native"},
            data={"file": (io.BytesIO(b"title\n" + b"x" * (2 * self.LIMIT)), "big.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 413, describe("POST", "import", "big file", response)
        assert not problem_errors(response), problem_errors(response)
        assert snapshot(client) == before

    def test_body_under_the_limit_still_works(self, client, world):
        assert client.post(LIST, json=incident_doc(description="d" * 100)).status_code == 201
