"""HTTP-level tests of the incident endpoints: create, read, list, replace, patch."""

from __future__ import annotations

import importlib
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import create, etag_of, incident_doc

API = "/api/v1/incidents"

INCIDENT_FIELDS = {
    "id",
    "title",
    "description",
    "country",
    "country_name",
    "area",
    "scope",
    "shutdown_types",
    "networks",
    "platforms",
    "start_date",
    "start_date_estimated",
    "end_date",
    "status",
    "duration_days",
    "ordered_by",
    "decision_maker",
    "actual_cause",
    "actual_cause_details",
    "official_justification",
    "justification_details",
    "legal_basis",
    "legal_basis_details",
    "election_related",
    "violence_reported",
    "human_rights_abuse_reported",
    "asns",
    "telcos",
    "acknowledgement_status",
    "acknowledged_on",
    "acknowledgement_delay_days",
    "litigation_status",
    "acknowledgements",
    "legal_cases",
    "sources",
    "stop_rows",
    "provenance",
    "provenance_at",
    "created_at",
    "updated_at",
    "revision",
}
PROVENANCE_FIELDS = {"provenance", "provenance_at"}
ACKNOWLEDGEMENT_FIELDS = {
    "id",
    "actor",
    "actor_type",
    "stance",
    "date",
    "channel",
    "justification",
    "quote",
    "source_url",
    *PROVENANCE_FIELDS,
}
LEGAL_CASE_FIELDS = {
    "id",
    "court",
    "case_number",
    "filed_on",
    "petitioners",
    "respondents",
    "status",
    "ruling_on",
    "ruling_summary",
    "next_hearing_on",
    "source_url",
    *PROVENANCE_FIELDS,
}
SOURCE_FIELDS = {
    "id",
    "url",
    "title",
    "publisher",
    "published_on",
    "kind",
    "archived_url",
    *PROVENANCE_FIELDS,
}
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")

HUGE_ID = "99999999999999999999"


# --------------------------------------------------------------------------- helpers


def url(incident_id: int | str) -> str:
    return f"{API}/{incident_id}"


def today() -> date:
    return datetime.now(UTC).date()


def assert_problem(response, status: int) -> dict[str, Any]:
    """An RFC 9457 problem response with the given status; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def assert_validation_error(response, location: str, *fields: str) -> dict[str, Any]:
    """A 422 whose `errors` names at least one of `fields` under `location`."""
    body = assert_problem(response, 422)
    errors = body.get("errors")
    assert isinstance(errors, dict) and location in errors, body
    assert any(field in errors[location] for field in fields), body
    return errors[location]


def pagination(response) -> dict[str, Any]:
    return json.loads(response.headers["X-Pagination"])


def listing(client, params: Any = None):
    response = client.get(API, query_string=params or {})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def ids(response) -> list[int]:
    return [incident["id"] for incident in response.get_json()]


def listed_ids(client, params: Any = None) -> list[int]:
    return ids(listing(client, params))


def total(client) -> int:
    return pagination(listing(client))["total"]


def links(response) -> dict[str, str]:
    """The Link header as {rel: url}."""
    result = {}
    for part in response.headers["Link"].split(","):
        match = re.match(r'\s*<([^>]*)>\s*;\s*rel="([^"]+)"', part)
        assert match, response.headers["Link"]
        result[match.group(2)] = match.group(1)
    return result


def query_of(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query)


def patch(client, incident_id: int, body: Any, etag: str | None = None):
    etag = etag if etag is not None else etag_of(client, incident_id)
    return client.patch(url(incident_id), json=body, headers={"If-Match": etag})


def put(client, incident_id: int, body: Any, etag: str | None = None):
    etag = etag if etag is not None else etag_of(client, incident_id)
    return client.put(url(incident_id), json=body, headers={"If-Match": etag})


def get(client, incident_id: int) -> dict[str, Any]:
    response = client.get(url(incident_id))
    assert response.status_code == 200
    return response.get_json()


def gov_ack(stance: str = "acknowledged", day: str | None = "2024-04-17", **extra: Any) -> dict[str, Any]:
    return {
        "actor": "Ministry of Interior",
        "actor_type": "government",
        "stance": stance,
        "date": day,
        **extra,
    }


def case(status: str = "pending", **extra: Any) -> dict[str, Any]:
    return {"court": "Islamabad High Court", "status": status, **extra}


@pytest.fixture
def clock(monkeypatch):
    """Controls the server's clock (created_at, updated_at): timestamps without sleeping."""

    class Clock:
        now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)

        def advance(self, **delta: float) -> None:
            self.now += timedelta(**delta)

    fake = Clock()

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return fake.now if tz is None else fake.now.astimezone(tz)

    # `app.db` the attribute is the Database object; the module is what utcnow() lives in.
    monkeypatch.setattr(importlib.import_module("app.db"), "datetime", Frozen)
    return fake


# --------------------------------------------------------------------------- create


def test_create_returns_201_location_and_every_field(client):
    response = client.post(API, json=incident_doc())
    assert response.status_code == 201, response.get_json()
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == INCIDENT_FIELDS
    assert isinstance(body["id"], int)
    assert urlsplit(response.headers["Location"]).path == f"{API}/{body['id']}"
    followed = client.get(response.headers["Location"])
    assert followed.status_code == 200
    assert followed.get_json() == body

    assert body["title"] == "Mobile internet cut in Manipur"
    assert body["country"] == "IN"
    assert body["country_name"] == "India"
    assert body["shutdown_types"] == ["full_network"]
    assert body["networks"] == ["mobile"]
    assert body["start_date"] == "2023-05-03"
    assert body["revision"] == 1
    # Empty fields are present: null for scalars, [] for lists.
    for field in (
        "description",
        "decision_maker",
        "actual_cause_details",
        "justification_details",
        "legal_basis_details",
        "end_date",
        "acknowledged_on",
        "acknowledgement_delay_days",
    ):
        assert body[field] is None, field
    for field in ("platforms", "asns", "telcos", "acknowledgements", "legal_cases", "sources"):
        assert body[field] == [], field
    assert body["start_date_estimated"] is False
    for field in (
        "ordered_by",
        "actual_cause",
        "official_justification",
        "legal_basis",
        "election_related",
        "violence_reported",
        "human_rights_abuse_reported",
    ):
        assert body[field] == "unknown", field
    assert body["acknowledgement_status"] == "none"
    assert body["litigation_status"] == "none"
    assert RFC3339_UTC.match(body["created_at"]), body["created_at"]
    assert RFC3339_UTC.match(body["updated_at"]), body["updated_at"]
    assert body["created_at"] == body["updated_at"]


def test_create_defaults_scope_to_unknown(client):
    doc = incident_doc()
    del doc["scope"]
    response = client.post(API, json=doc)
    assert response.status_code == 201
    assert response.get_json()["scope"] == "unknown"


def test_create_normalises_country_platform_alias_and_asn(client):
    body = create(
        client,
        country="pk",
        shutdown_types=["service_based"],
        platforms=["twitter", "Facebook"],
        asns=["AS17557", "as45595", 9541, "38193"],
        telcos=["PTCL", "Jazz"],
    )
    assert body["country"] == "PK"
    assert body["country_name"] == "Pakistan"
    assert sorted(body["platforms"]) == ["facebook", "x"]
    assert sorted(body["asns"]) == [9541, 17557, 38193, 45595]
    assert body["telcos"] == ["PTCL", "Jazz"]


UNORDERED_LISTS = {
    "networks": ["mobile", "broadband"],
    "shutdown_types": ["throttling", "service_based"],
    "platforms": ["youtube", "facebook", "twitter"],
    "asns": [9541, 17557, 45595, 38193],
}


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_write_response_matches_get_and_its_etag_is_usable(client, method):
    """What a write returns is what a GET then shows, so its ETag works for the next edit."""
    if method == "post":
        response = client.post(API, json=incident_doc(**UNORDERED_LISTS))
        assert response.status_code == 201
    else:
        incident_id = create(client)["id"]
        body = incident_doc(**UNORDERED_LISTS) if method == "put" else UNORDERED_LISTS
        response = put(client, incident_id, body) if method == "put" else patch(client, incident_id, body)
        assert response.status_code == 200, response.get_json()
    written = response.get_json()
    fetched = client.get(url(written["id"]))
    assert written == fetched.get_json()
    assert response.headers["ETag"] == fetched.headers["ETag"]
    assert patch(client, written["id"], {"title": "Edited"}, response.headers["ETag"]).status_code == 200


