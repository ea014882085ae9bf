"""ETag rules: strict If-Match (no `*`, a 428 without it), weak If-None-Match, ETags of our JSON."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, request
from flask_smorest.exceptions import NotModified, PreconditionFailed, PreconditionRequired

from app.http.jsonio import dumps

STALE = (
    "The resource changed since you read it: GET it again, re-apply your change "
    "and send the new ETag in If-Match."
)


def etag_for(data: Any, extra_data: Any = None) -> str:
    """The ETag of a JSON document (and of extra data such as the pagination header)."""
    if extra_data:
        data = (data, extra_data)
    return hashlib.blake2b(dumps(data), digest_size=16).hexdigest()


def require_if_match() -> None:
    """428 without If-Match; `If-Match: *` would skip the lost-update check, so it does not count."""
    if not request.if_match or request.if_match.star_tag:
        raise PreconditionRequired(
            "Send the incident's current ETag in If-Match (read it with GET); `*` is not accepted."
        )


class StrictEtags:
    """Blueprint part: flask-smorest's ETags, with the rules above."""

    def requires_incident_etag(self, func):
        """Document that a write on a child record needs the parent incident's ETag in If-Match."""
        func = self.documents(412, 428)(func)
        return self.doc(parameters=["IF_MATCH"])(func)

    def check_incident_etag(self, incident_dump: Any) -> None:
        """For writes on a child record (a POST too): 428 without If-Match, 412 unless it carries
        the parent incident's current ETag."""
        require_if_match()
        if not request.if_match.contains(etag_for(incident_dump)):
            raise PreconditionFailed(STALE)

    def check_etag(self, etag_data: Any, etag_schema: Any = None) -> None:
        """flask-smorest's check (which records that it ran), saying what to do when it fails."""
        try:
            super().check_etag(etag_data, etag_schema)
        except PreconditionFailed:
            raise PreconditionFailed(STALE) from None

    # Private: flask-smorest's only hook for the If-Match presence check (its own lets `*` pass).
    def _check_precondition(self) -> None:
        if request.method in self.METHODS_NEEDING_CHECK_ETAG:
            require_if_match()

    # Private: flask-smorest's only hook for the If-None-Match comparison (its own is strong).
    def _check_not_modified(self, etag: str) -> None:
        # Proxies weaken validators (W/"…"); weak comparison is what If-None-Match calls for.
        if request.method in self.METHODS_CHECKING_NOT_MODIFIED and request.if_none_match.contains_weak(etag):
            raise NotModified(response=Response(status=304, headers={"ETag": f'"{etag}"'}))

    # Private: flask-smorest's only hook for how an ETag is computed (its own: sha1 of json.dumps).
    @staticmethod
    def _generate_etag(etag_data: Any, extra_data: Any = None) -> str:
        return etag_for(etag_data, extra_data)


class EtagDocs:
    """Api part: the documented ETag headers."""

    # Private: flask-smorest's only hook for the ETag header components (their descriptions).
    def _register_etag_headers(self) -> None:
        self.spec.components.parameter(
            "IF_NONE_MATCH",
            "header",
            {
                "name": "If-None-Match",
                "description": 'An ETag you hold (weak `W/"…"` accepted): 304 when it is still current.',
                "schema": {"type": "string"},
            },
            lazy=True,
        )
        self.spec.components.header(
            "ETAG",
            {"description": "Validator of the returned representation.", "schema": {"type": "string"}},
            lazy=True,
        )
        self.spec.components.parameter(
            "IF_MATCH",
            "header",
            {
                "name": "If-Match",
                "required": True,
                "description": "The incident's current ETag, as returned by GET "
                "/api/v1/incidents/{incident_id} (or the `Incident-ETag` header of your last write "
                "on it). Missing: 428; stale: 412. `*` is not accepted.",
                "schema": {"type": "string"},
            },
            lazy=True,
        )
