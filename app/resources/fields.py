"""Transitional re-export: the value types moved to app/document/fields.py."""

from app.document.fields import *  # noqa: F403
from app.document.fields import country_name  # noqa: F401