def test_create_empty_optional_text_means_no_value(client):
    response = client.post(
        API,
        json=incident_doc(
            description="",
            decision_maker="   ",
            acknowledgements=[gov_ack(quote="")],
            legal_cases=[case(case_number="", ruling_summary="")],
            sources=[{"url": "https://a.example", "title": "", "archived_url": ""}],
        ),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["description"] is None
    assert body["decision_maker"] is None
    assert body["acknowledgements"][0]["quote"] is None
    assert body["legal_cases"][0]["case_number"] is None
    assert body["sources"][0]["title"] is None
    assert body["sources"][0]["archived_url"] is None


def test_create_accepts_asn_bounds(client):
    assert sorted(create(client, asns=[0, 4294967295, "AS4294967295"])["asns"]) == [0, 4294967295]


def test_create_accepts_title_of_200_characters(client):
    assert create(client, title="t" * 200)["title"] == "t" * 200


def test_create_trims_and_keeps_strings(client):
    body = create(client, title="  Blackout  ", description="Long narrative\nover lines")
    assert body["title"] == "Blackout"
    assert body["description"] == "Long narrative\nover lines"


def test_status_defaults_to_ended_when_end_date_set(client):
    body = create(client, start_date="2024-02-17", end_date="2025-05-07")
    assert body["status"] == "ended"
    assert body["end_date"] == "2025-05-07"
    assert body["duration_days"] == (date(2025, 5, 7) - date(2024, 2, 17)).days + 1


def test_status_defaults_to_ongoing_and_duration_counts_to_today(client):
    start = today() - timedelta(days=9)
    body = create(client, start_date=start.isoformat())
    assert body["status"] == "ongoing"
    assert body["end_date"] is None
    assert body["duration_days"] == 10


def test_duration_is_inclusive_single_day(client):
    body = create(client, start_date="2024-06-01", end_date="2024-06-01")
    assert body["duration_days"] == 1
    assert body["status"] == "ended"


def test_duration_is_null_without_end_date_when_not_ongoing(client):
    ended = create(client, status="ended")
    assert ended["end_date"] is None and ended["duration_days"] is None
    unknown = create(client, status="unknown")
    assert unknown["status"] == "unknown" and unknown["duration_days"] is None


def test_create_explicit_ended_with_end_date(client):
    body = create(client, status="ended", end_date="2023-05-10")
    assert body["status"] == "ended"
    assert body["duration_days"] == 8


def test_create_with_children_inline(client):
    body = create(
        client,
        title="X blocked nationwide after the election",
        country="pk",
        area="Nationwide",
        scope="national",
        shutdown_types=["service_based"],
        networks=["broadband", "mobile"],
        platforms=["twitter"],
        start_date="2024-02-17",
        end_date="2025-05-07",
        acknowledgements=[
            {
                "actor": "Information Minister",
                "stance": "denied",
                "date": "2024-03-13",
                "channel": "press_statement",
            },
            {
                "actor": "Ministry of Interior",
                "stance": "acknowledged",
                "date": "2024-04-17",
                "channel": "court_filing",
                "justification": "national_security",
                "quote": "In the interest of national security",
                "source_url": "https://example.org/ihc",
            },
        ],
        legal_cases=[
            {
                "court": "Sindh High Court",
                "case_number": "CP 123/2024",
                "filed_on": "2024-02-20",
                "status": "pending",
                "next_hearing_on": "2024-05-01",
            },
            {
                "court": "Islamabad High Court",
                "filed_on": "2024-02-21",
                "status": "decided",
                "ruling_on": "2024-03-20",
                "ruling_summary": "Government ordered to review the ban within a week",
            },
        ],
        sources=[
            {
                "url": "https://netblocks.org/reports/x",
                "title": "X restricted",
                "publisher": "NetBlocks",
                "published_on": "2024-02-17",
                "kind": "measurement",
            },
            {"url": "http://example.com/news"},
        ],
    )
    assert body["revision"] == 1
    assert [a["actor"] for a in body["acknowledgements"]] == ["Information Minister", "Ministry of Interior"]
    for ack in body["acknowledgements"]:
        assert set(ack) == ACKNOWLEDGEMENT_FIELDS
        assert isinstance(ack["id"], int)
    denial, admission = body["acknowledgements"]
    assert denial["actor_type"] == "government"  # the default
    assert denial["quote"] is None and denial["source_url"] is None and denial["justification"] is None
    assert admission["justification"] == "national_security"
    assert admission["source_url"] == "https://example.org/ihc"

    for legal_case in body["legal_cases"]:
        assert set(legal_case) == LEGAL_CASE_FIELDS
    assert body["legal_cases"][0]["next_hearing_on"] == "2024-05-01"
    assert body["legal_cases"][1]["ruling_summary"] == "Government ordered to review the ban within a week"

    for source in body["sources"]:
        assert set(source) == SOURCE_FIELDS
    assert body["sources"][0]["kind"] == "measurement"
    assert body["sources"][1]["kind"] == "other"
    assert body["sources"][1]["title"] is None and body["sources"][1]["published_on"] is None

    assert body["acknowledgement_status"] == "acknowledged"
    assert body["acknowledged_on"] == "2024-04-17"
    assert body["acknowledgement_delay_days"] == (date(2024, 4, 17) - date(2024, 2, 17)).days == 60
    assert body["litigation_status"] == "pending"
    assert get(client, body["id"]) == body


def test_child_defaults(client):
    body = create(
        client,
        acknowledgements=[{"actor": "Ministry", "stance": "denied"}],
        legal_cases=[{"court": "Supreme Court"}],
    )
    assert body["acknowledgements"][0]["actor_type"] == "government"
    assert body["acknowledgements"][0]["date"] is None
    assert body["legal_cases"][0]["status"] == "pending"
    assert body["litigation_status"] == "pending"


@pytest.mark.parametrize(
    ("acknowledgements", "status", "acknowledged_on"),
    [
        ([], "none", None),
        ([gov_ack("denied", "2024-03-13")], "denied", None),
        (
            [gov_ack("denied", "2024-03-13"), gov_ack("acknowledged", "2024-04-17")],
            "acknowledged",
            "2024-04-17",
        ),
        # Only government statements count.
        ([gov_ack("acknowledged", "2024-03-01", actor_type="telco")], "none", None),
        ([gov_ack("acknowledged", "2024-03-01", actor_type="other")], "none", None),
        ([gov_ack("denied", "2024-03-01", actor_type="telco")], "none", None),
        (
            [gov_ack("acknowledged", "2024-02-18", actor_type="telco"), gov_ack("denied", "2024-03-13")],
            "denied",
            None,
        ),
        # Earliest government acknowledgement, whatever the order given.
        (
            [
                gov_ack("acknowledged", "2024-05-01"),
                gov_ack("acknowledged", "2024-02-20", actor_type="telco"),
                gov_ack("acknowledged", "2024-04-17"),
                gov_ack("acknowledged", None),
            ],
            "acknowledged",
            "2024-04-17",
        ),
        ([gov_ack("acknowledged", None)], "acknowledged", None),
    ],
    ids=[
        "none",
        "denied",
        "acknowledged-wins",
        "telco-only",
        "other-only",
        "telco-denial",
        "telco-ack-gov-denial",
        "earliest",
        "undated",
    ],
)
def test_acknowledgement_status(client, acknowledgements, status, acknowledged_on):
    body = create(client, start_date="2024-02-17", acknowledgements=acknowledgements)
    assert body["acknowledgement_status"] == status
    assert body["acknowledged_on"] == acknowledged_on
    if acknowledged_on is None:
        assert body["acknowledgement_delay_days"] is None
    else:
        expected = (date.fromisoformat(acknowledged_on) - date(2024, 2, 17)).days
        assert body["acknowledgement_delay_days"] == expected


def test_acknowledgement_delay_on_start_day_and_in_advance(client):
    same_day = create(client, start_date="2024-02-17", acknowledgements=[gov_ack(day="2024-02-17")])
    assert same_day["acknowledgement_delay_days"] == 0
    announced = create(client, start_date="2024-02-17", acknowledgements=[gov_ack(day="2024-02-15")])
    assert announced["acknowledgement_delay_days"] == -2


@pytest.mark.parametrize(
    ("statuses", "litigation"),
    [
        ([], "none"),
        (["pending"], "pending"),
        (["appealed"], "pending"),
        (["decided", "appealed"], "pending"),
        (["dismissed", "pending", "withdrawn"], "pending"),
        (["decided"], "concluded"),
        (["decided", "dismissed", "withdrawn"], "concluded"),
    ],
)
def test_litigation_status(client, statuses, litigation):
    body = create(client, legal_cases=[case(status) for status in statuses])
    assert body["litigation_status"] == litigation
    assert [c["status"] for c in body["legal_cases"]] == statuses


# --------------------------------------------------------------------------- create: validation


MISSING = object()


def doc_without_missing(**overrides: Any) -> dict[str, Any]:
    """incident_doc() with the fields set to MISSING left out."""
    return {key: value for key, value in incident_doc(**overrides).items() if value is not MISSING}


INVALID_DOCUMENTS = [
    ("unknown-country", {"country": "XX"}, ("country",)),
    ("three-letter-country", {"country": "PAK"}, ("country",)),
    ("missing-country", {"country": MISSING}, ("country",)),
    ("null-country", {"country": None}, ("country",)),
    ("end-before-start", {"start_date": "2024-02-17", "end_date": "2024-02-16"}, ("end_date",)),
    ("end-date-with-ongoing", {"end_date": "2023-05-10", "status": "ongoing"}, ("status", "end_date")),
    ("end-date-with-unknown", {"end_date": "2023-05-10", "status": "unknown"}, ("status", "end_date")),
    ("service-based-without-platforms", {"shutdown_types": ["service_based"]}, ("platforms",)),
    ("service-based-empty-platforms", {"shutdown_types": ["service_based"], "platforms": []}, ("platforms",)),
    ("unknown-platform", {"platforms": ["myspace"]}, ("platforms",)),
    ("unknown-scope", {"scope": "planetary"}, ("scope",)),
    ("unknown-status", {"status": "paused"}, ("status",)),
    ("unknown-shutdown-type", {"shutdown_types": ["dns_block"]}, ("shutdown_types",)),
    ("empty-shutdown-types", {"shutdown_types": []}, ("shutdown_types",)),
    ("unknown-network", {"networks": ["satellite"]}, ("networks",)),
    ("unknown-ordered-by", {"ordered_by": "aliens"}, ("ordered_by",)),
    ("unknown-actual-cause", {"actual_cause": "weather"}, ("actual_cause",)),
    ("unknown-justification", {"official_justification": "because"}, ("official_justification",)),
    ("unknown-tri-state", {"legal_basis": "maybe"}, ("legal_basis",)),
    ("enum-wrong-case", {"scope": "National"}, ("scope",)),
    ("title-too-long", {"title": "t" * 201}, ("title",)),
    ("title-empty", {"title": ""}, ("title",)),
    ("title-blank", {"title": "   "}, ("title",)),
    ("title-null", {"title": None}, ("title",)),
    ("title-missing", {"title": MISSING}, ("title",)),
    ("title-number", {"title": 123}, ("title",)),
    ("shutdown-types-string", {"shutdown_types": "full_network"}, ("shutdown_types",)),
    ("platforms-string", {"platforms": "x"}, ("platforms",)),
    ("start-date-number", {"start_date": 20240217}, ("start_date",)),
    ("start-date-impossible", {"start_date": "2024-02-30"}, ("start_date",)),
    ("start-date-not-iso", {"start_date": "17/02/2024"}, ("start_date",)),
    ("start-date-missing", {"start_date": MISSING}, ("start_date",)),
    ("start-date-null", {"start_date": None}, ("start_date",)),
    ("shutdown-types-missing", {"shutdown_types": MISSING}, ("shutdown_types",)),
    ("start-date-estimated-not-bool", {"start_date_estimated": "perhaps"}, ("start_date_estimated",)),
    ("start-date-before-1990", {"start_date": "1989-12-31"}, ("start_date",)),
    (
        "end-date-before-1990",
        {"start_date": "1989-01-01", "end_date": "1989-01-02"},
        ("start_date", "end_date"),
    ),
    ("asn-too-big", {"asns": [4294967296]}, ("asns",)),
    ("asn-negative", {"asns": [-1]}, ("asns",)),
    ("asn-not-a-number", {"asns": ["ASfoo"]}, ("asns",)),
    ("asn-bool", {"asns": [True]}, ("asns",)),
    ("asn-float", {"asns": [1.5]}, ("asns",)),
    ("asns-not-a-list", {"asns": 17557}, ("asns",)),
    ("nul-in-title", {"title": "Block\x00ed"}, ("title",)),
    ("nul-in-description", {"description": "a\x00b"}, ("description",)),
    ("nul-in-telco", {"telcos": ["Ja\x00zz"]}, ("telcos",)),
    ("nul-in-child", {"acknowledgements": [gov_ack(actor="Min\x00istry")]}, ("acknowledgements",)),
    ("javascript-source-url", {"sources": [{"url": "javascript:alert(1)"}]}, ("sources",)),
    ("data-source-url", {"sources": [{"url": "data:text/html,<b>x</b>"}]}, ("sources",)),
    ("relative-source-url", {"sources": [{"url": "/reports/1"}]}, ("sources",)),
    (
        "javascript-ack-url",
        {"acknowledgements": [gov_ack(source_url="javascript:alert(1)")]},
        ("acknowledgements",),
    ),
    (
        "javascript-archived-url",
        {"sources": [{"url": "https://a.example", "archived_url": "javascript:x"}]},
        ("sources",),
    ),
    ("source-without-url", {"sources": [{"title": "No link"}]}, ("sources",)),
    (
        "ruling-before-filing",
        {"legal_cases": [case(filed_on="2024-03-01", ruling_on="2024-02-28")]},
        ("legal_cases",),
    ),
    ("case-without-court", {"legal_cases": [{"status": "pending"}]}, ("legal_cases",)),
    ("case-unknown-status", {"legal_cases": [case("lost")]}, ("legal_cases",)),
    ("ack-without-stance", {"acknowledgements": [{"actor": "Ministry"}]}, ("acknowledgements",)),
    (
        "ack-unknown-actor-type",
        {"acknowledgements": [gov_ack(actor_type="journalist")]},
        ("acknowledgements",),
    ),
    ("ack-date-before-1990", {"acknowledgements": [gov_ack(day="1985-01-01")]}, ("acknowledgements",)),
    ("unknown-field", {"colour": "red"}, ("colour",)),
    ("unknown-child-field", {"sources": [{"url": "https://a.example", "rating": 5}]}, ("sources",)),
    ("children-not-a-list", {"sources": {"url": "https://a.example"}}, ("sources",)),
]


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [pytest.param(overrides, fields, id=name) for name, overrides, fields in INVALID_DOCUMENTS],
)
def test_create_rejects_invalid_document(client, overrides, fields):
    create(client)
    before = total(client)
    response = client.post(API, json=doc_without_missing(**overrides))
    assert_validation_error(response, "json", *fields)
    assert "Location" not in response.headers
    assert total(client) == before


