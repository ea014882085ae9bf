"""Full-text search (`q`): an index on both databases, word-prefix matching, relevance order."""

from __future__ import annotations

from tests.conftest import create, etag_of


def _ids(client, **query):
    response = client.get("/api/v1/incidents", query_string=query)
    assert response.status_code == 200, response.get_json()
    return [incident["id"] for incident in response.get_json()]


def test_words_match_as_prefixes_in_any_searched_field(client):
    title = create(client, title="Protesters met with a blackout")["id"]
    area = create(client, title="Cut", area="Wana, South Waziristan")["id"]
    maker = create(client, title="Order", decision_maker="Ministry of Interior")["id"]
    create(client, title="Unrelated", actual_cause_details="protest blackout waziristan")  # not searched
    assert _ids(client, q="protest") == [title]
    assert _ids(client, q="BLACKOUT protesters") == [title]
    assert _ids(client, q="waziri") == [area]
    assert _ids(client, q="interior ministry") == [maker]
    assert _ids(client, q="protest interior") == []  # every word must match


def test_relevance_order_without_sort_and_explicit_sort(client):
    once = create(client, title="Shutdown", description="one mention of exams", start_date="2024-01-01")["id"]
    many = create(
        client, title="Exams exams", description="exams again: exams shutdown", start_date="2020-01-01"
    )["id"]
    assert _ids(client, q="exams") == [many, once]
    assert _ids(client, q="exams", sort="-start_date") == [once, many]


def test_index_follows_updates_and_deletes(client, admin_client):
    incident = create(client, title="Original wording")
    iid = incident["id"]
    client.patch(
        f"/api/v1/incidents/{iid}",
        json={"title": "Revised headline"},
        headers={"If-Match": etag_of(client, iid)},
    )
    assert _ids(client, q="original") == []
    assert _ids(client, q="revised") == [iid]
    admin_client.delete(f"/api/v1/incidents/{iid}", headers={"If-Match": etag_of(client, iid)})
    assert _ids(client, q="revised") == []


def test_search_combines_with_filters_and_export(client):
    pakistan = create(client, title="Mobile data suspended", country="PK")["id"]
    create(client, title="Mobile data suspended", country="IN")
    assert _ids(client, q="mobile", country="PK") == [pakistan]
    csv = client.get("/api/v1/incidents.csv", query_string={"q": "suspended", "country": "PK"}).get_data(
        as_text=True
    )
    assert len(csv.strip().splitlines()) == 2


def test_non_latin_and_punctuation_queries(client):
    urdu = create(client, title="انٹرنیٹ بند", area="کراچی")["id"]
    create(client, title="Other")
    assert _ids(client, q="کراچی") == [urdu]
    assert _ids(client, q='"OR 1=1 --') == []
    assert _ids(client, q="*") == []
