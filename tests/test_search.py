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


def _relevance_fixture(client) -> list[int]:
    """Seven incidents that all match "curfew", at seven different relevances."""
    return [
        create(
            client, title="curfew " * (n + 1), description=f"night {n}", start_date=f"202{n % 5}-01-0{n + 1}"
        )["id"]
        for n in range(7)
    ]


def test_relevance_pages_from_the_kept_ranking_equal_those_ranked_afresh(app, client, monkeypatch):
    """The first RANKED_DEPTH ids of a ranking are kept; pages inside them are slices, pages
    beyond them are ranked by the database: both give the same order as one big page."""
    from app.fast import pages

    monkeypatch.setattr(pages, "RANKED_DEPTH", 3)
    made = _relevance_fixture(client)
    whole = _ids(client, q="curfew", page_size=500)  # beyond the kept depth: ranked by SQL
    assert sorted(whole) == sorted(made) and whole[0] == made[-1]  # most mentions first
    pages = [_ids(client, q="curfew", page_size=2, page=n) for n in (1, 2, 3, 4)]
    assert [i for page in pages for i in page] == whole
    assert _ids(client, q="curfew", page_size=3) == whole[:3]  # exactly the kept depth
    app.config["AGGREGATE_CACHE_SECONDS"] = 0
    app.extensions["aggregates"].seconds = 0
    assert [i for n in (1, 2, 3, 4) for i in _ids(client, q="curfew", page_size=2, page=n)] == whole


def test_a_repeated_search_is_not_ranked_again_until_the_data_changes(app, client):
    import sqlalchemy as sa

    from app.db import db

    made = _relevance_fixture(client)
    ranked: list[str] = []

    def record(conn, cursor, statement, *args):
        if "rank" in statement.lower():
            ranked.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        first = client.get("/api/v1/incidents?q=curfew&page_size=2")
        assert len(ranked) == 1
        again = client.get("/api/v1/incidents?q=curfew&page_size=2&page=2")
        assert len(ranked) == 1  # a slice of the kept ranking
        assert [d["id"] for d in first.get_json() + again.get_json()] == _ids(client, q="curfew")[:4]
        iid = made[0]
        client.patch(
            f"/api/v1/incidents/{iid}",
            json={"title": "curfew " * 20},
            headers={"If-Match": etag_of(client, iid)},
        )
        ranked.clear()
        assert _ids(client, q="curfew", page_size=2)[0] == iid  # ranked again after the write
        assert len(ranked) == 1
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", record)