def test_validation_error_reports_every_field(client):
    response = client.post(API, json=incident_doc(country="XX", scope="planetary", colour="red"))
    errors = assert_validation_error(response, "json", "country")
    assert {"country", "scope", "colour"} <= set(errors)
    assert all(isinstance(message, str) for message in errors["country"])


def test_nested_validation_error_points_at_the_item(client):
    response = client.post(
        API,
        json=incident_doc(sources=[{"url": "https://ok.example"}, {"url": "javascript:alert(1)"}]),
    )
    errors = assert_validation_error(response, "json", "sources")
    assert set(errors["sources"]) == {"1"}
    assert "url" in errors["sources"]["1"]


@pytest.mark.parametrize("body", [[], "incident", 42, None], ids=["array", "string", "number", "null"])
def test_create_rejects_non_object_json(client, body):
    response = client.post(API, data=json.dumps(body), content_type="application/json")
    assert_problem(response, response.status_code)
    assert response.status_code in (400, 422)
    assert total(client) == 0


def test_create_malformed_json_is_400(client):
    response = client.post(API, data='{"title": "Cut", ', content_type="application/json")
    assert_problem(response, 400)
    assert total(client) == 0


def test_create_non_json_body_is_415(client):
    response = client.post(API, data="title=Cut&country=PK", content_type="text/plain")
    assert_problem(response, 415)
    form = client.post(API, data={"title": "Cut", "country": "PK"})
    assert_problem(form, 415)
    assert total(client) == 0


