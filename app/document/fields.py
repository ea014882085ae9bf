"""The value types of the incident document as marshmallow fields (countries, platforms, ASNs, URLs)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import marshmallow as ma
import pycountry

from app.db import db
from app.services import platforms as platform_service

EARLIEST_DATE = date(1990, 1, 1)
# Hearings and planned shutdowns can be announced ahead; beyond this a date is a typo.
MAX_YEARS_AHEAD = 5
ASN_MAX = 4294967295
# Ids are PostgreSQL `integer`s: a larger one in a URL names nothing (404), never an overflow.
MAX_ID = 2**31 - 1
URL_MAX = 2000


@lru_cache(maxsize=512)
def country_name(code: str | None) -> str | None:
    """The English short name of an ISO 3166-1 alpha-2 code (pycountry's common name where it
    has one: "Iran", not "Iran, Islamic Republic of")."""
    country = pycountry.countries.get(alpha_2=code) if code else None
    if country is None:
        return None
    return getattr(country, "common_name", None) or country.name


class Length(ma.validate.Length):
    """Length that lets None through (an optional text given as "" is None by then)."""

    def __call__(self, value: Any) -> Any:
        return value if value is None else super().__call__(value)


class Str(ma.fields.String):
    """A string that refuses NUL characters (PostgreSQL cannot store them) and trims whitespace."""

    def __init__(self, *args: Any, max_length: int | None = None, **kwargs: Any) -> None:
        validators = list(kwargs.pop("validate", None) or [])
        if max_length is not None:
            validators.append(Length(max=max_length))
        super().__init__(*args, validate=validators, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ma.ValidationError("NUL characters are not allowed.")
        return text.strip()


class Text(Str):
    """Optional free text: an empty string means no value (stored and shown as null)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        kwargs.setdefault("load_default", None)
        super().__init__(*args, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str | None:
        return super()._deserialize(value, attr, data, **kwargs) or None


class Enum(Str):
    """One value of a fixed list; the list is in the OpenAPI `enum`."""

    def __init__(self, values: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(validate=[ma.validate.OneOf(values)], **kwargs)


class CountryCode(Str):
    """ISO 3166-1 alpha-2 code, any case on input, upper-case on output."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": "^[A-Za-z]{2}$", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs).upper()
        if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
            raise ma.ValidationError(f"Unknown country code '{code[:10]}': use ISO 3166-1 alpha-2, e.g. PK.")
        return code


class PlatformSlug(Str):
    """A platform slug or one of its aliases (`twitter` → `x`)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        slug = platform_service.resolve(db.session, text)
        if slug is None:
            raise ma.ValidationError(
                f"Unknown platform '{text[:40]}': see GET /api/v1/platforms for slugs and aliases."
            )
        return slug


class Asn(ma.fields.Integer):
    """Autonomous system number: 17557 or "AS17557"."""

    _pattern = re.compile(r"^(?:AS)?(\d{1,10})$", re.IGNORECASE)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, validate=ma.validate.Range(min=0, max=ASN_MAX), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ma.ValidationError("Not a valid ASN.")
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 17557.0 is an integer in JSON
        if isinstance(value, str):
            match = self._pattern.match(value.strip())
            if not match:
                raise ma.ValidationError("Not a valid ASN: give a number or 'AS' and a number.")
            value = int(match.group(1))
        return super()._deserialize(value, attr, data, **kwargs)


class IsoDate(ma.fields.Date):
    """A date written exactly YYYY-MM-DD (Python would also take 20240217 or 2024-W07-6)."""

    _pattern = re.compile(r"^\d{4}-\d{2}-\d{2}$")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or not self._pattern.match(value):
            raise ma.ValidationError("Not a valid date: use YYYY-MM-DD.")
        return super()._deserialize(value, attr, data, **kwargs)


class Day(IsoDate):
    """A calendar date no earlier than 1990 and at most a few years ahead."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        latest = datetime.now(UTC).date() + timedelta(days=365 * MAX_YEARS_AHEAD)
        if day < EARLIEST_DATE:
            raise ma.ValidationError(f"Dates before {EARLIEST_DATE.isoformat()} are not accepted.")
        if day > latest:
            raise ma.ValidationError(f"Date is more than {MAX_YEARS_AHEAD} years in the future.")
        return day


class HttpUrl(Str):
    """An absolute http(s) URL (no javascript:, data: or file:), at most 2,000 characters.

    Validated by exactly the pattern the OpenAPI document publishes, so that a client (or a
    fuzzer) reading the spec knows what is accepted."""

    # Explicit ranges rather than \\s / \\S, whose meaning differs between Python and ECMA regexes:
    # no spaces or control characters anywhere, a host before any path, query or fragment.
    PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7f/?#@]+(?:[/?#][^\x00-\x20\x7f]*)?$"
    _compiled = re.compile(PATTERN)

    def __init__(self, **kwargs: Any) -> None:
        # The pattern is the whole contract (no `format`: "iri" checkers disagree on hosts such as
        # private-use characters). An optional URL may also be "" (an empty spreadsheet cell),
        # which means none.
        pattern = f"^$|{self.PATTERN}" if kwargs.get("allow_none") else self.PATTERN
        metadata = {"pattern": pattern, **kwargs.pop("metadata", {})}
        super().__init__(max_length=URL_MAX, metadata=metadata, **kwargs)

    def deserialize(self, value: Any, *args: Any, **kwargs: Any) -> str | None:
        if isinstance(value, str):
            value = value.strip()
        if value == "" and self.allow_none:
            return None  # an empty cell or field means no URL, before any validator sees it
        return super().deserialize(value, *args, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not self._compiled.match(text):
            raise ma.ValidationError("Not a valid URL: give an absolute http:// or https:// address.")
        return text


class StrictBoolean(ma.fields.Boolean):
    """true or false in JSON; 0, 1 and "yes" are not booleans."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ma.ValidationError("Not a valid boolean: use true or false.")
        return value


class Timestamp(ma.fields.DateTime):
    """RFC 3339 UTC timestamp with a `Z`, e.g. 2024-04-17T09:30:00Z."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
