"""The shape of the incident document, as a short fingerprint that every stored copy carries.

A stored copy (app/fast/stored.py) built with another shape is never served: it is rebuilt at
read, and for good by `flask --app wsgi incidents rebuild-documents` (which `flask db upgrade`
runs). The fingerprint follows the definition by itself: a new or renamed field, a new enum
value, a CSV column, a country renamed in pycountry's data all change it. A change to the code
that builds a document (a derived value computed differently) bumps `BUILDER_REVISION`.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import marshmallow as ma
import orjson
import pycountry

from app.document.fields import country_name
from app.document.schema import IncidentSchema
from app.services import csv_format

# 2: an item of a text list escapes its `;` and `\` in the CSV row.
BUILDER_REVISION = 2


def _describe(field: ma.fields.Field) -> Any:
    """What of a field shapes its output: its type, its values, its items or nested fields."""
    if isinstance(field, ma.fields.List):
        return ["list", _describe(field.inner)]
    if isinstance(field, ma.fields.Nested):
        return ["nested", {name: _describe(inner) for name, inner in field.schema.fields.items()}]
    choices = [list(v.choices) for v in field.validators if isinstance(v, ma.validate.OneOf)]
    return [type(field).__name__, field.metadata.get("enum"), choices]


@cache
def current_shape() -> str:
    """The fingerprint of the document the code builds now (16 hex digits)."""
    description = {
        "builder": BUILDER_REVISION,
        "fields": {name: _describe(field) for name, field in IncidentSchema().fields.items()},
        "csv": csv_format.COLUMNS,
        "countries": {country.alpha_2: country_name(country.alpha_2) for country in pycountry.countries},
    }
    return hashlib.blake2b(orjson.dumps(description), digest_size=8).hexdigest()


def forget() -> None:
    """Compute the shape again on next use (after the country data or the definition changed)."""
    country_name.cache_clear()
    current_shape.cache_clear()