def test_create_without_body_is_client_error(client):
    response = client.post(API)
    assert_problem(response, response.status_code)
    assert response.status_code in (400, 415, 422)


# --------------------------------------------------------------------------- read


def test_get_incident(client):
    created = create(client, country="pk", platforms=["twitter"], shutdown_types=["service_based"])
    response = client.get(url(created["id"]))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == created
    assert re.match(r'^(W/)?"[^"]+"$', response.headers["ETag"])


@pytest.mark.parametrize("incident_id", ["12345", HUGE_ID, "2147483648"])
def test_get_unknown_incident_is_404(client, incident_id):
    create(client)
    body = assert_problem(client.get(url(incident_id)), 404)
    assert "errors" not in body


@pytest.mark.parametrize("incident_id", ["abc", "-1", "1.5"])
def test_non_integer_id_is_404(client, incident_id):
    assert_problem(client.get(url(incident_id)), 404)


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("incident_id", ["12345", HUGE_ID])
def test_write_to_unknown_incident_is_404(client, method, incident_id):
    created = create(client)
    etag = etag_of(client, created["id"])
    response = getattr(client, method)(url(incident_id), json=incident_doc(), headers={"If-Match": etag})
    assert_problem(response, 404)


def test_delete_on_collection_is_405_with_allow(client):
    response = client.delete(API)
    assert_problem(response, 405)
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed


def test_patch_on_collection_is_405_with_allow(client):
    response = client.patch(API, json={})
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


# --------------------------------------------------------------------------- list


def test_list_empty(client):
    response = listing(client)
    assert response.get_json() == []
    assert pagination(response)["total"] == 0
    assert "ETag" in response.headers


def test_list_returns_full_documents(client):
    created = create(client, acknowledgements=[gov_ack()], sources=[{"url": "https://a.example"}])
    response = listing(client)
    assert response.mimetype == "application/json"
    assert response.get_json() == [created]


def _create_all(client, docs: dict[str, dict[str, Any]]) -> dict[str, int]:
    return {name: create(client, **overrides)["id"] for name, overrides in docs.items()}


SERVICE = {"shutdown_types": ["service_based"]}

# param -> three incidents as (query value or None, overrides); the third is the "other" one.
FILTER_CASES = {
    "status": [("ongoing", {}), ("ended", {"end_date": "2023-05-04"}), ("unknown", {"status": "unknown"})],
    "scope": [("national", {"scope": "national"}), ("local", {"scope": "local"}), ("regional", {})],
    "ordered_by": [
        ("military", {"ordered_by": "military"}),
        ("judiciary", {"ordered_by": "judiciary"}),
        ("unknown", {}),
    ],
    "actual_cause": [
        ("protests", {"actual_cause": "protests"}),
        ("exam_cheating", {"actual_cause": "exam_cheating"}),
        ("unknown", {}),
    ],
    "official_justification": [
        ("national_security", {"official_justification": "national_security"}),
        ("school_exams", {"official_justification": "school_exams"}),
        ("unknown", {}),
    ],
    "shutdown_type": [
        ("full_network", {}),
        ("throttling", {"shutdown_types": ["throttling"]}),
        ("service_based", {**SERVICE, "platforms": ["facebook"]}),
    ],
    "network": [("mobile", {}), ("broadband", {"networks": ["broadband"]}), (None, {"networks": []})],
    "platform": [
        ("twitter", {**SERVICE, "platforms": ["x"]}),
        ("facebook", {**SERVICE, "platforms": ["facebook"]}),
        ("youtube", {**SERVICE, "platforms": ["youtube"]}),
    ],
    "country": [("pk", {"country": "PK"}), ("BD", {"country": "bd"}), ("IN", {})],
    "asn": [("AS17557", {"asns": [17557]}), ("9829", {"asns": ["AS9829"]}), ("1", {"asns": [1]})],
    "acknowledgement_status": [
        ("acknowledged", {"acknowledgements": [gov_ack()]}),
        ("denied", {"acknowledgements": [gov_ack("denied")]}),
        ("none", {"acknowledgements": [gov_ack(actor_type="telco")]}),
    ],
    "litigation_status": [
        ("pending", {"legal_cases": [case("appealed")]}),
        ("concluded", {"legal_cases": [case("decided")]}),
        ("none", {}),
    ],
}


@pytest.mark.parametrize("param", list(FILTER_CASES))
def test_list_filter(client, param):
    cases = FILTER_CASES[param]
    created = [
        create(client, title=f"{param} {n}", **overrides)["id"] for n, (_, overrides) in enumerate(cases)
    ]
    for (value, _), incident_id in zip(cases, created, strict=True):
        if value is None:
            continue
        response = listing(client, {param: value})
        assert ids(response) == [incident_id], value
        assert pagination(response)["total"] == 1
    # Repeating a filter ORs its values.
    both = listing(client, {param: [cases[0][0], cases[1][0]]})
    assert sorted(ids(both)) == sorted(created[:2])
    assert pagination(both)["total"] == 2


def test_list_filter_on_multi_valued_field_lists_each_incident_once(client):
    both = create(
        client,
        shutdown_types=["service_based", "throttling"],
        platforms=["x", "facebook"],
        networks=["mobile", "broadband"],
        asns=[1, 2],
    )["id"]
    create(client)
    for params in (
        {"platform": ["x", "facebook", "twitter"]},
        {"shutdown_type": ["service_based", "throttling"]},
        {"network": ["mobile", "broadband"], "platform": "x"},
        {"asn": ["1", "AS2"]},
    ):
        response = listing(client, params)
        assert ids(response) == [both], params
        assert pagination(response)["total"] == 1


def test_list_filters_are_anded(client):
    target = create(
        client, country="PK", status="ongoing", scope="national", title="Blackout in Balochistan"
    )["id"]
    create(client, country="PK", end_date="2023-05-10", scope="national", title="Blackout in Sindh")
    manipur = create(client, country="IN", status="ongoing", scope="national", title="Blackout in Manipur")
    create(client, country="PK", status="ongoing", scope="local", title="Blackout in Wana")
    create(client, country="PK", status="ongoing", scope="national", title="Throttling in Quetta")
    params = {"country": "PK", "status": "ongoing", "scope": "national", "q": "blackout"}
    assert listed_ids(client, params) == [target]
    assert set(listed_ids(client, {**params, "country": ["PK", "IN"]})) == {target, manipur["id"]}
    assert listed_ids(client, {**params, "actual_cause": "protests"}) == []


