"""The incident fields summarised from its child records: the government's stance, the day it
first admitted the incident, and the state of its litigation."""

from __future__ import annotations

from datetime import date

import pytest

from app.models.incident import acknowledgement_summary, derived_fields, government_stance, litigation_status


@pytest.mark.parametrize(
    ("stances", "expected"),
    [
        (set(), "none"),
        ({"denied"}, "denied"),
        ({"acknowledged", "denied"}, "acknowledged"),
        ({"acknowledged"}, "acknowledged"),
    ],
)
def test_an_admission_outweighs_a_denial(stances, expected):
    assert government_stance(stances) == expected


def test_only_the_government_speaks_for_the_stance_and_its_first_admission_counts():
    acknowledgements = [
        {"actor_type": "telco", "stance": "acknowledged", "date": date(2024, 1, 1)},
        {"actor_type": "government", "stance": "denied", "date": date(2024, 1, 2)},
        {"actor_type": "government", "stance": "acknowledged", "date": None},
        {"actor_type": "government", "stance": "acknowledged", "date": date(2024, 1, 5)},
        {"actor_type": "government", "stance": "acknowledged", "date": date(2024, 1, 3)},
    ]
    assert acknowledgement_summary(acknowledgements) == ("acknowledged", date(2024, 1, 3))
    assert acknowledgement_summary(acknowledgements[:2]) == ("denied", None)


def test_litigation_is_pending_while_a_case_is_open():
    assert litigation_status([]) == "none"
    assert litigation_status(iter([{"status": "pending"}, {"status": "dismissed"}])) == "pending"
    assert litigation_status([{"status": "dismissed"}]) == "concluded"


def test_derived_fields_names_all_three():
    assert derived_fields([], []) == {
        "acknowledgement_status": "none",
        "acknowledged_on": None,
        "litigation_status": "none",
    }
