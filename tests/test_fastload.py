"""The import's compiled loader gives exactly what `IncidentSchema().load` gives: the same
document for every valid input, the same errors (marshmallow's own) for every invalid one."""

from __future__ import annotations

import copy
from typing import Any

import marshmallow as ma
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.fast import load as fastload
from app.resources.incidents.schemas import IncidentSchema
from tests.conftest import REAL_STOP_FILE, incident_doc

FULL = incident_doc(
    description="  Mobile data off.  ",
    shutdown_types=["service_based", "full_network"],
    platforms=["twitter", "whatsapp"],
    networks=["mobile", "broadband"],
    asns=[17557, "AS9541"],
    telcos=["Jazz", " Zong "],
    end_date="2023-05-09",
    status="ended",
    start_date_estimated=True,
    acknowledgements=[
        {
            "actor": "Ministry of Interior",
            "stance": "acknowledged",
            "date": "2023-05-04",
            "channel": "press_statement",
            "justification": "national_security",
            "quote": "",
            "source_url": "https://example.org/statement",
        }
    ],
    legal_cases=[
        {
            "court": "Manipur High Court",
            "case_number": "WP 1/2023",
            "filed_on": "2023-05-05",
            "ruling_on": "2023-05-20",
            "status": "decided",
            "source_url": "",
        }
    ],
    sources=[
        {"url": "https://example.org/a", "kind": "news", "title": "Cut", "published_on": "2023-05-03"},
        {"url": "http://example.org/b", "archived_url": "https://web.archive.org/web/2023/x"},
    ],
)
# The paths a mutation may touch: every input field, child fields, read-only and unknown keys.
SCHEMA = IncidentSchema()
TOP_KEYS = sorted(SCHEMA.fields) + ["unknown_field"]
CHILD_KEYS = {
    "acknowledgements": sorted(SCHEMA.fields["acknowledgements"].inner.schema.fields) + ["extra"],
    "legal_cases": sorted(SCHEMA.fields["legal_cases"].inner.schema.fields) + ["extra"],
    "sources": sorted(SCHEMA.fields["sources"].inner.schema.fields) + ["extra"],
}
DELETE = object()
VALUES = [
    DELETE,
    None,
    "",
    "   ",
    "  padded  ",
    "nul\x00inside",
    "x" * 201,
    0,
    7,
    -1,
    1.5,
    True,
    False,
    [],
    {},
    ["full_network"],
    ["service_based"],
    ["twitter", "x", "nope"],
    ["mobile", "mobile"],
    ["broadband", "mobile", "fixed"],
    [17557, "AS1", "ASx"],
    "pk",
    "ZZ",
    "2023-05-01",
    "2023-04-01",
    "1985-01-01",
    "2023-02-30",
    "20230501",
    "https://example.org/z",
    " https://example.org/padded ",
    "https://exa mple.org/",
    "http://localhost/x",
    "http://10.0.0.1/",
    "https://bücher.de/x",
    "https://xn--zz.org/",
    "hTtP://C\\TKk0*b;;iB.a!2C}yA;On25EAJ0zoz",
    "ftp://example.org/",
    "https://" + "x" * 2000,
    "2024-02-29",
    "2023-5-1",
    "1989-12-31",
    "2099-01-01",
    "in",
    " pk ",
    "javascript:alert(1)",
    "national",
    "ended",
    "ongoing",
    "acknowledged",
    "pending",
    "government",
    [{"url": "https://example.org/c"}],
    [{"actor": "Police", "stance": "denied"}],
    [{"court": ""}],
]