ACTIVE_DATASET = {
    "before": {"start_date": "2024-01-01", "end_date": "2024-02-29"},
    "ends_on_from": {"start_date": "2024-02-01", "end_date": "2024-03-01"},
    "inside": {"start_date": "2024-03-10", "end_date": "2024-03-12"},
    "spanning": {"start_date": "2024-02-01", "end_date": "2024-04-30"},
    "starts_on_to": {"start_date": "2024-03-31", "end_date": "2024-04-05"},
    "after": {"start_date": "2024-04-01", "end_date": "2024-04-02"},
    "ongoing_old": {"start_date": "2020-01-01"},
    "ongoing_after": {"start_date": "2024-04-10"},
}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"active_from": "2024-03-01", "active_to": "2024-03-31"},
            {"ends_on_from", "inside", "spanning", "starts_on_to", "ongoing_old"},
        ),
        (
            {"active_from": "2024-03-01"},
            {"ends_on_from", "inside", "spanning", "starts_on_to", "after", "ongoing_old", "ongoing_after"},
        ),
        (
            {"active_to": "2024-03-31"},
            {"before", "ends_on_from", "inside", "spanning", "starts_on_to", "ongoing_old"},
        ),
        ({"active_from": "2024-03-11", "active_to": "2024-03-11"}, {"inside", "spanning", "ongoing_old"}),
        ({"active_from": "2030-01-01"}, {"ongoing_old", "ongoing_after"}),
        ({"active_to": "2019-12-31"}, set()),
    ],
    ids=["range", "from-only", "to-only", "single-day", "future", "before-everything"],
)
def test_list_active_range_overlap(client, params, expected):
    created = _create_all(client, ACTIVE_DATASET)
    found = set(listed_ids(client, params))
    assert found == {created[name] for name in expected}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"started_from": "2024-03-10"}, {"inside", "starts_on_to", "after", "ongoing_after"}),
        ({"started_to": "2024-02-01"}, {"before", "ends_on_from", "spanning", "ongoing_old"}),
        (
            {"started_from": "2024-02-01", "started_to": "2024-03-31"},
            {"ends_on_from", "spanning", "inside", "starts_on_to"},
        ),
        ({"started_from": "2024-03-31", "started_to": "2024-03-31"}, {"starts_on_to"}),
    ],
    ids=["from", "to", "range", "single-day"],
)
def test_list_started_range(client, params, expected):
    created = _create_all(client, ACTIVE_DATASET)
    assert set(listed_ids(client, params)) == {created[name] for name in expected}


def test_list_updated_since(client, clock):
    clock.now = datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)
    old = create(client)["id"]
    clock.now = datetime(2024, 6, 1, 0, 0, 0, tzinfo=UTC)
    new = create(client)["id"]
    assert listed_ids(client, {"updated_since": "2024-03-01T00:00:00Z"}) == [new]
    assert set(listed_ids(client, {"updated_since": "2024-01-01T00:00:00Z"})) == {old, new}  # inclusive
    assert listed_ids(client, {"updated_since": "2024-01-01T00:00:01Z"}) == [new]
    # An offset is honoured: 02:00+02:00 is midnight UTC.
    assert set(listed_ids(client, {"updated_since": "2024-01-01T02:00:00+02:00"})) == {old, new}
    assert listed_ids(client, {"updated_since": "2024-06-01T00:00:00.500000Z"}) == []
    # An edit brings the old incident back into the window.
    clock.now = datetime(2024, 7, 1, tzinfo=UTC)
    assert patch(client, old, {"title": "Edited"}).status_code == 200
    assert listed_ids(client, {"updated_since": "2024-06-15T00:00:00Z"}) == [old]


@pytest.mark.parametrize("field", ["title", "description", "area", "decision_maker"])
def test_list_q_searches_text_fields(client, field):
    target = create(client, **{field: "Curfew and BLACKOUT in Kashmir"})["id"]
    create(
        client,
        title="Other",
        description="Nothing here",
        area="Elsewhere",
        decision_maker="Ministry",
        actual_cause_details="Kashmir blackout mentioned only in details",
    )
    assert listed_ids(client, {"q": "blackout in kash"}) == [target]
    assert listed_ids(client, {"q": "BlackOut"}) == [target]


def test_list_q_treats_wildcards_literally(client):
    percent = create(client, title="Throttled to 100% loss")["id"]
    underscore = create(client, title="Block of snake_case site")["id"]
    create(client, title="Plain title")
    assert listed_ids(client, {"q": "%"}) == [percent]
    assert listed_ids(client, {"q": "_"}) == [underscore]
    assert listed_ids(client, {"q": "nomatch"}) == []


def test_list_unknown_query_parameter_is_422(client):
    create(client, country="PK")
    errors = assert_validation_error(client.get(API, query_string={"contry": "PK"}), "query", "contry")
    assert "contry" in errors


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("country", "XX"),
        ("country", "Pakistan"),
        ("platform", "myspace"),
        ("shutdown_type", "dns"),
        ("network", "satellite"),
        ("status", "paused"),
        ("scope", "planetary"),
        ("ordered_by", "aliens"),
        ("actual_cause", "weather"),
        ("official_justification", "because"),
        ("acknowledgement_status", "maybe"),
        ("litigation_status", "lost"),
        ("asn", "ASfoo"),
        ("asn", "4294967296"),
        ("active_from", "2024-13-01"),
        ("active_to", "yesterday"),
        ("started_from", "2024-02-30"),
        ("started_to", "2024/01/01"),
        ("q", "a\x00b"),
        ("updated_since", "not-a-time"),
        ("sort", "title"),
        ("sort", "-country_name"),
        ("page", "0"),
        ("page", "abc"),
        ("page_size", "0"),
        ("page_size", "501"),
    ],
)
def test_list_invalid_filter_value_is_422_naming_parameter(client, param, value):
    assert_validation_error(client.get(API, query_string={param: value}), "query", param)


def test_list_one_invalid_value_among_repeated_values_is_422(client):
    assert_validation_error(client.get(API, query_string={"country": ["PK", "XX"]}), "query", "country")


# --------------------------------------------------------------------------- sort


SORT_DATASET = {
    "a": {"country": "IN", "start_date": "2024-01-10", "end_date": "2024-01-12"},
    "b": {"country": "PK", "start_date": "2024-01-10"},  # ongoing: duration to today
    "c": {"country": "BD", "start_date": "2023-06-01", "end_date": "2023-06-30"},
    "d": {"country": "AF", "start_date": "2024-03-01", "status": "unknown"},  # no end, no duration
    "e": {"country": "IN", "start_date": "2024-01-10", "end_date": "2024-01-12"},  # ties with a
    "f": {"country": "PK", "start_date": "2022-01-01", "status": "ended"},  # ended, end unknown
    "g": {"country": "BD", "start_date": "2023-06-01", "end_date": "2023-06-30"},  # ties with c
}


def assert_sorted(docs: list[dict[str, Any]], field: str, descending: bool) -> None:
    """Sorted by `field` (nulls last), ties broken consistently by id."""
    values = [doc[field] for doc in docs]
    present = [value for value in values if value is not None]
    assert values == present + [None] * (len(values) - len(present)), values
    assert present == sorted(present, reverse=descending), values
    groups: dict[Any, list[int]] = {}
    for doc in docs:
        groups.setdefault(doc[field], []).append(doc["id"])
    for group in groups.values():
        assert group in (sorted(group), sorted(group, reverse=True)), (field, groups)


@pytest.mark.parametrize(
    "sort",
    [
        "start_date",
        "-start_date",
        "end_date",
        "-end_date",
        "duration_days",
        "-duration_days",
        "updated_at",
        "-updated_at",
        "country",
    ],
)
def test_list_sort(client, clock, sort):
    for n, overrides in enumerate(SORT_DATASET.values()):
        clock.now = datetime(2024, 5, 1, tzinfo=UTC) + timedelta(hours=n % 3)  # some updated_at ties
        create(client, **overrides)
    response = listing(client, {"sort": sort})
    docs = response.get_json()
    assert len(docs) == len(SORT_DATASET)
    assert_sorted(docs, sort.lstrip("-"), sort.startswith("-"))
    # The order is total: paging one by one gives the same sequence.
    paged = []
    for page in range(1, len(docs) + 1):
        paged += listed_ids(client, {"sort": sort, "page": page, "page_size": 1})
    assert paged == [doc["id"] for doc in docs]


