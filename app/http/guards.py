"""Request guards: URL length, no key in the URL, no unknown query parameter, JSON bodies,
security headers, CORS."""

from __future__ import annotations

import functools

from flask import Flask, current_app, request
from flask_cors import CORS
from flask_smorest import abort
from werkzeug.exceptions import BadRequest, RequestURITooLarge, UnsupportedMediaType

KEY_PARAMETERS = ("api_key", "apikey", "key", "token", "access_token", "auth")
BODY_METHODS = ("POST", "PUT", "PATCH")
# Endpoints whose body is a multipart file upload rather than JSON.
MULTIPART_ENDPOINTS = {"bulk.IncidentsImportViews"}
PAGINATION_PARAMETERS = frozenset(("page", "page_size"))
EXPOSED_HEADERS = [
    "ETag",
    "Incident-ETag",
    "X-Pagination",
    "X-Next-Cursor",
    "As-Of",
    "As-Of-Cursor",
    "Link",
    "Location",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    """CORS for reads from any origin, then the guards in the order they speak."""
    CORS(
        app,
        resources={r"/api/*": {"origins": "*"}},
        methods=["GET", "HEAD", "OPTIONS"],
        expose_headers=EXPOSED_HEADERS,
        send_wildcard=True,
    )
    app.before_request(refuse_long_url)
    app.before_request(refuse_key_in_url)
    app.before_request(refuse_unknown_query)
    app.before_request(require_json_body)
    app.after_request(security_headers)


# The documented 414 (the default response of its status, which every operation under /api/ names).
URI_TOO_LONG_RESPONSE = {
    "description": "The URL (path and query string) is longer than the server accepts "
    "(`MAX_URL_LENGTH`, 16,384 bytes by default): send fewer or shorter filter values."
}


def refuse_long_url() -> None:
    """A URL past MAX_URL_LENGTH is a 414 problem, before any of it is parsed.

    The server's own URL limit (granian answers a bare 414 past 65,534 bytes) lies far above, so
    that this answer, with the security headers, is the one a client sees."""
    environ = request.environ
    length = len(environ.get("SCRIPT_NAME", "")) + len(environ.get("PATH_INFO", ""))
    length += len(environ.get("QUERY_STRING", "")) + 1
    limit = current_app.config["MAX_URL_LENGTH"]
    if length > limit:
        raise RequestURITooLarge(
            f"The URL is {length:,} bytes long; this server accepts at most {limit:,}. "
            "Send fewer or shorter filter values (several requests, or a broader filter)."
        )


def refuse_key_in_url() -> None:
    """URLs end up in logs and browser history: a key there is refused, not used."""
    try:
        args = request.args
    except UnicodeDecodeError as error:
        raise BadRequest("The query string is not valid UTF-8: percent-encode it.") from error
    if any(name in args for name in KEY_PARAMETERS):
        raise BadRequest("Send the API key in the `Authorization: Bearer <key>` header, never in the URL.")


def refuse_unknown_query() -> None:
    """An operation without query parameters refuses any (a typo never passes silently); those
    with parameters refuse unknown ones through their schema."""
    if request.routing_exception is not None or not request.args or not request.path.startswith("/api/"):
        return
    apidoc = _operation_doc()
    if _takes_query(apidoc):
        return
    allowed = PAGINATION_PARAMETERS if "pagination" in apidoc else frozenset()
    unknown = [name for name in request.args if name not in allowed]
    if unknown:
        abort(422, errors={"query": {name: ["Unknown field."] for name in unknown}})


def _operation_doc() -> dict:
    """flask-smorest's documentation of the operation this request calls."""
    view = current_app.view_functions.get(request.endpoint)
    verb = "get" if request.method == "HEAD" else request.method.lower()  # HEAD is served by get
    method = getattr(getattr(view, "view_class", None), verb, None)
    return getattr(method, "_apidoc", {})


def _takes_query(apidoc: dict) -> bool:
    parameters = apidoc.get("arguments", {}).get("parameters", [])
    return any(parameter.get("in") == "query" for parameter in parameters)


def require_json_body() -> None:
    """A body that is not JSON is a 415, not a confusing 'missing field' 422."""
    if request.routing_exception is not None:
        return  # 404 or 405 first: there is no operation to speak of
    if request.method in BODY_METHODS and request.path.startswith("/api/"):
        has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding")
        if request.endpoint in MULTIPART_ENDPOINTS:
            return  # the upload's own check runs after auth (require_multipart)
        if has_body and not request.is_json:
            got = request.mimetype or "no Content-Type"
            raise UnsupportedMediaType(f"Send the body as application/json (got {got}).")


def require_multipart(view):
    """An import's body is a file upload: anything else is a 415 that names the form to send.

    A view decorator under the auth one, so an anonymous caller learns first that it needs a key."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding")
        if has_body and request.mimetype != "multipart/form-data":
            got = request.mimetype or "no Content-Type"
            fmt = "stop" if request.args.get("format") == "stop" else "native"
            raise UnsupportedMediaType(
                f"Send the file as multipart/form-data in a field named `file` (got {got}), e.g. "
                'curl -H "Authorization: Bearer $KEY" -F file=@incidents.csv '
                # double quotes: pasted into a shell, $KEY is the caller's key
                f"'{request.base_url}?format={fmt}'."
            )
        return view(*args, **kwargs)

    return checked


def security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response
