"""The hand-written incident document equals marshmallow's dump of IncidentSchema."""

from __future__ import annotations

import sqlalchemy as sa

from app.db import db
from app.models import Incident
from app.resources.incidents.schemas import IncidentSchema
from app.services.incidents import EAGER
from tests.conftest import create


def test_fast_document_equals_schema_dump(app, client, runner):
    runner.invoke(args=["demo", "load"])
    create(client)  # ongoing, no children
    create(
        client,
        title="ended",
        end_date="2023-05-10",
        description="=cmd",
        asns=[1, "AS2"],
        telcos=["Jazz"],
        acknowledgements=[{"actor": "PTA", "stance": "denied", "date": "2023-05-04"}],
        legal_cases=[
            {"court": "HC", "filed_on": "2023-05-05", "ruling_on": "2023-05-06", "status": "decided"}
        ],
        sources=[{"url": "https://example.org", "published_on": "2023-05-04"}],
    )
    with app.app_context():
        schema = IncidentSchema()
        incidents = db.session.scalars(sa.select(Incident).options(*EAGER)).all()
        assert len(incidents) == 3
        for incident in incidents:
            assert schema.dump(incident) == schema.marshmallow_dump(incident)
        assert schema.dump(incidents, many=True) == [schema.marshmallow_dump(i) for i in incidents]