def test_list_sort_end_date_puts_nulls_last(client):
    created = _create_all(client, SORT_DATASET)
    ascending = listed_ids(client, {"sort": "end_date"})
    # a and e share end_date; c and g too; b, d and f have none and come last.
    assert set(ascending[-3:]) == {created["b"], created["d"], created["f"]}
    descending = listed_ids(client, {"sort": "-end_date"})
    assert set(descending[-3:]) == {created["b"], created["d"], created["f"]}
    assert set(descending[:2]) == {created["a"], created["e"]}


def test_list_sort_by_duration(client):
    created = _create_all(client, SORT_DATASET)
    # b is ongoing since 2024-01-10, longer than any ended incident; d and f have no duration.
    descending = listed_ids(client, {"sort": "-duration_days"})
    assert descending[0] == created["b"]
    assert set(descending[-2:]) == {created["d"], created["f"]}
    ascending = listed_ids(client, {"sort": "duration_days"})
    assert set(ascending[:2]) == {created["a"], created["e"]}
    assert set(ascending[-2:]) == {created["d"], created["f"]}


def test_a_sort_by_duration_counts_ongoing_incidents_up_to_each_day(client, monkeypatch):
    """The list's statement is built once per set of filters and kept; the day it counts an
    ongoing incident's duration up to must not be kept with it."""
    ongoing = create(client, title="Ongoing", start_date="2024-01-01", status="ongoing")["id"]
    ended = create(client, title="Ended", start_date="2023-01-01", end_date="2023-04-10")["id"]  # 100 days

    def on(day: date) -> list[int]:
        for where in ("app.models.incident.today_utc", "app.services.sorts.today_utc"):
            monkeypatch.setattr(where, lambda: day)
        return listed_ids(client, {"sort": "-duration_days"})

    assert on(date(2024, 2, 1)) == [ended, ongoing]  # 32 days ongoing
    assert on(date(2024, 6, 1)) == [ongoing, ended]  # 153 days: now the longer one


def test_list_default_sort_is_newest_start_first(client):
    _create_all(client, SORT_DATASET)
    default = listing(client).get_json()
    assert [doc["id"] for doc in default] == listed_ids(client, {"sort": "-start_date"})
    assert_sorted(default, "start_date", descending=True)


# --------------------------------------------------------------------------- pagination


def test_pagination_headers_and_links(client):
    for day in range(1, 6):
        create(client, country="PK", start_date=f"2024-01-0{day}")
    create(client, country="IN", start_date="2024-01-09")
    params = {"country": "PK", "sort": "start_date", "page_size": 2}

    first = listing(client, {**params, "page": 1})
    assert len(first.get_json()) == 2
    meta = pagination(first)
    assert meta["total"] == 5
    assert meta["total_pages"] == 3
    assert meta["page"] == 1
    assert meta["first_page"] == 1
    assert meta["last_page"] == 3
    assert meta["next_page"] == 2
    assert "previous_page" not in meta or meta["previous_page"] is None
    first_links = links(first)
    assert set(first_links) == {"first", "next", "last"}

    middle = listing(client, {**params, "page": 2})
    middle_links = links(middle)
    assert set(middle_links) == {"first", "prev", "next", "last"}
    assert pagination(middle)["previous_page"] == 1
    for rel, page in (("first", "1"), ("prev", "1"), ("next", "3"), ("last", "3")):
        query = query_of(middle_links[rel])
        assert query["page"] == [page], rel
        # The links keep the filters, sort and page size.
        assert query["country"] == ["PK"]
        assert query["sort"] == ["start_date"]
        assert query["page_size"] == ["2"]
        assert urlsplit(middle_links[rel]).path == API

    last = listing(client, {**params, "page": 3})
    assert len(last.get_json()) == 1
    assert set(links(last)) == {"first", "prev", "last"}

    # Following `next` from the first page walks every item once, in order.
    seen, link = [], first_links["first"]
    while link:
        parts = urlsplit(link)
        response = client.get(parts.path, query_string=parts.query)
        assert response.status_code == 200
        seen += ids(response)
        link = links(response).get("next")
    assert len(seen) == len(set(seen)) == 5
    starts = [doc["start_date"] for doc in listing(client, {**params, "page_size": 10}).get_json()]
    assert starts == sorted(starts)


def test_pagination_repeated_filters_kept_in_links(client):
    for _ in range(3):
        create(client, country="PK")
    create(client, country="IN")
    response = listing(client, {"country": ["PK", "IN"], "page_size": 1, "page": 2})
    for link in links(response).values():
        assert sorted(query_of(link)["country"]) == ["IN", "PK"]
    assert pagination(response)["total"] == 4


def test_pagination_accepts_max_page_size(client):
    create(client)
    response = listing(client, {"page_size": 500})
    assert pagination(response)["total"] == 1


@pytest.mark.parametrize("page", [HUGE_ID, "9223372036854775807", "2147483648"])
def test_pagination_huge_page_is_not_a_server_error(client, page):
    create(client)
    response = client.get(API, query_string={"page": page})
    assert response.status_code in (200, 404, 422), response.get_data(as_text=True)
    if response.status_code == 200:
        assert response.get_json() == []
    else:
        assert_problem(response, response.status_code)


def test_pagination_page_past_the_end(client):
    create(client)
    response = client.get(API, query_string={"page": 5})
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assert response.get_json() == []


# --------------------------------------------------------------------------- conditional GET


