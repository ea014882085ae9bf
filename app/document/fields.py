"""The value types of the incident document as marshmallow fields (countries, platforms, ASNs, URLs)."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import idna
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


# The parts of an http(s) URL, written once for the published pattern (an ECMA-262 and Python
# regex alike: explicit ranges, no \s, \d or named groups, whose meaning differs between them).
_NON_ASCII = r"\u00a1-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"  # no surrogates, private use or noncharacters
_LABEL_CHAR = rf"A-Za-z0-9_{_NON_ASCII}"  # browsers open names with "_" (DNS allows it; IDNA not)
_LABEL = rf"[{_LABEL_CHAR}](?:[{_LABEL_CHAR}-]{{0,61}}[{_LABEL_CHAR}])?"
_TOP_LABEL = rf"(?:[A-Za-z]{{2,63}}|[Xx][Nn]--[A-Za-z0-9-]{{1,59}}|[{_NON_ASCII}]{{2,63}})"
_HOST_NAME = rf"(?:{_LABEL}\.)+{_TOP_LABEL}\.?"  # two labels at least: no "localhost", "intranet"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_IPV6 = r"\[[0-9A-Fa-f:.]{2,45}\]"
_PORT = r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
# A host (group 1) before any path, query or fragment; no user name or password (no "@" before
# the host); no space or control character anywhere.
URL_PATTERN = rf"^[Hh][Tt][Tt][Pp][Ss]?://({_HOST_NAME}|{_IPV4}|{_IPV6}){_PORT}(?:[/?#][^\x00-\x20\x7f]*)?$"
# Names that resolve only inside the reader's own machine or network (RFC 6761, 6762, 8375, and
# ICANN's private-use .internal): a link there opens nothing, or something else, for a reader.
LOCAL_NAMES = ("localhost", "local", "localdomain", "internal", "home.arpa")
URL_EXAMPLE = "https://www.example.org/report"
_URL_FIX = f"e.g. {URL_EXAMPLE}"


def url_problem(text: str) -> str | None:
    """Why `text` is not a URL a reader could open (None when it is one): an absolute http(s)
    URL whose host is a public host name (IDNA-encodable; at least two labels, not a local
    name) or a public (global) IPv4 or IPv6 address.

    The published pattern (URL_PATTERN) says everything a regex can; the rest, which no regex
    can (IDNA's rules, which addresses are public, local names), is checked on the host."""
    match = _URL.match(text)
    if match is None:
        return _pattern_problem(text)
    return _host_problem(match.group(1))


def _pattern_problem(text: str) -> str:
    """The message for a text that does not match URL_PATTERN: which part is wrong."""
    scheme = re.match(r"^[Hh][Tt][Tt][Pp][Ss]?://", text)
    if scheme is None:
        return f"Not a valid URL: give an absolute http:// or https:// address, {_URL_FIX}."
    if re.search(r"[\x00-\x20\x7f]", text):
        return "Not a valid URL: it contains a space or a control character (write a space as %20)."
    authority = re.split(r"[/?#]", text[scheme.end() :], maxsplit=1)[0]
    if "@" in authority:
        return "Not a valid URL: a user name or password before the host ('…@') is not accepted."
    if authority.startswith("["):
        host, bracket, after = authority.partition("]")
        host, port = host + bracket, after.removeprefix(":") if after else None
    else:
        host, colon, port = authority.partition(":")
        port = port if colon else None
    if port is not None and not (re.fullmatch(r"[0-9]{1,5}", port) and int(port) <= 65535):
        return "Not a valid URL: the port after ':' must be a number from 0 to 65535."
    if not host:
        return f"Not a valid URL: no host after '//', {_URL_FIX}."
    shown = host if len(host) <= 60 else host[:57] + "…"
    if host and re.fullmatch(rf"{_LABEL}\.?", host):
        return (
            f"Not a valid URL: '{shown}' is a single name, which only a local network knows: "
            f"give the site's full host name, {_URL_FIX}."
        )
    return (
        f"Not a valid URL: '{shown}' is not a host name: give a name such as www.example.org "
        f"(letters, digits, hyphens and dots, ending in a top-level domain) or a public IP address, "
        f"{_URL_FIX}."
    )


@lru_cache(maxsize=4096)
def _host_problem(host: str) -> str | None:
    """The checks on a host that matched the pattern (messages start "Not a valid URL: host")."""
    if host.startswith("["):
        try:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"Not a valid URL: host '{host}' is not an IPv6 address."
    elif _IPV4_ONLY.fullmatch(host):
        address = ipaddress.IPv4Address(host)
    else:
        return _name_problem(host)
    if not address.is_global:
        return (
            f"Not a valid URL: host {host} is a private, loopback or reserved address, which no "
            "reader can open: link to the public address or host name."
        )
    return None


def _name_problem(host: str) -> str | None:
    name = host.removesuffix(".")
    encoded = []
    for label in name.split("."):
        if label.isascii() and not label[:4].lower() == "xn--":
            encoded.append(label.lower())  # letters, digits, '-', '_': the pattern checked them
            continue
        try:
            encoded.append(idna.encode(label, uts46=True).decode("ascii"))
        except (idna.IDNAError, UnicodeError) as error:
            return (
                f"Not a valid URL: host '{host[:80]}' is not a valid internationalized domain name ({error})."
            )
    ascii_name = ".".join(encoded)
    if len(ascii_name) > 253 or any(len(label) > 63 or "." in label for label in encoded):
        return f"Not a valid URL: host '{host[:80]}' is longer than DNS allows (253 characters, 63 a label)."
    if any(ascii_name == local or ascii_name.endswith("." + local) for local in LOCAL_NAMES):
        return (
            f"Not a valid URL: host '{host[:80]}' names a machine on a local network, which no reader "
            f"can open: give the site's public host name, {_URL_FIX}."
        )
    return None


_URL = re.compile(URL_PATTERN)
_IPV4_ONLY = re.compile(_IPV4)


class HttpUrl(Str):
    """A URL a reader could open: absolute http(s), a public host name or address (see
    `url_problem`), at most 2,000 characters.

    The OpenAPI document publishes URL_PATTERN, so that a client (or a fuzzer) reading the spec
    knows the shape accepted; the host's IDNA validity and public address are checked besides.
    Input only: stored URLs are served as they are."""

    def __init__(self, **kwargs: Any) -> None:
        # The pattern is the contract (no `format`: "iri" checkers disagree on hosts such as
        # private-use characters). An optional URL may also be "" (an empty spreadsheet cell),
        # which means none.
        pattern = f"^$|{URL_PATTERN}" if kwargs.get("allow_none") else URL_PATTERN
        # An example of the field's own, unless it names one: what Swagger UI would otherwise
        # make up from the pattern is seldom a name IDNA takes.
        metadata = {"pattern": pattern, "example": URL_EXAMPLE, **kwargs.pop("metadata", {})}
        super().__init__(max_length=URL_MAX, metadata=metadata, **kwargs)

    def deserialize(self, value: Any, *args: Any, **kwargs: Any) -> str | None:
        if isinstance(value, str):
            value = value.strip()
        if value == "" and self.allow_none:
            return None  # an empty cell or field means no URL, before any validator sees it
        return super().deserialize(value, *args, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = url_problem(text)
        if problem is not None:
            raise ma.ValidationError(problem)
        return text


class StrictBoolean(ma.fields.Boolean):
    """true or false in JSON; 0, 1 and "yes" are not booleans."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ma.ValidationError("Not a valid boolean: use true or false.")
        return value


class Timestamp(ma.fields.DateTime):
    """RFC 3339 UTC timestamp with a `Z`, e.g. 2024-04-17T09:30:00Z."""

    FORMAT = "%Y-%m-%dT%H:%M:%SZ"

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).strftime(self.FORMAT)


class PreciseTimestamp(Timestamp):
    """RFC 3339 UTC timestamp to the microsecond, e.g. 2024-04-17T09:30:00.123456Z."""

    FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
