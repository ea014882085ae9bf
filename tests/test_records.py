"""Acknowledgements, legal cases and sources as first-class records of an incident."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.db import db
from tests.conftest import create, etag_of, incident_doc

ACK = {
    "actor": "Ministry of Interior",
    "stance": "acknowledged",
    "date": "2024-04-17",
    "channel": "court_filing",
    "justification": "national_security",
    "source_url": "https://example.org/filing",
}
CASE = {"court": "Islamabad High Court", "filed_on": "2024-02-20", "status": "pending"}
SOURCE = {"url": "https://explorer.ooni.org/findings/1", "kind": "measurement", "title": "OONI"}

KINDS = [("acknowledgements", ACK), ("legal-cases", CASE), ("sources", SOURCE)]


def _incident(client):
    return create(
        client, title="X blocked", shutdown_types=["service_based"], platforms=["x"], start_date="2024-02-17"
    )


def _get(client, incident_id):
    return client.get(f"/api/v1/incidents/{incident_id}").get_json()


@pytest.mark.parametrize(("path", "body"), KINDS)
def test_add_replace_remove_each_kind(client, path, body):
    incident = _incident(client)
    base = f"/api/v1/incidents/{incident['id']}/{path}"
    etag = etag_of(client, incident["id"])

    created = client.post(base, json=body, headers={"If-Match": etag})
    assert created.status_code == 201, created.get_json()
    child = created.get_json()
    assert created.headers["Location"].endswith(f"{base}/{child['id']}")
    after_add = client.get(f"/api/v1/incidents/{incident['id']}")
    assert after_add.headers["ETag"] == created.headers["Incident-ETag"]
    assert after_add.get_json()["revision"] == 2

    changed = (
        {**body, "url": "https://example.org/other"}
        if path == "sources"
        else {**body, "court": "Lahore High Court"}
        if path == "legal-cases"
        else {**body, "actor": "Interior Minister"}
    )
    replaced = client.put(
        f"{base}/{child['id']}", json=changed, headers={"If-Match": created.headers["Incident-ETag"]}
    )
    assert replaced.status_code == 200, replaced.get_json()
    assert replaced.get_json()["id"] == child["id"]
    assert _get(client, incident["id"])["revision"] == 3

    removed = client.delete(f"{base}/{child['id']}", headers={"If-Match": replaced.headers["Incident-ETag"]})
    assert removed.status_code == 204
    document = _get(client, incident["id"])
    assert document["revision"] == 4
    assert document[path.replace("-", "_")] == []


@pytest.mark.parametrize(("path", "body"), KINDS)
def test_child_writes_need_the_parent_etag(client, path, body):
    incident = _incident(client)
    base = f"/api/v1/incidents/{incident['id']}/{path}"
    missing = client.post(base, json=body)
    assert missing.status_code == 428
    assert missing.headers["Content-Type"] == "application/problem+json"
    stale = client.post(base, json=body, headers={"If-Match": '"not-the-etag"'})
    assert stale.status_code == 412
    star = client.post(base, json=body, headers={"If-Match": "*"})
    assert star.status_code == 428
    document = _get(client, incident["id"])
    assert document["revision"] == 1
    assert document[path.replace("-", "_")] == []


def test_derived_fields_follow_the_statements(client):
    incident = _incident(client)
    iid = incident["id"]
    assert incident["acknowledgement_status"] == "none"
    base = f"/api/v1/incidents/{iid}/acknowledgements"

    telco = client.post(
        base,
        json={"actor": "Jazz", "actor_type": "telco", "stance": "acknowledged", "date": "2024-02-18"},
        headers={"If-Match": etag_of(client, iid)},
    )
    assert telco.status_code == 201
    assert _get(client, iid)["acknowledgement_status"] == "none"  # telcos do not count

    denial = client.post(
        base,
        json={"actor": "Information Minister", "stance": "denied", "date": "2024-03-13"},
        headers={"If-Match": telco.headers["Incident-ETag"]},
    )
    document = _get(client, iid)
    assert document["acknowledgement_status"] == "denied"
    assert document["acknowledged_on"] is None

    admission = client.post(base, json=ACK, headers={"If-Match": denial.headers["Incident-ETag"]})
    document = _get(client, iid)
    assert document["acknowledgement_status"] == "acknowledged"
    assert document["acknowledged_on"] == "2024-04-17"
    assert document["acknowledgement_delay_days"] == 60

    # an earlier admission moves acknowledged_on back
    earlier = client.post(
        base,
        json={**ACK, "date": "2024-03-19", "actor": "Information Minister"},
        headers={"If-Match": admission.headers["Incident-ETag"]},
    )
    assert _get(client, iid)["acknowledged_on"] == "2024-03-19"

    filtered = client.get("/api/v1/incidents?acknowledgement_status=acknowledged")
    assert [i["id"] for i in filtered.get_json()] == [iid]
    assert client.get("/api/v1/incidents?acknowledgement_status=denied").get_json() == []

    removal = client.delete(
        f"{base}/{admission.get_json()['id']}", headers={"If-Match": earlier.headers["Incident-ETag"]}
    )
    client.delete(
        f"{base}/{earlier.get_json()['id']}", headers={"If-Match": removal.headers["Incident-ETag"]}
    )
    assert _get(client, iid)["acknowledgement_status"] == "denied"


def test_litigation_status_follows_the_cases(client):
    incident = _incident(client)
    iid = incident["id"]
    base = f"/api/v1/incidents/{iid}/legal-cases"
    assert incident["litigation_status"] == "none"
    first = client.post(
        base,
        json={**CASE, "status": "decided", "ruling_on": "2024-03-20"},
        headers={"If-Match": etag_of(client, iid)},
    )
    assert _get(client, iid)["litigation_status"] == "concluded"
    second = client.post(
        base,
        json={**CASE, "court": "Sindh High Court", "status": "appealed"},
        headers={"If-Match": first.headers["Incident-ETag"]},
    )
    assert _get(client, iid)["litigation_status"] == "pending"
    assert [i["id"] for i in client.get("/api/v1/incidents?litigation_status=pending").get_json()] == [iid]
    client.put(
        f"{base}/{second.get_json()['id']}",
        json={**CASE, "court": "Sindh High Court", "status": "dismissed"},
        headers={"If-Match": second.headers["Incident-ETag"]},
    )
    assert _get(client, iid)["litigation_status"] == "concluded"
    assert client.get("/api/v1/incidents?litigation_status=pending").get_json() == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("acknowledgements", {"stance": "denied"}, "actor"),
        ("acknowledgements", {"actor": "", "stance": "denied"}, "actor"),
        ("acknowledgements", {"actor": "PTA", "stance": "maybe"}, "stance"),
        (
            "acknowledgements",
            {"actor": "PTA", "stance": "denied", "source_url": "javascript:alert(1)"},
            "source_url",
        ),
        ("acknowledgements", {"actor": "PTA", "stance": "denied", "date": "1989-12-31"}, "date"),
        ("acknowledgements", {"actor": "PTA", "stance": "denied", "date": "2999-01-01"}, "date"),
        ("legal-cases", {"court": "IHC", "filed_on": "2024-03-01", "ruling_on": "2024-02-01"}, "ruling_on"),
        ("legal-cases", {"court": "IHC", "status": "won"}, "status"),
        ("sources", {"url": "ftp://example.org/file"}, "url"),
        ("sources", {"url": "https://example.org", "kind": "rumour"}, "kind"),
        ("sources", {"url": "https://example.org", "archived_url": "data:text/html,hi"}, "archived_url"),
        ("sources", {"url": "https://example.org", "unexpected": 1}, "unexpected"),
    ],
)
def test_bad_child_input_is_rejected_and_nothing_written(client, path, body, field):
    incident = _incident(client)
    etag = etag_of(client, incident["id"])
    response = client.post(
        f"/api/v1/incidents/{incident['id']}/{path}", json=body, headers={"If-Match": etag}
    )
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in response.get_json()["errors"]["json"]
    after = client.get(f"/api/v1/incidents/{incident['id']}")
    assert after.headers["ETag"] == etag
    assert after.get_json()["revision"] == 1


def test_child_of_another_incident_is_not_found(client):
    first = _incident(client)
    second = _incident(client)
    added = client.post(
        f"/api/v1/incidents/{first['id']}/sources",
        json=SOURCE,
        headers={"If-Match": etag_of(client, first["id"])},
    )
    source_id = added.get_json()["id"]
    etag = etag_of(client, second["id"])
    for method in ("put", "delete"):
        response = getattr(client, method)(
            f"/api/v1/incidents/{second['id']}/sources/{source_id}",
            json=SOURCE if method == "put" else None,
            headers={"If-Match": etag},
        )
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "application/problem+json"
    assert len(_get(client, first["id"])["sources"]) == 1
    assert _get(client, second["id"])["revision"] == 1


def test_child_posted_to_missing_incident(client):
    response = client.post("/api/v1/incidents/424242/acknowledgements", json=ACK, headers={"If-Match": '"x"'})
    assert response.status_code == 404
    assert (
        client.post(
            "/api/v1/incidents/99999999999/sources", json=SOURCE, headers={"If-Match": '"x"'}
        ).status_code
        == 404
    )


def test_list_of_500_with_children_is_a_fixed_number_of_queries(app, client):
    from app.resources.incidents.schemas import IncidentSchema
    from app.services.incidents import create_incident

    with app.test_request_context():
        schema = IncidentSchema()
        for number in range(500):
            create_incident(
                db.session,
                schema.load(
                    incident_doc(
                        title=f"Incident {number}",
                        shutdown_types=["service_based"],
                        platforms=["x", "whatsapp"],
                        asns=[17557, number],
                        acknowledgements=[ACK],
                        legal_cases=[CASE],
                        sources=[SOURCE, SOURCE],
                    )
                ),
            )
        db.session.commit()

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not statement.startswith("BEGIN"):  # SQLite's explicit BEGIN is not a query
            statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        small = client.get("/api/v1/incidents?page_size=5")
        small_count = len(statements)
        statements.clear()
        big = client.get("/api/v1/incidents?page_size=500")
        big_count = len(statements)
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(big.get_json()) == 500 and len(small.get_json()) == 5
    assert json.loads(big.headers["X-Pagination"])["total"] == 500
    assert all(
        len(i["sources"]) == 2 and i["acknowledgement_status"] == "acknowledged" for i in big.get_json()
    )
    # the data version, the count, the page's ids, their stored documents: no child table is
    # read, whatever the size; the second page of the same filter reuses the cached total
    assert (small_count, big_count) == (4, 3), statements