def test_get_incident_if_none_match(client):
    incident_id = create(client)["id"]
    etag = etag_of(client, incident_id)
    response = client.get(url(incident_id), headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"].removeprefix("W/") == etag.removeprefix("W/")
    weak = "W/" + etag.removeprefix("W/")
    assert client.get(url(incident_id), headers={"If-None-Match": weak}).status_code == 304
    assert client.get(url(incident_id), headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert client.get(url(incident_id), headers={"If-None-Match": '"other"'}).status_code == 200


def test_etag_is_stable_and_changes_with_the_incident(client):
    incident_id = create(client)["id"]
    etag = etag_of(client, incident_id)
    assert etag_of(client, incident_id) == etag
    assert patch(client, incident_id, {"title": "Changed"}, etag).status_code == 200
    assert etag_of(client, incident_id) != etag
    assert client.get(url(incident_id), headers={"If-None-Match": etag}).status_code == 200


def test_list_etag_and_if_none_match(client):
    create(client)
    first = listing(client)
    etag = first.headers["ETag"]
    assert client.get(API, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(API, headers={"If-None-Match": "W/" + etag.removeprefix("W/")}).status_code == 304
    # Another page or filter is another representation.
    assert listing(client, {"country": "PK"}).headers["ETag"] != etag
    create(client)
    changed = client.get(API, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


# --------------------------------------------------------------------------- conditional writes


@pytest.mark.parametrize("method", ["put", "patch"])
def test_write_without_if_match_is_428(client, method):
    created = create(client)
    response = getattr(client, method)(url(created["id"]), json=incident_doc(title="Changed"))
    assert_problem(response, 428)
    assert get(client, created["id"]) == created


@pytest.mark.parametrize("method", ["put", "patch"])
def test_write_with_if_match_star_is_428(client, method):
    created = create(client)
    response = getattr(client, method)(
        url(created["id"]), json=incident_doc(title="Changed"), headers={"If-Match": "*"}
    )
    assert_problem(response, 428)
    assert get(client, created["id"]) == created


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("stale", ['"0123456789abcdef"', "garbage"])
def test_write_with_wrong_etag_is_412_and_changes_nothing(client, method, stale):
    created = create(client)
    response = getattr(client, method)(
        url(created["id"]), json=incident_doc(title="Changed"), headers={"If-Match": stale}
    )
    assert_problem(response, 412)
    assert get(client, created["id"]) == created


@pytest.mark.parametrize("method", ["put", "patch"])
def test_write_with_stale_etag_is_412(client, method):
    created = create(client)
    stale = etag_of(client, created["id"])
    assert patch(client, created["id"], {"title": "First edit"}, stale).status_code == 200
    current = get(client, created["id"])
    response = getattr(client, method)(
        url(created["id"]), json=incident_doc(title="Lost update"), headers={"If-Match": stale}
    )
    assert_problem(response, 412)
    assert get(client, created["id"]) == current
    assert current["revision"] == 2


def test_if_match_list_containing_current_etag_succeeds(client):
    incident_id = create(client)["id"]
    etag = etag_of(client, incident_id)
    response = client.patch(url(incident_id), json={"title": "New"}, headers={"If-Match": f'"stale", {etag}'})
    assert response.status_code == 200


# --------------------------------------------------------------------------- PATCH


def test_patch_bumps_revision_etag_and_updated_at(client, clock):
    created = create(client)
    etag = etag_of(client, created["id"])
    clock.advance(hours=1)
    response = patch(client, created["id"], {"title": "Mobile data cut in Imphal"}, etag)
    assert response.status_code == 200
    body = response.get_json()
    assert body["title"] == "Mobile data cut in Imphal"
    assert body["revision"] == 2
    assert body["created_at"] == created["created_at"]
    assert body["updated_at"] != created["updated_at"]
    assert body["updated_at"] == clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert response.headers["ETag"] != etag
    assert response.headers["ETag"] == etag_of(client, created["id"])
    # Only the given field changed.
    unchanged = {k: v for k, v in body.items() if k not in ("title", "revision", "updated_at")}
    assert unchanged == {k: v for k, v in created.items() if k not in ("title", "revision", "updated_at")}
    assert get(client, created["id"]) == body


def test_patch_twice_counts_revisions(client):
    incident_id = create(client)["id"]
    assert patch(client, incident_id, {"area": "Imphal"}).get_json()["revision"] == 2
    assert patch(client, incident_id, {"scope": "local"}).get_json()["revision"] == 3


@pytest.mark.parametrize(
    "body",
    [{}, {"title": "Mobile internet cut in Manipur"}, {"networks": ["mobile"]}, {"country": "in"}],
    ids=["empty", "same-title", "same-list", "same-country-other-case"],
)
def test_patch_without_change_keeps_revision(client, clock, body):
    created = create(client)
    etag = etag_of(client, created["id"])
    clock.advance(hours=1)
    response = patch(client, created["id"], body, etag)
    assert response.status_code == 200
    assert response.get_json() == created
    assert response.headers["ETag"] == etag
    assert get(client, created["id"])["revision"] == 1


def test_patch_end_date_alone_ends_an_ongoing_incident(client):
    created = create(client, start_date="2024-02-17")
    assert created["status"] == "ongoing"
    body = patch(client, created["id"], {"end_date": "2024-02-26"}).get_json()
    assert body["status"] == "ended"
    assert body["end_date"] == "2024-02-26"
    assert body["duration_days"] == 10
    assert body["revision"] == 2


def test_patch_end_date_with_status_ongoing_is_422(client):
    created = create(client, start_date="2024-02-17")
    response = patch(client, created["id"], {"end_date": "2024-02-26", "status": "ongoing"})
    assert_validation_error(response, "json", "status", "end_date")
    assert get(client, created["id"]) == created


def test_patch_end_date_before_stored_start_date_is_422(client):
    created = create(client, start_date="2024-02-17")
    response = patch(client, created["id"], {"end_date": "2024-02-01"})
    assert_validation_error(response, "json", "end_date")
    assert get(client, created["id"]) == created


def test_patch_start_date_after_stored_end_date_is_422(client):
    created = create(client, start_date="2024-02-17", end_date="2024-02-20")
    response = patch(client, created["id"], {"start_date": "2024-03-01"})
    assert_validation_error(response, "json", "end_date", "start_date")
    assert get(client, created["id"]) == created


def test_patch_service_based_without_platforms_is_422(client):
    created = create(client)
    response = patch(client, created["id"], {"shutdown_types": ["service_based"]})
    assert_validation_error(response, "json", "platforms", "shutdown_types")
    assert get(client, created["id"]) == created


def test_patch_removing_platforms_of_service_block_is_422(client):
    created = create(client, shutdown_types=["service_based"], platforms=["x"])
    response = patch(client, created["id"], {"platforms": []})
    assert_validation_error(response, "json", "platforms")
    assert get(client, created["id"]) == created


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": None}, "title"),
        ({"country": "XX"}, "country"),
        ({"platforms": ["myspace"]}, "platforms"),
        ({"colour": "red"}, "colour"),
        ({"asns": ["ASfoo"]}, "asns"),
        ({"start_date": "1980-01-01"}, "start_date"),
        ({"sources": [{"url": "javascript:alert(1)"}]}, "sources"),
    ],
)
def test_patch_invalid_field_is_422(client, body, field):
    created = create(client)
    assert_validation_error(patch(client, created["id"], body), "json", field)
    assert get(client, created["id"]) == created


def test_patch_malformed_json_is_400_and_text_is_415(client):
    created = create(client)
    etag = etag_of(client, created["id"])
    broken = client.patch(
        url(created["id"]), data="{", content_type="application/json", headers={"If-Match": etag}
    )
    assert_problem(broken, 400)
    text = client.patch(
        url(created["id"]), data="title=x", content_type="text/plain", headers={"If-Match": etag}
    )
    assert_problem(text, 415)
    assert get(client, created["id"]) == created


@pytest.mark.parametrize("body", [b"y\x06A\xf2\xb3", b"\xff", '{"title": "caf\xe9"}'.encode("latin-1")])
def test_a_body_that_is_not_utf8_is_400_not_an_empty_patch(client, body):
    """orjson reports bytes that are not UTF-8 with an empty document, which webargs took for no
    body at all: such a PATCH answered 200 and changed nothing (found by the contract fuzzer)."""
    created = create(client)
    etag = etag_of(client, created["id"])
    response = client.patch(
        url(created["id"]), data=body, content_type="application/json", headers={"If-Match": etag}
    )
    assert_problem(response, 400)
    assert response.get_json()["errors"] == {"json": {"_body": ["Invalid JSON body."]}}
    posted = client.post("/api/v1/incidents", data=body, content_type="application/json")
    assert_problem(posted, 400)
    assert get(client, created["id"]) == created


def test_patch_list_field_replaces_it(client):
    created = create(
        client,
        networks=["mobile"],
        asns=[1, 2],
        telcos=["A", "B"],
        shutdown_types=["service_based", "throttling"],
        platforms=["x", "facebook"],
    )
    body = patch(
        client,
        created["id"],
        {"networks": ["broadband"], "asns": ["AS3"], "telcos": ["C"], "platforms": ["twitter"]},
    ).get_json()
    assert body["networks"] == ["broadband"]
    assert body["asns"] == [3]
    assert body["telcos"] == ["C"]
    assert body["platforms"] == ["x"]
    assert sorted(body["shutdown_types"]) == ["service_based", "throttling"]  # not given: kept
    emptied = patch(client, created["id"], {"networks": [], "asns": [], "telcos": []}).get_json()
    assert emptied["networks"] == [] and emptied["asns"] == [] and emptied["telcos"] == []
    assert emptied["revision"] == 3


def test_patch_children_updates_derived_fields_and_revision(client):
    created = create(client, start_date="2024-02-17")
    body = patch(
        client,
        created["id"],
        {"acknowledgements": [gov_ack(day="2024-02-20")], "legal_cases": [case("pending")]},
    ).get_json()
    assert body["acknowledgement_status"] == "acknowledged"
    assert body["acknowledged_on"] == "2024-02-20"
    assert body["acknowledgement_delay_days"] == 3
    assert body["litigation_status"] == "pending"
    assert body["revision"] == 2
    body = patch(client, created["id"], {"acknowledgements": [], "legal_cases": [case("decided")]}).get_json()
    assert body["acknowledgement_status"] == "none"
    assert body["acknowledged_on"] is None
    assert body["acknowledgement_delay_days"] is None
    assert body["litigation_status"] == "concluded"
    assert body["revision"] == 3


def test_patch_optional_field_to_null(client):
    created = create(client, description="Something", decision_maker="Home Department")
    body = patch(client, created["id"], {"description": None, "decision_maker": None}).get_json()
    assert body["description"] is None
    assert body["decision_maker"] is None
    assert body["revision"] == 2


def test_patch_optional_field_to_empty_string_clears_it(client):
    created = create(client, description="Something", decision_maker="Home Department")
    response = patch(client, created["id"], {"description": "", "decision_maker": "  "})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["description"] is None
    assert body["decision_maker"] is None
    assert body["revision"] == 2


def test_patch_ended_incident_back_to_ongoing(client):
    created = create(client, start_date="2024-02-17", end_date="2024-02-20")
    body = patch(client, created["id"], {"end_date": None, "status": "ongoing"}).get_json()
    assert body["status"] == "ongoing"
    assert body["end_date"] is None
    assert body["duration_days"] == (today() - date(2024, 2, 17)).days + 1


# --------------------------------------------------------------------------- PUT


def test_put_replaces_the_whole_document(client, clock):
    created = create(
        client,
        description="Narrative",
        decision_maker="Home Department",
        scope="national",
        ordered_by="state_government",
        actual_cause="communal_violence",
        election_related="no",
        start_date_estimated=True,
        shutdown_types=["service_based"],
        platforms=["x"],
        asns=[17557],
        telcos=["Jio"],
        end_date="2023-06-01",
        acknowledgements=[gov_ack()],
    )
    etag = etag_of(client, created["id"])
    clock.advance(minutes=5)
    replacement = {
        "title": "Replaced",
        "country": "bd",
        "shutdown_types": ["throttling"],
        "start_date": "2023-05-03",
    }
    response = put(client, created["id"], replacement, etag)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == INCIDENT_FIELDS
    assert body["id"] == created["id"]
    assert body["title"] == "Replaced"
    assert body["country"] == "BD"
    assert body["country_name"] == "Bangladesh"
    assert body["shutdown_types"] == ["throttling"]
    # Omitted optional fields are reset.
    for field in ("description", "decision_maker", "area", "end_date", "acknowledged_on"):
        assert body[field] is None, field
    for field in ("platforms", "asns", "telcos", "networks", "acknowledgements", "legal_cases", "sources"):
        assert body[field] == [], field
    for field in ("scope", "ordered_by", "actual_cause", "election_related"):
        assert body[field] == "unknown", field
    assert body["start_date_estimated"] is False
    assert body["status"] == "ongoing"
    assert body["acknowledgement_status"] == "none"
    assert body["revision"] == 2
    assert body["created_at"] == created["created_at"]
    assert body["updated_at"] == clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert response.headers["ETag"] != etag
    assert get(client, created["id"]) == body


def test_put_keeps_adds_and_removes_children(client):
    created = create(
        client,
        sources=[{"url": "https://one.example"}, {"url": "https://two.example"}],
        acknowledgements=[gov_ack("denied", "2023-05-05"), gov_ack("acknowledged", "2023-05-10")],
        legal_cases=[case("pending", case_number="WP 1/2023")],
    )
    kept_source, removed_source = created["sources"]
    kept_ack = created["acknowledgements"][0]
    kept_case = created["legal_cases"][0]
    doc = incident_doc(
        sources=[
            {"id": kept_source["id"], "url": "https://one.example/updated", "kind": "news"},
            {"url": "https://three.example"},
        ],
        acknowledgements=[{**{k: v for k, v in kept_ack.items()}, "quote": "No block"}],
        legal_cases=[
            {
                "id": kept_case["id"],
                "court": "Manipur High Court",
                "status": "decided",
                "filed_on": "2023-05-10",
                "ruling_on": "2023-06-01",
            }
        ],
    )
    body = put(client, created["id"], doc).get_json()
    sources = {source["url"]: source for source in body["sources"]}
    assert set(sources) == {"https://one.example/updated", "https://three.example"}
    assert sources["https://one.example/updated"]["id"] == kept_source["id"]
    assert sources["https://one.example/updated"]["kind"] == "news"
    assert sources["https://three.example"]["id"] not in (kept_source["id"], removed_source["id"])
    assert [a["id"] for a in body["acknowledgements"]] == [kept_ack["id"]]
    assert body["acknowledgements"][0]["quote"] == "No block"
    assert body["acknowledgement_status"] == "denied"
    assert body["acknowledged_on"] is None
    assert [c["id"] for c in body["legal_cases"]] == [kept_case["id"]]
    assert body["legal_cases"][0]["court"] == "Manipur High Court"
    assert body["legal_cases"][0]["case_number"] is None  # omitted: reset
    assert body["litigation_status"] == "concluded"
    assert body["revision"] == 2
    assert get(client, created["id"]) == body


def test_put_with_child_id_of_another_incident_is_422(client):
    other = create(client, sources=[{"url": "https://other.example"}])
    mine = create(client, sources=[{"url": "https://mine.example"}])
    foreign_id = other["sources"][0]["id"]
    doc = incident_doc(sources=[{"id": foreign_id, "url": "https://stolen.example"}])
    assert_validation_error(put(client, mine["id"], doc), "json", "sources")
    assert get(client, mine["id"]) == mine
    assert get(client, other["id"]) == other


def test_put_with_unknown_child_id_is_422(client):
    mine = create(client, legal_cases=[case()])
    doc = incident_doc(legal_cases=[case(id=987654)])
    assert_validation_error(put(client, mine["id"], doc), "json", "legal_cases")
    assert get(client, mine["id"]) == mine


def test_patch_with_child_id_of_another_incident_is_422(client):
    other = create(client, acknowledgements=[gov_ack()])
    mine = create(client)
    body = {"acknowledgements": [{**gov_ack(), "id": other["acknowledgements"][0]["id"]}]}
    assert_validation_error(patch(client, mine["id"], body), "json", "acknowledgements")
    assert get(client, mine["id"]) == mine
    assert get(client, other["id"]) == other


def test_put_round_trip_of_get_document_changes_nothing(client):
    created = create(
        client,
        description="x",
        acknowledgements=[gov_ack()],
        legal_cases=[case()],
        sources=[{"url": "https://a.example", "title": "A"}],
        asns=[1],
        telcos=["T"],
    )
    etag = etag_of(client, created["id"])
    response = put(client, created["id"], get(client, created["id"]), etag)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == created
    assert response.headers["ETag"] == etag


def test_put_edit_of_get_document(client):
    created = create(client, sources=[{"url": "https://a.example"}])
    doc = get(client, created["id"])
    doc["title"] = "Edited title"
    doc["end_date"] = "2023-05-05"
    doc["status"] = "ended"
    body = put(client, created["id"], doc).get_json()
    assert body["title"] == "Edited title"
    assert body["status"] == "ended"
    assert body["duration_days"] == 3
    assert body["sources"] == created["sources"]
    assert body["revision"] == 2


def test_put_status_defaults_from_end_date(client):
    created = create(client)
    assert put(client, created["id"], incident_doc(end_date="2023-05-04")).get_json()["status"] == "ended"
    assert put(client, created["id"], incident_doc()).get_json()["status"] == "ongoing"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"end_date": "2023-05-01"}, "end_date"),
        ({"title": MISSING}, "title"),
        ({"title": None}, "title"),
        ({"shutdown_types": ["service_based"]}, "platforms"),
    ],
)
def test_put_invalid_document_is_422(client, overrides, field):
    created = create(client)
    assert_validation_error(put(client, created["id"], doc_without_missing(**overrides)), "json", field)
    assert get(client, created["id"]) == created


def test_put_requires_the_whole_document(client):
    created = create(client)
    response = put(client, created["id"], {"title": "Only a title"})
    errors = assert_validation_error(response, "json", "country")
    assert {"country", "start_date", "shutdown_types"} <= set(errors)
    assert get(client, created["id"]) == created