def outcome(load: Any, document: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "loaded", load(copy.deepcopy(document))
    except ma.ValidationError as error:
        return "invalid", error.messages


def mutate(document: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(document)
    target: Any = document
    for step in path[:-1]:
        if isinstance(target, dict) and step in target or isinstance(target, list) and target:
            target = target[step]
        else:
            return document  # an earlier change replaced the list this path goes through
    if not isinstance(target, dict):
        return document
    if value is DELETE:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = copy.deepcopy(value)
    return document


PATHS = st.one_of(
    st.sampled_from(TOP_KEYS).map(lambda key: (key,)),
    st.sampled_from(sorted(CHILD_KEYS)).flatmap(
        lambda name: st.sampled_from(CHILD_KEYS[name]).map(lambda key: (name, 0, key))
    ),
)


def test_valid_documents_load_the_same_without_marshmallow(app, monkeypatch):
    schema = IncidentSchema()
    with app.app_context():
        expected = [schema.load(copy.deepcopy(doc)) for doc in (FULL, incident_doc())]
        load = fastload.compile_loader(schema)

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("the fast path handed a valid document to marshmallow")

        monkeypatch.setattr(schema, "load", refuse)
        assert [load(copy.deepcopy(doc)) for doc in (FULL, incident_doc())] == expected
    assert expected[0]["platforms"] == ["x", "whatsapp"]  # aliases resolved
    assert expected[0]["description"] == "Mobile data off."  # trimmed
    assert expected[0]["acknowledgements"][0]["quote"] is None  # "" is no text
    assert expected[0]["legal_cases"][0]["source_url"] is None


def test_invalid_documents_get_marshmallows_errors(app):
    schema = IncidentSchema()
    bad = mutate(mutate(FULL, ("sources", 0, "url"), "javascript:x"), ("country",), "ZZ")
    with app.app_context():
        kind, messages = outcome(fastload.compile_loader(schema), bad)
    assert kind == "invalid"
    assert set(messages) == {"country", "sources"}
    assert "Unknown country code 'ZZ'" in messages["country"][0]


SINGLE_PATHS = [(key,) for key in TOP_KEYS] + [
    (name, 0, key) for name, keys in sorted(CHILD_KEYS.items()) for key in keys
]


def test_every_single_change_loads_as_marshmallow_loads_it(app):
    """Each path set to each value, one at a time: every field type meets every kind of value."""
    with app.app_context():
        schema = IncidentSchema()
        load = fastload.compile_loader(schema)
        for path in SINGLE_PATHS:
            for value in VALUES:
                document = mutate(FULL, path, value)
                assert outcome(load, document) == outcome(schema.load, document), (path, value)


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(changes=st.lists(st.tuples(PATHS, st.sampled_from(VALUES)), min_size=1, max_size=3))
def test_any_change_to_a_document_loads_as_marshmallow_loads_it(app, changes):
    document = FULL
    for path, value in changes:
        document = mutate(document, path, value)
    with app.app_context():
        schema = IncidentSchema()
        assert outcome(fastload.compile_loader(schema), document) == outcome(schema.load, document)


def test_a_schema_with_unknown_hooks_is_loaded_by_marshmallow():
    class WithPostLoad(ma.Schema):
        name = ma.fields.String()

        @ma.post_load
        def _upper(self, data: dict, **kwargs: Any) -> dict:
            return {"name": data["name"].upper()}

    schema = WithPostLoad()
    assert fastload.compile_loader(schema) == schema.load
    assert fastload.compile_loader(schema)({"name": "x"}) == {"name": "X"}


@pytest.mark.skipif(not REAL_STOP_FILE.exists(), reason="the STOP sheet is not here (STOP_SHEET)")
def test_every_document_of_the_stop_sheet_loads_as_marshmallow_loads_it(app):
    from app.db import db
    from app.services import import_rows
    from app.services import platforms as platform_service

    with app.app_context():
        lines = REAL_STOP_FILE.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        candidates, _, rows = import_rows.stop_candidates(lines, platform_service.alias_map(db.session))
        schema = IncidentSchema()
        load = fastload.compile_loader(schema)
        assert rows == 2102 and len(candidates) > 2000
        for candidate in candidates:
            assert outcome(load, candidate.document) == outcome(schema.load, candidate.document), (
                candidate.row
            )
